// Package tui is certgov's terminal dashboard, a Bubble Tea v2 program:
// a root model that routes messages to one model per screen. All database
// work runs in commands; Update only changes state.
package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/model"
	"certgov/store"
)

// Options configure the dashboard.
type Options struct {
	Store  *store.Store
	Policy model.Policy
	Now    func() time.Time
	// Poll is how often a SQLite database is checked for changes by
	// other processes (PostgreSQL notifies); zero means every two seconds.
	Poll time.Duration
	// Actor names the reviewer in the audit trail.
	Actor string
	// Loaded, when set, runs off the screen's path after each load has
	// replaced the dataset before it: the program gives the memory the
	// load's garbage took back to the system (debug.FreeOSMemory).
	Loaded func()
}

// Model is the root model.
type Model struct {
	opts   Options
	keys   KeyMap
	styles Styles
	help   help.Model
	spin   spinner.Model

	width, height int
	screen        screen
	previous      screen // where esc from the detail returns to
	showHelp      bool

	ds       *Dataset
	counts   *store.Counts // the quick first numbers, before ds arrives
	page     *Dataset      // the identities read so far, before ds arrives
	loading  bool
	loadSeq  int
	version  int64
	status   string   // last error, shown in the status line
	warnings []string // the database's, once its check at open has ended
	flash    string   // the last action's outcome
	loadTime time.Duration

	// panes are the tabs' screens, in tabs order; identities and
	// campaign are two of them, which the root routes keys to itself
	// (their filter fields, the campaign's decisions).
	panes      []pane
	identities *identitiesScreen
	campaign   *campaignScreen
	detail     *detailScreen
	prompt     *prompt // an action's questions, when one is under way
}

// New builds the root model.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll == 0 {
		opts.Poll = 2 * time.Second
	}
	m := Model{
		opts:   opts,
		keys:   newKeyMap(),
		styles: newStyles(true),
		help:   help.New(),
		spin:   spinner.New(spinner.WithSpinner(spinner.Dot)),
		screen: screenOverview,
		width:  80, height: 24,
	}
	for _, t := range tabs {
		m.panes = append(m.panes, t.newPane())
	}
	m.identities = paneOf[*identitiesScreen](m.panes)
	m.campaign = paneOf[*campaignScreen](m.panes)
	m.detail = &detailScreen{}
	m.loading, m.loadSeq = true, 1 // Init starts the first load
	return m
}

// Messages.
type (
	loadedMsg struct {
		seq     int
		ds      *Dataset
		err     error
		elapsed time.Duration
	}
	versionMsg struct {
		version int64
		err     error
	}
	countsMsg struct {
		counts store.Counts
		err    error
	}
	// partialMsg hands on what the first load has read so far; next
	// waits for what it reads after.
	partialMsg struct {
		seq  int
		ds   *Dataset
		next tea.Cmd
	}
	detailMsg struct {
		fingerprint string
		reviewed    *store.ReviewedCertificate
		err         error
	}
)

// Init loads the data and asks for the terminal's background colour.
// The first frame shows the counts, which take milliseconds; the
// identities table then shows the soonest-expiring identities, read by
// an indexed query, and grows as the load reads the rest.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.countsCmd(), m.progressiveLoadCmd(), m.spin.Tick, tea.RequestBackgroundColor, m.poll(), m.warningsCmd())
}

// warningsMsg carries the database's warnings (store.Store.Warnings).
type warningsMsg []string

// warningsCmd waits for the database's check at open, which runs beside
// the first reads, and hands on its warnings (damage, a file others may
// read).
func (m Model) warningsCmd() tea.Cmd {
	s := m.opts.Store
	return func() tea.Msg {
		<-s.Checked()
		return warningsMsg(s.Warnings())
	}
}

