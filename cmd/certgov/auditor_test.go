package main

import (
	"bytes"
	"certgov/store/storetest"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"certgov/store/evidence"
)

// forceClosedCampaign builds the demo, starts a campaign, decides two of
// its items as two reviewers and force-closes it with a statement. It
// returns the database and the number of items.
func forceClosedCampaign(t *testing.T) (string, int) {
	t.Helper()
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	db := database(t, filepath.Join(home, "data", "certgov", "demo.db"))
	t.Setenv("CERTGOV_DB", db)
	certgov(t, "campaign", "start", "2026-Q4", "--filter", "selfsigned !ca", "--due", "2099-12-31")
	var status struct {
		Items []struct{ Identity string } `json:"items"`
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "2026-Q4", "-o", "json").stdout), &status)
	if len(status.Items) < 3 {
		t.Fatalf("campaign of %d items", len(status.Items))
	}
	certgov(t, "review", status.Items[0].Identity, "--campaign", "2026-Q4", "--decision", "certify", "--as", "alice")
	certgov(t, "review", status.Items[1].Identity, "--campaign", "2026-Q4", "--decision", "revoke", "--comment", "job retired | see OPS-12", "--as", "bob")
	if r := certgov(t, "campaign", "close", "2026-Q4", "--force", "--statement", "Reviewed with platform; the rest carried to Q1", "--as", "carol"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	return db, len(status.Items)
}

