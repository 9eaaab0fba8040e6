package importers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// An HAProxy configuration: each bind line is a server, decided as
// HAProxy decides it; what certgov does not read yet (ACL gates on the
// client certificate, ignored verification errors, crt-list, relative
// paths without ca-base, environment variables) makes the bind unknown,
// never a guess.
func TestHAProxy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`# an edge
global
    log stdout format raw local0
    ca-base %s

defaults
    mode http

frontend partners
    bind :443 ssl crt /etc/haproxy/edge.pem ca-file ca.pem verify required
    bind :8443 ssl crt /etc/haproxy/edge.pem ca-file "ca.pem" verify optional crl-file missing.crl
    bind :80
    http-request return status 200

listen legacy
    bind 10.0.0.1:9443 ssl crt edge.pem ca-file ca.pem verify required crt-ignore-err all
    bind 10.0.0.1:9444 ssl crt edge.pem ca-file ca.pem
    bind 10.0.0.1:9445 ssl crt edge.pem verify required

frontend gated
    bind :7443 ssl crt edge.pem ca-file ca.pem verify required
    acl listed ssl_c_sha2,hex -f /etc/haproxy/pins.lst
    http-request deny unless listed

frontend envvars
    bind :6443 ssl crt edge.pem ca-file "${CA_FILE}" verify required
    bind :6444 ssl crt edge.pem ca-file ca.pem verify sometimes
`, dir)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindHAProxy {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	var servers []string
	for _, s := range res.Servers {
		servers = append(servers, fmt.Sprintf("%s|%s|%s|unknown=%s", s.Name(), s.PolicyText(), s.Location, s.Unknown))
	}
	want := []string{
		"partners:443|verify on|haproxy.cfg:10|unknown=",
		"partners:8443|verify optional, CRL missing.crl|haproxy.cfg:11|unknown=its CRL missing.crl cannot be read",
		"partners:80|verify off|haproxy.cfg:12|unknown=",
		"legacy:9443|verify on|haproxy.cfg:16|unknown=crt-ignore-err all: verification errors it lets through are not read yet",
		"legacy:9444|verify off|haproxy.cfg:17|unknown=",
		"legacy:9445|verify on|haproxy.cfg:18|unknown=it verifies client certificates without a CA file",
		"gated:7443|verify on|haproxy.cfg:21|unknown=it gates on the client certificate (line 23), which certgov does not evaluate yet",
		`envvars:6443|verify on|haproxy.cfg:26|unknown=ca-file ${CA_FILE}: names an environment variable, which depends on HAProxy's environment; ca-file ${CA_FILE} cannot be read`,
		"envvars:6444|verify on|haproxy.cfg:27|unknown=its verify mode is not one HAProxy knows",
	}
	if !slices.Equal(servers, want) {
		t.Errorf("servers\n%s\nwant\n%s", strings.Join(servers, "\n"), strings.Join(want, "\n"))
	}
	// Entries only for the binds certgov reads whole, scoped to them.
	if len(res.TrustEntries) != 1 || res.TrustEntries[0].Scope != "bind haproxy.cfg:10" || !res.TrustEntries[0].AllOf || res.TrustEntries[0].Kind != model.EntryCA {
		t.Errorf("entries %+v", res.TrustEntries)
	}
	if len(res.Servers) == 9 && !slices.Equal(res.Servers[6].Gates, []string{"line 23: http-request deny unless listed, on listed ssl_c_sha2,hex -f /etc/haproxy/pins.lst"}) {
		t.Errorf("gates %q", res.Servers[6].Gates)
	}
	if len(res.Servers) > 0 && (len(res.Servers[0].CANames) != 1 || len(res.Servers[0].AnchorFiles) != 1) {
		t.Errorf("the first bind's CA names %v, anchor files %v", res.Servers[0].CANames, res.Servers[0].AnchorFiles)
	}
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.Error())
	}
	for _, wantProblem := range []string{"haproxy.cfg:11: crl-file", "missing.crl", "haproxy.cfg:18: bind: verify required without ca-file", "haproxy.cfg:27", `verify "sometimes"`} {
		if !strings.Contains(strings.Join(problems, "\n"), wantProblem) {
			t.Errorf("problems lack %q:\n%s", wantProblem, strings.Join(problems, "\n"))
		}
	}
}

// A relative CA file without ca-base is read from the folder HAProxy was
// started in: certgov cannot know it, and says so.
func TestHAProxyRelativeWithoutCABase(t *testing.T) {
	res := importers.Parse(context.Background(), "haproxy.cfg", []byte("frontend f\n    bind :443 ssl crt a.pem ca-file ca.pem verify required\n"), importers.Options{}, true)
	if res.Source.Kind != model.KindHAProxy || len(res.Servers) != 1 || !strings.Contains(res.Servers[0].Unknown, "without ca-base") || len(res.TrustEntries) != 0 {
		t.Fatalf("kind %q servers %+v entries %d err %v problems %v", res.Source.Kind, res.Servers, len(res.TrustEntries), res.Err, res.Problems)
	}
	// An unclosed quote is a problem on its line, not a crash: with
	// nothing else read, the file fails naming it.
	res = importers.Parse(context.Background(), "haproxy.cfg", []byte("frontend f\n    bind :443 ssl crt \"a.pem\n"), importers.Options{Kind: model.KindHAProxy}, true)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "haproxy.cfg:2") || !strings.Contains(res.Err.Error(), "quote") {
		t.Errorf("an unclosed quote: %v", res.Err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
