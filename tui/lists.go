package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/model"
)

// listItem is one line of a simple list screen; filter, when set, is what
// enter shows on the identities screen.
type listItem struct {
	text string
	// path, when set, ends the line: a file's path, shortened from its
	// start to what the width leaves (the file name is what tells files
	// apart; cut from its end, every path read "/srv/estate/c…").
	path     string
	severity model.Severity
	filter   string
	detail   []string
}

// listScreen is a list of items (findings by code, sources, audit
// events); build makes its items from a dataset.
type listScreen struct {
	items []listItem
	listNav
	build func(ds *Dataset, now time.Time) []listItem
	title string
}

func (s *listScreen) setItems(items []listItem) {
	s.items = items
	s.clamp(len(items))
}

func (s *listScreen) update(msg tea.KeyPressMsg, k KeyMap, page int) (listItem, bool) {
	if key.Matches(msg, k.Open) && s.cursor < len(s.items) {
		return s.items[s.cursor], true
	}
	// page is the body height less two; the list shows page-2 rows.
	s.move(msg, k, len(s.items), page, page-2)
	return listItem{}, false
}

func (s *listScreen) view(st Styles, width, height int, title string) string {
	var b strings.Builder
	b.WriteString(st.Label.Render(title) + "\n")
	rows := max(1, height-4)
	offset := scrolled(s.cursor, s.offset, rows) // the view only reads
	if len(s.items) == 0 {
		b.WriteString(st.Dim.Render("  nothing here") + "\n")
	}
	for i := offset; i < len(s.items) && i < offset+rows; i++ {
		it := s.items[i]
		text := it.text
		if it.path != "" {
			text += " " + model.ElideSource(it.path, max(12, width-3-ansi.StringWidth(text)))
		}
		line := "  " + pad(text, width-2)
		if it.severity != "" {
			line = "  " + st.Severity(it.severity).Render(pad(string(it.severity), 8)) + " " + pad(it.text, width-11)
		}
		if i == s.cursor {
			line = st.Selected.Render("▶ " + strings.TrimPrefix(ansiStrip(line), "  "))
		}
		b.WriteString(line + "\n")
	}
	if s.cursor < len(s.items) {
		for _, d := range s.items[s.cursor].detail {
			b.WriteString(st.Dim.Render("    "+pad(d, width-4)) + "\n")
		}
	}
	return b.String()
}

// findingItems lists the findings by code, most urgent first.
func findingItems(ds *Dataset) []listItem {
	var items []listItem
	for _, g := range ds.FindingGroups {
		t := model.FindingTypes[g.code]
		item := listItem{
			severity: g.severity,
			text:     fmt.Sprintf("%-24s %6d  %s", g.code, g.count, t.Title),
			detail:   []string{"maps to " + strings.Join(t.Frameworks, ", ")},
		}
		for _, f := range g.examples {
			item.detail = append(item.detail, f.Identity+": "+f.Message)
		}
		// Findings about trust entries and servers concern no certificate.
		if !model.AboutConfiguration(g.code) {
			item.filter = "finding:" + g.code
		}
		items = append(items, item)
	}
	return items
}

// sourceItems lists the imported files with their counts and drift.
func sourceItems(ds *Dataset, now time.Time) []listItem {
	var items []listItem
	for _, s := range ds.Sources {
		// enter lists what the source holds or admits (source:PATH).
		needle, _, _ := strings.Cut(s.Path, " ")
		item := listItem{text: fmt.Sprintf("%-14s %5d certs %5d entries %3d keys  %-9s", s.Kind, s.Certificates, s.TrustEntries, s.PrivateKeys, model.Relative(s.ImportedAt, now)),
			path: s.Path, filter: "source:" + needle}
		item.detail = append(item.detail, fmt.Sprintf("%d version(s), sha256 %s", s.Versions, s.ContentSHA256[:16]))
		for _, r := range s.Removed {
			item.detail = append(item.detail, fmt.Sprintf("removed %s: %s %s %q", r.RemovedAt.Format("2006-01-02"), r.Kind, r.Label, r.Value))
		}
		items = append(items, item)
	}
	return items
}

// auditItems lists the audit trail, newest first.
func auditItems(ds *Dataset) []listItem {
	items := make([]listItem, 0, len(ds.Events))
	for i := len(ds.Events) - 1; i >= 0; i-- {
		e := ds.Events[i]
		subject := e.Identity
		if e.Campaign != "" {
			subject = strings.TrimSpace("campaign " + e.Campaign + " " + e.Identity)
		}
		actor := e.Actor
		if e.OnBehalfOf != "" {
			// A team database's login, and whom it acted for.
			actor += " for " + e.OnBehalfOf
		}
		text := fmt.Sprintf("%5d  %s  %-18s %-18s %s", e.Seq, e.At.Format("2006-01-02 15:04"), actor, e.Action, subject)
		item := listItem{text: text, detail: []string{"hash " + e.Hash}}
		if e.OnBehalfOf != "" {
			item.detail = append(item.detail, "database login "+e.Actor+", on behalf of "+e.OnBehalfOf)
		}
		if by := e.RunBy(); by != "" {
			item.detail = append(item.detail, "run by "+by+" as "+e.Actor)
		}
		if e.Before != "" || e.After != "" {
			item.detail = append(item.detail, fmt.Sprintf("before %q → after %q", e.Before, e.After))
		}
		if e.Reason != "" {
			item.detail = append(item.detail, "reason: "+e.Reason)
		}
		items = append(items, item)
	}
	return items
}
