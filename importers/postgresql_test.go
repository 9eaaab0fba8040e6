package importers_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// PostgreSQL's files as initdb lays them out: postgresql.conf with an
// include_dir, the CA file relative to the data folder, pg_hba.conf with
// an @file list, an address and mask, quoted keywords; pg_ident.conf with
// a regex and an exact row. Each line that asks for a certificate is a
// server, with its reach; a line earlier lines cover is never reached.
func TestPostgreSQL(t *testing.T) {
	res := importers.ReadFile(context.Background(), filepath.Join("testdata", "trust", "postgresql", "postgresql.conf"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindPostgreSQL || len(res.Problems) > 0 {
		t.Fatalf("kind %q, err %v, problems %v", res.Source.Kind, res.Err, res.Problems)
	}
	servers := map[string]model.Server{}
	for _, s := range res.Servers {
		servers[s.Location] = s
	}
	if len(servers) != 5 {
		t.Fatalf("want the five lines that ask for a certificate, got %v", slices.Collect(maps.Keys(servers)))
	}
	ledger := servers["pg_hba.conf:7"]
	if ledger.Kind != "postgresql hostssl" || ledger.Mode != model.VerifyOn || ledger.Depth != -1 || ledger.Unknown != "" ||
		ledger.Name() != "postgresql hostssl :5433 (pg_hba.conf:7)" || !slices.Equal(ledger.Anchors, []string{"ssl_ca_file ca.pem"}) {
		t.Errorf("ledger line: %+v", ledger)
	}
	if l := ledger.Login; l == nil || !slices.Equal(l.Roles, []string{"ledger_rw", "ledger_ro"}) || l.Map != "services" || len(l.Idents) != 2 ||
		len(l.Earlier) != 0 || l.Password || l.AnyName {
		t.Errorf("ledger login (roles from @roles.txt, the map's rows; line 5 is host 127.0.0.1/32 and cannot overlap 10.20/16): %+v", ledger.Login)
	}
	if got := servers["pg_hba.conf:9"].Login; got == nil || got.Address != "10.30.0.0/16" || !got.AnyName || !got.Password {
		t.Errorf("reports line (address and mask, verify-ca with a password): %+v", got)
	}
	if got := servers["pg_hba.conf:13"].Login; got == nil || got.Address != "0.0.0.0/0" || len(got.Earlier) != 4 || got.Earlier[0].Line != 5 {
		t.Errorf("catch-all line: every line before it but local takes some of its connections first: %+v", got)
	}
	never := servers["pg_hba.conf:15"]
	if !slices.Contains(never.Gates, "never reached: line 13 decides every connection it matches first") || !slices.Equal(never.Login.Databases, []string{`"all"`}) {
		t.Errorf("the last line is never reached: %+v", never)
	}

	entries := map[string][]model.TrustEntry{}
	for _, e := range res.TrustEntries {
		entries[e.Scope] = append(entries[e.Scope], e)
	}
	if len(entries["hba pg_hba.conf:15"]) != 0 {
		t.Errorf("a line never reached admits nothing: %v", entries["hba pg_hba.conf:15"])
	}
	var names []string
	for _, e := range entries["hba pg_hba.conf:7"] {
		if e.Kind == model.EntrySubjectDN {
			names = append(names, e.Match+" "+e.Value)
		}
	}
	if want := []string{`common-name ^(.*)\.payments\.svc$`, `common-name ^client\.example\.org$`}; !slices.Equal(names, want) {
		t.Errorf("the ledger line gates on its map's rows: %q, want %q", names, want)
	}

	// Reach: the map's regex with \1, the exact row, roles the line takes.
	cert := func(cn string) *model.Certificate { return &model.Certificate{CommonName: cn, Subject: "CN=" + cn} }
	reach := func(l *model.Login, cn string) []string {
		var out []string
		for _, r := range l.ReachOf(cert(cn)) {
			out = append(out, r.String())
		}
		return out
	}
	for cn, want := range map[string][]string{
		"ledger_rw.payments.svc": {"logs in as ledger_rw to ledger from 10.20.0.0/16 (line 7)"},
		"client.example.org":     {"logs in as ledger_ro to ledger from 10.20.0.0/16 (line 7)"},
		"fx.payments.svc":        nil, // fx is no role the line takes
	} {
		if got := reach(ledger.Login, cn); !slices.Equal(got, want) {
			t.Errorf("%s reaches %q, want %q", cn, got, want)
		}
	}
	if got := reach(servers["pg_hba.conf:11"].Login, "anything"); !slices.Equal(got, []string{"logs in as any of etl,loader to batch from 10.40.0.0/16 (line 11)"}) {
		t.Errorf("batch reach: %q", got)
	}
	if got := reach(servers["pg_hba.conf:13"].Login, "web"); !slices.Equal(got, []string{"logs in as web to any database from 0.0.0.0/0 (line 13); line 5 decides first for any database as all from 127.0.0.1/32 (scram-sha-256)"}) {
		t.Errorf("catch-all reach: %q", got)
	}

	findings := model.ServerFindings(res.Servers)
	if len(findings) != 1 || findings[0].Code != model.FindingAnyRoleLogin || !strings.Contains(findings[0].Message, "as any of etl,loader to batch without a password") {
		t.Errorf("the batch line lets any certificate in as any of its roles: %v", findings)
	}
}

// What PostgreSQL refuses or cannot use: an hba line with an error (then
// no line loads: every server is unknown), a pg_ident.conf with one (no
// map loads: map lines let no one in), SSL off, no CA file, relative
// hba_file; and a configuration without certificate lines still lists
// its server, asking for none.
func TestPostgreSQLRefusals(t *testing.T) {
	ca := mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem"))
	read := func(t *testing.T, conf, hba, ident string) model.FileResult {
		t.Helper()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600)
		os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte(hba), 0o600)
		if ident != "" {
			os.WriteFile(filepath.Join(dir, "pg_ident.conf"), []byte(ident), 0o600)
		}
		path := filepath.Join(dir, "postgresql.conf")
		os.WriteFile(path, []byte("max_connections = 10\nshared_buffers = 16MB\n"+conf), 0o600)
		return importers.ReadFile(context.Background(), path, importers.Options{}, true)
	}
	const sslOn = "ssl = on\nssl_ca_file = 'ca.pem'\n"
	problems := func(res model.FileResult) string {
		var out []string
		for _, p := range res.Problems {
			out = append(out, p.Error())
		}
		return strings.Join(out, "\n")
	}

	for hba, want := range map[string]string{
		"host all all 0.0.0.0/0 cert\n":                            "cert authentication is only supported on hostssl lines",
		"hostssl all all 0.0.0.0/0 cert clientcert=verify-ca\n":    "clientcert is only verify-full with cert authentication",
		"host all all 0.0.0.0/0 md5 clientcert=verify-full\n":      "clientcert only on hostssl lines",
		"include other.conf\nhostssl all all 0.0.0.0/0 cert\n":     `"include" is not a connection type of PostgreSQL 15`,
		"hostssl all all 10.0.0.1 cert\n":                          "an invalid mask",
		"hostssl all all 0.0.0.0/0 md5 map=x clientcert=verify-ca": "map is only for ident, peer, gss, sspi and cert",
	} {
		res := read(t, sslOn, hba+"hostssl app app 10.0.0.0/8 cert\n", "")
		if !strings.Contains(problems(res), want+" (PostgreSQL loads no line of the file)") {
			t.Errorf("%q: problems %q, want %q", hba, problems(res), want)
		}
		for _, s := range res.Servers {
			if !strings.Contains(s.Unknown, "PostgreSQL refuses to load its pg_hba.conf") {
				t.Errorf("%q: server %s is not unknown: %+v", hba, s.Location, s)
			}
		}
		if len(res.TrustEntries) != 0 {
			t.Errorf("%q: an unloadable pg_hba.conf admits nothing: %v", hba, res.TrustEntries)
		}
	}

	res := read(t, sslOn, "hostssl all all 0.0.0.0/0 cert map=m\n", "m /^(x\n")
	if !strings.Contains(problems(res), "PostgreSQL loads no map of the file") || len(res.TrustEntries) != 0 ||
		!slices.ContainsFunc(res.Servers[0].Gates, func(g string) bool { return strings.Contains(g, "loads no map") }) {
		t.Errorf("a broken pg_ident.conf: problems %q, servers %+v", problems(res), res.Servers)
	}

	for conf, want := range map[string]string{
		"ssl_ca_file = 'ca.pem'\n":        "ssl is off",
		"ssl = on\n":                      "no ssl_ca_file",
		sslOn + "listen_addresses = ''\n": "listen_addresses is empty",
	} {
		res := read(t, conf, "hostssl all all 0.0.0.0/0 cert\n", "")
		if len(res.Servers) != 1 || res.Servers[0].Mode != model.VerifyOff || !strings.Contains(strings.Join(res.Servers[0].Gates, ";"), want) || len(res.TrustEntries) != 0 {
			t.Errorf("%q: %+v", conf, res.Servers)
		}
	}

	res = read(t, sslOn+"hba_file = 'conf/pg_hba.conf'\n", "", "")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "hba_file: conf/pg_hba.conf: a relative path: PostgreSQL reads it from the folder it was started in") {
		t.Errorf("relative hba_file: the file fails with nothing read: %v", res.Err)
	}

	res = read(t, sslOn, "local all all peer\nhostssl all all 0.0.0.0/0 scram-sha-256\n", "")
	if len(res.Servers) != 1 || res.Servers[0].Kind != "postgresql" || res.Servers[0].Mode != model.VerifyOptional || len(res.Servers[0].CANames) != 1 ||
		len(res.TrustEntries) != 0 || len(res.Problems) > 0 {
		t.Errorf("no certificate line: %+v %v", res.Servers, res.Problems)
	}

	// ssl on and a CA file: the handshake still asks for a certificate
	// (as scan sees), though no line lets one in.
	// clientname=DN compares the subject as OpenSSL writes it, exactly.
	res = read(t, sslOn, "hostssl all app 0.0.0.0/0 cert clientname=DN map=dn\n", `dn "CN=app,O=Example" app`+"\n")
	if len(res.TrustEntries) != 2 || res.TrustEntries[1].Match != model.MatchSearch || res.TrustEntries[1].Value != `^CN=app,O=Example$` {
		t.Errorf("DN map: %+v", res.TrustEntries)
	}
}