// progressiveLoadCmd is the first load: it hands on each Partial dataset
// LoadProgressively makes, then the whole.
func (m Model) progressiveLoadCmd() tea.Cmd {
	seq, s, policy, now := m.loadSeq, m.opts.Store, m.opts.Policy, m.opts.Now()
	return func() tea.Msg {
		// One slot each: the load never waits for the screen, which
		// takes the newest partial dataset, and a reply nobody awaits
		// any more (a newer load began) is dropped with its channel.
		partials := make(chan *Dataset, 1)
		done := make(chan tea.Msg, 1)
		go func() {
			start := time.Now()
			ds, err := LoadProgressively(context.Background(), s, policy, now, func(p *Dataset) {
				select {
				case <-partials: // not taken yet: this one replaces it
				default:
				}
				partials <- p
			})
			done <- loadedMsg{seq: seq, ds: ds, err: err, elapsed: time.Since(start)}
		}()
		return nextLoadMsg(seq, partials, done)
	}
}

// nextLoadMsg waits for the load's next partial dataset or its end.
func nextLoadMsg(seq int, partials chan *Dataset, done chan tea.Msg) tea.Msg {
	select {
	case msg := <-done:
		return msg
	case ds := <-partials:
		return partialMsg{seq: seq, ds: ds, next: func() tea.Msg { return nextLoadMsg(seq, partials, done) }}
	}
}

func (m Model) countsCmd() tea.Cmd {
	s := m.opts.Store
	return func() tea.Msg {
		c, err := s.Counts(context.Background())
		return countsMsg{counts: c, err: err}
	}
}

// load starts a new load; replies to earlier ones are dropped.
func (m *Model) load() tea.Cmd {
	m.loadSeq++
	m.loading = true
	return m.loadCmd()
}

func (m Model) loadCmd() tea.Cmd {
	// The dataset shown stays as it is: Refresh copies what it changes.
	seq, s, policy, now, old := m.loadSeq, m.opts.Store, m.opts.Policy, m.opts.Now(), m.ds
	return func() tea.Msg {
		start := time.Now()
		ds, err := Refresh(context.Background(), s, policy, now, old)
		return loadedMsg{seq: seq, ds: ds, err: err, elapsed: time.Since(start)}
	}
}

// poll waits for the database to change (store.WaitForChange: told by
// PostgreSQL, asked of SQLite every Poll).
func (m Model) poll() tea.Cmd {
	s, since, every := m.opts.Store, m.version, m.opts.Poll
	return func() tea.Msg {
		v, err := s.WaitForChange(context.Background(), since, every)
		if err != nil {
			// Do not spin on a database that cannot be watched.
			time.Sleep(every)
		}
		return versionMsg{version: v, err: err}
	}
}

// loadDetail reads the full review of the certificate the detail shows:
// the rows in memory leave out its serial, key hash and findings' messages.
func (m Model) loadDetail(fingerprint string) tea.Cmd {
	s, policy, now := m.opts.Store, m.opts.Policy, m.opts.Now()
	return func() tea.Msg {
		reviewed, err := s.ReviewCertificate(context.Background(), fingerprint, policy, now)
		return detailMsg{fingerprint: fingerprint, reviewed: reviewed, err: err}
	}
}

