package importers_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
	"certgov/model/trust"
)

func trustFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "trust", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func entrySummary(res model.FileResult) []string {
	var out []string
	for e := range res.EachTrustEntry() {
		out = append(out, string(e.Kind)+" "+e.Label+" @"+e.Location)
	}
	return out
}

func TestPinList(t *testing.T) {
	res := importers.Parse(context.Background(), "pins.txt", trustFixture(t, "pins.txt"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindPinList {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	client := importers.Parse(context.Background(), "client.pem", interop(t, "client.pem"), importers.Options{}, true).Certificates[0]
	want := []model.TrustEntry{
		{Kind: model.EntryFingerprint, Value: client.FingerprintSHA256, HashAlgorithm: "sha256", Label: "interop-client (SHA-256)", Location: "line 2"},
		{Kind: model.EntryFingerprint, Value: client.FingerprintSHA1, HashAlgorithm: "sha1", Label: "interop-client, as nginx $ssl_client_fingerprint", Location: "line 3"},
		{Kind: model.EntrySPKI, Value: client.SPKISHA256, HashAlgorithm: "sha256", Label: "interop key", Location: "line 4"},
	}
	// A pin list's entries are read again as they are stored, not held.
	entries := slices.Collect(res.EachTrustEntry())
	if len(res.TrustEntries) != 0 || res.ListedCount != 4 || len(entries) != 4 {
		t.Fatalf("%d entries held, %d listed: %v", len(res.TrustEntries), res.ListedCount, entrySummary(res))
	}
	for i, w := range want {
		if entries[i] != w {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], w)
		}
	}
	// Served (--server), they are held, each with the server's scope.
	served := importers.Parse(context.Background(), "pins.txt", trustFixture(t, "pins.txt"), importers.Options{Server: "ledger"}, true)
	if len(served.TrustEntries) != 4 || served.ListedEntries != nil || served.TrustEntries[0].Scope != "service ledger" {
		t.Errorf("served: %d entries held (scope %q), listed %v", len(served.TrustEntries), served.TrustEntries[0].Scope, served.ListedEntries != nil)
	}
	// Listing them again stops when the import is interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	listed := importers.Parse(ctx, "pins.txt", trustFixture(t, "pins.txt"), importers.Options{}, true)
	cancel()
	if n := len(slices.Collect(listed.EachTrustEntry())); n != 0 {
		t.Errorf("%d entries listed after the import was interrupted", n)
	}
	if len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].Error(), "pins.txt:5: ") {
		t.Errorf("problems %v, want line 5 named", res.Problems)
	}
	ix, _ := trust.NewIndex(entries, res.Servers)
	if got := ix.Evaluate(&client.Certificate, model.Chain{}).Admitted; len(got) != 3 {
		t.Errorf("the pins admit the fixture through %d entries, want 3", len(got))
	}
}

