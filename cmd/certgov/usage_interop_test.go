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
	"regexp"
	"slices"
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
	checks, quiet, open := freePort(t), freePort(t), freePort(t)
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
    server {
        listen 127.0.0.1:%[4]d ssl;
        server_name open.test;
        ssl_verify_client optional_no_ca;
        access_log logs/open.log mtls;
        location / { return 200 "ok\n"; }
    }
}
`, dir, checks, quiet, open)
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
	// optional_no_ca verifies nothing: nginx logs the outsider as not
	// verified, and lets it in all the same.
	if status, _ := presentTo(t, open, "open.test", outsiderPair); status != 200 {
		t.Fatalf("open.test refused the outsider: %d", status)
	}
	// A request without a certificate: the quiet server's log covers a
	// time, and no certificate appears in it.
	presentTo(t, quiet, "quiet.test", interopPair(t, certs, "stranger"))
	time.Sleep(200 * time.Millisecond) // nginx writes each line as it ends the request

	logs := filepath.Join(dir, "logs")
	r := certgov(t, "import", logs)
	if r.code != 0 || !strings.Contains(r.stdout, "usage:        3 access logs") {
		t.Fatalf("import logs: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if again := certgov(t, "import", logs); !strings.Contains(again.stdout, "3 unchanged") {
		t.Errorf("the same logs again:\n%s", again.stdout)
	}

	// All at once, into a database of its own: the configuration is
	// stored first, then its logs are read in a second pass.
	once := certgov(t, "--db", database(t, filepath.Join(t.TempDir(), "once.db")), "import", certs, conf, logs)
	if once.code != 0 || !strings.Contains(once.stdout, "usage:        3 access logs") {
		t.Errorf("configuration and logs in one import: %d\n%s\n%s", once.code, once.stdout, once.stderr)
	}

	ledger := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "ledger.pem")))
	shown := showUsage(t, ledger)
	if shown.LastSeen == nil || time.Since(*shown.LastSeen) > time.Hour || len(shown.Usage) != 3 {
		t.Fatalf("ledger's usage: %+v", shown)
	}
	for _, u := range shown.Usage {
		switch {
		case strings.HasPrefix(u.Server, "checks.test"):
			if u.Requests != 3 || u.LastAccepted == nil {
				t.Errorf("at checks.test: %+v", u)
			}
		case strings.HasPrefix(u.Server, "quiet.test"), strings.HasPrefix(u.Server, "open.test"):
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
	var unknownFindings []struct {
		Identity, Message string
	}
	json.Unmarshal([]byte(unknown), &unknownFindings)
	if len(unknownFindings) != 2 {
		t.Errorf("unknown-client:\n%s", unknown)
	}
	for _, f := range unknownFindings {
		switch {
		case f.Identity != "sha1:"+outsiderSHA1:
			t.Errorf("unknown-client names %s", f.Identity)
		case strings.Contains(f.Message, "checks.test") && !strings.Contains(f.Message, "refused or not verified"):
			t.Errorf("checks.test refused the outsider: %s", f.Message)
		case strings.Contains(f.Message, "open.test") && !strings.HasSuffix(f.Message, ", accepted; import it or find out whose it is"):
			t.Errorf("open.test let the outsider in: %s", f.Message)
		}
	}
	findings := certgov(t, "findings", "--filter", "finding:used-after-revocation").stdout
	if !strings.Contains(findings, "direct.ops.svc") || !strings.Contains(findings, "checks.test") || strings.Contains(findings, "ledger") {
		t.Errorf("used-after-revocation:\n%s", findings)
	}

	// The log grows: the next import reads only what is new.
	present := func(times int) {
		t.Helper()
		for range times {
			if status, _ := presentTo(t, checks, "checks.test", interopPair(t, certs, "ledger")); status != 200 {
				t.Fatalf("ledger at checks.test: %d", status)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	present(2)
	if r := certgov(t, "import", logs); r.code != 0 || !strings.Contains(r.stdout, "1 grown since the last import, read from where it ended") {
		t.Fatalf("the grown log: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if u := requestsAt(showUsage(t, ledger), "checks.test"); u != 5 {
		t.Errorf("after the log grew: %d requests at checks.test, want 5", u)
	}
	// Rotated as logrotate does it: moved aside, then nginx reopens its
	// log. The rotation and the new log hold each request once.
	checksLog := filepath.Join(logs, "checks.log")
	if err := os.Rename(checksLog, checksLog+".1"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-p", dir, "-c", conf, "-s", "reopen").CombinedOutput(); err != nil {
		t.Fatalf("nginx -s reopen: %v\n%s", err, out)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(checksLog); err == nil {
			break
		}
		if i == 100 {
			t.Fatal("nginx did not reopen its log")
		}
		time.Sleep(50 * time.Millisecond)
	}
	present(1)
	if r := certgov(t, "import", logs); r.code != 0 {
		t.Fatalf("the rotated logs: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if u := requestsAt(showUsage(t, ledger), "checks.test"); u != 6 {
		t.Errorf("after the rotation: %d requests at checks.test, want 6", u)
	}
}

// requestsAt is how many requests a server's logs show of a certificate.
func requestsAt(shown shownUsage, server string) int64 {
	for _, u := range shown.Usage {
		if strings.Contains(u.Server, server) {
			return u.Requests
		}
	}
	return -1
}

// A real HAProxy logs to syslog, and Debian's own rsyslog rule for it
// (its haproxy package's 49-haproxy.conf, with the test's paths) writes
// /var/log/haproxy.log, as on a Debian gateway: certgov reads it in the
// frontends' log-format, ssl_c_sha1, ssl_c_verify and the frontend's
// name (%ft) in it, and reports per frontend what its own lines show.
// Another frontend writing the same file in HAProxy's httplog format gets
// no evidence from it: its lines are not in the format read.
func TestUsageFromHAProxyLogsThroughRsyslog(t *testing.T) {
	haproxy := interopTool(t, "haproxy", "/usr/sbin/haproxy")
	rsyslogd := interopTool(t, "rsyslogd", "/usr/sbin/rsyslogd")
	rule := string(mustRead(t, "/etc/rsyslog.d/49-haproxy.conf"))
	isolate(t)
	dir, certs := makeInteropEstate(t)
	root := filepath.Join(dir, "gw")
	for _, d := range []string{"dev", "var/log", "spool"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	socket, logFile := filepath.Join(root, "dev", "log"), filepath.Join(root, "var", "log", "haproxy.log")
	rule = strings.NewReplacer("/var/lib/haproxy/dev/log", socket, "/var/log/haproxy.log", logFile).Replace(rule)
	if !strings.Contains(rule, socket) || !strings.Contains(rule, logFile) {
		t.Fatalf("Debian's rule for HAProxy changed:\n%s", rule)
	}
	rsyslogConf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(rsyslogConf, []byte(fmt.Sprintf("global(workDirectory=%q)\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n%s", filepath.Join(root, "spool"), rule)), 0o600); err != nil {
		t.Fatal(err)
	}
	syslog := exec.Command(rsyslogd, "-n", "-f", rsyslogConf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	syslog.Stderr = os.Stderr
	if err := syslog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syslog.Process.Kill(); syslog.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 200 {
			t.Fatal("rsyslogd made no socket")
		}
		time.Sleep(50 * time.Millisecond)
	}

	serverPEM := append(mustRead(t, filepath.Join(certs, "server.pem")), mustRead(t, filepath.Join(certs, "server.key"))...)
	if err := os.WriteFile(filepath.Join(dir, "server.crt"), serverPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	checks, quiet, plain := &interopServer{name: "checks", port: freePort(t)}, &interopServer{name: "quiet", port: freePort(t)}, &interopServer{name: "plain", port: freePort(t)}
	conf := filepath.Join(dir, "haproxy.cfg")
	text := fmt.Sprintf(`global
    log %[1]s local0
    ca-base %[2]s

