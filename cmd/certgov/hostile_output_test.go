package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"certgov/model/demo"
)

// A partner's certificate whose names carry terminal escapes (OSC 52
// clipboard write, title change, cursor-up/erase-line), a bidi override
// and a newline that would print a fake line: every text output shows
// them escaped, keeps one row per record, and CSV cells are never
// formulas. JSON keeps the exact value, escaped as JSON does.
func TestHostileNamesNeverReachTheTerminalRaw(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	now := time.Now()
	g := demo.NewGenerator(11)
	cn := "evil\x1b]52;c;ZXZpbA==\x07\x1b]0;pwned\x07\x1b[1A\x1b[2K"
	issued, err := g.SelfSigned(demo.Template{CommonName: cn, OrgUnit: "ops\ntrusted=yes \u202egnp.exe", Org: "=HYPERLINK(\"http://x\")",
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, 10)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "partner\x1b[31m.pem")
	if err := os.WriteFile(path, issued.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(issued.Cert.Raw)
	fp := hex.EncodeToString(sum[:])
	pins := filepath.Join(dir, "pins.txt")
	os.WriteFile(pins, []byte("sha256:"+fp+" label\x1b[2Jx\n"), 0o600)
	if r := certgov(t, "import", dir); r.code > 1 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"ls"}, {"ls", "-o", "csv"}, {"show", fp}, {"findings"}, {"findings", "-o", "csv"}, {"sources"},
		{"check", "--fail-on", "expiring"}, {"audit", "log"},
	} {
		r := certgov(t, args...)
		out := r.stdout + r.stderr
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("certgov %s printed raw control or bidi characters:\n%q", strings.Join(args, " "), out)
		}
		if strings.Contains(out, "\ntrusted=yes") {
			t.Errorf("certgov %s printed the OU's newline:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(out, ",=HYPERLINK") || strings.Contains(out, "\n=HYPERLINK") {
			t.Errorf("certgov %s wrote a formula cell:\n%s", strings.Join(args, " "), out)
		}
	}
	if r := certgov(t, "show", fp); !strings.Contains(r.stdout, `evil\x1b]52;c;ZXZpbA==\x07`) || !strings.Contains(r.stdout, `\u202egnp.exe`) {
		t.Errorf("show does not show the escaped names:\n%s", r.stdout)
	}
	// Typed values refuse control characters.
	for _, args := range [][]string{
		{"owner", "set", fp, "ops\x1b[2J@example.com"},
		{"owner", "set", fp, "ops@example.com", "--reason", "fine\nFAKE LINE"},
		{"--as", "mallory\u202e", "owner", "set", fp, "ops@example.com"},
	} {
		if r := certgov(t, args...); r.code == 0 || !strings.Contains(r.stderr, "not allowed") || strings.ContainsAny(r.stderr, "\x1b\u202e") {
			t.Errorf("certgov %q: exit %d, stderr %q; want a refusal that names the character", args, r.code, r.stderr)
		}
	}
}

// Names from certificates land in the evidence as text: no Markdown
// heading, link, HTML or extra column in report.md, no element in
// report.html, no formula in attestation.csv.
func TestHostileNamesInEvidence(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	now := time.Now()
	g := demo.NewGenerator(12)
	cn := "=cmd|' /C calc'!A0 <script>alert(1)</script> | fake [x](javascript:alert(1))"
	issued, err := g.SelfSigned(demo.Template{CommonName: cn, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, 30)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(issued.Cert.Raw)
	fp := hex.EncodeToString(sum[:])
	os.WriteFile(filepath.Join(dir, "partner.pem"), issued.PEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "pins.txt"), []byte("sha256:"+fp+"\n"), 0o600)
	certgov(t, "import", dir)
	if r := certgov(t, "exception", "approve", fp, "--reason", "contract", "--until", now.AddDate(0, 0, 20).Format("2006-01-02")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--inventory", "--out", out); r.code != 0 {
		t.Fatal(r.stderr)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	// Markup left unescaped: a tag, or a link's closing bracket.
	for _, raw := range []*regexp.Regexp{regexp.MustCompile(`<script>`), regexp.MustCompile(`(^|[^\\])\]\(javascript:`)} {
		if raw.Match(md) {
			t.Errorf("report.md holds %s raw:\n%s", raw, md)
		}
	}
	// Every row of a table has as many cells as its header: no value
	// adds a column.
	cells := func(line string) int { return strings.Count(line, "|") - strings.Count(line, `\|`) }
	header, hostileRows := 0, 0
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "|") {
			header = 0
			continue
		}
		if header == 0 {
			header = cells(line)
		}
		if strings.Contains(line, "calc") {
			hostileRows++
			if cells(line) != header {
				t.Errorf("report.md row with %d cells in a table of %d: %s", cells(line)-1, header-1, line)
			}
		}
	}
	if hostileRows == 0 {
		t.Error("the hostile name is in no report.md table")
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if strings.Contains(string(page), "<script>") {
		t.Errorf("report.html holds a script element:\n%s", page)
	}
	csvData, _ := os.ReadFile(filepath.Join(out, "attestation.csv"))
	for _, line := range strings.Split(string(csvData), "\n") {
		if strings.HasPrefix(line, "=") || strings.HasPrefix(line, "\"=") || strings.Contains(line, ",=") || strings.Contains(line, ",\"=") {
			t.Errorf("attestation.csv holds a formula: %s", line)
		}
	}
	if !strings.Contains(string(csvData), "'=cmd") {
		t.Errorf("attestation.csv lacks the quoted identity:\n%s", csvData)
	}
}

// A configuration's words reach the terminal through the server's name,
// gates and reasons: a server_name carrying terminal escapes and a bidi
// override, a map value with a newline. servers, what-if, show and scan's
// comparison print them escaped.
func TestHostileServerNames(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	now := time.Now()
	g := demo.NewGenerator(12)
	issued, err := g.SelfSigned(demo.Template{CommonName: "partner", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "partner.pem"), issued.PEM(), 0o600)
	sha1sum := sha1Hex(issued.Cert.Raw)
	conf := "map $ssl_client_fingerprint $ok { default 0; " + sha1sum + " \"1\x1b]0;pwned\x07\"; }\n" +
		"server {\n listen 8443 ssl;\n server_name \"evil\x1b]52;c;ZXZpbA==\x07\u202egnp.example\";\n ssl_verify_client optional_no_ca;\n if ($ok = 0) { return 403; }\n}\n"
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600)
	if r := certgov(t, "import", dir); r.code > 1 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	sum := sha256.Sum256(issued.Cert.Raw)
	fp := hex.EncodeToString(sum[:])
	for _, args := range [][]string{{"servers"}, {"servers", "-o", "json"}, {"servers", "what-if", "--remove", "gnp.example"}, {"show", fp}, {"findings"}} {
		r := certgov(t, args...)
		out := r.stdout + r.stderr
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("certgov %s printed raw control or bidi characters:\n%q", strings.Join(args, " "), out)
		}
		if r.code != 0 && args[0] != "findings" {
			t.Errorf("certgov %s: exit %d %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := certgov(t, "show", fp); !strings.Contains(r.stdout, `evil\x1b]52;c;ZXZpbA==\x07\u202egnp.example:8443: passes today`) {
		t.Errorf("show does not name the server, escaped:\n%s", r.stdout)
	}
}

func sha1Hex(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}
