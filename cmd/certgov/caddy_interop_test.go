package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServersAgreeWithCaddy runs a real Caddy (Debian's caddy 2.6) on
// 127.0.0.1 with a site per way its client_auth decides (require_and_verify
// on a CA file holding a root and a self-signed partner, of which Caddy
// 2.6 keeps the root alone; verify_if_given; an intermediate alone as
// trusted CA, which Go's verifier takes as a root; a trusted leaf with a
// CA, with mode require, and alone, which Caddy 2.6 verifies against the
// machine's CAs; request), presents every client certificate to every
// site, and fails naming each pair where certgov's answer differs from
// Caddy's (HTTP 200 or not).
func TestServersAgreeWithCaddy(t *testing.T) {
	caddy := interopTool(t, "caddy", "/usr/bin/caddy")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	at := func(name string) string { return filepath.Join(certs, name) }
	servers := []*interopServer{
		{name: "verify", block: "mode require_and_verify\ntrusted_ca_cert_file " + at("root-and-partners.pem")},
		{name: "if-given", block: "mode verify_if_given\ntrusted_ca_cert_file " + at("root.pem")},
		{name: "intermediate", block: "trusted_ca_cert_file " + at("int1.pem")},
		{name: "ca-and-leaf", block: "trusted_ca_cert_file " + at("root-and-partners.pem") + "\ntrusted_leaf_cert_file " + at("partner.pem")},
		{name: "leaf-require", block: "mode require\ntrusted_leaf_cert_file " + at("partner.pem")},
		{name: "leaf-only", block: "trusted_leaf_cert_file " + at("partner.pem"), noScan: true}, // unknown to certgov
		{name: "request", block: "mode request"},
		{name: "no-client-auth", off: true},
	}
	var config strings.Builder
	fmt.Fprintf(&config, "{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n}\n", filepath.Join(dir, "caddy-data"))
	for _, s := range servers {
		s.port = freePort(t)
		fmt.Fprintf(&config, "\nhttps://%s.test:%d {\n\ttls %s %s", s.name, s.port, at("server.pem"), at("server.key"))
		if !s.off {
			fmt.Fprintf(&config, " {\n\t\tclient_auth {\n\t\t\t%s\n\t\t}\n\t}", strings.ReplaceAll(s.block, "\n", "\n\t\t\t"))
		}
		config.WriteString("\n\trespond \"ok\" 200\n}\n")
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(caddy, "run", "--config", conf, "--adapter", "caddyfile")
	daemon.Env = append(os.Environ(), "HOME="+dir)
	startDaemon(t, daemon, servers)
	importConfig(t, certs, conf, "root-and-partners.pem holds 2 certificates; Caddy 2.6's Caddyfile keeps only the first")
	sites := serversOfKind(t, "caddy site")
	if len(sites) != len(servers)-1 {
		t.Fatalf("certgov servers lists %d Caddy sites, want %d (the one without client_auth asks nothing): %v", len(sites), len(servers)-1, sites)
	}
	for name, s := range sites {
		if leafOnly := strings.HasPrefix(name, "leaf-only."); leafOnly != strings.Contains(s.Unknown, "caddyserver/caddy#4518") || !leafOnly && s.Unknown != "" {
			t.Errorf("%s: unknown %q (only the leaf list without a CA or mode is, as Caddy verifies it against the machine's CAs)", name, s.Unknown)
		}
	}
	compareEach(t, certs, servers, "Caddy", nil)
}
