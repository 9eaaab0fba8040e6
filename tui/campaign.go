package tui

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
// L lists every campaign, open and closed; enter shows the one chosen. A
// closed campaign shows its decisions and statement, read-only.
type campaignScreen struct {
	campaign  *store.Campaign
	campaigns []store.Campaign // every campaign, newest first
	// listing shows the campaigns instead of one (L); it is shown too
	// while no campaign is open and none was chosen.
	listing    bool
	listCursor int
	listOffset int
	// want is the campaign chosen from the list, "" for the newest open:
	// reloads keep showing it.
	want string
	all  []*Row // undecided items, riskiest first
	rows []*Row // all, filtered
	// listNav is over rows; the selection holds identity keys: c, v and
	// n decide them all, after a confirmation naming the count.
	listNav
	// showDecided lists the decided items instead of the queue (D): a
	// decision there is changed with c, v or n, audited like the first.
	showDecided bool
	decisions   map[identityKey]store.CampaignItem
	// mine lists only the items assigned to me, the reviewer the
	// dashboard decides as (M); it starts so when I have any.
	me       string
	mine     bool
	mineSet  bool // M was pressed: the reviewer chose
	assigned map[identityKey]string
	myUndone int // my undecided items

	filter filterField
	// namesakes are items whose identity shares its name with another's
	// (a look-alike beside the real one): they show a fingerprint too.
	namesakes map[identityKey]bool
}

// itemName is the item's identity name, with its fingerprint's start
// when another item bears the same name.
func (s *campaignScreen) itemName(r *Row) string {
	if s.namesakes[r.key] {
		return r.IdentityName() + " · " + r.FingerprintSHA256()[:8]
	}
	return r.IdentityName()
}