// Update routes messages: results of commands first, then keys by
// priority: the filter field, then global keys, then the screen's own.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case tea.BackgroundColorMsg:
		m.styles = newStyles(msg.IsDark())
		return m, nil
	case spinner.TickMsg:
		if !m.loading {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case countsMsg:
		if msg.err == nil && m.ds == nil {
			m.counts = &msg.counts
		}
		return m, nil
	case partialMsg:
		if msg.seq != m.loadSeq || m.ds != nil {
			return m, nil // a newer load is under way
		}
		if len(msg.ds.Rows) > 0 {
			m.page = msg.ds
			m.identities.setData(m.page, m.opts.Now())
		}
		return m, msg.next
	case loadedMsg:
		if msg.seq != m.loadSeq {
			return m, nil // a newer load is under way
		}
		m.loading, m.page = false, nil
		if msg.err != nil {
			m.status = "load failed: " + msg.err.Error()
			return m, nil
		}
		m.status, m.ds, m.loadTime = "", msg.ds, msg.elapsed
		// Who decides here: the database login on a team database, else
		// the name the dashboard acts as.
		m.campaign.me = m.opts.Actor
		if m.ds.Login != "" {
			m.campaign.me = m.ds.Login
		}
		for _, p := range m.panes {
			p.setData(m.ds, m.opts.Now())
		}
		m.detail.setData(m.ds, m.opts.Now())
		var cmds []tea.Cmd
		if m.campaign.want != shownCampaign(m.ds) && m.ds.hasCampaign(m.campaign.want) {
			// A full load shows the newest open campaign: the one chosen
			// is read after it.
			cmds = append(cmds, m.showCampaign(m.campaign.want))
		}
		if loaded := m.opts.Loaded; loaded != nil {
			cmds = append(cmds, func() tea.Msg { loaded(); return nil })
		}
		if m.screen == screenDetail {
			cmds = append(cmds, m.loadDetail(m.detail.listed.FingerprintSHA256()))
		}
		return m, tea.Batch(cmds...)
	case warningsMsg:
		m.warnings = msg
		return m, nil
	case campaignShownMsg:
		if msg.err != nil {
			m.status = msg.err.Error()
			return m, nil
		}
		if m.ds == nil || msg.want != m.campaign.want {
			return m, nil // another campaign was chosen since
		}
		m.ds = m.ds.withCampaignOf(msg.ds)
		m.campaign.setData(m.ds, m.opts.Now())
		m.panes[screenOverview].setData(m.ds, m.opts.Now())
		return m, nil
	case actionDoneMsg:
		m.flash = msg.summary()
		if msg.decision && len(msg.errors) == 0 {
			// The queue moved on already; the database watch reloads the
			// rest, sparing a full review per decision.
			return m, nil
		}
		return m, m.load()
	case versionMsg:
		cmds := []tea.Cmd{m.poll()}
		switch {
		case msg.err != nil:
			m.status = "watching the database: " + msg.err.Error()
		case m.version != 0 && msg.version != m.version && !m.loading:
			cmds = append(cmds, m.load())
		}
		if msg.err == nil {
			m.version = msg.version
		}
		return m, tea.Batch(cmds...)
	case detailMsg:
		if msg.err != nil {
			m.status = msg.err.Error()
			return m, nil
		}
		m.detail.setReviewed(msg.fingerprint, msg.reviewed)
		return m, nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	for _, p := range m.panes {
		if r, ok := p.(receiver); ok && r.receive(msg) {
			break
		}
	}
	return m, nil
}

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) {
		return m, tea.Quit
	}
	if m.prompt != nil {
		return m.updatePrompt(msg)
	}
	if m.screen == screenCampaign && m.campaign.filter.active {
		return m, m.campaign.updateFilter(msg, m.keys, m.opts.Now())
	}
	if m.screen == screenIdentities && m.identities.filter.active {
		cmd := m.identities.updateFilter(msg, m.keys, m.opts.Now())
		return m, cmd
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.showHelp = !m.showHelp
		return m, nil
	case key.Matches(msg, m.keys.Reload):
		return m, m.load()
	case key.Matches(msg, m.keys.NextScreen):
		m.switchTo((m.listScreen() + 1) % screen(len(tabs)))
		return m, nil
	case key.Matches(msg, m.keys.PrevScreen):
		m.switchTo((m.listScreen() + screen(len(tabs)) - 1) % screen(len(tabs)))
		return m, nil
	}
	for i, b := range m.keys.Screens {
		if key.Matches(msg, b) {
			m.switchTo(screen(i))
			return m, nil
		}
	}
	if key.Matches(msg, m.keys.Copy) {
		if row := m.selectedRow(); row != nil {
			m.flash = "copied " + row.FingerprintSHA256()
			return m, tea.SetClipboard(row.FingerprintSHA256())
		}
	}
	page := max(1, m.bodyHeight()-2)
	if m.ds == nil {
		// What is read so far can be browsed, sorted and filtered;
		// opening and acting wait for the full load.
		if m.page != nil && m.screen == screenIdentities {
			m.identities.update(msg, m.keys, page, m.opts.Now())
		}
		return m, nil
	}
	return m, m.pane(m.screen).handle(&m, msg, page)
}

