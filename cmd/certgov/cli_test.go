package main

import (
	"certgov/store/storetest"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"github.com/spf13/cobra"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"certgov/model"
	"certgov/store"
)

func TestImportListShow(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	os.WriteFile(filepath.Join(dir, "broken.pem"), []byte("-----BEGIN CERTIFICATE-----\nMIIB\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)

	r := certgov(t, "import", "--password-file", pwFile, dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 for a bad file; stderr: %s", r.code, r.stderr)
	}
	if want := filepath.Join(dir, "broken.pem") + ":1: malformed PEM block"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want a line %q", r.stderr, want)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("want one error line, got:\n%s", r.stderr)
	}
	for _, want := range []string{"certificates: 4 new", "private keys: 4 found", "2 skipped, 1 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}

	r = certgov(t, "import", "--password-file", pwFile, dir)
	if !strings.Contains(r.stdout, "certificates: 0 new") || !strings.Contains(r.stdout, "14 unchanged") {
		t.Errorf("re-import:\n%s", r.stdout)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "broken.pem:1: malformed PEM block") {
		t.Errorf("a bad file must be reported on every import, not hidden as unchanged: %d %q", r.code, r.stderr)
	}

	r = certgov(t, "ls", "-o", "json")
	if r.code != 0 {
		t.Fatalf("ls: %d %s", r.code, r.stderr)
	}
	var records []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatalf("ls -o json is not JSON: %v\n%s", err, r.stdout)
	}
	if len(records) != 4 {
		t.Fatalf("%d records, want 4", len(records))
	}
	der, _ := os.ReadFile(filepath.Join(dir, "client.der"))
	sum := sha256.Sum256(der)
	var client map[string]any
	for _, rec := range records {
		for _, key := range []string{"fingerprint_sha256", "subject", "issuer", "serial", "not_before", "not_after", "key_algorithm", "key_size", "signature_algorithm", "self_signed", "ca", "sans", "spki_sha256", "identity", "sources"} {
			if _, ok := rec[key]; !ok {
				t.Errorf("record lacks %q", key)
			}
		}
		if rec["fingerprint_sha256"] == hex.EncodeToString(sum[:]) {
			client = rec
		}
	}
	if client == nil {
		t.Fatal("client.der's fingerprint not listed")
	}
	if client["identity"] != "interop-client" || client["self_signed"] != true || client["key_algorithm"] != "ECDSA" || client["key_size"] != 256.0 {
		t.Errorf("client record %v", client)
	}
	if got := client["subject"]; got != "emailAddress=ops@interop.example,CN=interop-client,OU=integration,O=Interop GmbH,C=DE" {
		t.Errorf("subject %q", got)
	}
	if sans := client["sans"].(map[string]any); sans["uri"].([]any)[0] != "spiffe://interop.example/client" {
		t.Errorf("sans %v", sans)
	}
	if n := len(client["sources"].([]any)); n < 8 {
		t.Errorf("client found in %d sources, want every file that holds it", n)
	}

	// `openssl req -x509` writes CA:TRUE into every certificate it makes;
	// none of these issued anything here, so `!ca` keeps them all (the
	// fixture's "Interop Root CA" too: it signed no imported certificate).
	r = certgov(t, "ls", "-o", "csv", "--filter", "selfsigned !ca")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	var names []string
	for _, row := range rows[1:] {
		names = append(names, row[1])
	}
	if err != nil || rows[0][0] != "fingerprint_sha256" || !slices.Equal(names, []string{"Interop Root CA", "interop-client", "jks-client", "legacy-sha1-client"}) {
		t.Errorf("csv: %v %v", rows, err)
	}

	r = certgov(t, "show", hex.EncodeToString(sum[:])[:10])
	if r.code != 0 || !strings.Contains(r.stdout, "interop-client") || !strings.Contains(r.stdout, "PRIVATE KEY ON DISK") {
		t.Errorf("show by prefix: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "PRIVATE KEY-----") {
		t.Error("show prints key material")
	}
	r = certgov(t, "show", "-o", "json", "jks-client")
	var shown map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown["identity"] != "jks-client" {
		t.Errorf("show -o json: %v %s", err, r.stdout)
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	certgov(t, "import", filepath.Join(dir, "client.pem"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"show", "nobody"}, 1, `"nobody": not found`},
		{[]string{"show"}, 2, "accepts 1 arg"},
		{[]string{"ls", "--filter", "expired bogus:1"}, 2, `"bogus:1" at column 9`},
		{[]string{"ls", "-o", "yaml"}, 2, "want one of table, json, csv"},
		{[]string{"import"}, 2, "at least one PATH"},
		{[]string{"import", "--kind", "zip", dir}, 2, "--kind"},
		{[]string{"import", filepath.Join(dir, "missing.pem")}, 1, "no such file"},
		{[]string{"import", filepath.Join(dir, "keystore-aes.p12")}, 1, "wrong keystore password"},
		{[]string{"--no-such-flag"}, 2, "unknown flag"},
	}
	for _, tc := range cases {
		r := certgov(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("certgov %v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if r := certgov(t, "--version"); r.code != 0 || !strings.Contains(r.stdout, "certgov version") {
		t.Errorf("--version: %+v", r)
	}
	if r := certgov(t, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "certgov") {
		t.Errorf("completion: exit %d", r.code)
	}
}

func TestKeystorePasswordFromEnvironment(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	t.Setenv("CERTGOV_KEYSTORE_PASSWORD", "s3cret")
	r := certgov(t, "import", filepath.Join(dir, "keystore-aes.p12"))
	if r.code != 0 || !strings.Contains(r.stdout, "certificates: 2 new") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDryRun(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	r := certgov(t, "import", "--dry-run", filepath.Join(dir, "client.pem"))
	if r.code != 0 || !strings.Contains(r.stdout, "Dry run") || !strings.Contains(r.stdout, "certificates: 1 new") {
		t.Fatalf("%+v", r)
	}
	if r := certgov(t, "ls", "-o", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("dry run wrote: %s", r.stdout)
	}
}

func TestDemo(t *testing.T) {
	home := isolate(t)
	r := certgov(t, "demo", "--no-tui")
	if r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	dbPath := database(t, filepath.Join(home, "data", "certgov", "demo.db"))
	if !strings.Contains(r.stdout, dbPath) {
		t.Errorf("demo does not say where the database is:\n%s", r.stdout)
	}
	t.Setenv("CERTGOV_DB", dbPath)
	count := func(filter string) int {
		r := certgov(t, "ls", "-o", "json", "--filter", filter)
		var recs []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		return len(recs)
	}
	checks := map[string]int{"": 250, "selfsigned !ca": 40, "expired": 20, "expires<7d !expired": 5, "key:ed25519": 10}
	for filter, atLeast := range checks {
		if n := count(filter); n < atLeast {
			t.Errorf("demo: %q matches %d, want at least %d", filter, n, atLeast)
		}
	}
	if r := certgov(t, "show", "ledger.payments.svc"); !strings.Contains(r.stdout, "Rotation") {
		t.Errorf("demo identity without rotations:\n%s", r.stdout)
	}
	// Rebuilt on a second run; a database that is not a demo is never overwritten.
	if r := certgov(t, "demo"); r.code != 0 {
		t.Fatalf("second demo run: %s", r.stderr)
	}
	real := database(t, filepath.Join(t.TempDir(), "real.db"))
	certgov(t, "--db", real, "import", filepath.Join(interopDir(t), "client.pem"))
	if r := certgov(t, "--db", real, "demo"); r.code != 1 || !strings.Contains(r.stderr, "not a demo database") && !strings.Contains(r.stderr, "the demo fills an empty team database") {
		t.Errorf("demo over a real database: %+v", r)
	}
}

func TestTableFitsNarrowTerminals(t *testing.T) {
	rec := &model.Record{Certificate: model.Certificate{
		FingerprintSHA256: strings.Repeat("ab", 32), IdentityName: "partner-blackmesa-research-and-development",
		KeyAlgorithm: "ECDSA", KeyCurve: "P-256", SelfSigned: true, SelfIssued: true, Issuer: strings.Repeat("CN=x,", 20),
		NotAfter: time.Now().Add(72 * time.Hour),
	}}
	rec.Owner = "payments-platform-oncall@example.com"
	for width, wantCols := range map[int]int{80: 5, 120: 7, 200: 8, 0: 8} {
		cols := tableColumns(width)
		row := cols.row(rec, time.Now())
		if len(cols.header) != wantCols || len(row) != wantCols {
			t.Errorf("width %d: %d columns, want %d", width, len(row), wantCols)
		}
		// The owner stays at every width; the issuer goes first.
		if cols.header[2] != "OWNER" || !strings.HasPrefix(row[2], "payments") {
			t.Errorf("width %d: no owner column: %v", width, cols.header)
		}
		if width > 0 && width < 160 && slices.Contains(cols.header, "ISSUER") {
			t.Errorf("width %d keeps ISSUER", width)
		}
		if width == 80 {
			if n := len(strings.Join(row, "  ")); n > 80 {
				t.Errorf("an 80-column row is %d wide", n)
			}
		}
	}
}

// On an 80-column terminal every line of ls and findings fits: ls drops
// the issuer, the date and the key; findings gives each finding two
// lines. Piped, both print every column.
func TestCommandsFitANarrowTerminal(t *testing.T) {
	isolate(t)
	certgov(t, "import", interopDir(t))
	for _, args := range [][]string{{"ls"}, {"findings"}} {
		narrow := certgovOn(t, 80, args...)
		if narrow.code != 0 || narrow.stdout == "" {
			t.Fatalf("%v at 80 columns: %+v", args, narrow)
		}
		for _, line := range strings.Split(strings.TrimSuffix(narrow.stdout, "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > 80 {
				t.Errorf("%v at 80 columns: a line of %d: %q", args, n, line)
			}
		}
		piped := certgov(t, args...)
		if piped.stdout == narrow.stdout {
			t.Errorf("%v: the same output piped and at 80 columns", args)
		}
	}
	if narrow, piped := certgovOn(t, 80, "ls").stdout, certgov(t, "ls").stdout; strings.Contains(narrow, "ISSUER") || !strings.Contains(piped, "ISSUER") {
		t.Errorf("ls: ISSUER at 80 columns %v, piped %v", strings.Contains(narrow, "ISSUER"), strings.Contains(piped, "ISSUER"))
	}
	if narrow := certgovOn(t, 80, "findings").stdout; strings.Contains(narrow, "FINGERPRINT") || !strings.Contains(narrow, "\n          ") {
		t.Errorf("findings at 80 columns is not two lines a finding:\n%s", narrow)
	}
}

func TestFindings(t *testing.T) {
	home := isolate(t)
	if r := certgov(t, "demo"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	findings := func(args ...string) []map[string]any {
		t.Helper()
		r := certgov(t, append([]string{"findings", "-o", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("findings %v: %s", args, r.stderr)
		}
		var out []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	byCode := map[string]int{}
	all := findings()
	for _, f := range all {
		byCode[f["code"].(string)]++
		if len(f["frameworks"].([]any)) == 0 || f["message"] == "" || f["severity"] == "" {
			t.Errorf("incomplete finding %v", f)
		}
	}
	for code, atLeast := range map[string]int{"expired": 10, "expiring": 10, "weak-key": 3, "weak-signature": 3, "private-key-exposed": 5, "long-lifetime": 5, "no-owner": 100,
		"self-signed-unapproved": 20, "untrusted": 3, "chain-unverified": 3, "pin-without-certificate": 2, "dn-match-ambiguous": 1, "revoked": 2, "revoked-but-trusted": 2} {
		if byCode[code] < atLeast {
			t.Errorf("demo: %d %s findings, want at least %d", byCode[code], code, atLeast)
		}
	}
	if all[0]["severity"] != "critical" {
		t.Errorf("most urgent first: %v", all[0])
	}
	// Rotated identities: the expired earlier versions raise nothing.
	for _, f := range findings("--filter", "ledger.payments.svc") {
		if f["code"] == "expired" && f["identity"] == "ledger.payments.svc" && !strings.HasPrefix(f["message"].(string), "expired 20") {
			t.Errorf("unexpected %v", f)
		}
	}
	weak := findings("--filter", "finding:weak-key")
	for _, f := range weak {
		if !strings.HasPrefix(f["identity"].(string), "partner-") {
			t.Errorf("weak-key filter let through %v", f)
		}
	}
	// A stricter policy finds more.
	policy := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(policy, []byte(`{"min_rsa_bits": 4096, "expiring_within": "90d"}`), 0o600)
	strict := map[string]int{}
	for _, f := range findings("--policy", policy) {
		strict[f["code"].(string)]++
	}
	if strict["weak-key"] <= byCode["weak-key"] || strict["expiring"] <= byCode["expiring"] {
		t.Errorf("policy ignored: %v vs %v", strict, byCode)
	}
	os.WriteFile(policy, []byte(`{"min_rsa_bitz": 4096}`), 0o600)
	if r := certgov(t, "findings", "--policy", policy); r.code != 1 || !strings.Contains(r.stderr, "min_rsa_bitz") {
		t.Errorf("a misspelt policy must be refused: %+v", r)
	}
	// ls carries the same codes on current certificates only.
	r := certgov(t, "ls", "-o", "json", "--filter", "ledger.payments.svc !staging !dr")
	var recs []map[string]any
	json.Unmarshal([]byte(r.stdout), &recs)
	currents := 0
	for _, rec := range recs {
		if rec["current"] == true {
			currents++
		} else if len(rec["findings"].([]any)) != 0 {
			t.Errorf("a superseded version carries findings: %v", rec["findings"])
		}
	}
	if len(recs) < 2 || currents != 1 {
		t.Errorf("ledger.payments.svc: %d records, %d current", len(recs), currents)
	}
}

func TestTrustLinking(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	trust := filepath.Join("..", "..", "importers", "testdata", "trust")
	for _, name := range []string{"pins.txt", "oauth-clients.json", "keycloak-realm.json"} {
		data, err := os.ReadFile(filepath.Join(trust, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	os.Rename(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "interop-ca-bundle.pem"))
	r := certgov(t, "import", "--password-file", writePassword(t), dir)
	if !strings.Contains(r.stdout, "trust:") {
		t.Fatalf("import summary without trust entries:\n%s", r.stdout)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "pins.txt:5:") || !strings.Contains(r.stderr, `client "greedy"`) {
		t.Errorf("bad entries must be named with their place: %d\n%s", r.code, r.stderr)
	}
	r = certgov(t, "ls", "-o", "json", "--filter", "interop-client")
	var recs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("ls: %v %s", err, r.stdout)
	}
	client := recs[0]
	if client["trust_model"] != "self_signed_tls_client_auth" {
		t.Errorf("trust_model %v", client["trust_model"])
	}
	kinds := map[string]int{}
	for _, tr := range client["trust"].([]any) {
		kinds[tr.(map[string]any)["kind"].(string)]++
	}
	if kinds["fingerprint"] != 2 || kinds["spki"] != 1 || kinds["registered"] != 2 {
		t.Errorf("interop-client trusted by %v, want 2 fingerprint pins, 1 SPKI pin, 2 registrations", kinds)
	}
	r = certgov(t, "findings", "-o", "json")
	var findings []map[string]any
	json.Unmarshal([]byte(r.stdout), &findings)
	found := map[string][]string{}
	for _, f := range findings {
		found[f["code"].(string)] = append(found[f["code"].(string)], f["identity"].(string))
	}
	for code, who := range map[string]string{
		"self-signed-unapproved":  "interop-client",
		"pin-without-certificate": "a partner that left",
		"untrusted":               "jks-client",
	} {
		if !slices.Contains(found[code], who) {
			t.Errorf("%s: %v, want %q among them", code, found[code], who)
		}
	}
	if r := certgov(t, "ls", "--filter", "untrusted !ca", "-o", "csv"); !strings.Contains(r.stdout, "jks-client") || strings.Contains(r.stdout, "interop-client") {
		t.Errorf("untrusted filter:\n%s", r.stdout)
	}
	if r := certgov(t, "show", "interop-client"); !strings.Contains(r.stdout, "Also listed in") || !strings.Contains(r.stdout, "pins.txt (line 2) (standalone trust store") ||
		!strings.Contains(r.stdout, "high self-signed-unapproved") {
		t.Errorf("show lacks the trust entries:\n%s", r.stdout)
	}
}

func writePassword(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(path, []byte("s3cret\n"), 0o600)
	return path
}

func TestSourcesShowDrift(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	pins := filepath.Join(dir, "pins.txt")
	a, b := strings.Repeat("aa", 32), strings.Repeat("bb", 32)
	os.WriteFile(pins, []byte(a+" partner-a\n"+b+" partner-b\n"), 0o600)
	certgov(t, "import", pins)
	os.WriteFile(pins, []byte("# partner-b left\n"+a+" partner-a\n"), 0o600)
	if r := certgov(t, "import", pins); !strings.Contains(r.stdout, "sources:      1 new") {
		t.Fatalf("changed file not re-imported:\n%s", r.stdout)
	}
	r := certgov(t, "sources", "-o", "json")
	var sources []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &sources); err != nil || len(sources) != 1 {
		t.Fatalf("sources: %v %s", err, r.stdout)
	}
	src := sources[0]
	removed := src["removed_entries"].([]any)
	if src["versions"] != 2.0 || src["trust_entries"] != 1.0 || len(removed) != 1 {
		t.Fatalf("source %v", src)
	}
	if gone := removed[0].(map[string]any); gone["value"] != b || gone["label"] != "partner-b" || gone["removed_at"] == "" {
		t.Errorf("removed entry %v", gone)
	}
	if r := certgov(t, "sources"); !strings.Contains(r.stdout, "removed ") || !strings.Contains(r.stdout, "partner-b") {
		t.Errorf("table:\n%s", r.stdout)
	}
}

func TestInventoryOwners(t *testing.T) {
	isolate(t)
	dir := interopDir(t)
	data, _ := os.ReadFile(filepath.Join("..", "..", "importers", "testdata", "trust", "inventory.csv"))
	os.WriteFile(filepath.Join(dir, "inventory.csv"), data, 0o600)
	certgov(t, "import", "--password-file", writePassword(t), dir)
	r := certgov(t, "ls", "-o", "json", "--filter", "owner:partner-team")
	var recs []map[string]any
	json.Unmarshal([]byte(r.stdout), &recs)
	if len(recs) != 1 || recs[0]["identity"] != "interop-client" || recs[0]["expires_at"] != "2027-03-31T23:59:59Z" {
		t.Fatalf("owned records: %v", recs)
	}
	r = certgov(t, "findings", "-o", "json", "--filter", "interop-client")
	if strings.Contains(r.stdout, `"no-owner"`) {
		t.Error("no-owner reported for an identity the inventory gives an owner")
	}
	if r := certgov(t, "show", "interop-client"); !strings.Contains(r.stdout, "partner-team@example.com") || !strings.Contains(r.stdout, "Review by") {
		t.Errorf("show:\n%s", r.stdout)
	}
}

func TestCommonDir(t *testing.T) {
	src := func(paths ...string) []store.SourceInfo {
		var out []store.SourceInfo
		for _, p := range paths {
			out = append(out, store.SourceInfo{Path: p})
		}
		return out
	}
	cases := []struct {
		paths []string
		want  string
	}{
		{[]string{"/a/b/c.pem", "/a/b/d/e.pem"}, "/a/b/"},
		{[]string{"/a/b/c.pem", "/a/x/e.pem"}, "/a/"},
		{[]string{"/a/c.pem", "/b/e.pem"}, ""},
		{[]string{"/a/c.pem"}, ""},
	}
	for _, tc := range cases {
		if got := commonDir(src(tc.paths...)); got != tc.want {
			t.Errorf("commonDir(%v) = %q, want %q", tc.paths, got, tc.want)
		}
	}
}

func TestGovernanceAndAudit(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	db := database(t, filepath.Join(home, "data", "certgov", "demo.db"))
	t.Setenv("CERTGOV_DB", db)
	t.Setenv("CERTGOV_ACTOR", "alice@example.com")
	soon := time.Now().AddDate(0, 0, 20).Format("2006-01-02")

	// The first self-signed, unapproved partner with time left.
	r := certgov(t, "ls", "-o", "json", "--filter", "finding:self-signed-unapproved expires>30d current")
	var recs []map[string]any
	json.Unmarshal([]byte(r.stdout), &recs)
	if len(recs) < 2 {
		t.Fatalf("demo has %d unapproved self-signed certificates", len(recs))
	}
	a, b := recs[0]["identity"].(string), recs[1]["identity"].(string)

	mustRun := func(args ...string) {
		t.Helper()
		if r := certgov(t, args...); r.code != 0 {
			t.Fatalf("certgov %v: %s", args, r.stderr)
		}
	}
	mustRun("exception", "approve", a, "--reason", "contract renewal under way", "--until", soon)
	mustRun("--as", "bob@example.com", "exception", "reject", b, "--reason", "partner left")
	mustRun("owner", "set", a, "partners@example.com", "--reason", "attested")
	mustRun("expiry", "set", a, soon)

	r = certgov(t, "ls", "-o", "json", "--filter", a+" current")
	json.Unmarshal([]byte(r.stdout), &recs)
	rec := recs[0]
	exc := rec["exception"].(map[string]any)
	if exc["state"] != "approved" || exc["decided_by"] != actorName("alice@example.com") || rec["owner"] != "partners@example.com" || rec["expires_at"] == nil {
		t.Fatalf("after the decisions: %v", rec)
	}
	for _, code := range rec["findings"].([]any) {
		if code == "self-signed-unapproved" || code == "no-owner" {
			t.Errorf("finding %v survives the decision", code)
		}
	}

	// Refused changes: a clear error, exit 1 or 2, nothing written.
	before := auditCount(t)
	for _, args := range [][]string{
		{"exception", "approve", a, "--reason", "x", "--until", "2001-01-01"},
		{"exception", "approve", a, "--reason", "x", "--until", time.Now().AddDate(1, 0, 0).Format("2006-01-02")},
		{"exception", "approve", a, "--until", soon},
		{"exception", "approve", "ledger.payments.svc", "--reason", "x", "--until", soon},
		{"exception", "revoke", b, "--reason", "nothing approved"},
		{"owner", "set", "nobody-here", "x"},
		{"expiry", "set", a, "2001-01-01"},
		{"expiry", "set", a, "31/12/2030"},
	} {
		if r := certgov(t, args...); r.code == 0 || r.stderr == "" {
			t.Errorf("certgov %v accepted: %+v", args, r)
		}
	}
	if got := auditCount(t); got != before {
		t.Errorf("refused changes wrote %d audit events", got-before)
	}

	r = certgov(t, "audit", "log", "-o", "json", "--filter", "exception")
	var events []map[string]any
	json.Unmarshal([]byte(r.stdout), &events)
	// On PostgreSQL the actor is the login, and the --as name is kept
	// beside it.
	named := func(e map[string]any) any {
		if storetest.Postgres() {
			return e["on_behalf_of"]
		}
		return e["actor"]
	}
	if len(events) != 2 || events[0]["actor"] != actorName("alice@example.com") || named(events[0]) != "alice@example.com" || named(events[1]) != "bob@example.com" || events[1]["reason"] != "partner left" {
		t.Fatalf("audit log: %s", r.stdout)
	}
	if r := certgov(t, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("verify: %+v", r)
	}
	head := certgov(t, "audit", "head").stdout
	if len(strings.Fields(head)) != 2 || len(strings.Fields(head)[0]) != 64 {
		t.Fatalf("head %q", head)
	}

	// The trail cannot be edited through SQL; editing the file by hand
	// (dropping the triggers first) is caught by verify.
	raw := storetest.OpenRaw(t, db)
	if _, err := raw.Exec(`UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE on the audit trail: %v", err)
	}
	if _, err := raw.Exec(`DELETE FROM audit_events WHERE seq = 3`); err == nil {
		t.Fatal("DELETE on the audit trail succeeded")
	}
	drop := `DROP TRIGGER audit_events_no_update`
	if storetest.Postgres() {
		drop += ` ON audit_events` // the schema's owner may; no certgov role may
	}
	if _, err := raw.Exec(drop); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_events SET reason = 'nothing to see' WHERE action = 'exception.reject'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r = certgov(t, "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "broken at event") {
		t.Fatalf("verify after tampering: %+v", r)
	}
}

func auditCount(t *testing.T) int {
	t.Helper()
	var events []map[string]any
	json.Unmarshal([]byte(certgov(t, "audit", "log", "-o", "json").stdout), &events)
	return len(events)
}

func TestCheck(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	r := certgov(t, "check")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL:") || !strings.Contains(r.stdout, "expired") {
		t.Fatalf("check on the demo: %d\n%s", r.code, r.stdout)
	}
	// Every critical finding fails the default check: an exposed key too.
	for _, code := range []string{"private-key-exposed", "revoked-but-trusted"} {
		if !strings.Contains(r.stdout, "critical "+code) {
			t.Errorf("the default check leaves out %s:\n%s", code, r.stdout)
		}
	}
	if r := certgov(t, "check", "--fail-on", "revoked-but-trusted", "-o", "json"); r.code != 1 || !strings.Contains(r.stdout, `"ok": false`) {
		t.Fatalf("json: %+v", r)
	}
	if r := certgov(t, "check", "--fail-on", "dn-match-ambiguous"); r.code != 1 || !strings.Contains(r.stdout, "payments-batch") {
		t.Fatalf("findings about trust entries count too: %+v", r)
	}
	if r := certgov(t, "check", "--fail-on", "weak-signature", "--filter-is-not-a-flag"); r.code != 2 {
		t.Errorf("unknown flag: %+v", r)
	}
	if r := certgov(t, "check", "--fail-on", "chain-unverified,untrusted", "-o", "json"); r.code != 1 {
		t.Errorf("several codes: %+v", r)
	}
	// --within is the expiring window: each certificate the check names
	// expires within it, and a wider window names more.
	notAfter := map[string]time.Time{}
	var records []struct {
		Fingerprint string `json:"fingerprint_sha256"`
		NotAfter    string `json:"not_after"`
	}
	if err := json.Unmarshal([]byte(certgov(t, "ls", "-o", "json").stdout), &records); err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		notAfter[r.Fingerprint], _ = time.Parse(time.RFC3339, r.NotAfter)
	}
	expiringWithin := func(window string, days int) map[string]bool {
		r := certgov(t, "check", "--fail-on", "expiring", "--within", window, "-o", "json")
		var out struct {
			Findings []model.Finding `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("--within %s: %v\n%s", window, err, r.stdout)
		}
		named := map[string]bool{}
		for _, f := range out.Findings {
			if end := notAfter[f.FingerprintSHA256]; f.Code != "expiring" || end.Before(time.Now()) || end.After(time.Now().AddDate(0, 0, days)) {
				t.Errorf("--within %s names %s (%s), which expires %s", window, f.Identity, f.Code, end)
			}
			named[f.FingerprintSHA256] = true
		}
		return named
	}
	day, twoMonths := expiringWithin("1d", 1), expiringWithin("60d", 60)
	for fp := range day {
		if !twoMonths[fp] {
			t.Errorf("%s expires within a day but not within 60 days", fp)
		}
	}
	if len(twoMonths) <= len(day) {
		t.Errorf("--within 60d names %d certificates, 1d %d: the window does not widen", len(twoMonths), len(day))
	}
	if r := certgov(t, "check", "--fail-on", "nonsense"); r.code != 2 {
		t.Errorf("unknown code: %+v", r)
	}
}

func TestCampaign(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	r := certgov(t, "campaign", "start", "2026-Q4", "--due", "2026-12-31", "--filter", "selfsigned !ca")
	if r.code != 0 || !strings.Contains(r.stdout, "identities to review") {
		t.Fatalf("start: %+v", r)
	}
	if r := certgov(t, "campaign", "start", "2026-Q4"); r.code != 1 || !strings.Contains(r.stderr, "open campaign has this name") {
		t.Errorf("second start: %+v", r)
	}
	var status struct {
		Items []struct {
			Identity string         `json:"identity"`
			Decision string         `json:"decision"`
			Snapshot map[string]any `json:"snapshot"`
		} `json:"items"`
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "2026-Q4", "-o", "json").stdout), &status)
	if len(status.Items) < 40 || status.Items[0].Snapshot["fingerprint_sha256"] == nil {
		t.Fatalf("status: %d items", len(status.Items))
	}
	first, second := status.Items[0].Identity, status.Items[1].Identity
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"review", first, "--campaign", "2026-Q4", "--decision", "certify"}, 0},
		{[]string{"review", second, "--campaign", "2026-Q4", "--decision", "revoke"}, 1},
		{[]string{"review", second, "--campaign", "2026-Q4", "--decision", "revoke", "--comment", "partner left"}, 0},
		{[]string{"review", second, "--campaign", "2026-Q4", "--decision", "maybe"}, 1},
		{[]string{"review", "ledger.payments.svc", "--campaign", "2026-Q4", "--decision", "certify"}, 1},
		{[]string{"review", first, "--campaign", "2027-Q1", "--decision", "certify"}, 1},
		{[]string{"campaign", "close", "2026-Q4"}, 1},
		{[]string{"campaign", "close", "2026-Q4", "--force"}, 0},
		{[]string{"review", first, "--campaign", "2026-Q4", "--decision", "revoke", "--comment", "too late"}, 1},
	} {
		if r := certgov(t, tc.args...); r.code != tc.code {
			t.Errorf("certgov %v: exit %d, want %d (%s)", tc.args, r.code, tc.code, r.stderr)
		}
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "2026-Q4", "-o", "json").stdout), &status)
	decisions := map[string]int{}
	for _, it := range status.Items {
		decisions[it.Decision]++
	}
	if decisions["certify"] != 1 || decisions["revoke"] != 1 || decisions["undecided"] != len(status.Items)-2 {
		t.Errorf("decisions after close: %v", decisions)
	}
	if r := certgov(t, "campaign", "list"); !strings.Contains(r.stdout, "closed") || !strings.Contains(r.stdout, "2/") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := certgov(t, "audit", "verify"); r.code != 0 {
		t.Errorf("verify: %s", r.stderr)
	}
	if n := len(auditEventsOf(t, os.Getenv("CERTGOV_DB"))); n < 5 {
		t.Errorf("%d audit events", n)
	}
}

// The README's filter table and ls --help name every term of the one
// table the language is described in (model.FilterTerms).
func TestFilterDocsMatchTheLanguage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	help := certgov(t, "ls", "--help").stdout
	for _, term := range model.FilterTerms {
		if term.Term != "TEXT" && !strings.Contains(string(readme), "`"+term.Term+"`") {
			t.Errorf("README's filter table lacks `%s`", term.Term)
		}
		if !strings.Contains(help, term.Term) {
			t.Errorf("ls --help lacks %s", term.Term)
		}
	}
}

// Every -o a command offers is a format the registry writes, and every
// format the registry knows is offered by some command.
func TestOutputFormatsAreRegistered(t *testing.T) {
	offered := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f := c.Flags().Lookup("output"); f != nil {
			o, ok := f.Value.(*output)
			if !ok {
				t.Errorf("%s: -o is not an outputFlag", c.CommandPath())
				return
			}
			for _, name := range o.offered {
				if formats[name] == nil {
					t.Errorf("%s offers -o %s, which no encoder writes", c.CommandPath(), name)
				}
				offered[name] = true
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(streams{}))
	for name := range formats {
		if !offered[name] {
			t.Errorf("no command offers -o %s", name)
		}
	}
	if len(offered) < 4 {
		t.Errorf("only %d formats offered: %v", len(offered), offered)
	}
}
