package tui

import (
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// tabs are the dashboard's numbered screens, in order: the tab bar, the
// number keys and tab / shift+tab all come from this list. A new screen is
// its file (a type implementing pane) and one line here.
var tabs = []struct {
	name    string
	newPane func() pane
}{
	{"Overview", func() pane { return &overviewScreen{} }},
	{"Identities", func() pane { return newIdentitiesScreen() }},
	{"Exceptions", func() pane { return &exceptionsScreen{} }},
	{"Findings", func() pane {
		return &listScreen{build: func(ds *Dataset, _ time.Time) []listItem { return findingItems(ds) },
			title: "Findings by code — enter lists the identities concerned"}
	}},
	{"Sources", func() pane {
		return &listScreen{build: sourceItems,
			title: "Imported files — enter lists what one holds or admits; removed entries are drift"}
	}},
	{"Audit", func() pane {
		return &listScreen{build: func(ds *Dataset, _ time.Time) []listItem { return auditItems(ds) },
			title: "Audit trail, newest first — hash-chained; certgov audit verify checks it"}
	}},
	{"Campaign", func() pane { return &campaignScreen{} }},
	{"Servers", func() pane { return &serversScreen{} }},
}

// The screens the root itself routes to. The detail is no tab: it opens
// from a list, and tab order counts it as the identities'.
var (
	screenOverview   = tabNamed("Overview")
	screenIdentities = tabNamed("Identities")
	screenCampaign   = tabNamed("Campaign")
)

const screenDetail screen = -1

// screen is a position in tabs, or screenDetail.
type screen int

// tabNamed is the position of the tab with the name.
func tabNamed(name string) screen {
	for i, t := range tabs {
		if t.name == name {
			return screen(i)
		}
	}
	panic("tui: no tab named " + name)
}

// tabLabel is the tab's name as the tab bar shows it, its key first.
func tabLabel(s screen) string { return strconv.Itoa(int(s)+1) + " " + tabs[s].name }

// screenKeys are the number keys of the tabs, 1 to len(tabs).
func screenKeys() []key.Binding {
	keys := make([]key.Binding, len(tabs))
	for i := range tabs {
		keys[i] = key.NewBinding(key.WithKeys(strconv.Itoa(i + 1)))
	}
	return keys
}

// paneOf is the pane of type T among panes: the root keeps typed
// handles on the few it routes keys to itself.
func paneOf[T pane](panes []pane) T {
	for _, p := range panes {
		if t, ok := p.(T); ok {
			return t
		}
	}
	panic("tui: no such pane among the tabs")
}

// A receiver is a pane that takes messages meant for it (the answer to a
// question it asked).
type receiver interface {
	receive(msg tea.Msg) bool
}

// A rowPointer is a pane whose cursor is on an identity: y copies its
// fingerprint.
type rowPointer interface {
	selected() *Row
}
