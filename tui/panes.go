package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// A pane is one screen of the dashboard. The root keeps one per tab
// (tabs.go), hands every pane the data when it loads, handles the keys
// that mean the same everywhere (screens, help, quit, copy, prompts) and
// passes the rest to the current pane, and draws it. Adding a screen is
// its file (a type with these methods) and one line in tabs.
type pane interface {
	// setData takes a newly loaded dataset.
	setData(ds *Dataset, now time.Time)
	// handle takes a key the root left to the pane; it may act on the
	// root (start an action, open the detail, show another screen).
	handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd
	// render draws the pane into the frame; it changes nothing.
	render(f frame) string
	// shortHelp is the pane's line of key help.
	shortHelp(k KeyMap) []key.Binding
}

// frame is what a pane draws into. It is a value, and render has no
// handle on the root: drawing changes nothing.
type frame struct {
	styles        Styles
	width, height int
	now           time.Time
}

func (m Model) frame(height int) frame {
	return frame{styles: m.styles, width: m.width, height: height, now: m.opts.Now()}
}

// take applies what an action helper returned (a new root and a command)
// to the root a pane was given.
func (m *Model) take(next tea.Model, cmd tea.Cmd) tea.Cmd {
	*m = next.(Model)
	return cmd
}

// showIdentities opens the Identities screen filtered by expr: what enter
// does on a number, a finding code or a source.
func (m *Model) showIdentities(expr string) {
	m.identities.applyFilter(expr, m.opts.Now())
	m.switchTo(screenIdentities)
}

// Overview.

func (s *overviewScreen) handle(m *Model, msg tea.KeyPressMsg, _ int) tea.Cmd {
	if filter, ok := s.update(msg, m.keys); ok {
		m.showIdentities(filter)
	}
	return nil
}

func (s *overviewScreen) render(f frame) string {
	return s.view(f.styles, f.width, f.height, f.now)
}

func (s *overviewScreen) shortHelp(k KeyMap) []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.NextScreen, k.Help, k.Quit}
}

// Identities.

func (s *identitiesScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	if key.Matches(msg, m.keys.StartCampaign) {
		return m.take(m.startCampaign())
	}
	if kind, ok := actionFor(msg, m.keys); ok {
		return m.take(m.startAction(kind, s.targets()))
	}
	if row, ok := s.update(msg, m.keys, page, m.opts.Now()); ok {
		return m.take(m.openDetail(row))
	}
	return nil
}

func (s *identitiesScreen) render(f frame) string {
	if f.width >= wideLayout && s.ds != nil {
		return s.withPreview(f)
	}
	return s.view(f.styles, f.width, f.height, f.now)
}

func (s *identitiesScreen) shortHelp(k KeyMap) []key.Binding {
	return []key.Binding{k.Open, k.Filter, k.Sort, k.Select, k.Owner, k.Expiry, k.Approve, k.Reject, k.Help, k.Quit}
}

// Exceptions.

func (s *exceptionsScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	if kind, ok := actionFor(msg, m.keys); ok {
		if row := s.selected(); row != nil {
			return m.take(m.startAction(kind, []Row{*row}))
		}
		return nil
	}
	if row, ok := s.update(msg, m.keys, page); ok {
		return m.take(m.openDetail(row))
	}
	return nil
}

func (s *exceptionsScreen) render(f frame) string {
	return s.view(f.styles, f.width, f.height, f.now)
}

func (s *exceptionsScreen) shortHelp(k KeyMap) []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Approve, k.Reject, k.Help, k.Quit}
}

// Findings, Sources, Audit: lists.

func (s *listScreen) setData(ds *Dataset, now time.Time) { s.setItems(s.build(ds, now)) }

func (s *listScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	if item, ok := s.update(msg, m.keys, page); ok && item.filter != "" {
		m.showIdentities(item.filter)
	}
	return nil
}

func (s *listScreen) render(f frame) string {
	return s.view(f.styles, f.width, f.height, s.title)
}

func (s *listScreen) shortHelp(k KeyMap) []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.NextScreen, k.Help, k.Quit}
}

// Campaign.

func (s *campaignScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	return m.take(m.updateCampaign(msg, page))
}

func (s *campaignScreen) render(f frame) string {
	return s.view(f.styles, f.width, f.height, f.now)
}

func (s *campaignScreen) shortHelp(k KeyMap) []key.Binding {
	switch {
	case s.listShown():
		return []key.Binding{k.Up, k.Down, k.Open, k.StartCampaign, k.Back, k.Help, k.Quit}
	case s.closed():
		return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Export, k.Campaigns, k.Help, k.Quit}
	}
	return []key.Binding{k.Up, k.Down, k.Certify, k.RevokeItem, k.NeedsChange, k.Select, k.Decided, k.Export, k.Open, k.Help, k.Quit}
}

// Detail.

func (s *detailScreen) setData(ds *Dataset, _ time.Time) {
	if s.listed.rowProfile != nil { // a detail is open, or was
		s.refresh(ds)
	}
}

func (s *detailScreen) handle(m *Model, msg tea.KeyPressMsg, page int) tea.Cmd {
	if kind, ok := actionFor(msg, m.keys); ok {
		return m.take(m.startAction(kind, []Row{s.listed}))
	}
	// An item opened from the campaign queue is decided from its detail
	// with the queue's keys, at any size.
	if m.previous == screenCampaign && m.campaign.campaign != nil &&
		(key.Matches(msg, m.keys.Certify) || key.Matches(msg, m.keys.RevokeItem) || key.Matches(msg, m.keys.NeedsChange)) {
		m.screen = screenCampaign
		m.campaign.selection = nil
		m.campaign.selectKey(s.listed.key)
		return m.take(m.updateCampaign(msg, page))
	}
	if key.Matches(msg, m.keys.Back) {
		m.screen = m.previous
		return nil
	}
	s.update(msg, m.keys, page, len(s.lines(m.styles, m.width, m.opts.Now())), m.bodyHeight())
	return nil
}

// selected is the identity the detail shows.
func (s *detailScreen) selected() *Row { return &s.listed }

func (s *detailScreen) render(f frame) string {
	return s.view(f.styles, f.width, f.height, f.now)
}

func (s *detailScreen) shortHelp(k KeyMap) []key.Binding {
	return []key.Binding{k.Owner, k.Expiry, k.Approve, k.Reject, k.Copy, k.Back, k.Help, k.Quit}
}
