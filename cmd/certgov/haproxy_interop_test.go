package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certgov/model"
)

// TestServersAgreeWithHAProxy runs a real HAProxy (Debian's haproxy 2.6)
// on 127.0.0.1, one frontend per way HAProxy decides client certificates
// (verify required and optional on a CA file, a CA file holding a
// self-signed partner, ca-verify-file, a CRL, a CA file without verify,
// which asks for nothing; ACL gates on ssl_c_sha1 inline and in a -f list,
// on ssl_c_s_dn(cn) through tcp-request, on ssl_c_verify under verify
// optional; every verification error ignored; a crt-list whose lines
// verify differently per SNI), presents every client certificate to every
// frontend, and
// fails naming each pair where certgov's answer differs from HAProxy's
// (HTTP 200 or not).
func TestServersAgreeWithHAProxy(t *testing.T) {
	haproxy := interopTool(t, "haproxy", "/usr/sbin/haproxy")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	partnerSHA1 := strings.TrimSpace(string(mustRead(t, filepath.Join(certs, "partner.sha1"))))
	serverPEM := append(mustRead(t, filepath.Join(certs, "server.pem")), mustRead(t, filepath.Join(certs, "server.key"))...)
	if err := os.WriteFile(filepath.Join(dir, "server.crt"), serverPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	servers := []*interopServer{
		{name: "required", block: "verify required ca-file root.pem"},
		{name: "partners", block: "verify required ca-file root-and-partners.pem"},
		{name: "optional", block: "verify optional ca-file root.pem"},
		{name: "verify-file", block: "verify required ca-file root.pem ca-verify-file partner.pem"},
		// OpenSSL wants a CRL from the issuer of every certificate of the
		// chain once it checks any.
		{name: "crl", block: "verify required ca-file root-and-partners.pem crl-file crls.pem"},
		{name: "no-verify", block: "ca-file root.pem", off: true},
		{name: "gated", block: "verify required ca-file root-and-partners.pem"},
		{name: "gated-file", block: "verify required ca-file root-and-partners.pem"},
		{name: "gated-cn", block: "verify required ca-file root-and-partners.pem", noScan: true}, // refuses every connection before the handshake
		{name: "optional-checked", block: "verify optional ca-file root.pem"},
		// Every verification error let through: nothing is verified.
		{name: "ignore-all", block: "verify required ca-file root.pem ca-ignore-err all crt-ignore-err all"},
		// Gated by routing: only what use_backend sends to a backend that
		// serves gets in; the rest goes to one that denies, or to none (503).
		{name: "routed", block: "verify required ca-file root-and-partners.pem"},
		{name: "routed-cn", block: "verify required ca-file root-and-partners.pem"},
	}
	partnerSHA256 := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "partner.pem")))
	// A crt-list: each line its own verify and CA file, chosen by SNI.
	listed := []*interopServer{{name: "listed"}, {name: "partners.listed"}}
	crtList := filepath.Join(dir, "crt.list")
	if err := os.WriteFile(crtList, []byte(fmt.Sprintf("# per SNI\n%[1]s [verify required ca-file root.pem] listed.test\n%[1]s [ca-file root-and-partners.pem verify optional] partners.listed.test\n",
		filepath.Join(dir, "server.crt"))), 0o600); err != nil {
		t.Fatal(err)
	}
	pinList := filepath.Join(dir, "pinned.lst")
	if err := os.WriteFile(pinList, []byte("# partners pinned by SHA-1, as HAProxy's hex writes it\n"+strings.ToUpper(partnerSHA1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gates := map[string]string{
		"gated":            "    acl partner ssl_c_sha1,hex,lower " + partnerSHA1 + "\n    http-request deny unless partner\n",
		"gated-file":       "    acl pinned ssl_c_sha1,hex -f " + pinList + "\n    http-request deny if { ssl_c_used } !pinned\n",
		"gated-cn":         "    acl known ssl_c_s_dn(cn) -m str ledger.payments.svc partner-a\n    tcp-request connection reject if !known\n",
		"optional-checked": "    http-request deny unless { ssl_c_verify 0 }\n",
		"routed":           "    use_backend ok if { ssl_c_der,sha2(256),hex,lower " + partnerSHA256 + " }\n    default_backend refuse\n",
		"routed-cn":        "    acl ledger ssl_c_s_dn(cn) ledger.payments.svc\n    use_backend ok if ledger\n    use_backend ok if { ssl_c_s_dn(cn) deep.payments.svc }\n",
	}
	var config strings.Builder
	fmt.Fprintf(&config, "global\n    ca-base %s\n\ndefaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s\n", certs)
	for _, s := range servers {
		s.port = freePort(t)
		fmt.Fprintf(&config, "\nfrontend %s.test\n    bind 127.0.0.1:%d ssl crt %s %s\n", s.name, s.port, filepath.Join(dir, "server.crt"), s.block)
		config.WriteString(gates[s.name])
		if !strings.HasPrefix(s.name, "routed") {
			config.WriteString("    http-request return status 200 content-type text/plain string ok\n")
		}
	}
	config.WriteString("\nbackend ok\n    http-request return status 200 content-type text/plain string ok\n\nbackend refuse\n    http-request deny\n")
	listPort := freePort(t)
	for _, s := range listed {
		s.port = listPort
	}
	fmt.Fprintf(&config, "\nfrontend listed\n    bind 127.0.0.1:%d ssl crt-list %s\n    http-request return status 200 content-type text/plain string ok\n", listPort, crtList)
	servers = append(servers, listed...)
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	startDaemon(t, exec.Command(haproxy, "-db", "-f", conf), servers)
	importConfig(t, certs, conf)
	knownServersOfKind(t, "haproxy frontend", len(servers))
	compareEach(t, certs, servers, "HAProxy", nil)
}

// startDaemon starts a server the suite runs in the foreground, stops it
// when the test ends, and waits until each of its servers listens.
func startDaemon(t *testing.T, daemon *exec.Cmd, servers []*interopServer) {
	t.Helper()
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	for _, s := range servers {
		waitListening(t, s.port)
	}
}

// importConfig imports the estate's certificates, then one server
// configuration, which must be read whole: not skipped, not failed, and
// with no problem but those it names (each then reported on stderr).
func importConfig(t *testing.T, certs, conf string, problems ...string) {
	t.Helper()
	if r := certgov(t, "import", certs); r.code != 0 {
		t.Fatalf("import certs: %d %s", r.code, r.stderr)
	}
	r := certgov(t, "import", conf)
	wantCode := 0
	if len(problems) > 0 {
		wantCode = 1
	}
	if r.code != wantCode || !strings.Contains(r.stdout, "1 read, 0 unchanged since last import, 0 skipped, 0 failed") {
		t.Fatalf("import %s: %d %s%s", filepath.Base(conf), r.code, r.stdout, r.stderr)
	}
	for _, p := range problems {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("import %s does not report %q:\n%s", filepath.Base(conf), p, r.stderr)
		}
	}
}

// serversOfKind is what certgov servers says of the servers of one kind,
// by name.
func serversOfKind(t *testing.T, kind string) map[string]model.Server {
	t.Helper()
	var report struct {
		Servers []struct {
			model.Server
			Name string `json:"name"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(certgov(t, "servers", "-o", "json").stdout), &report); err != nil {
		t.Fatal(err)
	}
	out := map[string]model.Server{}
	for _, s := range report.Servers {
		if s.Kind == kind {
			out[s.Name] = s.Server
		}
	}
	return out
}

// knownServersOfKind is serversOfKind for a suite whose every server
// certgov must know: it fails unless there are want of them, none
// unknown.
func knownServersOfKind(t *testing.T, kind string, want int) map[string]model.Server {
	t.Helper()
	servers := serversOfKind(t, kind)
	if len(servers) != want {
		t.Fatalf("certgov servers lists %d of kind %q, want %d: %v", len(servers), kind, want, servers)
	}
	for name, s := range servers {
		if s.Unknown != "" {
			t.Errorf("%s is unknown: %s", name, s.Unknown)
		}
	}
	return servers
}

// hashedFolder is a CA folder of the estate's root and partner as
// openssl rehash links it (Apache SSLCACertificatePath, stunnel CApath).
func hashedFolder(t *testing.T, certs string) string {
	t.Helper()
	hashed := filepath.Join(certs, "hashed")
	os.MkdirAll(hashed, 0o700)
	for _, f := range []string{"root.pem", "partner.pem"} {
		os.WriteFile(filepath.Join(hashed, f), mustRead(t, filepath.Join(certs, f)), 0o600)
	}
	if out, err := exec.Command("openssl", "rehash", hashed).CombinedOutput(); err != nil {
		t.Fatalf("openssl rehash: %v\n%s", err, out)
	}
	return hashed
}

// compareEach presents every interop client certificate to every server
// (by its name as SNI) and fails naming each pair where certgov's answer
// differs from the real server's (HTTP 200 or not). A server that asks
// for no certificate must be admitting none; special says it checked a
// server otherwise.
func compareEach(t *testing.T, certs string, servers []*interopServer, real string, special func(s *interopServer, name string, rec trustRecord) bool) {
	t.Helper()
	byFingerprint := interopLedger(t)
	var differ []string
	pairs := 0
	for _, client := range interopClients {
		rec := byFingerprint[fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, client+".pem")))]
		pair := interopPair(t, certs, client)
		for _, s := range servers {
			name := fmt.Sprintf("%s.test:%d", s.name, s.port)
			status, asked := presentTo(t, s.port, s.name+".test", pair)
			switch {
			case s.off:
				if asked || admittedByServer(rec, name) {
					t.Errorf("%s: %s asked %v, certgov says admitted %v; it asks for no certificate", name, real, asked, admittedByServer(rec, name))
				}
			case special != nil && special(s, name, rec):
			default:
				pairs++
				if said := admittedByServer(rec, name); said != (status == 200) {
					differ = append(differ, fmt.Sprintf("%s at %s: %s answered %d, certgov says admitted=%v (trust %v; findings %v)", client, name, real, status, said, serverNames(rec), rec.Findings))
				}
			}
		}
	}
	for _, d := range differ {
		t.Error(d)
	}
	t.Logf("%d certificate/server pairs compared with %s, %d differ", pairs, real, len(differ))
	scanEach(t, servers)
}

// scanEach scans every server that asks for a certificate (by its name as
// SNI) and fails unless certgov finds its imported configuration and the
// CA names it asks for agree with it. A server certgov cannot know
// (unknown) is compared with nothing, and one that refuses every
// connection before the handshake cannot be scanned: noScan marks them.
func scanEach(t *testing.T, servers []*interopServer) {
	t.Helper()
	for _, s := range servers {
		if s.off || s.noScan {
			continue
		}
		r := certgov(t, "scan", "--servername", s.name+".test", fmt.Sprintf("127.0.0.1:%d", s.port))
		if r.code != 0 || !strings.Contains(r.stdout, "matches  its imported configuration: "+s.name+".test") {
			t.Errorf("scan %s.test:%d: %d\n%s%s", s.name, s.port, r.code, r.stdout, r.stderr)
		}
	}
}

// interopPair is a client's certificate, with the chain it sends, and key.
func interopPair(t *testing.T, certs, client string) tls.Certificate {
	t.Helper()
	chain, _ := os.ReadFile(filepath.Join(certs, client+".chain"))
	pair, err := tls.X509KeyPair(append(mustRead(t, filepath.Join(certs, client+".pem")), chain...), mustRead(t, filepath.Join(certs, client+".key")))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}
