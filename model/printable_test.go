package model_test

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"certgov/model"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain CN=svc,O=Example": "plain CN=svc,O=Example",
		"émoji 😀 中文":             "émoji 😀 中文",
		"\x1b]52;c;ZXZpbA==\x07": `\x1b]52;c;ZXZpbA==\x07`,
		"a\nfake line":           `a\nfake line`,
		"tab\tcol\rret":          `tab\tcol\rret`,
		"\u202eexe.txt":          `\u202eexe.txt`,
		"zero\u200bwidth\ufeff":  `zero\u200bwidth\ufeff`,
		"c1 \u009b31m":           `c1 \u009b31m`,
		"bad \xff\xfe utf8":      `bad \xff\xfe utf8`,
		`back\slash \x1b`:        `back\\slash \\x1b`,
		"del\x7f":                `del\x7f`,
		"tag\U000E0041":          `tag\U000e0041`,
		"\x1b[1A\x1b[2K":         `\x1b[1A\x1b[2K`,
	} {
		if got := model.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPrintable: the output carries nothing a terminal acts on, and reads
// back to exactly the input (so two different values never print alike).
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "x", "\x1b[31m", "\u202e", "a\\x1b", "\xff", "\u0085", "\\\\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := model.Printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("%q: not UTF-8: %q", s, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("%q printed %q, which holds %U", s, out, r)
			}
		}
		if back := unprintable(t, out); back != s {
			t.Fatalf("%q printed %q reads back as %q", s, out, back)
		}
	})
}

// unprintable undoes Printable's escapes.
func unprintable(t *testing.T, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		case 'u', 'U':
			n := 4
			if s[i] == 'U' {
				n = 8
			}
			v, _ := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			b.WriteRune(rune(v))
			i += n
		default:
			t.Fatalf("stray escape in %q", s)
		}
	}
	return b.String()
}

