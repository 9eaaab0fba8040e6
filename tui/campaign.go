package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
	"certgov/store"
	"certgov/store/evidence"
)

// campaignScreen is the reviewer's queue for the open campaign: undecided
// items, riskiest first, the item's facts beside them, a progress bar.
type campaignScreen struct {
	campaign *store.Campaign
	all      []*Row // undecided items, riskiest first
	rows     []*Row // all, filtered
	// listNav is over rows; the selection holds identity names: c, v
	// and n decide them all, after a confirmation naming the count.
	listNav
	// showDecided lists the decided items instead of the queue (D): a
	// decision there is changed with c, v or n, audited like the first.
	showDecided bool
	decisions   map[string]store.CampaignItem
	// mine lists only the items assigned to me, the reviewer the
	// dashboard decides as (M); it starts so when I have any.
	me       string
	mine     bool
	mineSet  bool // M was pressed: the reviewer chose
	assigned map[string]string
	myUndone int // my undecided items

	filter filterField
}

// targets are the selected items in queue order, else the one under the
// cursor.
func (s *campaignScreen) targets() []Row {
	var out []Row
	for _, r := range s.rows {
		if s.selection[r.IdentityName()] {
			out = append(out, *r)
		}
	}
	if len(out) == 0 {
		if r := s.selected(); r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// refilter applies the queue's filter; the cursor stays on its item
// while that is shown.
func (s *campaignScreen) refilter(now time.Time) {
	current := s.cursorName()
	s.rows = s.rows[:0]
	var rec model.Record
	for _, r := range s.all {
		if s.filter.filter.Match(r.fill(&rec), now) {
			s.rows = append(s.rows, r)
		}
	}
	s.clamp(len(s.rows))
	s.selectName(current)
	s.keepSelectionInView()
}

// cursorName is the identity under the cursor, "" for none.
func (s *campaignScreen) cursorName() string {
	if r := s.selected(); r != nil {
		return r.IdentityName()
	}
	return ""
}

// keepSelectionInView drops selected items the queue no longer shows,
// and says so: a bulk decision must never reach items out of sight.
func (s *campaignScreen) keepSelectionInView() { s.keepSelectionIn(s.shownNames()) }

// shownNames are the identities of the items shown, in order.
func (s *campaignScreen) shownNames() []string {
	names := make([]string, len(s.rows))
	for i, r := range s.rows {
		names[i] = r.IdentityName()
	}
	return names
}

// updateFilter handles keys while the queue's filter field has focus.
func (s *campaignScreen) updateFilter(msg tea.KeyPressMsg, k KeyMap, now time.Time) tea.Cmd {
	changed, cmd := s.filter.update(msg, k)
	if changed {
		s.refilter(now)
	}
	return cmd
}

func (s *campaignScreen) setData(ds *Dataset, now time.Time) {
	s.campaign, s.all, s.decisions, s.assigned, s.myUndone = ds.Campaign, nil, ds.Decisions, ds.Assigned, 0
	if s.filter.input.Prompt == "" {
		s.filter = newFilterField("filter the queue: text, selfsigned, finding:CODE, owner:none, …")
	}
	defer s.refilter(now)
	if ds.Campaign == nil {
		return
	}
	byKey := map[string]*Row{}
	for i := range ds.Rows {
		byKey[ds.Rows[i].IdentityName()] = &ds.Rows[i]
	}
	for _, name := range ds.Undecided {
		if s.me != "" && ds.Assigned[name] == s.me {
			s.myUndone++
		}
	}
	if !s.mineSet {
		s.mine = s.myUndone > 0
	}
	names := ds.Undecided
	if s.showDecided {
		names = names[:0:0]
		for name := range ds.Decisions {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if s.mine && ds.Assigned[name] != s.me {
			continue
		}
		if r := byKey[name]; r != nil {
			s.all = append(s.all, r)
		}
	}
	sort.SliceStable(s.all, func(i, j int) bool {
		if s.all[i].worst != s.all[j].worst {
			return s.all[i].worst < s.all[j].worst
		}
		return s.all[i].NotAfter().Before(s.all[j].NotAfter())
	})
}

// decided takes an item out of the queue at once, so the reviewer moves
// straight to the next; the reload that follows the write confirms it.
func (s *campaignScreen) decided(identity string) {
	remove := func(list []*Row) []*Row {
		for i, r := range list {
			if r.IdentityName() == identity {
				return append(list[:i:i], list[i+1:]...)
			}
		}
		return list
	}
	current := s.cursorName()
	before := len(s.all)
	if s.all = remove(s.all); len(s.all) < before && !s.showDecided {
		s.campaign.Decided++
	}
	s.rows = remove(s.rows)
	delete(s.selection, identity)
	s.clamp(len(s.rows))
	// The cursor stays on its item; on the next one when its own went.
	s.selectName(current)
}

// selectName puts the cursor on the named item, if it is in the queue.
func (s *campaignScreen) selectName(name string) {
	for i, r := range s.rows {
		if r.IdentityName() == name {
			s.cursor = i
			return
		}
	}
}

func (s *campaignScreen) selected() *Row {
	if s.cursor < len(s.rows) {
		return s.rows[s.cursor]
	}
	return nil
}

func (s *campaignScreen) update(msg tea.KeyPressMsg, k KeyMap, page int, now time.Time) (*Row, bool) {
	switch {
	case key.Matches(msg, k.Filter):
		s.filter.focus()
		return nil, false
	case key.Matches(msg, k.Back) && len(s.selection) > 0:
		s.selection = nil
		return nil, false
	case key.Matches(msg, k.Back) && s.filter.text != "":
		s.filter.clear()
		s.refilter(now)
		return nil, false
	case key.Matches(msg, k.Select):
		if r := s.selected(); r != nil {
			s.toggle(r.IdentityName(), len(s.rows))
		}
		return nil, false
	case key.Matches(msg, k.SelectAll):
		s.selectAll(s.shownNames())
		return nil, false
	}
	if key.Matches(msg, k.Open) {
		return s.selected(), s.selected() != nil
	}
	// page is the body height less two; the table shows page-1 rows,
	// less the line saying whose items they are.
	s.move(msg, k, len(s.rows), page, page-1-s.extraLines())
	return nil, false
}

// assignedLine: the campaign assigns items, so the screen says whose it
// lists.
func (s *campaignScreen) assignedLine() bool { return len(s.assigned) > 0 }

func (s *campaignScreen) extraLines() int {
	if s.assignedLine() {
		return 1
	}
	return 0
}

// progress draws the campaign's progress as a bar with its counts.
func campaignProgress(st Styles, c *store.Campaign, width int, now time.Time) string {
	barWidth := max(10, min(40, width-60))
	done := 0
	if c.Items > 0 {
		done = barWidth * c.Decided / c.Items
	}
	due := "no due date"
	if c.Due != nil {
		due = "due " + c.Due.Format("2006-01-02") + " (" + model.Relative(*c.Due, now) + ")"
		if now.After(*c.Due) {
			due = st.Error.Render("OVERDUE: due " + c.Due.Format("2006-01-02"))
		}
	}
	return fmt.Sprintf("%s [%s%s] %d/%d decided · %s", st.Label.Render("campaign "+model.Printable(c.Name)),
		st.Bar.Render(strings.Repeat("█", done)), strings.Repeat("░", barWidth-done), c.Decided, c.Items, due)
}

func (s *campaignScreen) view(st Styles, width, height int, now time.Time) string {
	if s.campaign == nil {
		return strings.Join([]string{st.Label.Render("No open campaign."), "",
			"Start one from the command line, for example:", "",
			"  certgov campaign start 2026-Q4 --due 2026-12-31", "",
			"then decide its items here: c certify · v revoke · n needs-change · E export."}, "\n")
	}
	var b strings.Builder
	b.WriteString(campaignProgress(st, s.campaign, width, now) + "\n")
	if s.assignedLine() {
		whose := fmt.Sprintf("everyone's items; %d undecided of them are mine (%s)", s.myUndone, model.Printable(s.me))
		if s.mine {
			whose = fmt.Sprintf("my items (%s): %d undecided", model.Printable(s.me), s.myUndone)
		}
		b.WriteString(st.Dim.Render(whose) + "\n")
	}
	hint := "c certify · v revoke · n needs-change · space/V select · D decided · M all items · / filter · enter opens · E export"
	if !s.mine {
		hint = strings.Replace(hint, "M all items", "M my items", 1)
	}
	if s.showDecided {
		hint = "decided items: c, v or n changes a decision (audited) · D back to the queue"
	}
	switch n := len(s.selection); {
	case n > 0:
		hint = fmt.Sprintf("%d of %d shown selected: c certifies, v revokes, n asks for a change, after a confirmation · esc clears", n, len(s.rows))
	case s.selectionNote != "":
		hint = s.selectionNote
	}
	b.WriteString(s.filter.view(st, width, hint,
		fmt.Sprintf("  (%d of %d) · esc clears", len(s.rows), len(s.all))))
	b.WriteString("\n")
	listWidth := width
	if width >= 120 {
		listWidth = width * 11 / 20
	}
	rows := max(1, height-3-s.extraLines())
	offset := scrolled(s.cursor, s.offset, rows) // the view only reads
	var list []string
	switch {
	case len(s.rows) == 0 && s.showDecided:
		list = append(list, st.Dim.Render("  nothing decided yet · D back to the queue"))
	case len(s.rows) == 0:
		list = append(list, st.Dim.Render("  every item is decided: close the campaign with certgov campaign close "+s.campaign.Name))
	}
	for i := offset; i < len(s.rows) && i < offset+rows; i++ {
		r := s.rows[i]
		mark := " "
		if s.selection[r.IdentityName()] {
			mark = "✓"
		}
		line := fmt.Sprintf("%s %s  %-10s  %s", mark, pad(r.IdentityName(), max(12, listWidth-32)), model.Relative(r.NotAfter(), now), findingsCell(r))
		if d, ok := s.decisions[r.IdentityName()]; ok && s.showDecided {
			line = fmt.Sprintf("%s %s  %-12s %s", mark, pad(r.IdentityName(), max(12, listWidth-34)), d.Decision, pad(d.Reviewer, 14))
		}
		if i == s.cursor {
			line = st.Selected.Render("▶ " + line)
		} else {
			line = "  " + line
		}
		list = append(list, line)
	}
	if width < 120 || s.selected() == nil {
		b.WriteString(strings.Join(list, "\n"))
		return b.String()
	}
	preview := detailScreen{listed: *s.selected(), row: s.selected().full(), preview: true}
	side := strings.Split(preview.view(st, width-listWidth-3, rows, now), "\n")
	for i := 0; i < max(len(list), min(len(side), rows)); i++ {
		l, r := "", ""
		if i < len(list) {
			l = list[i]
		}
		if i < len(side) {
			r = side[i]
		}
		b.WriteString(pad(l, listWidth) + " " + st.Dim.Render("│") + " " + r + "\n")
	}
	return b.String()
}

// decideCmd records a campaign decision in a command.
func (m Model) decideCmd(row Row, decision model.Decision, comment string) tea.Cmd {
	return m.decideAllCmd([]Row{row}, decision, comment)
}

// decideAllCmd records one decision on several items, each with its own
// audit event. A certify comment goes to the items with high or critical
// findings only: the others need none.
func (m Model) decideAllCmd(rows []Row, decision model.Decision, comment string) tea.Cmd {
	s, name, actor, policy, now := m.opts.Store, m.campaign.campaign.Name, m.opts.Actor, m.opts.Policy, m.opts.Now().UTC()
	return func() tea.Msg {
		what := string(decision) + " " + rows[0].IdentityName()
		if len(rows) > 1 {
			what = fmt.Sprintf("%s %d items", decision, len(rows))
		}
		done := actionDoneMsg{decision: true, what: what}
		for _, row := range rows {
			text := comment
			if decision == store.DecisionCertify && len(seriousCodes(row)) == 0 {
				text = ""
			}
			_, err := s.Decide(context.Background(), name, row.FingerprintSHA256(), decision, text, store.Change{Actor: actor, Reason: text, At: now}, policy)
			if err != nil {
				done.errors = append(done.errors, err.Error())
			} else {
				done.done++
			}
		}
		return done
	}
}

// exportCmd writes the open campaign's evidence bundle.
func (m Model) exportCmd(dir string) tea.Cmd {
	s, name, actor, policy, now := m.opts.Store, m.campaign.campaign.Name, m.opts.Actor, m.opts.Policy, m.opts.Now()
	return func() tea.Msg {
		files, err := evidence.Export(context.Background(), s, evidence.Options{Dir: dir, Campaign: name, Policy: policy, Actor: actor, Now: now})
		done := actionDoneMsg{what: "export"}
		if err != nil {
			done.errors = append(done.errors, err.Error())
		} else {
			done.done = len(files)
			done.warnings = append(done.warnings, "wrote "+strings.Join(files, ", ")+" to "+dir)
		}
		return done
	}
}