// targets are the selected items in queue order, else the one under the
// cursor.
func (s *campaignScreen) targets() []Row {
	var out []Row
	for _, r := range s.rows {
		if s.selection[string(r.key[:])] {
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
	current := s.cursorKey()
	s.rows = s.rows[:0]
	var rec model.Record
	for _, r := range s.all {
		if s.filter.filter.Match(r.fill(&rec), now) {
			s.rows = append(s.rows, r)
		}
	}
	s.clamp(len(s.rows))
	s.selectKey(current)
	s.keepSelectionInView()
}

// cursorKey is the identity under the cursor, zero for none.
func (s *campaignScreen) cursorKey() identityKey {
	if r := s.selected(); r != nil {
		return r.key
	}
	return identityKey{}
}

// keepSelectionInView drops selected items the queue no longer shows,
// and says so: a bulk decision must never reach items out of sight.
func (s *campaignScreen) keepSelectionInView() { s.keepSelectionIn(s.shownKeys()) }

// shownKeys are the identity keys of the items shown, in order.
func (s *campaignScreen) shownKeys() []string {
	keys := make([]string, len(s.rows))
	for i, r := range s.rows {
		keys[i] = string(r.key[:])
	}
	return keys
}

// updateFilter handles keys while the queue's filter field has focus.
func (s *campaignScreen) updateFilter(msg tea.KeyPressMsg, k KeyMap, now time.Time) tea.Cmd {
	changed, cmd := s.filter.update(msg, k)
	if changed {
		s.refilter(now)
	}
	return cmd
}

// closed reports whether the campaign shown is closed: read-only.
func (s *campaignScreen) closed() bool { return s.campaign != nil && s.campaign.ClosedAt != nil }

// listShown reports whether the list of campaigns is on screen.
func (s *campaignScreen) listShown() bool { return s.listing || s.campaign == nil }

// updateList handles keys on the list of campaigns; it returns the name
// of the campaign enter chose.
func (s *campaignScreen) updateList(msg tea.KeyPressMsg, k KeyMap, page int) (string, bool) {
	switch {
	case key.Matches(msg, k.Open) && s.listCursor < len(s.campaigns):
		return s.campaigns[s.listCursor].Name, true
	case key.Matches(msg, k.Back), key.Matches(msg, k.Campaigns):
		s.listing = false
		return "", false
	}
	s.listCursor = moveCursor(msg, k, s.listCursor, len(s.campaigns), page)
	s.listOffset = scrolled(s.listCursor, s.listOffset, max(1, page-1))
	return "", false
}

// show makes the named campaign the one shown once it is loaded, its
// queue from the top.
func (s *campaignScreen) show(name string) {
	s.want, s.listing, s.showDecided = name, false, false
	s.selection, s.cursor, s.offset = nil, 0, 0
}

func (s *campaignScreen) setData(ds *Dataset, now time.Time) {
	s.campaign, s.all, s.decisions, s.assigned, s.myUndone = ds.Campaign, nil, ds.Decisions, ds.Assigned, 0
	s.campaigns = ds.Campaigns
	s.listCursor = min(s.listCursor, max(0, len(s.campaigns)-1))
	if s.filter.input.Prompt == "" {
		s.filter = newFilterField("filter the queue: text, selfsigned, finding:CODE, owner:none, …")
	}
	defer s.refilter(now)
	if ds.Campaign == nil {
		return
	}
	byKey := map[identityKey]*Row{}
	for i := range ds.Rows {
		byKey[ds.Rows[i].key] = &ds.Rows[i]
	}
	for _, k := range ds.Undecided {
		if s.me != "" && ds.Assigned[k] == s.me {
			s.myUndone++
		}
	}
	if !s.mineSet {
		s.mine = s.myUndone > 0
	}
	keys := ds.Undecided
	switch {
	case s.closed():
		// Every item: what was decided, and what was closed undecided.
		keys = slices.Concat(ds.Undecided, slices.Collect(maps.Keys(ds.Decisions)))
	case s.showDecided:
		keys = slices.Collect(maps.Keys(ds.Decisions))
	}
	for _, k := range keys {
		if s.mine && ds.Assigned[k] != s.me {
			continue
		}
		if r := byKey[k]; r != nil {
			s.all = append(s.all, r)
		}
	}
	s.namesakes = map[identityKey]bool{}
	first := map[string]identityKey{}
	for _, r := range s.all {
		if k, ok := first[r.IdentityName()]; ok {
			s.namesakes[k], s.namesakes[r.key] = true, true
		}
		first[r.IdentityName()] = r.key
	}
	if s.closed() {
		sort.SliceStable(s.all, func(i, j int) bool { return s.all[i].IdentityName() < s.all[j].IdentityName() })
		return
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
func (s *campaignScreen) decided(identity identityKey) {
	remove := func(list []*Row) []*Row {
		for i, r := range list {
			if r.key == identity {
				return append(list[:i:i], list[i+1:]...)
			}
		}
		return list
	}
	current := s.cursorKey()
	before := len(s.all)
	if s.all = remove(s.all); len(s.all) < before && !s.showDecided {
		s.campaign.Decided++
	}
	s.rows = remove(s.rows)
	delete(s.selection, string(identity[:]))
	s.clamp(len(s.rows))
	// The cursor stays on its item; on the next one when its own went.
	s.selectKey(current)
}

// selectKey puts the cursor on the identity's item, if it is in the queue.
func (s *campaignScreen) selectKey(identity identityKey) {
	for i, r := range s.rows {
		if r.key == identity {
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
			s.toggle(string(r.key[:]), len(s.rows))
		}
		return nil, false
	case key.Matches(msg, k.SelectAll):
		s.selectAll(s.shownKeys())
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
func (s *campaignScreen) assignedLine() bool { return len(s.assigned) > 0 && !s.closed() }

// extraLines are the lines between the progress and the filter: whose
// items these are, and a closed campaign's statement.
func (s *campaignScreen) extraLines() int {
	n := 0
	if s.assignedLine() {
		n++
	}
	if s.closed() {
		n++
	}
	return n
}

// progress draws the campaign's progress as a bar with its counts.
func campaignProgress(st Styles, c *store.Campaign, width int, now time.Time) string {
	barWidth := max(10, min(40, width-60))
	if c.ClosedAt != nil {
		barWidth = 10 // the closer's name needs the room
	}
	done := 0
	if c.Items > 0 {
		done = barWidth * c.Decided / c.Items
	}
	due := "no due date"
	switch {
	case c.ClosedAt != nil:
		due = "closed " + c.ClosedAt.Format("2006-01-02") + " by " + c.ClosedBy
	case c.Due != nil && now.After(*c.Due):
		due = st.Error.Render("OVERDUE: due " + c.Due.Format("2006-01-02"))
	case c.Due != nil:
		due = "due " + c.Due.Format("2006-01-02") + " (" + model.Relative(*c.Due, now) + ")"
	}
	return fmt.Sprintf("%s [%s%s] %d/%d decided · %s", st.Label.Render("campaign "+model.Printable(c.Name)),
		st.Bar.Render(strings.Repeat("█", done)), strings.Repeat("░", barWidth-done), c.Decided, c.Items, due)
}

// startHint says how a campaign is started here.
const startHint = "S starts one over what the Identities screen's filter shows"

// listView lists every campaign, newest first: enter shows one.
func (s *campaignScreen) listView(st Styles, height int, now time.Time) string {
	if len(s.campaigns) == 0 {
		return strings.Join([]string{st.Label.Render("No campaign yet. To start one:"), "",
			"  S, here or on the Identities screen, over the identities that screen",
			"    shows: filter them there with / first (e.g. owner:payments);",
			"  or certgov campaign start 2026-Q4 --due 2026-12-31 --filter 'owner:payments'", "",
			"then decide its items here: c certify · v revoke · n needs-change · E export."}, "\n")
	}
	title := "Campaigns, newest first · enter shows one (a closed one read-only)"
	if s.campaign == nil {
		title = "No open campaign · " + title
	}
	lines := []string{st.Label.Render(title) + st.Dim.Render(" · "+startHint),
		st.Dim.Render(fmt.Sprintf("  %s  %-17s  %-7s  %-10s  %s", pad("NAME", 16), "STATE", "DECIDED", "DUE", "STARTED"))}
	rows := max(1, height-2)
	offset := scrolled(s.listCursor, s.listOffset, rows) // the view only reads
	for i := offset; i < len(s.campaigns) && i < offset+rows; i++ {
		c := &s.campaigns[i]
		state := "open"
		if c.ClosedAt != nil {
			state = "closed " + c.ClosedAt.Format("2006-01-02")
		} else if c.Due != nil && now.After(*c.Due) {
			state = "open, OVERDUE"
		}
		due := "-"
		if c.Due != nil {
			due = c.Due.Format("2006-01-02")
		}
		line := fmt.Sprintf("%s  %-17s  %-7s  %-10s  %s by %s", pad(model.Printable(c.Name), 16), state,
			fmt.Sprintf("%d/%d", c.Decided, c.Items), due, c.StartedAt.Format("2006-01-02"), c.StartedBy)
		if i == s.listCursor {
			line = st.Selected.Render("▶ " + line)
		} else {
			line = "  " + line
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (s *campaignScreen) view(st Styles, width, height int, now time.Time) string {
	if s.listShown() {
		return s.listView(st, height, now)
	}
	var b strings.Builder
	b.WriteString(campaignProgress(st, s.campaign, width, now) + "\n")
	if s.closed() {
		statement := "no statement"
		if s.campaign.Statement != "" {
			statement = "statement: " + s.campaign.Statement
		}
		b.WriteString(st.Dim.Render(statement) + "\n")
	}
	if s.assignedLine() {
		whose := fmt.Sprintf("everyone's items; %d undecided of them are mine (%s)", s.myUndone, model.Printable(s.me))
		if s.mine {
			whose = fmt.Sprintf("my items (%s): %d undecided", model.Printable(s.me), s.myUndone)
		}
		b.WriteString(st.Dim.Render(whose) + "\n")
	}
	hint := "c certify · v revoke · n needs-change · space/V select · D decided · M all items · / filter · enter opens · E export · L campaigns"
	if !s.mine {
		hint = strings.Replace(hint, "M all items", "M my items", 1)
	}
	switch {
	case s.closed():
		hint = "closed: its decisions are read-only · / filter · enter opens · E export · L every campaign"
	case s.showDecided:
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
	case len(s.rows) == 0 && s.closed():
		list = append(list, st.Dim.Render("  no item shown"))
	case len(s.rows) == 0 && s.showDecided:
		list = append(list, st.Dim.Render("  nothing decided yet · D back to the queue"))
	case len(s.rows) == 0:
		list = append(list, st.Dim.Render("  every item is decided: close the campaign with certgov campaign close "+model.Printable(s.campaign.Name)))
	}
	for i := offset; i < len(s.rows) && i < offset+rows; i++ {
		r := s.rows[i]
		mark := " "
		if s.selection[string(r.key[:])] {
			mark = "✓"
		}
		line := fmt.Sprintf("%s %s  %-10s  %s", mark, pad(s.itemName(r), max(12, listWidth-32)), model.Relative(r.NotAfter(), now), findingsCell(r))
		if listWidth >= 76 { // room for the names and when last seen
			line = fmt.Sprintf("%s %s  %-10s  %-13s  %s", mark, pad(s.itemName(r), listWidth-47), model.Relative(r.NotAfter(), now), seenCell(r, now), findingsCell(r))
		}
		if s.showDecided || s.closed() {
			line = fmt.Sprintf("%s %s  %s", mark, pad(s.itemName(r), max(12, listWidth-34)), s.decisionCell(r.key))
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

// seenCell says when the servers' access logs last show the item's
// certificate: "seen 3d ago", "never seen" (its servers' logs cover a
// time), blank without logs. The detail (enter) says it per server.
func seenCell(r *Row, now time.Time) string {
	switch {
	case r.lastSeen != 0:
		return "seen " + model.Relative(time32(r.lastSeen), now)
	case r.logsFrom != 0:
		return "never seen"
	}
	return ""
}

// decisionCell is an item's decision and its reviewer; a closed
// campaign's undecided items say so.
func (s *campaignScreen) decisionCell(identity identityKey) string {
	d, ok := s.decisions[identity]
	if !ok || d.Decision == "" || d.Decision == "undecided" {
		return "undecided"
	}
	return fmt.Sprintf("%-12s %s", d.Decision, pad(d.Reviewer, 14))
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

// campaignShownMsg carries a dataset showing the campaign want.
type campaignShownMsg struct {
	want string
	ds   *Dataset
	err  error
}

// showCampaign shows the named campaign ("": the newest open one) once
// its items are read.
func (m Model) showCampaign(name string) tea.Cmd {
	s, ds := m.opts.Store, m.ds
	return func() tea.Msg {
		shown, err := ShowCampaign(context.Background(), s, ds, name)
		return campaignShownMsg{want: name, ds: shown, err: err}
	}
}

// startCampaign asks for a new campaign's name, due date and reviewers;
// its scope is what the Identities screen's filter shows.
func (m Model) startCampaign() (tea.Model, tea.Cmd) {
	if m.ds == nil {
		return m, nil
	}
	scope, count := m.identities.filter.text, len(m.identities.order)
	if count == 0 {
		m.flash = "no identity is shown on the Identities screen: its filter is the campaign's scope"
		return m, nil
	}
	now := m.opts.Now()
	p := &prompt{kind: actionStartCampaign, scope: scope, scopeCount: count}
	assign := newField("reviewers", "optional: OWNER=REVIEWER or @DOMAIN=REVIEWER, and R1,R2 for the rest in turn", nil)
	assign.optional = true
	p.fields = []promptField{
		newField("name", "e.g. "+nextQuarterName(now), []string{nextQuarterName(now)}),
		newField("due", "YYYY-MM-DD", datePresets(now)),
		assign,
	}
	m.prompt = p
	return m, p.fields[0].input.Focus()
}

// nextQuarterName names the quarter after now's, as campaigns usually are.
func nextQuarterName(now time.Time) string {
	q := (int(now.Month())-1)/3 + 2
	year := now.Year()
	if q > 4 {
		q, year = 1, year+1
	}
	return fmt.Sprintf("%d-Q%d", year, q)
}

// startCampaignCmd starts the campaign the prompt describes.
func (m Model) startCampaignCmd(p *prompt) tea.Cmd {
	s, actor, policy, now := m.opts.Store, m.opts.Actor, m.opts.Policy, m.opts.Now().UTC()
	name, dueText, assignText, scope := strings.TrimSpace(p.fields[0].input.Value()), strings.TrimSpace(p.fields[1].input.Value()), p.fields[2].input.Value(), p.scope
	return func() tea.Msg {
		done := actionDoneMsg{what: "start campaign " + name}
		n, err := func() (int, error) {
			due, err := model.ParseDay(dueText)
			if err != nil {
				return 0, err
			}
			assign, err := model.ParseAssignment(assignText)
			if err != nil {
				return 0, err
			}
			filter, err := model.ParseFilter(scope)
			if err != nil {
				return 0, err
			}
			return s.StartCampaign(context.Background(), name, due, filter, assign, policy, store.Change{Actor: actor, At: now})
		}()
		if err != nil {
			done.errors = append(done.errors, err.Error())
		} else {
			done.done = n
			done.warnings = append(done.warnings, fmt.Sprintf("%d identities to review", n))
		}
		return done
	}
}