func TestOAuthRegistrations(t *testing.T) {
	res := importers.Parse(context.Background(), "clients.json", trustFixture(t, "oauth-clients.json"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindOAuth {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	got := entrySummary(res)
	want := []string{
		`registered interop-self-signed @client "interop-self-signed", jwks key 1`,
		`registered interop-by-thumbprint @client "interop-by-thumbprint", jwks key 1`,
		`jwks-uri remote-jwks @client "remote-jwks"`,
		`subject-dn ledger @client "ledger"`,
		`san settlement @client "settlement"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Certificates) != 1 || res.Certificates[0].CommonName != "interop-client" {
		t.Errorf("the x5c certificate is inventoried too: %v", commonNames(res))
	}
	if res.TrustEntries[0].Value != res.TrustEntries[1].Value {
		t.Error("x5c and x5t#S256 of the same certificate differ")
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), `client "greedy"`) || !strings.Contains(res.Problems[0].Error(), "exactly one") {
		t.Errorf("problems %v, want the client with two match fields", res.Problems)
	}
	if strings.Contains(strings.Join(entrySummary(res), " "), "web-app") || strings.Contains(strings.Join(got, ""), "do-not-read") {
		t.Error("a client_secret client leaked into the entries")
	}
	single := importers.Parse(context.Background(), "one.json", []byte(`{"client_id":"solo","token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_email":"a@B.example"}`), importers.Options{}, true)
	if len(single.TrustEntries) != 1 || single.TrustEntries[0].SANType != "email" {
		t.Errorf("single client object: %v %v", entrySummary(single), single.Err)
	}
	broken := importers.Parse(context.Background(), "broken.json", []byte("{\n\"client_id\": \"x\",\n oops\n}"), importers.Options{}, true)
	if broken.Err == nil || !strings.Contains(broken.Err.Error(), "line 3") {
		t.Errorf("a JSON syntax error must name its line: %v", broken.Err)
	}
}

func TestKeycloakRealm(t *testing.T) {
	res := importers.Parse(context.Background(), "realm.json", trustFixture(t, "keycloak-realm.json"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindKeycloak {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	if got := entrySummary(res); !slices.Equal(got, []string{`subject-dn tracking-api @client "tracking-api"`, `subject-dn payments-batch @client "payments-batch"`}) {
		t.Errorf("entries %v", got)
	}
	if res.TrustEntries[0].Match != model.MatchExact || res.TrustEntries[1].Match != model.MatchRegex {
		t.Errorf("match modes %q %q", res.TrustEntries[0].Match, res.TrustEntries[1].Match)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "broken-x509") {
		t.Errorf("problems %v", res.Problems)
	}
	for _, e := range res.TrustEntries {
		if strings.Contains(e.Value+e.Label, "s3cr3t") {
			t.Fatal("a Keycloak secret was read")
		}
	}
}

func TestCABundleDetection(t *testing.T) {
	ca := interop(t, "ca.pem")
	// Named like a trust store: its CAs become trust anchors.
	res := importers.Parse(context.Background(), "tls-ca-bundle.pem", ca, importers.Options{}, true)
	if res.Source.Kind != model.KindCABundle || len(res.TrustEntries) != 1 || res.TrustEntries[0].Kind != model.EntryCA {
		t.Errorf("CA bundle: kind %q, entries %v", res.Source.Kind, entrySummary(res))
	}
	// openssl req -x509 marks self-signed client certificates CA:TRUE;
	// such a file is not a trust store unless named or forced so.
	res = importers.Parse(context.Background(), "partner.pem", interop(t, "client.pem"), importers.Options{}, true)
	if res.Source.Kind != model.KindPEM || len(res.TrustEntries) != 0 {
		t.Errorf("client certificate taken for a CA bundle: %q %v", res.Source.Kind, entrySummary(res))
	}
	res = importers.Parse(context.Background(), "partner.pem", interop(t, "client.pem"), importers.Options{Kind: model.KindCABundle}, true)
	if len(res.TrustEntries) != 1 {
		t.Errorf("--kind ca-bundle: %v", entrySummary(res))
	}
}

func TestCRL(t *testing.T) {
	g := demo.NewGenerator(5)
	now := time.Now()
	ca, err := g.SelfSigned(demo.Template{CommonName: "CRL Test CA", CA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(0x1f2e), RevocationTime: now}},
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.crl": der, "ca-crl.pem": pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})} {
		res := importers.Parse(context.Background(), name, data, importers.Options{}, true)
		if res.Err != nil || len(res.CRLs) != 1 {
			t.Fatalf("%s: err %v, %d CRLs", name, res.Err, len(res.CRLs))
		}
		crl := res.CRLs[0]
		var serials []string
		for r, err := range crl.Revocations() {
			if err != nil {
				t.Fatal(err)
			}
			serials = append(serials, r.Serial)
		}
		if crl.IssuerNormalized != "cn=crl test ca" || crl.RevokedCount != 1 || len(serials) != 1 || serials[0] != "1f2e" {
			t.Errorf("%s: %+v", name, crl)
		}
	}
	if res := importers.Parse(context.Background(), "bad.crl", der[:len(der)/2], importers.Options{Kind: model.KindCRL}, true); res.Err == nil {
		t.Error("a truncated CRL was accepted")
	}
	// Told apart by their structure, whatever the file is called.
	if res := importers.Parse(context.Background(), "revocations.bin", der, importers.Options{}, true); len(res.CRLs) != 1 || res.Source.Kind != model.KindCRL {
		t.Errorf("a DER CRL named .bin read as %q: %v", res.Source.Kind, res.Err)
	}
	// A v1 certificate (`openssl x509 -req` without extensions) starts
	// with an INTEGER, its serial, as a v2 CRL does with its version.
	block, _ := pem.Decode(interop(t, "trust/certs/ledger.pem"))
	for name, cert := range map[string][]byte{"ca.bin": ca.Cert.Raw, "ledger-v1.bin": block.Bytes} {
		if res := importers.Parse(context.Background(), name, cert, importers.Options{}, true); len(res.Certificates) != 1 || len(res.CRLs) != 0 {
			t.Errorf("a DER certificate named %s read as %q: %v", name, res.Source.Kind, res.Err)
		}
	}
}

func TestNginx(t *testing.T) {
	path := filepath.Join("testdata", "trust", "nginx", "nginx.conf")
	res := importers.ReadFile(context.Background(), path, importers.Options{Host: "edge-1"}, true)
	if res.Err != nil || res.Source.Kind != model.KindNginx {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	got := entrySummary(res)
	// Only the maps a server's if/return tests gate it, and only that
	// server: the serial map and the user-agent map gate nobody.
	want := []string{
		"ca ssl_client_certificate client-ca.pem @nginx.conf:27: ssl_client_certificate",
		"fingerprint map $ssl_client_fingerprint $partner_allowed = 1 @nginx.conf:4: map $ssl_client_fingerprint",
		"subject-dn map $ssl_client_s_dn $client_name = ledger @nginx.conf:11: map $ssl_client_s_dn",
		"subject-dn map $ssl_client_s_dn $client_name = logistics @nginx.conf:12: map $ssl_client_s_dn",
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.TrustEntries) == 4 && (res.TrustEntries[1].HashAlgorithm != "sha1" || res.TrustEntries[3].Match != model.MatchSearch ||
		res.TrustEntries[0].Scope != "server nginx.conf:22" || res.TrustEntries[2].Scope != "server nginx.conf:36" || !res.TrustEntries[2].AllOf) {
		t.Errorf("entries %+v", res.TrustEntries)
	}
	var servers []string
	for _, s := range res.Servers {
		servers = append(servers, fmt.Sprintf("%s|%s|%s|admits-any=%v|spoofable=%d|unknown=%s", s.Name(), s.PolicyText(), s.Location, s.AdmitsAny, len(s.SpoofableNames), s.Unknown))
	}
	wantServers := []string{
		"edge-1 partners.example:443|verify on, depth 1|nginx.conf:22|admits-any=false|spoofable=0|unknown=",
		"edge-1 names.example:8443|verify optional_no_ca|nginx.conf:36|admits-any=false|spoofable=2|unknown=",
		"edge-1 broken.example:9443|verify on, depth 1|nginx.conf:44|admits-any=false|spoofable=0|unknown=ssl_trusted_certificate missing-intermediates.pem cannot be read",
	}
	if !slices.Equal(servers, wantServers) {
		t.Errorf("servers\n%s\nwant\n%s", strings.Join(servers, "\n"), strings.Join(wantServers, "\n"))
	}
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.Error())
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "nginx.conf:6: ") || !strings.Contains(problems[1], "nginx.conf:49: ") || !strings.Contains(problems[1], "missing-intermediates.pem") {
		t.Errorf("problems %q: want the bad fingerprint (line 6) and the missing CA file (line 49)", problems)
	}
	if len(res.Certificates) != 1 || res.Certificates[0].CommonName != "Interop Root CA" {
		t.Errorf("the CA file's certificates are inventoried once: %v", commonNames(res))
	}
	client := importers.Parse(context.Background(), "client.pem", interop(t, "client.pem"), importers.Options{}, true).Certificates[0]
	ix, _ := trust.NewIndex(res.TrustEntries, res.Servers)
	// The fixture is self-signed: partners.example verifies its chain
	// before the fingerprint map, so the pin alone does not admit it.
	if ev := ix.Evaluate(&client.Certificate, model.Chain{}); len(ev.Admitted) != 0 || len(ev.Unverified) != 1 {
		t.Errorf("the fixture is admitted by %d entries (want none) and meets %d without the chain (want its SHA-1 pin)", len(ev.Admitted), len(ev.Unverified))
	}
}

func TestEnvoy(t *testing.T) {
	res := importers.ReadFile(context.Background(), filepath.Join("testdata", "trust", "envoy", "listener.yaml"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindEnvoy {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	var kinds []string
	for _, e := range res.TrustEntries {
		kinds = append(kinds, string(e.Kind)+"/"+e.SANType+"/"+e.Match)
	}
	want := []string{"ca//partial-chain", "fingerprint//", "spki//", "san/uri/prefix", "san/dns/regex"}
	if !slices.Equal(kinds, want) {
		t.Errorf("entries %v, want %v", kinds, want)
	}
	if len(res.Problems) != 2 || !strings.Contains(res.Problems[0].Error(), "listener.yaml:17:") || !strings.Contains(res.Problems[1].Error(), "X400") {
		t.Errorf("problems %v: want the bad hash (line 17) and the unknown san_type", res.Problems)
	}
	client := importers.Parse(context.Background(), "client.pem", interop(t, "client.pem"), importers.Options{}, true).Certificates[0]
	ix, _ := trust.NewIndex(res.TrustEntries, res.Servers)
	// The self-signed fixture does not chain to the context's trusted_ca,
	// so Envoy rejects it before its SAN matchers and pins count: nothing
	// admits it, and the four conditions it meets are reported.
	ev := ix.Evaluate(&client.Certificate, model.Chain{})
	if len(ev.Admitted) != 0 || len(ev.Unverified) != 4 {
		t.Errorf("the fixture is admitted by %d entries (want none) and meets %d conditions without the chain (want hash, SPKI, URI prefix and DNS regex)", len(ev.Admitted), len(ev.Unverified))
	}
	inline := importers.ReadFile(context.Background(), filepath.Join("testdata", "trust", "envoy", "cluster.json"), importers.Options{}, true)
	if inline.Err != nil || inline.Source.Kind != model.KindEnvoy || len(inline.TrustEntries) != 2 || len(inline.Certificates) != 1 {
		t.Errorf("JSON with an inline CA: kind %q, %v, %d certificates, err %v", inline.Source.Kind, entrySummary(inline), len(inline.Certificates), inline.Err)
	}
}

func TestKubernetes(t *testing.T) {
	res := importers.ReadFile(context.Background(), filepath.Join("testdata", "trust", "k8s", "manifests.yaml"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindKubernetes {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	if got := commonNames(res); !slices.Equal(got, []string{"Interop Root CA", "interop-client"}) {
		t.Errorf("certificates %v", got)
	}
	if len(res.Keys) != 1 || res.Keys[0].Location != "secret partners/interop-client-tls tls.key" || res.Keys[0].SPKISHA256 == "" {
		t.Errorf("tls.key fact %+v", res.Keys)
	}
	if len(res.TrustEntries) != 1 || res.TrustEntries[0].Kind != model.EntryCA || res.TrustEntries[0].Label != "auth-tls-secret" {
		t.Errorf("the Ingress's client CA: %v", entrySummary(res))
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), "secret partners/broken tls.crt") {
		t.Errorf("problems %v", res.Problems)
	}
	keyPEM := interop(t, "client.key.pem")
	block, _ := pem.Decode(keyPEM)
	if strings.Contains(fmt.Sprintf("%#v", res), fmt.Sprintf("%#v", block.Bytes[len(block.Bytes)-16:])[8:]) {
		t.Error("key material survives in the result")
	}
}

func TestCSVInventory(t *testing.T) {
	res := importers.Parse(context.Background(), "inventory.csv", trustFixture(t, "inventory.csv"), importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindCSV {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	client := importers.Parse(context.Background(), "client.pem", interop(t, "client.pem"), importers.Options{}, true).Certificates[0]
	if len(res.Governance) != 1 {
		t.Fatalf("governance %+v", res.Governance)
	}
	g := res.Governance[0]
	if g.FingerprintSHA256 != client.FingerprintSHA256 || g.Owner != "partner-team@example.com" || g.ExpiresAt.Format("2006-01-02") != "2027-03-31" || g.Notes != "interop partner, see ticket SEC-12" || g.Location != "line 2" {
		t.Errorf("row %+v", g)
	}
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.Error())
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "inventory.csv:3: ") || !strings.Contains(problems[0], "YYYY-MM-DD") || !strings.HasPrefix(problems[1], "inventory.csv:4: ") {
		t.Errorf("problems %q", problems)
	}
	semicolons := importers.Parse(context.Background(), "sheet.csv", []byte("SHA256;Team\n"+client.FingerprintSHA256+";ops\n"), importers.Options{}, true)
	if len(semicolons.Governance) != 1 || semicolons.Governance[0].Owner != "ops" {
		t.Errorf("semicolon-separated sheet: %+v %v", semicolons.Governance, semicolons.Err)
	}
}

// nginx decides per server block: a server inherits http-level
// ssl_verify_client and CA files unless it sets its own, directive order
// inside a block does not matter, nothing leaks from one server into the
// next, and include is followed (relative, globs, loops refused).
func TestNginxScopesAndIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", string(interop(t, "ca.pem")))
	write("clients.pem", string(interop(t, "client.pem")))
	write("nginx.conf", `http {
    ssl_verify_client on;
    ssl_client_certificate ca.pem;
    include conf.d/*.conf;
    server { listen 1; }
}
`)
	// Relative paths resolve from nginx's prefix (the folder of
	// nginx.conf), whichever file names them.
	write("conf.d/a.conf", `server {
    listen 2;
    ssl_client_certificate clients.pem;
}
server {
    listen 3;
    ssl_verify_client off;
}
server {
    ssl_client_certificate clients.pem;
    listen 4;
    ssl_verify_client optional_no_ca;
}
`)
	write("conf.d/loop.conf", "include nginx.conf;\n")
	res := importers.ReadFile(context.Background(), filepath.Join(dir, "nginx.conf"), importers.Options{}, true)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []string
	for _, e := range res.TrustEntries {
		got = append(got, filepath.Base(e.Scope)+" "+e.Label)
	}
	// Server 1 inherits everything; server 2 its own CA file with the
	// inherited mode; server 3 turns verification off; server 4 verifies
	// nothing and gates nothing (optional_no_ca), wherever the directive
	// stands: it admits any certificate.
	want := []string{
		"a.conf:1 ssl_client_certificate clients.pem",
		"a.conf:9 any certificate (verify optional_no_ca, no gate)",
		"server nginx.conf:5 ssl_client_certificate ca.pem",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("anchors by scope\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var problems []string
	for _, p := range res.Problems {
		problems = append(problems, p.Error())
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "includes itself") {
		t.Errorf("problems %q, want the include loop", problems)
	}
	if len(res.Certificates) != 2 {
		t.Errorf("the CA files' certificates are inventoried once each: %v", commonNames(res))
	}
	var servers []string
	for _, s := range res.Servers {
		servers = append(servers, s.Name()+" "+s.PolicyText()+fmt.Sprint(" admits-any=", s.AdmitsAny))
	}
	wantServers := []string{
		"nginx server :2 (conf.d/a.conf:1) verify on, depth 1 admits-any=false",
		"nginx server :3 (conf.d/a.conf:5) verify off admits-any=false",
		"nginx server :4 (conf.d/a.conf:9) verify optional_no_ca admits-any=true",
		"nginx server :1 (nginx.conf:5) verify on, depth 1 admits-any=false",
	}
	if !slices.Equal(servers, wantServers) {
		t.Errorf("servers\n%s\nwant\n%s", strings.Join(servers, "\n"), strings.Join(wantServers, "\n"))
	}
}

// The files a configuration names are part of its content: a changed CA
// file (the configuration itself unchanged) is a new version to read, and
// an unchanged one is recognised as such.
func TestReferencedFilesAreContent(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	ca := filepath.Join(dir, "clients.pem")
	os.WriteFile(conf, []byte("http { server { listen 443 ssl; ssl_verify_client on; ssl_client_certificate clients.pem; } }\n"), 0o600)
	os.WriteFile(ca, interop(t, "ca.pem"), 0o600)
	first := importers.ReadFile(context.Background(), conf, importers.Options{Kind: model.KindNginx}, true)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	known := func(path, sum string) bool { return path == first.Source.Path && sum == first.Source.ContentSHA256 }
	if again := importers.ReadFile(context.Background(), conf, importers.Options{Kind: model.KindNginx, Known: known}, true); !again.Unchanged {
		t.Errorf("nothing changed, yet it was read as new: %+v", again.Source)
	}
	os.WriteFile(ca, append(interop(t, "ca.pem"), interop(t, "client.pem")...), 0o600)
	changed := importers.ReadFile(context.Background(), conf, importers.Options{Kind: model.KindNginx, Known: known}, true)
	if changed.Unchanged || changed.Source.ContentSHA256 == first.Source.ContentSHA256 {
		t.Errorf("the CA file changed, the configuration's content did not: %+v", changed.Source)
	}
	if len(changed.TrustEntries) <= len(first.TrustEntries) {
		t.Errorf("the new CA file's certificate is not an anchor: %d entries, before %d", len(changed.TrustEntries), len(first.TrustEntries))
	}
}

// Importing /etc/nginx as a folder reads each server once, as nginx does:
// through nginx.conf's includes. The files below its folder (sites-enabled,
// snippets) are parts of it, skipped as files of their own; imported alone,
// one resolves its paths from nginx.conf's folder all the same.
func TestNginxFolderIsOneConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", string(interop(t, "ca.pem")))
	write("nginx.conf", "user www-data;\nevents {\n    worker_connections 768;\n}\nhttp {\n    include sites-enabled/*.conf;\n}\n")
	write("sites-enabled/api.conf", "server {\n    listen 443 ssl;\n    server_name api.example;\n    include snippets/mtls.conf;\n}\n")
	write("snippets/mtls.conf", "ssl_verify_client on;\nssl_client_certificate ca.pem;\n")
	var servers, skipped []string
	for res := range importers.Walk(context.Background(), []string{dir}, importers.Options{}) {
		if res.Err != nil {
			t.Errorf("%v", res.Err)
		}
		for _, p := range res.Problems {
			t.Errorf("%s: %v", res.Source.Path, p.Error())
		}
		for _, s := range res.Servers {
			servers = append(servers, s.Name()+" "+s.PolicyText()+" from "+filepath.Base(res.Source.Path))
		}
		if res.Skipped != "" {
			skipped = append(skipped, filepath.Base(res.Source.Path)+": "+res.Skipped)
		}
	}
	if want := []string{"api.example:443 verify on, depth 1 from nginx.conf"}; !slices.Equal(servers, want) {
		t.Errorf("servers %q, want %q", servers, want)
	}
	if !slices.ContainsFunc(skipped, func(s string) bool { return strings.HasPrefix(s, "mtls.conf: part of the nginx configuration") }) {
		t.Errorf("the snippet was not skipped as part of nginx.conf: %q", skipped)
	}
	alone := importers.ReadFile(context.Background(), filepath.Join(dir, "snippets", "mtls.conf"), importers.Options{Kind: model.KindNginx}, true)
	if alone.Err != nil || len(alone.Problems) > 0 || len(alone.TrustEntries) != 1 {
		t.Errorf("the snippet alone: err %v, problems %v, entries %v", alone.Err, alone.Problems, entrySummary(alone))
	}
}
