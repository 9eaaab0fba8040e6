// Package digest gathers, per owner, what they must do: the findings of
// the identities they own (expired and expiring certificates, reviews
// overdue, exceptions ended, by severity), the reviews and approved
// exceptions that fall due soon, and, per reviewer, the campaign items
// they have still to decide as the due date nears (escalated to whoever
// started the campaign), each with the certgov command that resolves it. It reads the
// same findings as check (store.Review). Items without an owner go to a
// fallback recipient.
package digest

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"certgov/model"
	"certgov/store"
)

// Item is one thing an owner must do.
type Item struct {
	Severity model.Severity
	Code     string // the finding's code, or "exception-ending"
	Identity string
	Message  string
	// Do is the certgov command that resolves it (or shows why).
	Do string
}

// Digest is one owner's items, most urgent first.
type Digest struct {
	Owner string // "" for items without an owner
	Items []Item
}

// Build gathers the digests at now; within is how far ahead an
// approved exception's end counts as soon.
func Build(ctx context.Context, s *store.Store, policy model.Policy, now time.Time, within time.Duration) ([]Digest, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	byOwner := map[string][]Item{}
	err = rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
		if !r.Current {
			return nil
		}
		owner := model.Printable(r.Owner)
		for _, f := range findings {
			byOwner[owner] = append(byOwner[owner], Item{Severity: f.Severity, Code: f.Code, Identity: model.Printable(r.IdentityName),
				Message: model.Printable(f.Message), Do: remedy(f.Code, model.Printable(r.IdentityName))})
		}
		if due := r.ExpiresAt; !due.IsZero() && due.After(now) && due.Before(now.Add(within)) {
			byOwner[owner] = append(byOwner[owner], Item{Severity: model.SeverityMedium, Code: "review-due", Identity: model.Printable(r.IdentityName),
				Message: "its review is due " + due.Format(time.DateOnly) + " (" + model.Relative(due, now) + ")",
				Do:      remedy(model.FindingReviewOverdue, model.Printable(r.IdentityName))})
		}
		if e := r.Exception; e.ActiveAt(now) && e.Until.Before(now.Add(within)) {
			byOwner[owner] = append(byOwner[owner], Item{Severity: model.SeverityMedium, Code: "exception-ending", Identity: model.Printable(r.IdentityName),
				Message: "its approved exception ends " + e.Until.Format(time.DateOnly) + " (" + model.Relative(e.Until, now) + ")",
				Do:      "certgov exception approve " + model.ShellQuote(model.Printable(r.IdentityName)) + " --until DATE --reason TEXT   (or let it end)"})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range rv.EntryFindings() {
		if f.Owner == "" { // about a server or an entry: its file's keepers
			byOwner[""] = append(byOwner[""], Item{Severity: f.Severity, Code: f.Code, Identity: model.Printable(f.Identity),
				Message: model.Printable(f.Message), Do: "certgov findings --filter finding:" + f.Code})
		}
	}
	// Campaign work: each reviewer's own undecided items as the due date
	// nears, escalated to whoever started the campaign.
	work, err := s.CampaignWork(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range model.Reminders(work, now, within) {
		code := "campaign-due"
		if r.Escalated {
			code = "campaign-escalated"
		}
		to := model.Printable(r.To)
		byOwner[to] = append(byOwner[to], Item{Severity: r.Severity(), Code: code, Identity: "campaign " + model.Printable(r.Campaign),
			Message: model.Printable(r.Message(now)), Do: model.Printable(r.Do())})
	}
	var out []Digest
	for _, owner := range slices.Sorted(mapsKeys(byOwner)) {
		items := byOwner[owner]
		slices.SortStableFunc(items, func(a, b Item) int { return model.SeverityRank(a.Severity) - model.SeverityRank(b.Severity) })
		out = append(out, Digest{Owner: owner, Items: items})
	}
	return out, nil
}

func mapsKeys(m map[string][]Item) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// remedy is the command that resolves a finding of the code on the
// identity, or shows what to do.
func remedy(code, identity string) string {
	id := model.ShellQuote(identity)
	switch code {
	case model.FindingNoOwner:
		return "certgov owner set " + id + " OWNER"
	case model.FindingReviewOverdue:
		return "certgov expiry set " + id + " YYYY-MM-DD   (after re-attesting it)"
	case model.FindingSelfSignedUnapproved, model.FindingExceptionExpired:
		return "certgov exception approve " + id + " --until DATE --reason TEXT   (or: certgov exception reject " + id + ")"
	case model.FindingExpired, model.FindingExpiring:
		return "issue its successor and import it: certgov import FILE   (see: certgov show " + id + ")"
	}
	return "certgov show " + id
}

// counts sums the items up by severity: "2 critical, 3 high".
func (d Digest) counts() string {
	n := map[model.Severity]int{}
	for _, it := range d.Items {
		n[it.Severity]++
	}
	var parts []string
	for _, s := range []model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// Subject is the digest's mail subject.
func (d Digest) Subject() string {
	return fmt.Sprintf("certgov: %d things to do (%s)", len(d.Items), d.counts())
}

// Text is the digest in Markdown (which reads as plain text too).
func (d Digest) Text(now time.Time) string {
	var b strings.Builder
	who := d.Owner
	if who == "" {
		who = "no owner recorded (these need one)"
	}
	fmt.Fprintf(&b, "# What to do: %s\n\nFor %s, as of %s. Most urgent first; each with the command that resolves it.\n", d.counts(), who, now.UTC().Format(time.DateOnly))
	var section model.Severity
	for _, it := range d.Items {
		if it.Severity != section {
			section = it.Severity
			fmt.Fprintf(&b, "\n## %s\n\n", strings.ToUpper(string(section[:1]))+string(section[1:]))
		}
		fmt.Fprintf(&b, "- **%s** `%s`: %s\n  - do: %s\n", markdownEscape(it.Identity), it.Code, markdownEscape(it.Message), codeSpan(it.Do))
	}
	return b.String()
}

// codeSpan is s as a Markdown code span, delimited by more backticks
// than any run in s (CommonMark), so that a name holding a backtick
// cannot end it early: the command stays whole, and copies as written.
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest == 0 {
		return "`" + s + "`"
	}
	fence := strings.Repeat("`", longest+1)
	return fence + " " + s + " " + fence
}

// markdownEscape keeps a name or message from making Markdown of itself.
func markdownEscape(s string) string {
	return strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "<", "&lt;", ">", "&gt;").Replace(s)
}

var htmlPage = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif">
<h1>What to do: {{.Counts}}</h1>
<p>For {{.Who}}, as of {{.Day}}. Most urgent first; each with the command that resolves it.</p>
<table cellpadding="4" style="border-collapse: collapse">
<tr><th align="left">Severity</th><th align="left">Identity</th><th align="left">What</th><th align="left">Do</th></tr>
{{range .Items}}<tr><td>{{.Severity}}</td><td>{{.Identity}}</td><td>{{.Code}}: {{.Message}}</td><td><code>{{.Do}}</code></td></tr>
{{end}}</table>
</body></html>
`))

// HTML is the digest as a page (html/template escapes every value).
func (d Digest) HTML(now time.Time) (string, error) {
	who := d.Owner
	if who == "" {
		who = "no owner recorded (these need one)"
	}
	var b strings.Builder
	err := htmlPage.Execute(&b, struct {
		Subject, Counts, Who, Day string
		Items                     []Item
	}{d.Subject(), d.counts(), who, now.UTC().Format(time.DateOnly), d.Items})
	return b.String(), err
}