// pane is the screen's pane.
func (m Model) pane(s screen) pane {
	if s == screenDetail {
		return m.detail
	}
	return m.panes[s]
}

// selectedRow is the identity the current screen points at, if any: what
// y copies the fingerprint of.
func (m Model) selectedRow() *Row {
	if p, ok := m.pane(m.screen).(rowPointer); ok {
		return p.selected()
	}
	return nil
}

func (m Model) openDetail(row *Row) (tea.Model, tea.Cmd) {
	m.previous = m.screen
	m.screen = screenDetail
	m.detail.open(row, m.ds)
	return m, m.loadDetail(row.FingerprintSHA256())
}

func (m Model) updateCampaign(msg tea.KeyPressMsg, page int) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.StartCampaign) {
		return m.startCampaign()
	}
	if m.campaign.listShown() {
		if name, ok := m.campaign.updateList(msg, m.keys, page); ok {
			m.campaign.show(name)
			return m, m.showCampaign(name)
		}
		return m, nil
	}
	if key.Matches(msg, m.keys.Campaigns) {
		m.campaign.listing = true
		return m, nil
	}
	if m.campaign.closed() && (key.Matches(msg, m.keys.Certify) || key.Matches(msg, m.keys.RevokeItem) || key.Matches(msg, m.keys.NeedsChange) ||
		key.Matches(msg, m.keys.Select) || key.Matches(msg, m.keys.SelectAll) || key.Matches(msg, m.keys.Decided) || key.Matches(msg, m.keys.Mine)) {
		m.flash = "campaign " + m.campaign.campaign.Name + " is closed: its decisions are read-only"
		return m, nil
	}
	if key.Matches(msg, m.keys.Decided) {
		m.campaign.showDecided = !m.campaign.showDecided
		m.campaign.selection, m.campaign.cursor = nil, 0
		m.campaign.setData(m.ds, m.opts.Now())
		return m, nil
	}
	if key.Matches(msg, m.keys.Mine) {
		m.campaign.mine, m.campaign.mineSet = !m.campaign.mine, true
		m.campaign.selection, m.campaign.cursor = nil, 0
		m.campaign.setData(m.ds, m.opts.Now())
		return m, nil
	}
	targets := m.campaign.targets()
	switch {
	case key.Matches(msg, m.keys.Certify) && len(targets) == 1 && len(seriousCodes(targets[0])) == 0:
		// One item with nothing serious: no question to ask.
		m.campaign.decided(targets[0].key)
		return m, m.decideCmd(targets[0], store.DecisionCertify, "")
	case key.Matches(msg, m.keys.Certify) && len(targets) > 0:
		return m.startAction(actionCertifyItem, targets)
	case key.Matches(msg, m.keys.RevokeItem) && len(targets) > 0:
		return m.startAction(actionRevokeItem, targets)
	case key.Matches(msg, m.keys.NeedsChange) && len(targets) > 0:
		return m.startAction(actionNeedsChange, targets)
	case key.Matches(msg, m.keys.Export):
		return m.startAction(actionExport, nil)
	}
	if r, ok := m.campaign.update(msg, m.keys, page, m.opts.Now()); ok {
		return m.openDetail(r)
	}
	return m, nil
}

// listScreen is the tab position of the current screen (the detail
// belongs to the identities).
func (m Model) listScreen() screen {
	if m.screen == screenDetail {
		return screenIdentities
	}
	return m.screen
}

func (m *Model) switchTo(s screen) {
	if s >= 0 && int(s) < len(tabs) {
		m.screen = s
	}
}

// bodyHeight is what is left for a screen below the tabs and above the
// status line and the help.
func (m Model) bodyHeight() int {
	return max(3, m.height-2-strings.Count(m.renderHelp(), "\n")-1-m.promptExtraLines())
}

