package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/model"
	"certgov/store"
)

// serverView is one server as the Servers screen lists it: the server and
// the identities whose current certificate it concerns.
type serverView struct {
	model.Server
	name string
	// admits: it lets them in today, as places in rows (a million
	// identities' names took 17 MB as strings, 4 MB as places); refusedNow:
	// configured to admit, refused in a handshake today (why, per
	// identity); claims: they match a name rule of its without the chain
	// it requires first.
	rows       []Row
	admits     []int32
	refusedNow []namedNote
	claims     []namedNote
}

// admitted is the name of the i-th identity the server admits.
func (v *serverView) admitted(i int) string { return v.rows[v.admits[i]].IdentityName() }

// namedNote is a note on an identity. Its parts are shared with the rows
// (a million identities may each have one): joined only when drawn.
type namedNote struct{ name, note string }

// serverViews groups the rows by the servers that concern them.
func serverViews(servers []model.Server, rows []Row) []serverView {
	views := make([]serverView, len(servers))
	index := map[string]int{}
	// What a claim on each server ends with, made once: not per claim
	// and server (13 s of a million identities' load).
	claimSuffixes := make([]string, len(servers))
	for i, srv := range servers {
		views[i] = serverView{Server: srv.Printable(), name: model.Printable(srv.Name()), rows: rows}
		index[srv.Key()] = i
		claimSuffixes[i] = "server " + views[i].name
	}
	for r := range rows {
		row := &rows[r]
		for _, a := range model.AdmittingServers(row.Trust()) {
			i, ok := index[a.Key]
			if !ok {
				continue
			}
			if a.RefusedNow != "" {
				views[i].refusedNow = append(views[i].refusedNow, namedNote{row.IdentityName(), a.RefusedNow})
			} else {
				views[i].admits = append(views[i].admits, int32(r))
			}
		}
		for _, m := range row.matchesWithoutChain {
			for i := range views {
				if strings.HasSuffix(m, claimSuffixes[i]) {
					views[i].claims = append(views[i].claims, namedNote{row.IdentityName(), m})
				}
			}
		}
	}
	return views
}

// serversScreen lists the servers; enter opens one (what it admits, what
// it refuses now, who claims its names without its chain), and w asks
// what would break without it.
type serversScreen struct {
	views []serverView
	listNav
	open   bool   // one server's lists are shown
	scroll int    // within them
	whatIf string // the what-if answer for the open server, when asked
	asking bool
}

type whatIfMsg struct {
	server string
	result *store.WhatIfResult
	err    error
}

func (s *serversScreen) setData(ds *Dataset, _ time.Time) {
	s.views = ds.Servers
	s.clamp(len(s.views))
}

func (s *serversScreen) selected() *serverView {
	if s.cursor < len(s.views) {
		return &s.views[s.cursor]
	}
	return nil
}

func (s *serversScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	switch {
	case s.open && key.Matches(msg, m.keys.Back):
		s.open, s.whatIf, s.scroll = false, "", 0
	case key.Matches(msg, m.keys.Open) && s.selected() != nil:
		s.open, s.whatIf, s.scroll = true, "", 0
	case key.Matches(msg, m.keys.WhatIf) && s.selected() != nil && !s.asking:
		// A question, not a change: nothing to confirm.
		s.open, s.asking, s.scroll = true, true, 0
		return whatIfCmd(m.opts.Store, s.selected().name, m.opts.Now())
	case s.open:
		switch {
		case key.Matches(msg, m.keys.Down), key.Matches(msg, m.keys.PageDown):
			s.scroll += map[bool]int{true: page, false: 1}[key.Matches(msg, m.keys.PageDown)]
		case key.Matches(msg, m.keys.Up), key.Matches(msg, m.keys.PageUp):
			s.scroll = max(0, s.scroll-map[bool]int{true: page, false: 1}[key.Matches(msg, m.keys.PageUp)])
		}
	default:
		s.move(msg, m.keys, len(s.views), page, page-2)
	}
	return nil
}

func whatIfCmd(st *store.Store, server string, now time.Time) tea.Cmd {
	return func() tea.Msg {
		res, err := st.WhatIf(context.Background(), server, now)
		return whatIfMsg{server: server, result: res, err: err}
	}
}

// answer takes a what-if answer for the server it was asked about.
// receive takes the answer to a what-if question.
func (s *serversScreen) receive(msg tea.Msg) bool {
	answer, ok := msg.(whatIfMsg)
	if ok {
		s.answer(answer)
	}
	return ok
}

