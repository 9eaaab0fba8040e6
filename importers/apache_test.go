package importers_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// An Apache httpd configuration in Debian's layout: apache2.conf includes
// sites-enabled/*.conf below ServerRoot (its folder); each SSL virtual
// host is a server inheriting the server-wide mod_ssl settings, gated by
// Require expr in its <Location />; what certgov cannot model is unknown,
// never a guess, and a site file imported with its apache2.conf is read
// once, through the include.
func TestApache(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("ssl/ca.pem", string(mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem"))))
	conf := write("apache2.conf", `# Debian's main file
Define SSLDIR ssl
SSLCACertificateFile ${SSLDIR}/ca.pem
SSLVerifyDepth 3
IncludeOptional mods-enabled/*.load
Include sites-enabled/*.conf
`)
	write("sites-enabled/partners.conf", `<VirtualHost *:443>
    ServerName partners.example.com
    ServerAlias api.example.com
    SSLEngine on
    SSLVerifyClient require
    <Location />
        Require expr %{SSL_CLIENT_S_DN_CN} in {"ledger.payments.svc", 'partner-a'} \
            && %{SSL_CLIENT_VERIFY} == "SUCCESS"
    </Location>
    <Location /admin>
        SSLRequire %{SSL_CLIENT_S_DN_OU} eq "ops"
    </Location>
</VirtualHost>
<VirtualHost *:8443>
    ServerName legacy.example.com
    SSLEngine on
    SSLVerifyClient optional_no_ca
    <Location />
        Require expr %{SSL_CLIENT_S_DN_O} == "Partner A"
    </Location>
</VirtualHost>
<VirtualHost *:9443>
    ServerName odd.example.com
    SSLEngine on
    SSLVerifyClient require
    <Location />
        Require expr %{SSL_CLIENT_SAN_DNS_1} == "api.example.com"
    </Location>
</VirtualHost>
<VirtualHost *:80>
    ServerName plain.example.com
</VirtualHost>
`)
	var results []model.FileResult
	for res := range importers.Walk(context.Background(), []string{dir}, importers.Options{}) {
		results = append(results, res)
	}
	var main *model.FileResult
	for i, res := range results {
		switch {
		case res.Source.Path == conf:
			main = &results[i]
		case strings.HasSuffix(res.Source.Path, "partners.conf"):
			if !strings.HasPrefix(res.Skipped, "part of the Apache httpd configuration") {
				t.Errorf("partners.conf is read alone: %q", res.Skipped)
			}
		}
	}
	if main == nil || main.Source.Kind != model.KindApache || main.Err != nil {
		t.Fatalf("apache2.conf: %+v", main)
	}
	servers := map[string]model.Server{}
	for _, s := range main.Servers {
		servers[s.Names[0]] = s
	}
	if len(servers) != 3 {
		t.Fatalf("want the three SSL virtual hosts, got %v", servers)
	}
	p := servers["partners.example.com"]
	if p.Unknown != "" || p.Mode != model.VerifyOn || p.Depth != 2 || p.PolicyText() != "verify on, SSLVerifyDepth 3" ||
		!slices.Equal(p.Names, []string{"partners.example.com", "api.example.com"}) || len(p.CANames) != 1 {
		t.Errorf("partners: %+v", p)
	}
	if !slices.ContainsFunc(p.Gates, func(g string) bool { return strings.Contains(g, "in <Location /admin> only") }) {
		t.Errorf("the /admin gate is not listed: %v", p.Gates)
	}
	var names []string
	for _, e := range main.TrustEntries {
		if e.Scope == p.Scope && e.Kind == model.EntrySubjectDN {
			names = append(names, e.Label)
		}
	}
	if !slices.Equal(names, []string{"%{SSL_CLIENT_S_DN_CN} == ledger.payments.svc", "%{SSL_CLIENT_S_DN_CN} == partner-a"}) {
		t.Errorf("partners' name rules: %v", names)
	}
	if l := servers["legacy.example.com"]; l.Mode != model.VerifyOptionalNoCA || !slices.Equal(l.SpoofableNames, []string{"O=Partner A"}) {
		t.Errorf("legacy, optional_no_ca gated on a name alone, must be spoofable: %+v", l)
	}
	if o := servers["odd.example.com"]; !strings.Contains(o.Unknown, "SSL_CLIENT_SAN_DNS_1") {
		t.Errorf("a gate on a second SAN is not modelled: it must be unknown, got %q", o.Unknown)
	}
}

// Expressions certgov cannot state as allow lists are refused, each with
// its reason.
func TestApacheExpressionsOutsideTheModel(t *testing.T) {
	for expr, want := range map[string]string{
		`! %{SSL_CLIENT_S_DN_CN} == "a"`:                                     "negation",
		`%{SSL_CLIENT_S_DN_CN} != "a"`:                                       "admits what is not listed",
		`%{SSL_CLIENT_S_DN_CN} == "a" && %{SSL_CLIENT_S_DN_O} == "b"`:        "more than one condition on the certificate's names",
		`%{SSL_CLIENT_M_SERIAL} == "0a"`:                                     "never matches",
		`(%{SSL_CLIENT_S_DN_CN} == "a" && %{SSL_CLIENT_VERIFY} == "SUCCESS"`: "not closed",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "httpd.conf")
		os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
		conf := "<VirtualHost *:443>\nSSLEngine on\nSSLVerifyClient require\nSSLCACertificateFile ca.pem\n<Location />\nRequire expr " + expr + "\n</Location>\n</VirtualHost>\n"
		os.WriteFile(path, []byte(conf), 0o600)
		res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
		if len(res.Servers) != 1 || !strings.Contains(res.Servers[0].Unknown, want) || len(res.TrustEntries) != 0 {
			t.Errorf("%s: want unknown (%s) and no entries, got %+v", expr, want, res.Servers)
		}
	}
}