// FuzzPostgreSQLHBA: any pg_hba.conf and pg_ident.conf bytes behind a
// valid postgresql.conf come back as servers or problems, never a panic.
func FuzzPostgreSQLHBA(f *testing.F) {
	for _, name := range []string{"pg_hba.conf", "pg_ident.conf"} {
		f.Add(mustReadFile(f, filepath.Join("testdata", "trust", "postgresql", name)))
	}
	f.Add([]byte("hostssl \"a\"\"b\",@x all ::1 ffff:: cert clientname=DN map=m \\\n clientcert=verify-full\nm /(.*) \\1\n"))
	dir := f.TempDir()
	conf := filepath.Join(dir, "postgresql.conf")
	os.WriteFile(conf, []byte("max_connections = 1\nshared_buffers = 1MB\nssl = on\nssl_ca_file = 'ca.pem'\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(f, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
	f.Fuzz(func(t *testing.T, data []byte) {
		os.WriteFile(filepath.Join(dir, "pg_hba.conf"), data, 0o600)
		os.WriteFile(filepath.Join(dir, "pg_ident.conf"), data, 0o600)
		res := importers.ReadFile(context.Background(), conf, importers.Options{}, true)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if len(res.Servers) == 0 && len(res.Problems) == 0 {
			t.Fatal("neither servers nor problems")
		}
	})
}

// An @file that names some other file (a key, /etc/shadow) puts none of
// its words in what certgov stores: the line is refused, its words unsaid.
func TestPostgreSQLForeignListFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("root:$6$c2FsdA$aGFzaGVk:19000:0:99999:7:::\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte("hostssl all @secret.txt 0.0.0.0/0 cert\n"), 0o600)
	path := filepath.Join(dir, "postgresql.conf")
	os.WriteFile(path, []byte("max_connections = 10\nshared_buffers = 16MB\nssl = on\nssl_ca_file = 'ca.pem'\n"), 0o600)
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	var said strings.Builder
	for _, p := range res.Problems {
		said.WriteString(p.Error() + "\n")
	}
	for _, s := range res.Servers {
		fmt.Fprintf(&said, "%+v %+v\n", s, s.Login)
	}
	if res.Err != nil {
		said.WriteString(res.Err.Error())
	}
	if strings.Contains(said.String(), "c2FsdA") || strings.Contains(said.String(), "root") {
		t.Errorf("a word of the foreign file is said:\n%s", said.String())
	}
	if !strings.Contains(said.String(), "@secret.txt line 1: not a role or database name") {
		t.Errorf("the refusal is not reported:\n%s", said.String())
	}
}
