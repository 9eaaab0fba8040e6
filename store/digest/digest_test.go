package digest

import (
	"strings"
	"testing"
	"time"

	"certgov/model"
)

// What a file or a person wrote cannot make Markdown or a shell command
// of itself in a digest.
func TestDigestTextKeepsNamesInert(t *testing.T) {
	hostile := "a`b*[x](http://evil)<script>"
	d := Digest{Owner: "ops@example.com", Items: []Item{{Severity: model.SeverityHigh, Code: model.FindingNoOwner, Identity: hostile,
		Message: "no owner <b>", Do: remedy(model.FindingNoOwner, hostile)}}}
	text := d.Text(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	// The command is a code span, where Markdown renders nothing; the
	// rest is escaped.
	var prose []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.Contains(line, "do: ``") {
			prose = append(prose, line)
		}
	}
	for _, bad := range []string{"[x](http", "<script>", "<b>"} {
		if strings.Contains(strings.Join(prose, "\n"), bad) {
			t.Errorf("the digest carries %q as written:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "do: `` certgov owner set 'a`b*[x](http://evil)<script>' OWNER ``") {
		t.Errorf("the command is not quoted for a shell in a code span its backtick cannot end:\n%s", text)
	}
	html, err := d.HTML(time.Now())
	if err != nil || strings.Contains(html, "<script>") || strings.Contains(html, "<b>") {
		t.Errorf("HTML carries markup as written: %v\n%s", err, html)
	}
	if model.ShellQuote("ledger.payments.svc") != "ledger.payments.svc" || model.ShellQuote("it's") != `'it'\''s'` {
		t.Errorf("quote: %q %q", model.ShellQuote("ledger.payments.svc"), model.ShellQuote("it's"))
	}
}