func TestTypedTextAndCSVCell(t *testing.T) {
	for _, bad := range []string{"ops\x1b[2J", "a\nb", "rtl\u202e", "\xff"} {
		if err := model.TypedText("--reason", bad); err == nil || !strings.Contains(err.Error(), "--reason") {
			t.Errorf("TypedText(%q) = %v", bad, err)
		}
	}
	if err := model.TypedText("--as", "Zoë O'Brien <zoe@example.com>"); err != nil {
		t.Error(err)
	}
	for in, want := range map[string]string{"=HYPERLINK(\"x\")": `'=HYPERLINK("x")`, "+1": "'+1", "@SUM(A1)": "'@SUM(A1)", "-2": "'-2",
		"\tx": `\tx`, "ok": "ok", "": ""} {
		if got := model.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	for in, want := range map[string]string{
		"svc-01":                    `svc-01`,
		"2026-12-04 14:36":          `2026-12-04 14:36`,
		"payments@example.com":      `payments@example.com`,
		"# heading":                 `\# heading`,
		"<script>alert(1)</script>": `\<script\>alert(1)\</script\>`,
		"[x](javascript:alert(1))":  `\[x\](javascript:alert(1))`,
		"![img](http://x/a.png)":    `!\[img\](http\://x/a.png)`,
		"a | b":                     `a \| b`,
		"line\nbreak":               `line\\nbreak`,
		"- item":                    `\- item`,
		"+ item":                    `\+ item`,
		"12. twelfth":               `12\. twelfth`,
		"see www.evil.example":      `see www\.evil.example`,
		"*bold* _it_ ~x~ $m$ `c`":   "\\*bold\\* \\_it\\_ \\~x\\~ \\$m\\$ \\`c\\`",
		"&amp;":                     `\&amp;`,
	} {
		if got := model.MarkdownText(in); got != want {
			t.Errorf("MarkdownText(%q) = %q, want %q", in, got, want)
		}
	}
}

// An approval "until" the day the certificate expires is accepted and
// ends when the certificate does; the day after is refused, saying why.
func TestApprovalUntilTheNotAfterDay(t *testing.T) {
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	c := &model.Certificate{SelfSigned: true, NotAfter: time.Date(2026, 12, 11, 10, 30, 0, 0, time.UTC)}
	endOfDay := time.Date(2026, 12, 11, 23, 59, 59, 0, time.UTC)
	p := model.DefaultPolicy()
	if err := model.CheckApproval(c, "contract", endOfDay, now, p); err != nil {
		t.Fatalf("until the notAfter day: %v", err)
	}
	if got := model.ApprovalEnd(c, endOfDay); !got.Equal(c.NotAfter) {
		t.Errorf("the approval ends %s, want the notAfter %s", got, c.NotAfter)
	}
	err := model.CheckApproval(c, "contract", endOfDay.AddDate(0, 0, 1), now, p)
	if err == nil || !strings.Contains(err.Error(), "2026-12-11 10:30") {
		t.Errorf("the day after: %v", err)
	}
}

// PrintableRecord leaves the record it is given as it was, and shares
// what needs no escaping.
func TestPrintableRecordCopiesOnlyWhatChanges(t *testing.T) {
	r := model.Record{Sources: []string{"/ok.pem", "/bad\x1b.pem"}, Trust: []model.TrustRef{{Source: "/a"}, {Source: "/b\n"}}}
	r.SANs.DNS = []string{"clean.example"}
	p := model.PrintableRecord(r)
	if r.Sources[1] != "/bad\x1b.pem" || r.Trust[1].Source != "/b\n" {
		t.Errorf("the original changed: %+v", r)
	}
	if p.Sources[1] != `/bad\x1b.pem` || p.Trust[1].Source != `/b\n` || p.Trust[0].Source != "/a" {
		t.Errorf("printable copy: %+v", p)
	}
	if &p.SANs.DNS[0] != &r.SANs.DNS[0] {
		t.Error("a clean list was copied")
	}
}

// FuzzReportCells: a value in a Markdown report is literal text (what
// Markdown reads as markup escaped, so nothing opens a link, a tag, a
// heading or a table cell, and it reads back as the printable value), and
// a CSV cell never starts a formula and survives a CSV writer and reader.
func FuzzReportCells(f *testing.F) {
	for _, s := range []string{"", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\r=1", "a | b", "<script>alert(1)</script>", "[x](javascript:alert(1))", "# heading", "\\|", "\x1b[2K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		printable := model.Printable(s)
		md := model.MarkdownText(s)
		var back strings.Builder
		for i := 0; i < len(md); i++ {
			c := md[i]
			if c == '\\' && i+1 < len(md) && isASCIIPunct(md[i+1]) {
				back.WriteByte(md[i+1])
				i++
				continue
			}
			// What Markdown reads as markup where it stands, unescaped.
			text := back.String()
			leadingDigits := text != "" && strings.Trim(text, "0123456789") == ""
			if strings.IndexByte(model.MarkdownMarkup, c) >= 0 || c == '\n' || c == '\r' ||
				(text == "" && strings.IndexByte("-+=", c) >= 0) ||
				(leadingDigits && (c == '.' || c == ')')) ||
				(c == ':' && strings.HasPrefix(md[i+1:], "//")) ||
				(c == '.' && strings.HasSuffix(strings.ToLower(text), "www")) {
				t.Fatalf("%q: Markdown %q leaves %q unescaped at %d", s, md, c, i)
			}
			back.WriteByte(c)
		}
		if back.String() != printable {
			t.Fatalf("%q: Markdown %q reads back as %q, not %q", s, md, back.String(), printable)
		}

		cell := model.CSVCell(s)
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("%q: CSV cell %q starts a formula", s, cell)
		}
		if cell != printable && cell != "'"+printable {
			t.Fatalf("%q: CSV cell %q is neither %q nor it quoted", s, cell, printable)
		}
		var buf strings.Builder
		w := csv.NewWriter(&buf)
		w.Write([]string{cell, "next"})
		w.Flush()
		row, err := csv.NewReader(strings.NewReader(buf.String())).Read()
		if err != nil || len(row) != 2 || row[0] != cell {
			t.Fatalf("%q: CSV cell %q reads back as %q (%v)", s, cell, row, err)
		}
	})
}

func isASCIIPunct(c byte) bool {
	return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}
