package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServersAgreeWithStunnel runs a real stunnel (Debian's stunnel4, 5)
// on 127.0.0.1 in front of a plain HTTP backend, with a service per way
// stunnel decides client certificates (verifyChain on a CA file and a
// hashed CApath, legacy verify = 1, verifyPeer alone and with
// verifyChain, CRLfile, checkHost, requireCert alone, nothing), presents
// every client certificate to every service, and fails naming each pair
// where certgov's answer differs from what comes back through stunnel
// (the backend's 200, or nothing).
func TestServersAgreeWithStunnel(t *testing.T) {
	stunnel := interopTool(t, "stunnel4", "/usr/bin/stunnel4")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	hashed := hashedFolder(t, certs)
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(backend, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(func() { backend.Close() })

	at := func(name string) string { return filepath.Join(certs, name) }
	servers := []*interopServer{
		{name: "chain", block: "verifyChain = yes\nCAfile = " + at("root-and-partners.pem")},
		{name: "legacy-1", block: "verify = 1\nCAfile = " + at("root.pem")},
		{name: "capath", block: "verifyChain = yes\nCApath = " + hashed},
		{name: "peer", block: "verifyPeer = yes\nCAfile = " + at("root-and-partners.pem")},
		{name: "chain-and-peer", block: "verifyChain = yes\nverifyPeer = yes\nCAfile = " + at("root-and-partners.pem")},
		{name: "crl", block: "verifyChain = yes\nCAfile = " + at("root-and-partners.pem") + "\nCRLfile = " + at("crls.pem")},
		{name: "host", block: "verifyChain = yes\nCAfile = " + at("root.pem") + "\ncheckHost = ledger.payments.svc"},
		{name: "require-only", block: "requireCert = yes"},
		{name: "nothing", block: "CAfile = " + at("root.pem"), off: true},
	}
	var config strings.Builder
	fmt.Fprintf(&config, "; the suite's stunnel\nforeground = yes\npid =\ndebug = 4\ncert = %s\nkey = %s\n", at("server.pem"), at("server.key"))
	for _, s := range servers {
		s.port = freePort(t)
		fmt.Fprintf(&config, "\n[%s.test]\naccept = 127.0.0.1:%d\nconnect = %s\n%s\n", s.name, s.port, backend.Addr(), s.block)
	}
	conf := filepath.Join(dir, "stunnel.conf")
	if err := os.WriteFile(conf, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, exec.Command(stunnel, conf), servers)
	importConfig(t, certs, conf)
	knownServersOfKind(t, "stunnel service", len(servers))
	compareEach(t, certs, servers, "stunnel", nil)
}
