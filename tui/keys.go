package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
)

// KeyMap holds every key binding; help shows them per screen.
type KeyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown  key.Binding
	Open, Back, Filter, Sort, Reverse        key.Binding
	NextScreen, PrevScreen, Screen           key.Binding
	Screens                                  []key.Binding // one per tab, 1 to len(tabs); Screen is their help
	Reload, Copy, Help, Quit, ForceQuit      key.Binding
	Owner, Expiry, Approve, Reject           key.Binding
	Select, SelectAll                        key.Binding
	Certify, RevokeItem, NeedsChange, Export key.Binding
	Decided, Mine, WhatIf                    key.Binding
	Campaigns, StartCampaign                 key.Binding

	// In a text field or a question: Submit ends the field, Cancel drops
	// it (or the whole action), Erase deletes the text shown selected,
	// Yes answers a yes-or-no question.
	Submit, Cancel, Erase, Yes key.Binding
}

func newKeyMap() KeyMap {
	return KeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:         key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:      key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / clear filter")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reverse")),
		NextScreen:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next screen")),
		PrevScreen:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous screen")),
		Screen:      key.NewBinding(key.WithKeys(), key.WithHelp(fmt.Sprintf("1-%d", len(tabs)), "screens")),
		Screens:     screenKeys(),
		WhatIf:      key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "what if it went")),
		Certify:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "certify")),
		RevokeItem:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "revoke")),
		NeedsChange: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "needs change")),
		Export:      key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "export evidence")),
		Decided:     key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "decided items / queue")),
		Mine:        key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "my items / everyone's")),
		Campaigns:   key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "all campaigns")),
		// S starts a campaign over the identities the Identities screen's
		// filter shows: the filter field chooses the scope.
		StartCampaign: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "start campaign")),
		Owner:         key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "owner")),
		Expiry:        key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "expiration")),
		Approve:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Reject:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reject")),
		Select:        key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select")),
		SelectAll:     key.NewBinding(key.WithKeys("V"), key.WithHelp("V", "select all shown")),
		Reload:        key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "reload")),
		Copy:          key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy fingerprint")),
		Help:          key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:          key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:     key.NewBinding(key.WithKeys("ctrl+c")),
		Submit:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next / done")),
		Cancel:        key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
		Erase:         key.NewBinding(key.WithKeys("backspace", "delete")),
		Yes:           key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
	}
}

// helpKeys adapts the key map to bubbles/help: short is the current
// pane's line (pane.shortHelp).
type helpKeys struct {
	k     KeyMap
	short []key.Binding
	// campaign: the campaign screen's keys are shown (on the others they
	// do nothing, and at 80x24 the help has no line to spare).
	campaign bool
}

func (h helpKeys) ShortHelp() []key.Binding { return h.short }

func (h helpKeys) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.Open, k.Back, k.Filter, k.Sort, k.Reverse, k.Copy},
		{k.Owner, k.Expiry, k.Approve, k.Reject, k.Select, k.SelectAll},
		h.campaignKeys(),
		{k.NextScreen, k.PrevScreen, k.Screen, k.Reload, k.Help, k.Quit},
	}
}

func (h helpKeys) campaignKeys() []key.Binding {
	k := h.k
	if !h.campaign {
		return []key.Binding{k.WhatIf, k.StartCampaign}
	}
	return []key.Binding{k.Certify, k.RevokeItem, k.NeedsChange, k.Decided, k.Mine, k.Export, k.Campaigns, k.StartCampaign}
}
