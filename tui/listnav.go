package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// listNav is what every list screen shares: the cursor, the first row
// shown, and, for the lists that act on several rows at once, the
// selection, kept by a key that survives reloads, filters and sorts.
// Screens embed it.
type listNav struct {
	cursor int // position in the list as shown
	offset int // first position shown; moves only with the cursor
	// selection holds the keys of the rows chosen with space or V, every
	// one of them shown: a bulk action must never reach rows the
	// reviewer cannot see. selectionNote says why it shrank.
	selection     map[string]bool
	selectionNote string
}

// move applies a movement key to a list of n rows of which rows are
// visible. The offset moves only here, with the cursor; views read it.
func (l *listNav) move(msg tea.KeyPressMsg, k KeyMap, n, page, rows int) {
	l.cursor = moveCursor(msg, k, l.cursor, n, page)
	l.offset = scrolled(l.cursor, l.offset, max(1, rows))
}

// clamp keeps the cursor on the list after it changed to n rows.
func (l *listNav) clamp(n int) { l.cursor = min(l.cursor, max(0, n-1)) }

// toggle selects or unselects the row under the cursor (its key), then
// moves the cursor down, as space does in a file manager.
func (l *listNav) toggle(rowKey string, n int) {
	l.selectionNote = ""
	if l.selection == nil {
		l.selection = map[string]bool{}
	}
	if l.selection[rowKey] {
		delete(l.selection, rowKey)
	} else {
		l.selection[rowKey] = true
	}
	l.cursor = min(l.cursor+1, max(0, n-1))
}

// selectAll selects every row shown (their keys), or none when they all
// are selected already.
func (l *listNav) selectAll(shown []string) {
	l.selectionNote = ""
	all := len(shown) > 0
	for _, k := range shown {
		all = all && l.selection[k]
	}
	l.selection = map[string]bool{}
	if !all {
		for _, k := range shown {
			l.selection[k] = true
		}
	}
}

// keepSelectionIn drops the selection when rows of it are no longer
// shown (shown: the keys of the rows shown), and says so.
func (l *listNav) keepSelectionIn(shown []string) {
	if len(l.selection) == 0 {
		return
	}
	in := 0
	for _, k := range shown {
		if l.selection[k] {
			in++
		}
	}
	if left := len(l.selection) - in; left > 0 {
		l.selection = nil
		l.selectionNote = fmt.Sprintf("selection cleared (%d left the view)", left)
	}
}

// scrolled is the first visible position that keeps the cursor in a
// window of rows lines.
func scrolled(cursor, offset, rows int) int {
	if cursor < offset {
		return cursor
	}
	if cursor >= offset+rows {
		return cursor - rows + 1
	}
	return offset
}

// moveCursor applies the movement keys shared by every list.
func moveCursor(msg tea.KeyPressMsg, k KeyMap, cursor, n, page int) int {
	switch {
	case key.Matches(msg, k.Up):
		cursor--
	case key.Matches(msg, k.Down):
		cursor++
	case key.Matches(msg, k.Top):
		cursor = 0
	case key.Matches(msg, k.Bottom):
		cursor = n - 1
	case key.Matches(msg, k.PageUp):
		cursor -= page
	case key.Matches(msg, k.PageDown):
		cursor += page
	}
	return max(0, min(cursor, n-1))
}