// promptExtraLines are the lines a prompt takes beyond the status line's.
func (m Model) promptExtraLines() int {
	if m.prompt == nil {
		return 0
	}
	return strings.Count(m.prompt.view(m.styles), "\n")
}

func (m Model) renderHelp() string {
	hk := helpKeys{k: m.keys, short: m.pane(m.screen).shortHelp(m.keys), campaign: m.screen == screenCampaign}
	if m.showHelp {
		h := fullHelp(m.styles, hk.FullHelp(), m.width)
		if m.screen == screenIdentities || m.screen == screenCampaign {
			// The filter's terms, when the screen keeps a few lines
			// above them (at 80x24 the campaign's keys leave none).
			terms := filterTermsHelp(m.styles, m.width)
			if m.height-2-strings.Count(h+"\n"+terms, "\n")-1 >= 3 {
				h += "\n" + terms
			}
		}
		return h
	}
	return truncate(m.help.ShortHelpView(hk.ShortHelp()), m.width)
}

// filterTermsHelp lists the filter language's terms (model.FilterTerms,
// the one table `ls --help` and the README share), wrapped to the width.
func filterTermsHelp(st Styles, width int) string {
	line, lines := "/ filter terms:", []string{}
	for _, t := range model.FilterTerms {
		if ansi.StringWidth(line)+3+len(t.Term) > width && line != "" {
			lines, line = append(lines, line), " "
		}
		line += "  " + t.Term
	}
	return st.Dim.Render(strings.Join(append(lines, line), "\n"))
}

// fullHelp lays every binding out in as many columns as the width holds.
func fullHelp(st Styles, groups [][]key.Binding, width int) string {
	var cells []string
	cellWidth := 0
	for _, g := range groups {
		for _, b := range g {
			h := b.Help()
			cell := fmt.Sprintf("%-10s %s", h.Key, h.Desc)
			cells = append(cells, cell)
			cellWidth = max(cellWidth, ansi.StringWidth(cell)+3)
		}
	}
	cols := max(1, width/cellWidth)
	rows := (len(cells) + cols - 1) / cols
	lines := make([]string, rows)
	for i, c := range cells {
		lines[i%rows] += st.Dim.Render(pad(c, cellWidth))
	}
	return strings.Join(lines, "\n")
}

// View draws the tabs, the screen, the status line and the help; every
// line is cut to the terminal's width and the whole to its height.
func (m Model) View() tea.View {
	var b strings.Builder
	b.WriteString(m.renderTabs())
	b.WriteByte('\n')
	body := m.renderBody()
	lines := strings.Split(fitHeight(body, m.bodyHeight()), "\n")
	for i := range lines {
		lines[i] = truncate(lines[i], m.width)
	}
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteByte('\n')
	if m.prompt != nil {
		lines := strings.Split(m.prompt.view(m.styles), "\n")
		for i := range lines {
			lines[i] = truncate(lines[i], m.width)
		}
		b.WriteString(strings.Join(lines, "\n"))
	} else {
		b.WriteString(m.renderStatus())
	}
	b.WriteByte('\n')
	b.WriteString(m.renderHelp())
	v := tea.NewView(b.String())
	v.AltScreen = true
	v.WindowTitle = "certgov"
	return v
}

func (m Model) renderTabs() string {
	parts := []string{m.styles.Title.Render("certgov")}
	for i := range tabs {
		name, style := tabLabel(screen(i)), m.styles.Tab
		if screen(i) == m.listScreen() {
			style = m.styles.ActiveTab
		} else if m.width < 110 {
			name = name[:1] // narrow: only the active tab is named
		}
		parts = append(parts, style.Render(name))
	}
	return truncate(strings.Join(parts, " "), m.width)
}