func (s *serversScreen) answer(msg whatIfMsg) {
	s.asking = false
	if v := s.selected(); v == nil || v.name != msg.server {
		return
	}
	if msg.err != nil {
		s.whatIf = "what-if failed: " + msg.err.Error()
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Without %s, %d identities lose their last admitting server", msg.server, len(msg.result.LoseAll))
	for _, c := range msg.result.LoseAll {
		fmt.Fprintf(&b, "\n  %s", c.Identity)
	}
	fmt.Fprintf(&b, "\n%d keep access elsewhere", len(msg.result.KeepSome))
	for _, c := range msg.result.KeepSome {
		fmt.Fprintf(&b, "\n  %s: still %s", c.Identity, strings.Join(c.Keeps, ", "))
	}
	s.whatIf = b.String()
}

func (s *serversScreen) render(f frame) string {
	if s.open && s.selected() != nil {
		return s.viewServer(f.styles, f.width, f.height)
	}
	return s.viewList(f.styles, f.width, f.height)
}

func (s *serversScreen) viewList(st Styles, width, height int) string {
	var b strings.Builder
	b.WriteString(st.Label.Render(fmt.Sprintf("Servers (%d) — enter lists what one admits and refuses · w: what if it went", len(s.views))) + "\n")
	// The name takes what the numbers leave, and the note the rest.
	nameWidth := max(16, min(40, width-57))
	b.WriteString(st.Header.Render(fmt.Sprintf("  %s  %-22s  %6s  %7s  %s", pad("SERVER", nameWidth), "POLICY", "ADMITS", "REFUSED", "NOTE")) + "\n")
	rows := max(1, height-3)
	offset := scrolled(s.cursor, s.offset, rows)
	if len(s.views) == 0 {
		b.WriteString(st.Dim.Render("  no server imported: import gateway configurations (nginx, Envoy, ingresses…)") + "\n")
	}
	for i := offset; i < len(s.views) && i < offset+rows; i++ {
		v := &s.views[i]
		note, style := "", st.Dim
		switch {
		case v.Unknown != "":
			note, style = "unknown: "+v.Unknown, st.Severity(model.SeverityMedium)
		case v.AdmitsAny:
			note, style = "admits any certificate", st.Severity(model.SeverityCritical)
		case len(v.SpoofableNames) > 0:
			note, style = "spoofable: names without a chain", st.Severity(model.SeverityCritical)
		case v.Login != nil && v.Login.AnyName && !v.Login.Password:
			note, style = "any role, no name checked", st.Severity(model.SeverityCritical)
		case len(v.claims) > 0:
			note = fmt.Sprintf("%d claim its names without its chain", len(v.claims))
		}
		admits := fmt.Sprint(len(v.admits))
		if v.Unknown != "" {
			admits = "?"
		}
		line := fmt.Sprintf("%s  %-22s  %6s  %7d  ", padServerName(v.name, nameWidth), pad(v.PolicyText(), 22), admits, len(v.refusedNow))
		if i == s.cursor {
			b.WriteString(st.Selected.Render("▶ "+line+note) + "\n")
		} else {
			b.WriteString("  " + line + style.Render(note) + "\n")
		}
	}
	return b.String()
}

func (s *serversScreen) viewServer(st Styles, width, height int) string {
	v := s.selected()
	lines := []string{st.Title.Render(v.name) + st.Dim.Render("  · esc back · w what if it went"),
		fmt.Sprintf("%s at %s (%s)", v.Kind, v.Location, model.ElideSource(v.Source, 60)),
		"policy: " + v.PolicyText()}
	for _, a := range v.Anchors {
		lines = append(lines, "anchors: "+a)
	}
	for _, g := range v.Gates {
		lines = append(lines, "gate: "+g)
	}
	if v.Unknown != "" {
		lines = append(lines, st.Severity(model.SeverityMedium).Render("unknown: "+v.Unknown))
	}
	if len(v.SpoofableNames) > 0 {
		lines = append(lines, st.Severity(model.SeverityCritical).Render("spoofable: anyone can present "+strings.Join(v.SpoofableNames, "; ")))
	}
	if s.asking {
		lines = append(lines, "", "asking what would break without it…")
	}
	if s.whatIf != "" {
		lines = append(lines, "")
		lines = append(lines, strings.Split(s.whatIf, "\n")...)
	}
	// The lists can hold a million identities: only the lines in view
	// are made.
	type section struct {
		title string
		count int
		item  func(i int) string
	}
	sections := []section{
		{"Admits today", len(v.admits), v.admitted},
		{"Configured to admit, refused now", len(v.refusedNow), func(i int) string { return v.refusedNow[i].name + ": " + v.refusedNow[i].note }},
		{"Claim its names without its chain (refused)", len(v.claims), func(i int) string { return v.claims[i].name + ": " + v.claims[i].note }},
	}
	total := len(lines)
	for _, sec := range sections {
		total += 2 + sec.count
	}
	start := min(s.scroll, max(0, total-height))
	end := start + height
	shown := lines[min(start, len(lines)):min(end, len(lines))]
	pos := len(lines) // the next line's place among all
	show := func(line func() string) {
		if start <= pos && pos < end {
			shown = append(shown, line())
		}
		pos++
	}
	for _, sec := range sections {
		show(func() string { return "" })
		show(func() string { return st.Label.Render(fmt.Sprintf("%s (%d)", sec.title, sec.count)) })
		// Only the items in view are made.
		for i := max(0, start-pos); i < sec.count && pos+i < end; i++ {
			shown = append(shown, "  "+sec.item(i))
		}
		pos += sec.count
	}
	return strings.Join(shown, "\n")
}

func (s *serversScreen) shortHelp(k KeyMap) []key.Binding {
	if s.open {
		return []key.Binding{k.Up, k.Down, k.WhatIf, k.Back, k.Help, k.Quit}
	}
	return []key.Binding{k.Up, k.Down, k.Open, k.WhatIf, k.NextScreen, k.Help, k.Quit}
}

// padServerName pads or cuts a server's name to width, keeping the place
// it ends with when it has no name of its own ("postgresql hostssl :5432
// (pg_hba.conf:4)" becomes "postgresql…(pg_hba.conf:4)"): servers told
// apart by their place only would otherwise all read alike.
func padServerName(name string, width int) string {
	i := strings.LastIndex(name, " (")
	if ansi.StringWidth(name) <= width || i < 0 || !strings.HasSuffix(name, ")") {
		return pad(name, width)
	}
	place := name[i+1:]
	head := width - ansi.StringWidth(place)
	if head < 6 {
		return pad(name, width)
	}
	return ansi.Truncate(name[:i], head, "…") + place
}
