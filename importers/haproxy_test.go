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
		"legacy:9443|verify on|haproxy.cfg:16|unknown=crt-ignore-err all: some verification errors are let through and others not, which certgov does not model",
		"legacy:9444|verify off|haproxy.cfg:17|unknown=",
		"legacy:9445|verify on|haproxy.cfg:18|unknown=it verifies client certificates without a CA file",
		"gated:7443|verify on|haproxy.cfg:21|unknown=a condition certgov cannot read: acl at line 22 (-f /etc/haproxy/pins.lst: open /etc/haproxy/pins.lst: no such file or directory)",
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
	if len(res.Servers) == 9 && !slices.Equal(res.Servers[6].Gates, []string{"line 23: http-request deny unless listed"}) {
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

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// HAProxy's rules on the client certificate are read as allow lists:
// "deny unless" and "deny if !" over ssl_c_sha1 and ssl_c_s_dn(cn) ACLs
// state pins and names; a deny list, a value the hex converter never
// writes, or a rule that also tests the request is unknown; a
// tcp-request connection rule runs before the handshake and so refuses
// every certificate it tests for; a rule on the path alone is no gate.
func TestHAProxyGates(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
	const sha1 = "0123456789abcdef0123456789abcdef01234567"
	cases := map[string]struct {
		rules   string
		kinds   []model.EntryKind
		unknown string
	}{
		"pinned":      {"acl p ssl_c_sha1,hex,lower " + sha1 + "\n http-request deny unless p", []model.EntryKind{model.EntryCA, model.EntryFingerprint}, ""},
		"by-cn":       {"acl cn ssl_c_s_dn(cn) -m str a.svc b.svc\n http-request deny if { ssl_c_used } !cn", []model.EntryKind{model.EntryCA, model.EntrySubjectDN, model.EntrySubjectDN}, ""},
		"deny-list":   {"acl bad ssl_c_s_dn(cn) evil\n http-request deny if bad", nil, "deny list"},
		"wrong-case":  {"acl p ssl_c_sha1,hex " + sha1 + "\n http-request deny unless p", nil, "never matches"},
		"mixed":       {"acl p ssl_c_sha1,hex,lower " + sha1 + "\n http-request deny if { path_beg /admin } !p", nil, "mixes tests"},
		"before-tls":  {"acl cn ssl_c_s_dn(cn) a.svc\n tcp-request connection reject if !cn", nil, ""},
		"path-only":   {"http-request deny if { path_beg /admin }", []model.EntryKind{model.EntryCA}, ""},
		"verify-only": {"http-request deny unless { ssl_c_verify 0 }", []model.EntryKind{model.EntryCA}, ""},
	}
	for name, c := range cases {
		conf := "global\n ca-base " + dir + "\nfrontend f\n bind :443 ssl crt a.pem ca-file ca.pem verify required\n " + c.rules + "\n"
		path := filepath.Join(dir, name+".cfg")
		os.WriteFile(path, []byte(conf), 0o600)
		res := importers.ReadFile(context.Background(), path, importers.Options{Kind: model.KindHAProxy}, true)
		if len(res.Servers) != 1 {
			t.Fatalf("%s: %+v", name, res)
		}
		var kinds []model.EntryKind
		for _, e := range res.TrustEntries {
			kinds = append(kinds, e.Kind)
		}
		if srv := res.Servers[0]; !slices.Equal(kinds, c.kinds) || (c.unknown == "") != (srv.Unknown == "") || !strings.Contains(srv.Unknown, c.unknown) {
			t.Errorf("%s: entries %v (want %v), unknown %q (want %q)", name, kinds, c.kinds, srv.Unknown, c.unknown)
		}
	}
}

// A crt-list makes a server of each of its lines, named by their SNI
// filters, each with the bind's options and its own on top; a list that
// cannot be placed or read leaves the bind unknown.
func TestHAProxyCrtList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
	os.WriteFile(filepath.Join(dir, "sites.list"), []byte("# sites\nsite.pem [verify required] api.example !old.api.example\nsite.pem *.partners.example\nsite.pem [verify optional\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "good.list"), []byte("site.pem [verify required] api.example !old.api.example # the API\nsite.pem *.partners.example\n"), 0o600)
	conf := "global\n    ca-base " + dir + "\n    crt-base " + dir + "\n\nfrontend edge\n    bind :443 ssl crt-list good.list ca-file ca.pem verify optional\n" +
		"    bind :8443 ssl crt-list sites.list ca-file ca.pem\n    bind :9443 ssl crt-list /nowhere/x.list ca-file ca.pem verify required\n"
	path := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(path, []byte(conf), 0o600)
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	var got []string
	for _, s := range res.Servers {
		got = append(got, s.Name()+"|"+s.PolicyText()+"|"+s.Location+"|"+s.Unknown)
	}
	want := []string{
		"api.example:443|verify on|good.list:1|",
		"*.partners.example:443|verify optional|good.list:2|",
		"edge:8443|verify off|haproxy.cfg:7|crt-list sites.list: a line HAProxy refuses",
		"edge:9443|verify on|haproxy.cfg:8|crt-list /nowhere/x.list: cannot be read",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Routing gates when the default backend refuses: use_backend on the
// certificate to a backend that serves is an allow list; one to a
// backend that refuses is a deny list (unknown); with a default backend
// that serves, routing decides nothing.
func TestHAProxyRouting(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
	conf := "global\n    ca-base " + dir + "\n" +
		"\nfrontend allow\n    bind :443 ssl crt s.pem ca-file ca.pem verify required\n    use_backend app if { ssl_c_s_dn(cn) api.svc }\n    default_backend deny\n" +
		"\nfrontend deny-list\n    bind :444 ssl crt s.pem ca-file ca.pem verify required\n    use_backend deny if { ssl_c_s_dn(cn) old.svc }\n    default_backend app\n" +
		"\nfrontend open\n    bind :445 ssl crt s.pem ca-file ca.pem verify required\n    use_backend app if { ssl_c_s_dn(cn) api.svc }\n    default_backend app\n" +
		"\nfrontend none\n    bind :446 ssl crt s.pem ca-file ca.pem verify required\n    default_backend deny\n" +
		"\nbackend app\n    server a 10.0.0.1:80\n\nbackend deny\n    http-request deny\n"
	path := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(path, []byte(conf), 0o600)
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	kinds := map[string][]string{}
	for _, e := range res.TrustEntries {
		kinds[e.Scope] = append(kinds[e.Scope], string(e.Kind)+" "+e.Value)
	}
	got := map[string]string{}
	for _, s := range res.Servers {
		got[s.Names[0]] = fmt.Sprintf("%d entries, unknown %q", len(kinds[s.Scope]), s.Unknown)
	}
	want := map[string]string{
		"allow":     `2 entries, unknown ""`, // the CA, and the CN
		"deny-list": `0 entries, unknown "line 11: use_backend deny refuses what its condition matches: a deny list, which certgov does not state"`,
		"open":      `1 entries, unknown ""`,
		"none":      `0 entries, unknown ""`,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s, want %s", name, got[name], w)
		}
	}
}
