package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
)

// overviewItem is a number on the overview that leads to the identities
// behind it. Its count is the number of rows its filter matches, so the
// list enter opens always holds exactly that many.
type overviewItem struct {
	section string // inventory, expiry, owners
	label   string
	count   int
	filter  string
	bar     int // expiry weeks: 0 none, 1 expired, 2 this week, 3 a later week
}

type overviewScreen struct {
	ds      *Dataset
	items   []overviewItem
	listNav // its numbers are laid out in columns: all of them are shown
}

// countMatching counts the rows each filter expression matches, in one
// pass: filling a row's record costs more than matching it, and the
// overview counts 30 filters (1.4 s of CPU at a million identities when
// each took a pass of its own). A bad expression counts nothing.
func countMatching(ds *Dataset, exprs []string, now time.Time) []int {
	filters := make([]*model.Filter, len(exprs))
	for i, expr := range exprs {
		if f, err := model.ParseFilter(expr); err == nil {
			filters[i] = f
		}
	}
	counts := make([]int, len(exprs))
	var rec model.Record // each row's record in turn, in the same lists
	for i := range ds.Rows {
		ds.Rows[i].fill(&rec)
		for j, f := range filters {
			if f != nil && f.Match(&rec, now) {
				counts[j]++
			}
		}
	}
	return counts
}

func (s *overviewScreen) setData(ds *Dataset, now time.Time) {
	s.ds = ds
	s.items = s.items[:0]
	add := func(section, label, filter string, bar int) {
		s.items = append(s.items, overviewItem{section: section, label: label, filter: filter, bar: bar})
	}
	for _, it := range []struct{ label, filter string }{
		{"identities", ""},
		{"self-signed", "selfsigned"},
		{"CA-signed", "!selfsigned !ca"},
		{"untrusted (trusted nowhere)", "finding:untrusted"},
		{"expired", "finding:expired"},
		{"expiring within the policy window", "finding:expiring"},
		{"self-signed without approval", "finding:self-signed-unapproved"},
		{"review overdue", "finding:review-overdue"},
		{"revocation decided, still trusted", "finding:revoke-pending"},
		{"private key on disk", "finding:private-key-exposed"},
		{"revoked", "revoked"},
		{"without owner", "owner:none !ca"},
	} {
		add("inventory", it.label, it.filter, 0)
	}
	add("expiry", "expired", "expired", 1)
	for w := range 12 {
		label := now.AddDate(0, 0, 7*w).Format("Jan 02")
		bar := 3
		if w == 0 {
			label, bar = "this week", 2
		}
		add("expiry", label, fmt.Sprintf("expires<%dd !expires<%dd", 7*w+7, 7*w), bar)
	}
	top, _ := ds.topOwners(5)
	for _, o := range top {
		if strings.ContainsAny(o.owner, " \"") {
			continue // not expressible as one owner: term
		}
		add("owners", o.owner, "owner:"+o.owner+" !ca", 0)
	}
	add("owners", "(no owner)", "owner:none !ca", 0)
	exprs := make([]string, len(s.items))
	for i, it := range s.items {
		exprs[i] = it.filter
	}
	for i, n := range countMatching(ds, exprs, now) {
		s.items[i].count = n
	}
	s.clamp(len(s.items))
}

// update moves through the numbers; enter returns the filter behind one.
func (s *overviewScreen) update(msg tea.KeyPressMsg, k KeyMap) (string, bool) {
	if key.Matches(msg, k.Open) && s.cursor < len(s.items) {
		return s.items[s.cursor].filter, true
	}
	s.move(msg, k, len(s.items), 3, len(s.items))
	return "", false
}

func (s *overviewScreen) view(st Styles, width, height int, now time.Time) string {
	left := []string{st.Label.Render("Inventory") + st.Dim.Render("  (enter lists the identities)"), ""}
	if s.ds.Campaign != nil {
		left = append([]string{campaignProgress(st, s.ds.Campaign, width/2, now), ""}, left...)
	}
	right := []string{st.Label.Render("Expiry, next 12 weeks"), ""}
	mostWeek := 0
	for _, it := range s.items {
		if it.section == "expiry" {
			mostWeek = max(mostWeek, it.count)
		}
	}
	barWidth := max(10, width/2-22)
	section := ""
	cursorLine := 0 // in the narrow layout's single column
	for i, it := range s.items {
		var line string
		switch it.section {
		case "inventory":
			line = fmt.Sprintf("%7d  %s", it.count, it.label)
		case "expiry":
			line = fmt.Sprintf("%-9s %4d ", it.label, it.count)
			if it.count > 0 && mostWeek > 0 {
				bar := strings.Repeat("█", max(1, it.count*barWidth/mostWeek))
				switch it.bar {
				case 1:
					bar = st.BarExpired.Render(bar)
				case 2:
					bar = st.BarThisWeek.Render(bar)
				default:
					bar = st.Bar.Render(bar)
				}
				line += bar
			}
		case "owners":
			if section != "owners" {
				right = append(right, "", st.Label.Render("Top owners"), "")
			}
			label := it.label
			if label == "(no owner)" {
				label = st.Dim.Render(label)
			}
			line = fmt.Sprintf("%5d  %s", it.count, label)
		}
		section = it.section
		if i == s.cursor {
			line = st.Selected.Render("▶" + strings.TrimPrefix(ansiStrip(line), " "))
		}
		if it.section == "inventory" {
			left = append(left, line)
		} else {
			right = append(right, line)
		}
		if i == s.cursor {
			cursorLine = len(left) - 1 // inventory: its line in the left column
			if it.section != "inventory" {
				cursorLine = -len(right) // others: counted once the left column is known
			}
		}
	}
	severities := []string{"", st.Label.Render("Findings by severity"), ""}
	for _, sc := range s.ds.severityCounts() {
		severities = append(severities, fmt.Sprintf("%7s  %s", strconv.Itoa(sc.count), st.Severity(sc.severity).Render(string(sc.severity))))
	}

	if width < 100 {
		// One column, the numbers first; scrolled so the selected one
		// is on screen.
		lines := append(append(append([]string{}, left...), severities...), append([]string{""}, right...)...)
		if cursorLine < 0 {
			cursorLine = len(left) + len(severities) + 1 - cursorLine - 1
		}
		top := max(0, min(cursorLine-height/2, len(lines)-height))
		return strings.Join(lines[top:min(len(lines), top+height)], "\n")
	}
	left = append(left, severities...)
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