defaults
    mode http
    log global
    log-format "%%ci:%%cp [%%tr] %%ft %%ST %%[ssl_c_verify] %%{+Q}[ssl_c_sha1,hex] %%{+Q}[ssl_c_s_dn]"
    timeout client 5s
    timeout connect 5s
    timeout server 5s

frontend checks
    bind 127.0.0.1:%[3]d ssl crt %[5]s verify required ca-file root-and-partners.pem
    http-request return status 200 content-type text/plain string ok

frontend quiet
    bind 127.0.0.1:%[4]d ssl crt %[5]s verify required ca-file root-and-partners.pem
    http-request return status 200 content-type text/plain string ok

frontend plain
    bind 127.0.0.1:%[6]d ssl crt %[5]s verify required ca-file root-and-partners.pem
    option httplog
    http-request return status 200 content-type text/plain string ok
`, socket, certs, checks.port, quiet.port, filepath.Join(dir, "server.crt"), plain.port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	startDaemon(t, exec.Command(haproxy, "-db", "-f", conf), []*interopServer{checks, quiet, plain})
	if r := certgov(t, "import", certs, conf); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	for client, times := range map[string]int{"ledger": 3, "partner": 1} {
		for range times {
			if status, _ := presentTo(t, checks.port, "checks.test", interopPair(t, certs, client)); status != 200 {
				t.Fatalf("%s at checks: %d", client, status)
			}
		}
	}
	for _, s := range []*interopServer{quiet, plain} {
		if status, _ := presentTo(t, s.port, s.name+".test", interopPair(t, certs, "ledger")); status != 200 {
			t.Fatalf("ledger at %s: %d", s.name, status)
		}
	}
	// HAProxy logs each request as it ends, rsyslog writes it soon after.
	for i := 0; ; i++ {
		if data, _ := os.ReadFile(logFile); strings.Count(string(data), "\n") >= 6 {
			break
		}
		if i == 200 {
			t.Fatalf("the log after 10 s:\n%s", mustRead(t, logFile))
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := certgov(t, "import", filepath.Join(root, "var", "log"))
	if r.code != 0 || !strings.Contains(r.stdout, "usage:        1 access logs") {
		t.Fatalf("import the log: %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, mustRead(t, logFile))
	}
	ledger := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "ledger.pem")))
	shown := showUsage(t, ledger)
	if shown.LastSeen == nil || time.Since(*shown.LastSeen) > time.Hour || len(shown.Usage) != 2 ||
		requestsAt(shown, "checks") != 3 || requestsAt(shown, "quiet") != 1 || shown.Usage[0].LastAccepted == nil {
		t.Fatalf("ledger's usage: %+v\n%s", shown, mustRead(t, logFile))
	}
	partner := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "partner.pem")))
	if shown := showUsage(t, partner); len(shown.Usage) != 2 || requestsAt(shown, "checks") != 1 || requestsAt(shown, "quiet") != 0 {
		t.Errorf("partner's usage, presented at checks only: %+v", shown)
	}
	if text := certgov(t, "show", partner[:16]).stdout; !strings.Contains(text, "Seen at") || !strings.Contains(text, "1 request") || !strings.Contains(text, "never presented") {
		t.Errorf("show partner:\n%s", text)
	}
}

// Envoy (not packaged by Debian, so its lines are written here as its
// json_format makes them, %START_TIME% and
// %DOWNSTREAM_PEER_FINGERPRINT_256% in their default forms) logs the
// SHA-256 fingerprint: a certificate certgov holds is seen by it, one
// it does not is an unknown client named by its SHA-256.
func TestUsageFromEnvoyJSONLogs(t *testing.T) {
	isolate(t)
	dir, certs := makeInteropEstate(t)
	conf := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(conf, []byte(`static_resources:
  listeners:
  - name: mtls
    address:
      socket_address: { address: 0.0.0.0, port_value: 8443 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: mtls
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: /var/log/envoy/mtls.json
              log_format:
                json_format:
                  start_time: "%START_TIME%"
                  peer_sha256: "%DOWNSTREAM_PEER_FINGERPRINT_256%"
                  status: "%RESPONSE_CODE%"
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            validation_context:
              trusted_ca: { filename: `+filepath.Join(certs, "root-and-partners.pem")+` }
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ledger := fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "ledger.pem")))
	outsider := strings.Repeat("5a", 32)
	logs := filepath.Join(dir, "gw", "var", "log", "envoy")
	os.MkdirAll(logs, 0o700)
	line := func(at, fp string) string {
		return fmt.Sprintf(`{"start_time":"%s","peer_sha256":%s,"status":200}`+"\n", at, fp)
	}
	log := line("2026-11-01T08:00:00.120Z", `"`+ledger+`"`) + line("2026-11-20T09:00:00.000Z", "null") +
		line("2026-12-01T10:30:00.500Z", `"`+ledger+`"`) + line("2026-12-02T11:00:00.000Z", `"`+outsider+`"`)
	if err := os.WriteFile(filepath.Join(logs, "mtls.json"), []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := certgov(t, "import", certs, conf, filepath.Join(dir, "gw")); r.code != 0 || !strings.Contains(r.stdout, "usage:        1 access logs") {
		t.Fatalf("import: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	shown := showUsage(t, ledger)
	if shown.LastSeen == nil || !shown.LastSeen.Equal(time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)) || len(shown.Usage) != 1 || shown.Usage[0].Requests != 2 || !strings.Contains(shown.Usage[0].Server, "envoy mtls") {
		t.Fatalf("ledger's usage: %+v", shown)
	}
	unknown := certgov(t, "findings", "--filter", "finding:unknown-client", "-o", "json").stdout
	if !strings.Contains(unknown, "sha256:"+outsider) || !strings.Contains(unknown, "SHA-256") || strings.Count(unknown, `"unknown-client"`) != 1 {
		t.Errorf("unknown-client:\n%s", unknown)
	}
}

// shownUsage is what show -o json says of a certificate's usage.
type shownUsage struct {
	LastSeen *time.Time `json:"last_seen"`
	Usage    []struct {
		Server       string     `json:"server"`
		LastSeen     *time.Time `json:"last_seen"`
		LastAccepted *time.Time `json:"last_accepted"`
		Requests     int64      `json:"requests"`
	} `json:"usage"`
}

func showUsage(t *testing.T, fingerprint string) shownUsage {
	t.Helper()
	var shown shownUsage
	r := certgov(t, "show", fingerprint[:16], "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("show: %v\n%s", err, r.stderr)
	}
	return shown
}

// On the demo's partner gateway, whose log spans half a year: unseen>90d
// lists exactly the identities unused-trust names, and seen<90d none of
// them.
func TestSeenFiltersOnTheDemo(t *testing.T) {
	demoDatabase(t)
	identities := func(args ...string) []string {
		t.Helper()
		var rows []struct {
			Identity string `json:"identity"`
		}
		r := certgov(t, append([]string{"ls", "-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("ls %v: %v\n%s", args, err, r.stderr)
		}
		var out []string
		for _, row := range rows {
			out = append(out, row.Identity)
		}
		slices.Sort(out)
		return out
	}
	unseen, unused := identities("--filter", "unseen>90d"), identities("--filter", "finding:unused-trust")
	if len(unseen) == 0 || !slices.Equal(unseen, unused) {
		t.Errorf("unseen>90d %v, unused-trust %v", unseen, unused)
	}
	seen := identities("--filter", "seen<90d")
	if len(seen) == 0 {
		t.Error("seen<90d lists nothing")
	}
	for _, name := range seen {
		if slices.Contains(unseen, name) {
			t.Errorf("%s is both seen and unseen", name)
		}
	}
	// Never seen while logs cover it, against no evidence at all.
	type coverRow struct {
		LastSeen  *string `json:"last_seen"`
		LogsCover *struct {
			From, Until string
		} `json:"logs_cover"`
	}
	rowsOf := func(filter string) []coverRow {
		var rows []coverRow
		if err := json.Unmarshal([]byte(certgov(t, "ls", "-o", "json", "--filter", filter).stdout), &rows); err != nil || len(rows) == 0 {
			t.Fatalf("ls --filter %s: %d rows, %v", filter, len(rows), err)
		}
		return rows
	}
	if r := rowsOf("partner-umbrella-health")[0]; r.LastSeen != nil || r.LogsCover == nil || r.LogsCover.From == "" {
		t.Errorf("partner-umbrella-health, never seen while logs cover it: %+v", r)
	}
	for _, r := range rowsOf("ledger") {
		if r.LogsCover != nil {
			t.Errorf("ledger, behind no logged server: %+v", r)
		}
	}
	csvText := certgov(t, "ls", "-o", "csv", "--filter", "partner-umbrella-health").stdout
	if lines := strings.Split(strings.TrimSpace(csvText), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], "last_seen,logs_from,logs_until") || !regexp.MustCompile(`,,20\d\d-[^,]+,20\d\d-[^,]+$`).MatchString(lines[1]) {
		t.Errorf("ls -o csv:\n%s", csvText)
	}
}
