package main

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real nginx, its log_format carrying the client certificate's
// fingerprint and verify result, writes the access logs certgov reads:
// the requests it served are the usage show reports per server (last
// seen, count), a server that was never presented a certificate says
// so, and the certificate the root's CRL revoked, accepted by a server
// without ssl_crl, is used-after-revocation. Reading the logs again is
// nothing new.
func TestUsageFromNginxAccessLogs(t *testing.T) {
	nginx := interopTool(t, "nginx", "/usr/sbin/nginx")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	checks, quiet := freePort(t), freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	os.MkdirAll(filepath.Join(dir, "logs"), 0o700)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o700)
	text := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
    log_format mtls '$remote_addr [$time_local] "$request" $status '
                    '"$ssl_client_fingerprint" "$ssl_client_verify" "$ssl_client_s_dn"';
    ssl_certificate certs/server.pem;
    ssl_certificate_key certs/server.key;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_client_certificate certs/root-and-partners.pem;
    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name checks.test;
        access_log logs/checks.log mtls;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%[3]d ssl;
        server_name quiet.test;
        access_log logs/quiet.log mtls;
        location / { return 200 "ok\n"; }
    }
}
`, dir, checks, quiet)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	startNginx(t, nginx, dir, conf, checks)

	// The configuration first: its servers name their logs.
	if r := certgov(t, "import", certs, conf); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	for client, times := range map[string]int{"ledger": 3, "partner": 1, "direct": 1} {
		for range times {
			if status, _ := presentTo(t, checks, "checks.test", interopPair(t, certs, client)); status != 200 {
				t.Fatalf("%s at checks.test: %d", client, status)
			}
		}
	}
	// A certificate no import holds, refused: the log still names it.
	outsider := t.TempDir()
	if out, err := exec.Command(interopTool(t, "openssl", ""), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", filepath.Join(outsider, "outsider.key"),
		"-out", filepath.Join(outsider, "outsider.pem"), "-subj", "/CN=outsider", "-days", "30").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	outsiderPair, err := tls.LoadX509KeyPair(filepath.Join(outsider, "outsider.pem"), filepath.Join(outsider, "outsider.key"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := presentTo(t, checks, "checks.test", outsiderPair); status == 200 {
		t.Fatal("checks.test let the outsider in")
	}
	// A request without a certificate: the quiet server's log covers a
	// time, and no certificate appears in it.
	presentTo(t, quiet, "quiet.test", interopPair(t, certs, "stranger"))
	time.Sleep(200 * time.Millisecond) // nginx writes each line as it ends the request

	logs := filepath.Join(dir, "logs")
	r := certgov(t, "import", logs)
	if r.code != 0 || !strings.Contains(r.stdout, "usage:        2 access logs") {
		t.Fatalf("import logs: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if again := certgov(t, "import", logs); !strings.Contains(again.stdout, "2 unchanged") {
		t.Errorf("the same logs again:\n%s", again.stdout)
	}

	// All at once, into a database of its own: the configuration is
	// stored first, then its logs are read in a second pass.
	once := certgov(t, "--db", database(t, filepath.Join(t.TempDir(), "once.db")), "import", certs, conf, logs)
	if once.code != 0 || !strings.Contains(once.stdout, "usage:        2 access logs") {
		t.Errorf("configuration and logs in one import: %d\n%s\n%s", once.code, once.stdout, once.stderr)
	}

	ledger := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "ledger.pem")))
	var shown struct {
		LastSeen *time.Time `json:"last_seen"`
		Usage    []struct {
			Server       string     `json:"server"`
			LastSeen     *time.Time `json:"last_seen"`
			LastAccepted *time.Time `json:"last_accepted"`
			Requests     int64      `json:"requests"`
		} `json:"usage"`
	}
	r = certgov(t, "show", ledger[:16], "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("show: %v\n%s", err, r.stderr)
	}
	if shown.LastSeen == nil || time.Since(*shown.LastSeen) > time.Hour || len(shown.Usage) != 2 {
		t.Fatalf("ledger's usage: %+v", shown)
	}
	for _, u := range shown.Usage {
		switch {
		case strings.HasPrefix(u.Server, "checks.test"):
			if u.Requests != 3 || u.LastAccepted == nil {
				t.Errorf("at checks.test: %+v", u)
			}
		case strings.HasPrefix(u.Server, "quiet.test"):
			if u.LastSeen != nil || u.Requests != 0 {
				t.Errorf("at quiet.test: %+v", u)
			}
		default:
			t.Errorf("usage at %s", u.Server)
		}
	}
	var listed []struct {
		Fingerprint string  `json:"fingerprint_sha256"`
		LastSeen    *string `json:"last_seen"`
	}
	if err := json.Unmarshal([]byte(certgov(t, "ls", "-o", "json").stdout), &listed); err != nil {
		t.Fatal(err)
	}
	deep := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "deep.pem")))
	for _, rec := range listed {
		switch rec.Fingerprint {
		case ledger:
			if rec.LastSeen == nil {
				t.Error("ls: ledger's last_seen is null")
			}
		case deep:
			if rec.LastSeen != nil {
				t.Errorf("ls: deep, never presented, was last seen %s", *rec.LastSeen)
			}
		}
	}
	if text := certgov(t, "show", ledger[:16]).stdout; !strings.Contains(text, "Seen at") || !strings.Contains(text, "3 requests") || !strings.Contains(text, "never presented") {
		t.Errorf("show:\n%s", text)
	}
	block, _ := pem.Decode(mustRead(t, filepath.Join(outsider, "outsider.pem")))
	outsiderSHA1 := fmt.Sprintf("%x", sha1.Sum(block.Bytes))
	unknown := certgov(t, "findings", "--filter", "finding:unknown-client", "-o", "json").stdout
	if !strings.Contains(unknown, "sha1:"+outsiderSHA1) || !strings.Contains(unknown, "checks.test") || !strings.Contains(unknown, "refused or not verified") || strings.Count(unknown, `"unknown-client"`) != 1 {
		t.Errorf("unknown-client:\n%s", unknown)
	}
	findings := certgov(t, "findings", "--filter", "finding:used-after-revocation").stdout
	if !strings.Contains(findings, "direct.ops.svc") || !strings.Contains(findings, "checks.test") || strings.Contains(findings, "ledger") {
		t.Errorf("used-after-revocation:\n%s", findings)
	}
}
