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
	ca, err := os.ReadFile(filepath.Join("testdata", "interop", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"ca.pem": string(ca), "nginx.conf": `http {
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
`})
	results := walkAll(t, []string{dir}, importers.Options{})
	var servers []model.Server
	for _, r := range results {
		servers = append(servers, r.Servers...)
	}
	if len(servers) != 4 {
		t.Fatalf("%d servers", len(servers))
	}
	api, partners, bad, off := servers[0], servers[1], servers[2], servers[3]
	if len(api.AccessLogs) != 1 || api.AccessLogs[0].Path != "/var/log/nginx/access.log" || api.AccessLogs[0].FormatName != "mtls" || api.AccessLogs[0].Escape != "default" {
		t.Fatalf("api: %+v", api.AccessLogs)
	}
	if err := importers.CheckNginxLogFormat(api.AccessLogs[0].Format, api.AccessLogs[0].Escape); err != nil {
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