// readmeRecipe is the python3 recipe the README gives auditors, so that
// the test runs what they will run.
func readmeRecipe(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- audit-recipe -->\n```python\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no audit-recipe block")
	}
	return string(m[1])
}

// runRecipe runs the README's recipe in a bundle folder; ok false when it
// fails. It needs python3, which CI installs.
func runRecipe(t *testing.T, dir string) (string, bool) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CERTGOV_CI") != "" {
			t.Fatal("python3 is missing on CI")
		}
		t.Skip("no python3 here to run the README's recipe")
	}
	cmd := exec.Command(python, "-c", readmeRecipe(t))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// An auditor given the bundle of a force-closed campaign sees at once
// that it is incomplete, who decided what and when (and who really ran
// certgov), who closed it and what they declared, and which key signed;
// recomputes the audit chain with the README's recipe; and any change to
// audit.jsonl fails both the recipe and certgov verify.
func TestAuditorChecksAForceClosedCampaign(t *testing.T) {
	_, items := forceClosedCampaign(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir, "--sign-key", writeKey(t, key)); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := certgov(t, "verify", dir); r.code != 0 || !strings.Contains(r.stdout, "audit.jsonl: ") {
		t.Fatalf("verify: %+v", r)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	text := string(md)
	keyFP, _ := evidence.KeyFingerprint(key.Public())
	for _, want := range []string{
		"INCOMPLETE",
		strconv.Itoa(items-2) + " of " + strconv.Itoa(items) + " items were not decided",
		"Reviewed with platform; the rest carried to Q1",
		actedByPrefix("carol"),
		actedByPrefix("bob"),
		"job retired \\| see OPS-12",
		keyFP,
		"| Due | 2099-12-31 |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Index(text, "## Revoke") > strings.Index(text, "## Certified") {
		t.Error("report.md lists certified items before revocations")
	}
	var att struct {
		Completeness struct {
			Complete  bool `json:"complete"`
			Undecided int  `json:"undecided"`
		} `json:"completeness"`
		Campaign struct {
			Statement string `json:"statement"`
		} `json:"campaign"`
	}
	doc, _ := os.ReadFile(filepath.Join(dir, "attestation.json"))
	if err := json.Unmarshal(doc, &att); err != nil || att.Completeness.Complete || att.Completeness.Undecided != items-2 || att.Campaign.Statement == "" {
		t.Errorf("attestation.json completeness %+v, statement %q (%v)", att.Completeness, att.Campaign.Statement, err)
	}

	if out, ok := runRecipe(t, dir); !ok || !strings.Contains(out, "audit chain ok") {
		t.Fatalf("the README's recipe on a good bundle: %s", out)
	}
	// One event altered (the revoke's comment), and SHA256SUMS recomputed
	// as someone without the signing key would for an unsigned copy: the
	// recipe and verify both name the chain.
	log, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	forged := bytes.Replace(log, []byte("job retired"), []byte("job RETIRED"), 1)
	if bytes.Equal(forged, log) {
		t.Fatal("the revoke's comment is not in audit.jsonl")
	}
	os.WriteFile(filepath.Join(dir, "audit.jsonl"), forged, 0o600)
	os.Remove(filepath.Join(dir, "SHA256SUMS.sig"))
	os.Remove(filepath.Join(dir, "signer.pub.pem"))
	resum(t, dir)
	if out, ok := runRecipe(t, dir); ok {
		t.Errorf("the README's recipe passed an altered event: %s", out)
	}
	if r := certgov(t, "verify", dir); r.code != 1 || !strings.Contains(r.stderr, "audit.jsonl") {
		t.Errorf("verify of an altered audit.jsonl: %+v", r)
	}
	// An event left out.
	lines := strings.SplitAfter(string(log), "\n")
	os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte(strings.Join(append(lines[:2:2], lines[3:]...), "")), 0o600)
	resum(t, dir)
	if r := certgov(t, "verify", dir); r.code != 1 || !strings.Contains(r.stderr, "left out") {
		t.Errorf("verify of audit.jsonl missing an event: %+v", r)
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// resum rewrites SHA256SUMS over the bundle's files as they are.
func resum(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	for _, f := range evidence.BundleFiles {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(sha256Hex(data) + "  " + f + "\n")
	}
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o600)
}

// A governance value written behind certgov's back (an owner set and an
// exception approved straight in SQLite) is named by audit verify, stops
// an export, and with --allow-unverified makes a bundle that says so.
func TestStateEditedBehindCertgovsBack(t *testing.T) {
	db, _ := forceClosedCampaign(t)
	if r := certgov(t, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "governance state matches") {
		t.Fatalf("audit verify before tampering: %+v", r)
	}
	raw := storetest.OpenRaw(t, db)
	for _, q := range []string{
		`UPDATE identities SET owner = 'mallory' WHERE name = 'partner-acme-logistics'`,
		`INSERT INTO exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
			SELECT identity_id, fingerprint_sha256, 'approved', 'ok', 4102444800, 'ciso', 1 FROM certificates c
			JOIN identities i ON i.id = c.identity_id WHERE i.name = 'partner-globex-payments' LIMIT 1`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	r := certgov(t, "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, `owner of partner-acme-logistics: the database says "mallory"`) || !strings.Contains(r.stdout, "exception decision 1 of partner-globex-payments") {
		t.Errorf("audit verify after tampering: %+v", r)
	}
	if r := certgov(t, "findings"); !strings.Contains(r.stderr, "governance values are not what the audit trail records") {
		t.Errorf("findings on a tampered database gave no warning: %q", r.stderr)
	}
	if r := certgov(t, "check", "--fail-on", "trust-incomplete"); r.code != 1 || !strings.Contains(r.stderr, "not explained by the audit trail") {
		t.Errorf("check on a tampered database: %+v", r)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir); r.code != 1 || !strings.Contains(r.stderr, "export refused") || !strings.Contains(r.stderr, "mallory") {
		t.Errorf("export of a tampered database: %+v", r)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a refused export left a folder")
	}
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir, "--allow-unverified"); r.code != 0 {
		t.Fatalf("export --allow-unverified: %+v", r)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	doc, _ := os.ReadFile(filepath.Join(dir, "attestation.json"))
	for name, data := range map[string][]byte{"report.md": md, "report.html": page, "attestation.json": doc} {
		if !bytes.Contains(data, []byte("mallory")) {
			t.Errorf("%s does not name the unexplained owner", name)
		}
	}
	if !bytes.Contains(md, []byte("UNVERIFIED")) || !bytes.Contains(page, []byte("UNVERIFIED")) {
		t.Error("the reports of an --allow-unverified export do not say UNVERIFIED")
	}
}

// --since starts audit.jsonl at a stated event with its prev_hash, and
// --mode shares the bundle with a group.
func TestBundleSinceAndMode(t *testing.T) {
	forceClosedCampaign(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir, "--since", "3", "--mode", "0640"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := certgov(t, "verify", dir); r.code != 0 {
		t.Fatalf("verify of a --since bundle: %+v", r)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if !bytes.HasPrefix(log, []byte("[3,")) {
		t.Errorf("audit.jsonl starts %.20q, want event 3", log)
	}
	if out, ok := runRecipe(t, dir); !ok {
		t.Errorf("the README's recipe on a --since bundle: %s", out)
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		if info, _ := f.Info(); info.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %04o, want 0640", f.Name(), info.Mode().Perm())
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o750 {
		t.Errorf("folder mode %04o, want 0750", info.Mode().Perm())
	}
	if r := certgov(t, "export", "--inventory", "--out", filepath.Join(t.TempDir(), "x"), "--mode", "0666"); r.code != 2 {
		t.Errorf("--mode 0666 (others may write): %+v", r)
	}
}

// browserTool finds a program the browser test needs; CI installs them
// (.ci/run), a developer's quick run skips without them.
func browserTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CERTGOV_CI") != "" {
		t.Fatalf("%s is missing on CI", names[0])
	}
	t.Skipf("no %s here", names[0])
	return ""
}

// report.html as a browser shows and prints it: headless Chromium's DOM
// holds the INCOMPLETE banner, the item table's nine columns and the
// sign-off; printed to PDF (A4 landscape) every column of the item table
// is on the page, down to the last one's text.
func TestReportInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := browserTool(t, "chromium", "chromium-browser", "google-chrome")
	pdftotext := browserTool(t, "pdftotext")
	pdfinfo := browserTool(t, "pdfinfo")
	forceClosedCampaign(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	page := "file://" + filepath.Join(dir, "report.html")
	browser := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir()}
		out, err := exec.CommandContext(ctx, chromium, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return out
	}
	// The line-break opportunities names carry (<wbr>) are no text.
	dom := strings.ReplaceAll(string(browser("--dump-dom", page)), "<wbr>", "")
	if m := regexp.MustCompile(`(?s)<div class="banner"[^>]*>([^<]*)</div>`).FindStringSubmatch(dom); m == nil || !strings.HasPrefix(m[1], "INCOMPLETE:") {
		t.Errorf("rendered DOM: no INCOMPLETE banner first (%v)", m)
	}
	table := regexp.MustCompile(`(?s)<table class="items" id="items-revoke">(.*?)</table>`).FindStringSubmatch(dom)
	if table == nil {
		t.Fatal("rendered DOM: no table of revoked items")
	}
	heads := regexp.MustCompile(`<th>([^<]*)</th>`).FindAllStringSubmatch(table[1], -1)
	var names []string
	for _, h := range heads {
		names = append(names, h[1])
	}
	if strings.Join(names, ",") != "identity,owner,trust,findings at launch,findings at export,last seen at export,decision,reviewer,decided at,comment" {
		t.Errorf("item table columns %q", names)
	}
	if !strings.Contains(table[1], "<td>job retired | see OPS-12</td>") {
		t.Error("the revoke's comment is not a cell of its own")
	}
	if signoff := regexp.MustCompile(`(?s)<table class="meta" id="signoff">(.*?)</table>`).FindStringSubmatch(dom); signoff == nil ||
		!strings.Contains(signoff[1], "Reviewed with platform; the rest carried to Q1") || !strings.Contains(signoff[1], actedByPrefix("carol")) {
		t.Errorf("rendered DOM: sign-off %v", signoff)
	}

	pdf := filepath.Join(t.TempDir(), "report.pdf")
	browser("--no-pdf-header-footer", "--print-to-pdf="+pdf, page)
	info, err := exec.Command(pdfinfo, pdf).Output()
	if err != nil {
		t.Fatal(err)
	}
	size := regexp.MustCompile(`Page size:\s+([\d.]+) x ([\d.]+)`).FindSubmatch(info)
	if size == nil {
		t.Fatalf("pdfinfo: %s", info)
	}
	w, _ := strconv.ParseFloat(string(size[1]), 64)
	h, _ := strconv.ParseFloat(string(size[2]), 64)
	if w <= h {
		t.Errorf("printed %gx%g pt: want landscape", w, h)
	}
	text, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	headerOnOneLine := false
	for _, line := range strings.Split(string(text), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "identity" && strings.Contains(line, "decision") && strings.Contains(line, "reviewer") && strings.HasSuffix(strings.TrimSpace(line), "comment") {
			headerOnOneLine = true
		}
	}
	if !headerOnOneLine {
		t.Errorf("printed report: no item table header with every column up to comment:\n%.2000s", text)
	}
	for _, want := range []string{"INCOMPLETE", "see OPS-12", "Reviewed with platform"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("printed report lacks %q", want)
		}
	}
	// Names wrap at their dots and dashes, never inside a word: each word
	// of an identity name is on paper as often as in report.md, which
	// holds the same cells unwrapped.
	md := string(mustRead(t, filepath.Join(dir, "report.md")))
	var doc struct {
		Items []struct{ Identity string } `json:"items"`
	}
	json.Unmarshal(mustRead(t, filepath.Join(dir, "attestation.json")), &doc)
	word := regexp.MustCompile(`[A-Za-z0-9]{6,}`)
	checked := 0
	for _, it := range doc.Items {
		for _, w := range word.FindAllString(it.Identity, -1) {
			if onPaper, inMarkdown := strings.Count(string(text), w), strings.Count(md, w); onPaper < inMarkdown {
				t.Errorf("printed report: %q of %s whole %d times, report.md %d: a name wrapped inside a word", w, it.Identity, onPaper, inMarkdown)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("checked %d words of names", checked)
	}
}

// Governance with a date has consequences: a revoke decision on a
// certificate that is still trusted and a passed review date are
// findings that check fails on; exception list and the exception filter
// say where every exception stands.
func TestTimeBoundConsequences(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	certgov(t, "campaign", "start", "2026-Q4", "--filter", "selfsigned !ca")
	if r := certgov(t, "review", "partner-acme-logistics", "--campaign", "2026-Q4", "--decision", "revoke", "--comment", "contract ended", "--as", "alice"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := certgov(t, "check", "--fail-on", "revoke-pending")
	if r.code != 1 || !strings.Contains(r.stdout, "revoke-pending") || !strings.Contains(r.stdout, "partner-acme-logistics") || !strings.Contains(r.stdout, actorName("alice")+" decided revoke in campaign 2026-Q4") {
		t.Errorf("check after a revoke decision on a trusted certificate: %+v", r)
	}
	if r := certgov(t, "check"); !strings.Contains(r.stdout, "revoke-pending") {
		t.Errorf("revoke-pending is not among check's default codes: %s", r.stdout)
	}
	if r := certgov(t, "findings", "--filter", "finding:review-overdue"); !strings.Contains(r.stdout, "review-overdue") {
		t.Errorf("the demo's passed review dates give no review-overdue finding:\n%s", r.stdout)
	}

	if r := certgov(t, "exception", "approve", "partner-bluth-homes", "--reason", "migration to the CA by March", "--until", time.Now().AddDate(0, 0, 20).Format("2006-01-02")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := certgov(t, "exception", "reject", "partner-hooli-ads", "--reason", "no business owner"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := certgov(t, "exception", "list", "-o", "json").stdout
	var list []map[string]string
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, e := range list {
		status[e["identity"]] = e["status"]
	}
	if status["partner-bluth-homes"] != "approved" || status["partner-hooli-ads"] != "rejected" || status["partner-aperture-qa"] != "pending" {
		t.Errorf("exception list statuses: %v", status)
	}
	if r := certgov(t, "exception", "list", "--state", "approved"); !strings.Contains(r.stdout, "partner-bluth-homes") || strings.Contains(r.stdout, "partner-hooli-ads") {
		t.Errorf("exception list --state approved:\n%s", r.stdout)
	}
	if r := certgov(t, "ls", "--filter", "exception-ends<30d"); !strings.Contains(r.stdout, "partner-bluth-homes") {
		t.Errorf("ls exception-ends<30d:\n%s", r.stdout)
	}
	if r := certgov(t, "ls", "--filter", "exception-ends<7d"); strings.Contains(r.stdout, "partner-bluth-homes") {
		t.Errorf("ls exception-ends<7d lists an approval that ends in 20 days:\n%s", r.stdout)
	}
	if r := certgov(t, "ls", "--filter", "exception:rejected"); !strings.Contains(r.stdout, "partner-hooli-ads") {
		t.Errorf("ls exception:rejected:\n%s", r.stdout)
	}
}

// Certifying an item with high or critical findings needs a comment; a
// scripted run of decisions shows in campaign status and in the report.
func TestGuardedDecisions(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	certgov(t, "campaign", "start", "2026-Q4", "--filter", "selfsigned !ca")
	r := certgov(t, "review", "partner-weyland-cargo", "--campaign", "2026-Q4", "--decision", "certify")
	if r.code != 1 || !strings.Contains(r.stderr, "needs a comment") || !strings.Contains(r.stderr, "weak-key") || !strings.HasSuffix(strings.TrimSpace(r.stderr), "(--comment)") {
		t.Errorf("certify with critical findings and no comment: %+v", r)
	}
	if r := certgov(t, "review", "partner-weyland-cargo", "--campaign", "2026-Q4", "--decision", "certify", "--comment", "replaced next week"); r.code != 0 {
		t.Errorf("certify with a comment: %+v", r)
	}
	var status struct {
		Items []struct{ Identity, Decision string } `json:"items"`
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "2026-Q4", "-o", "json").stdout), &status)
	decided := 0
	for _, it := range status.Items {
		if it.Decision == "" && decided < 12 {
			if r := certgov(t, "review", it.Identity, "--campaign", "2026-Q4", "--decision", "needs-change", "--comment", "rotate to the CA", "--as", "bot"); r.code == 0 {
				decided++ // a name two identities share (a lookalike) is ambiguous: skipped
			}
		}
	}
	out := certgov(t, "campaign", "status", "2026-Q4").stdout
	// On PostgreSQL the pace is the login's, with its earlier decision.
	pace := actorName("bot") + ": 12 decisions, at most 12 within a minute (FAST"
	if storetest.Postgres() {
		pace = actorName("bot") + ": 13 decisions, at most 13 within a minute (FAST"
	}
	if !strings.Contains(out, pace) {
		t.Errorf("campaign status does not flag the scripted run:\n%.600s", out)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	certgov(t, "export", "--campaign", "2026-Q4", "--out", dir)
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "by "+actorName("bot")) || !strings.Contains(string(md), "FAST") {
		t.Errorf("the report does not show the scripted run")
	}
}

// certgov verify and the README's recipe accept and reject the same
// bundles: a decision changed in attestation.json while audit.jsonl still
// says otherwise (the attack re-summed, and re-signed, such a bundle), a
// key twice in one object, and audit.jsonl in another byte form (CRLF, a
// BOM, an unended last line) are refused by both.
func TestVerifyAndRecipeAgree(t *testing.T) {
	forceClosedCampaign(t)
	until := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	if r := certgov(t, "exception", "approve", "partner-bluth-homes", "--reason", "migration to the CA by March", "--until", until); r.code != 0 {
		t.Fatal(r.stderr)
	}
	good := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", good); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// firstMatch replaces the first match of re (its group 1 kept) with
	// that group and with.
	firstMatch := func(re, with string) func([]byte) []byte {
		return func(data []byte) []byte {
			m := regexp.MustCompile(re).FindSubmatchIndex(data)
			if m == nil {
				t.Fatalf("no %s in the bundle", re)
			}
			return append(append(append([]byte(nil), data[:m[0]]...), append(data[m[2]:m[3]:m[3]], with...)...), data[m[1]:]...)
		}
	}
	for _, tc := range []struct {
		name, file string
		change     func([]byte) []byte
	}{
		{"as exported", "", nil},
		{"revoke turned into certify", "attestation.json", firstMatch(`("decision":")revoke`, "certify")},
		{"a decision's time moved", "attestation.json", firstMatch(`("decided_at":")20`, "19")},
		{"a decision's reviewer changed", "attestation.json", firstMatch(`("reviewer":")[^"]+`, "mallory")},
		{"an undecided item certified", "attestation.json", firstMatch(`("decision":")undecided`, "certify")},
		{"an exception's end moved", "attestation.json", firstMatch(`("until": ?")`+until, "2099-12-31")},
		{"an exception's decider changed", "attestation.json", firstMatch(`("decided_by": ?")[^"]+`, "ciso")},
		{"items twice", "attestation.json", func(data []byte) []byte {
			return append([]byte(`{"items": [],`), bytes.TrimPrefix(data, []byte("{"))...)
		}},
		{"CRLF", "audit.jsonl", func(data []byte) []byte { return bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")) }},
		{"a BOM", "audit.jsonl", func(data []byte) []byte { return append([]byte("\xef\xbb\xbf"), data...) }},
		{"the last line unended", "audit.jsonl", func(data []byte) []byte { return bytes.TrimSuffix(data, []byte("\n")) }},
	} {
		dir := filepath.Join(t.TempDir(), "bundle")
		copyDir(t, good, dir)
		if tc.change != nil {
			path := filepath.Join(dir, tc.file)
			data, _ := os.ReadFile(path)
			changed := tc.change(data)
			if bytes.Equal(changed, data) {
				t.Fatalf("%s: nothing changed", tc.name)
			}
			os.WriteFile(path, changed, 0o600)
			resum(t, dir)
		}
		r := certgov(t, "verify", dir)
		out, recipeOK := runRecipe(t, dir)
		if want := tc.change == nil; (r.code == 0) != want || recipeOK != want {
			t.Errorf("%s: verify exit %d (%s), recipe ok %v (%s); want both to %s", tc.name, r.code, strings.TrimSpace(r.stderr), recipeOK, strings.TrimSpace(out),
				map[bool]string{true: "accept", false: "refuse"}[want])
		}
	}
}