func (m Model) renderBody() string {
	if m.ds == nil && m.page != nil && m.screen == screenIdentities {
		return m.identities.view(m.styles, m.width, m.bodyHeight(), m.opts.Now())
	}
	if m.ds == nil {
		if !m.loading {
			return m.styles.Error.Render(model.Printable(m.status))
		}
		if m.counts == nil {
			return m.spin.View() + " opening the governance database…"
		}
		if m.counts.Certificates == 0 {
			return emptyState(m.styles, m.opts.Store.Path())
		}
		return fmt.Sprintf("%s\n\n%7d  identities\n%7d  certificates\n%7d  sources\n%7d  private keys found on disk\n\n%s",
			m.styles.Label.Render("Inventory"), m.counts.Identities, m.counts.Certificates, m.counts.Sources, m.counts.PrivateKeys,
			m.spin.View()+" linking trust entries and computing findings…")
	}
	if len(m.ds.Rows) == 0 {
		return emptyState(m.styles, m.opts.Store.Path())
	}
	return m.pane(m.screen).render(m.frame(m.bodyHeight()))
}

// wideLayout is the width from which the selected identity's detail is
// shown beside the table.
const wideLayout = 140

func (s *identitiesScreen) withPreview(f frame) string {
	h := f.height
	tableWidth := f.width * 11 / 20
	table := strings.Split(fitHeight(s.view(f.styles, tableWidth, h, f.now), h), "\n")
	var side []string
	if row := s.selected(); row != nil {
		preview := detailScreen{row: row.full(), preview: true}
		side = strings.Split(preview.view(f.styles, f.width-tableWidth-3, h, f.now), "\n")
	}
	var b strings.Builder
	for i, line := range table {
		b.WriteString(pad(line, tableWidth) + " " + f.styles.Dim.Render("│") + " ")
		if i < len(side) {
			b.WriteString(side[i])
		}
		if i < len(table)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (m Model) renderStatus() string {
	var s string
	switch {
	case m.status != "":
		s = m.styles.Error.Render(model.Printable(m.status))
	case m.ds == nil && m.page != nil && len(m.page.Rows) <= firstPageSize:
		s = m.styles.Status.Render(fmt.Sprintf("%s the %d soonest-expiring of %d identities · loading the rest…",
			m.spin.View(), len(m.page.Rows), m.page.Identities))
	case m.ds == nil && m.page != nil:
		s = m.styles.Status.Render(fmt.Sprintf("%s %d of %d identities read: the table filters and sorts those · loading the rest…",
			m.spin.View(), len(m.page.Rows), m.page.Identities))
	case m.loading && m.ds != nil:
		s = m.styles.Status.Render(m.spin.View() + " reloading…")
	case m.flash != "":
		s = m.styles.Label.Render(model.Printable(m.flash))
	case len(m.warnings) > 0:
		s = m.styles.Error.Render(model.Printable("warning: " + strings.Join(m.warnings, "; ")))
	case m.ds != nil && m.ds.Unverified > 0:
		// Findings and owners rest on values nobody recorded a decision for.
		s = m.styles.Error.Render(fmt.Sprintf("%d governance values are not what the audit trail records: certgov audit verify lists them", m.ds.Unverified))
	case m.ds != nil:
		s = m.styles.Status.Render(fmt.Sprintf("%d identities, %d certificates · %s · loaded in %s",
			len(m.ds.Rows), m.ds.Certificates, m.opts.Store.Path(), m.loadTime.Round(time.Millisecond)))
	}
	return truncate(s, m.width)
}

func emptyState(st Styles, dbPath string) string {
	return strings.Join([]string{
		st.Title.Render("Nothing imported yet."),
		"",
		"This database (" + dbPath + ") holds no certificates. To fill it:",
		"",
		"  certgov import PATH...     certificates, keystores and trust configurations",
		"  certgov demo               or try certgov on a generated demo estate",
		"",
		"The dashboard reloads by itself when an import in another terminal finishes.",
	}, "\n")
}

// fitHeight pads or cuts s to exactly h lines, so that the status and
// help lines stay at the bottom.
func fitHeight(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	return ansiTruncate(s, width)
}
