package tui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/model"
)

// filterField is the live filter the lists share: the list follows as you
// type, enter keeps the filter, esc drops it, and a bad term is shown
// beside the field while the last good filter stays applied.
type filterField struct {
	input  textinput.Model
	active bool // the field has focus
	// replacing: the field was opened on a kept filter, which is shown
	// selected: typing replaces it, a cursor key edits it instead.
	replacing bool
	filter    *model.Filter
	text      string
	err       string
}

func newFilterField(placeholder string) filterField {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = placeholder
	return filterField{input: in}
}

func (f *filterField) focus() tea.Cmd {
	f.active = true
	f.replacing = f.text != ""
	f.input.CursorEnd()
	return f.input.Focus()
}

// set applies an expression given by another screen.
func (f *filterField) set(expr string) {
	flt, err := model.ParseFilter(expr)
	if err != nil {
		f.err = err.Error()
		return
	}
	f.filter, f.text, f.err = flt, expr, ""
	f.input.SetValue(expr)
}

func (f *filterField) clear() {
	f.input.SetValue("")
	f.filter, f.text, f.err = nil, "", ""
}

// update handles a key while the field has focus; changed says the filter
// to apply is new.
func (f *filterField) update(msg tea.KeyPressMsg, k KeyMap) (changed bool, cmd tea.Cmd) {
	switch {
	case key.Matches(msg, k.Submit):
		f.active = false
		f.input.Blur()
		return false, nil
	case key.Matches(msg, k.Back):
		f.active = false
		f.input.Blur()
		had := f.text != ""
		f.clear()
		return had, nil
	}
	if f.replacing {
		f.replacing = false
		switch {
		case key.Matches(msg, k.Erase):
			f.input.SetValue("") // deletes the selection, as an editor does
			return f.apply(cmd)
		case msg.Text != "":
			f.input.SetValue("") // what is typed replaces the selection
		}
	}
	f.input, cmd = f.input.Update(msg)
	return f.apply(cmd)
}

// apply takes the field's text as the filter when it parses.
func (f *filterField) apply(cmd tea.Cmd) (bool, tea.Cmd) {
	text := f.input.Value()
	if text == f.text {
		return false, cmd
	}
	flt, err := model.ParseFilter(text)
	if err != nil {
		f.err = err.Error()
		return false, cmd
	}
	f.filter, f.text, f.err = flt, text, ""
	return true, cmd
}

// view draws the field while it has focus, else the kept filter with a
// summary, else a hint; an error goes beside it.
func (f filterField) view(st Styles, width int, hint, summary string) string {
	var s string
	switch {
	case f.active && f.replacing:
		s = "/ " + st.Selected.Render(f.text) + st.Dim.Render("   (typing replaces it; ← → edit it)")
	case f.active:
		// Sized on a copy: drawing changes nothing, and the width is
		// the frame's, which only the view knows.
		in := f.input
		in.SetWidth(max(16, width-4-ansi.StringWidth(f.err)-2))
		s = in.View()
	case f.text != "":
		s = st.Label.Render("filter: ") + f.text + st.Dim.Render(summary)
	default:
		s = st.Dim.Render(hint)
	}
	if f.err != "" {
		s += "  " + st.Error.Render(f.err)
	}
	return s
}
