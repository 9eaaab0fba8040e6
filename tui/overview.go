package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
)

// overviewItem is a number on the overview that leads to the identities
// behind it.
type overviewItem struct {
	label  string
	count  int
	filter string
}

type overviewScreen struct {
	ds     *Dataset
	items  []overviewItem
	cursor int
}

func (s *overviewScreen) setData(ds *Dataset) {
	s.ds = ds
	count := func(match func(r *Row) bool) int {
		n := 0
		for i := range ds.Rows {
			if match(&ds.Rows[i]) {
				n++
			}
		}
		return n
	}
	has := func(code string) func(r *Row) bool {
		return func(r *Row) bool {
			for _, c := range r.Record.Findings {
				if c == code {
					return true
				}
			}
			return false
		}
	}
	s.items = []overviewItem{
		{"identities", len(ds.Rows), ""},
		{"self-signed", count(func(r *Row) bool { return r.SelfSigned }), "selfsigned"},
		{"CA-signed", count(func(r *Row) bool { return !r.SelfIssued }), "!selfsigned !ca"},
		{"untrusted (trusted nowhere)", count(has(model.FindingUntrusted)), "finding:untrusted"},
		{"expired", count(has(model.FindingExpired)), "finding:expired"},
		{"expiring within the policy window", count(has(model.FindingExpiring)), "finding:expiring"},
		{"self-signed without approval", count(has(model.FindingSelfSignedUnapproved)), "finding:self-signed-unapproved"},
		{"private key on disk", count(has(model.FindingPrivateKeyExposed)), "finding:private-key-exposed"},
		{"revoked", count(func(r *Row) bool { return r.Revoked }), "revoked"},
		{"without owner", count(func(r *Row) bool { return r.Owner == "" && !r.ActsAsCA }), "owner:none !ca"},
	}
	s.cursor = min(s.cursor, len(s.items)-1)
}

// update moves through the numbers; enter returns the filter behind one.
func (s *overviewScreen) update(msg tea.KeyPressMsg, k KeyMap) (string, bool) {
	if key.Matches(msg, k.Open) && s.cursor < len(s.items) {
		return s.items[s.cursor].filter, true
	}
	s.cursor = moveCursor(msg, k, s.cursor, len(s.items), 3)
	return "", false
}

func (s *overviewScreen) view(st Styles, width, height int, now time.Time) string {
	left := []string{st.Label.Render("Inventory") + st.Dim.Render("  (enter lists the identities)"), ""}
	if s.ds.Campaign != nil {
		left = append([]string{campaignProgress(st, s.ds.Campaign, width/2, now), ""}, left...)
	}
	for i, it := range s.items {
		line := fmt.Sprintf("%7d  %s", it.count, it.label)
		if i == s.cursor {
			line = st.Selected.Render("▶" + line[1:])
		}
		left = append(left, line)
	}
	left = append(left, "", st.Label.Render("Findings by severity"), "")
	for _, sc := range s.ds.severityCounts() {
		left = append(left, fmt.Sprintf("%7d  %s", sc.count, st.Severity(sc.severity).Render(sc.severity)))
	}

	right := append([]string{st.Label.Render("Expiry, next 12 weeks"), ""}, s.timeline(st, now, max(10, width/2-22))...)
	top, unowned := s.ds.topOwners(5)
	right = append(right, "", st.Label.Render("Top owners"), "")
	for _, o := range top {
		right = append(right, fmt.Sprintf("%5d  %s", o.count, o.owner))
	}
	right = append(right, fmt.Sprintf("%5d  %s", unowned, st.Dim.Render("(no owner)")))

	if width < 100 {
		return strings.Join(append(left, append([]string{""}, right...)...), "\n")
	}
	colWidth := width / 2
	var b strings.Builder
	for i := 0; i < max(len(left), len(right)); i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		b.WriteString(pad(l, colWidth) + r + "\n")
	}
	return b.String()
}

// timeline draws one bar a week: expired ones first, this week stands out.
func (s *overviewScreen) timeline(st Styles, now time.Time, barWidth int) []string {
	var expired int
	weeks := make([]int, 12)
	for i := range s.ds.Rows {
		d := s.ds.Rows[i].NotAfter.Sub(now)
		switch {
		case d < 0:
			expired++
		case d < 12*7*24*time.Hour:
			weeks[int(d/(7*24*time.Hour))]++
		}
	}
	most := expired
	for _, n := range weeks {
		most = max(most, n)
	}
	bar := func(n int) string {
		if most == 0 || n == 0 {
			return ""
		}
		return strings.Repeat("█", max(1, n*barWidth/most))
	}
	lines := []string{fmt.Sprintf("%-9s %4d %s", "expired", expired, st.BarExpired.Render(bar(expired)))}
	for w, n := range weeks {
		label := now.AddDate(0, 0, 7*w).Format("Jan 02")
		style := st.Bar
		if w == 0 {
			label, style = "this week", st.BarThisWeek
		}
		lines = append(lines, fmt.Sprintf("%-9s %4d %s", label, n, style.Render(bar(n))))
	}
	return lines
}
