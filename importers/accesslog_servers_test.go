package importers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// The access logs an nginx server writes and their formats: a server's
// own access_log replaces the http block's, "off" and syslog write no
// file, a relative path is nginx's prefix's, a format nginx does not know
// is a problem with its line, and the format compiles.
func TestNginxAccessLogsOfServers(t *testing.T) {
	servers, results, dir := serversOf(t, "nginx.conf", `http {
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    log_format mtls escape=default '$remote_addr [$time_local] "$request" $status '
                    '"$ssl_client_fingerprint" "$ssl_client_verify"';
    access_log /var/log/nginx/access.log mtls buffer=32k;
    server {
        listen 443 ssl;
        server_name api.example;
    }
    server {
        listen 8443 ssl;
        server_name partners.example;
        access_log logs/partners.log mtls;
        access_log syslog:server=10.0.0.1;
        access_log /var/log/nginx/plain.log;
    }
    server {
        listen 9443 ssl;
        access_log /var/log/nginx/bad.log nosuch;
    }
    server {
        listen 9444 ssl;
        access_log off;
    }
}
`)
	if len(servers) != 4 {
		t.Fatalf("%d servers", len(servers))
	}
	api, partners, bad, off := servers[0], servers[1], servers[2], servers[3]
	if len(api.AccessLogs) != 1 || api.AccessLogs[0].Path != "/var/log/nginx/access.log" || api.AccessLogs[0].FormatName != "mtls" || api.AccessLogs[0].Escape != "default" || api.AccessLogs[0].LoggedAs != "api.example" {
		t.Fatalf("api: %+v", api.AccessLogs)
	}
	if err := importers.CheckLogFormat(api.AccessLogs[0]); err != nil {
		t.Errorf("the mtls format %q: %v", api.AccessLogs[0].Format, err)
	}
	if len(partners.AccessLogs) != 2 || partners.AccessLogs[0].Path != filepath.Join(dir, "logs", "partners.log") || partners.AccessLogs[1].FormatName != "combined" {
		t.Fatalf("partners: %+v", partners.AccessLogs)
	}
	if len(bad.AccessLogs) != 0 || !strings.Contains(problemText(results), "nginx.conf:20") || !strings.Contains(problemText(results), `"nosuch"`) {
		t.Errorf("an unknown format: %+v\n%s", bad.AccessLogs, problemText(results))
	}
	if len(off.AccessLogs) != 0 {
		t.Errorf("access_log off: %+v", off.AccessLogs)
	}
}

// HAProxy sends its logs to syslog: a frontend that logs there (its own
// log line, or "log global" with the global section's) writes to the
// file Debian's rsyslog rule names, in the log-format it sets over its
// defaults'; one that only logs to stdout, or "no log", writes none.
func TestHAProxyAccessLogsOfFrontends(t *testing.T) {
	servers, results, _ := serversOf(t, "haproxy.cfg", `global
    log /dev/log local0

defaults
    mode http
    log global
    option httplog

frontend mtls
    bind :8443 ssl crt /etc/haproxy/server.pem verify required ca-file ${DIR}/ca.pem
    log-format "%ci [%tr] %ft %ST %[ssl_c_verify] %[ssl_c_sha1,hex] %{+Q}[ssl_c_s_dn]"

frontend plain
    bind :9443 ssl crt /etc/haproxy/server.pem verify optional ca-file ${DIR}/ca.pem

frontend quiet
    bind :9444 ssl crt /etc/haproxy/server.pem verify optional ca-file ${DIR}/ca.pem
    no log
    log stdout format raw local0
    log-format "%Ts %[ssl_c_sha1,hex]"
`)
	if len(servers) != 3 {
		t.Fatalf("%d servers: %s", len(servers), problemText(results))
	}
	mtls, plain, quiet := servers[0], servers[1], servers[2]
	if len(mtls.AccessLogs) != 1 || mtls.AccessLogs[0].Path != "/var/log/haproxy.log" || mtls.AccessLogs[0].Dialect != model.LogDialectHAProxy || mtls.AccessLogs[0].LoggedAs != "mtls" ||
		mtls.AccessLogs[0].Format != `%ci [%tr] %ft %ST %[ssl_c_verify] %[ssl_c_sha1,hex] %{+Q}[ssl_c_s_dn]` || !strings.HasSuffix(mtls.AccessLogs[0].Location, "haproxy.cfg:11") {
		t.Fatalf("mtls: %+v", mtls.AccessLogs)
	}
	if err := importers.CheckLogFormat(mtls.AccessLogs[0]); err != nil {
		t.Errorf("its log-format: %v", err)
	}
	if len(plain.AccessLogs) != 1 || plain.AccessLogs[0].FormatName != "option httplog" {
		t.Fatalf("plain: %+v", plain.AccessLogs)
	}
	if err := importers.CheckLogFormat(plain.AccessLogs[0]); err == nil || !strings.Contains(err.Error(), "no client certificate") {
		t.Errorf("option httplog logs a certificate? %v", err)
	}
	if len(quiet.AccessLogs) != 0 {
		t.Errorf("quiet logs to stdout only: %+v", quiet.AccessLogs)
	}
}

// Envoy's file access loggers of the listener whose validation context
// verifies clients: a json_format (kept as JSON), a text format, the
// default one (no certificate in it); standard output writes no file.
func TestEnvoyAccessLogsOfListeners(t *testing.T) {
	servers, results, _ := serversOf(t, "envoy.yaml", `static_resources:
  listeners:
  - name: mtls
    address:
      socket_address: { address: 0.0.0.0, port_value: 8443 }
    access_log:
    - name: envoy.access_loggers.stdout
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
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
                  time: "%START_TIME%"
                  client:
                    sha256: "%DOWNSTREAM_PEER_FINGERPRINT_256%"
                    subject: "%DOWNSTREAM_PEER_SUBJECT%"
                  status: "%RESPONSE_CODE%"
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: /var/log/envoy/mtls.log
              log_format:
                text_format_source:
                  inline_string: "[%START_TIME%] %RESPONSE_CODE% %DOWNSTREAM_PEER_FINGERPRINT_1%\n"
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: /var/log/envoy/plain.log
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            validation_context:
              trusted_ca: { filename: ${DIR}/ca.pem }
`)
	if len(servers) != 1 {
		t.Fatalf("%d servers: %s", len(servers), problemText(results))
	}
	logs := servers[0].AccessLogs
	if len(logs) != 3 || logs[0].Path != "/var/log/envoy/mtls.json" || logs[0].FormatName != "json_format" || logs[1].FormatName != "text_format_source" || logs[2].FormatName != "default format" {
		t.Fatalf("logs: %+v", logs)
	}
	for i, want := range []bool{true, true, false} {
		if err := importers.CheckLogFormat(logs[i]); (err == nil) != want {
			t.Errorf("%s: readable %v: %v", logs[i].FormatName, want, err)
		}
	}
	if !strings.Contains(logs[0].Format, `"sha256":"%DOWNSTREAM_PEER_FINGERPRINT_256%"`) {
		t.Errorf("json_format: %s", logs[0].Format)
	}
}

// serversOf imports a server configuration (its text names its folder
// ${DIR}) beside the interop CA it admits by, and gives the servers it
// declares, the import's results and the folder.
func serversOf(t *testing.T, name, config string) (servers []model.Server, results []model.FileResult, dir string) {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join("testdata", "interop", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir = writeTree(t, map[string]string{"ca.pem": string(ca)})
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(config, "${DIR}", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	results = walkAll(t, []string{dir}, importers.Options{})
	for _, r := range results {
		servers = append(servers, r.Servers...)
	}
	return servers, results, dir
}
