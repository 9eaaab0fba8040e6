package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/model"
)

// column is one column of the identities table.
type column struct {
	title    string
	width    int
	priority int // lower survives narrower terminals: the issuer goes first, the owner stays at 80 columns
	cell     func(r *Row, now time.Time) string
	less     func(a, b *Row, now time.Time) bool
}

var identityColumns = []column{
	{"IDENTITY", 26, 0, func(r *Row, _ time.Time) string { return r.IdentityName() },
		func(a, b *Row, _ time.Time) bool {
			return strings.ToLower(a.IdentityName()) < strings.ToLower(b.IdentityName())
		}},
	{"OWNER", 18, 2, func(r *Row, _ time.Time) string { return model.OrDash(r.owner) },
		func(a, b *Row, _ time.Time) bool { return a.owner < b.owner }},
	{"TRUST", 13, 3, func(r *Row, _ time.Time) string { return r.trustShort() },
		func(a, b *Row, _ time.Time) bool { return a.trustShort() < b.trustShort() }},
	{"ISSUER", 22, 5, func(r *Row, _ time.Time) string { return issuerShort(r) },
		func(a, b *Row, _ time.Time) bool { return issuerShort(a) < issuerShort(b) }},
	{"EXCEPTION", 10, 4, func(r *Row, now time.Time) string { return exceptionState(r, now) },
		func(a, b *Row, now time.Time) bool { return exceptionState(a, now) < exceptionState(b, now) }},
	{"EXPIRES", 10, 1, func(r *Row, now time.Time) string { return model.Relative(r.NotAfter(), now) },
		func(a, b *Row, _ time.Time) bool { return a.notAfter < b.notAfter }},
	{"FINDINGS", 14, 1, func(r *Row, _ time.Time) string { return findingsCell(r) },
		func(a, b *Row, _ time.Time) bool {
			if a.worst != b.worst {
				return a.worst < b.worst
			}
			return len(a.findings) > len(b.findings)
		}},
}

// exceptionState names where a certificate's exception stands
// (model.ExceptionStatus), "-" for none.
func exceptionState(r *Row, now time.Time) string {
	if st := model.ExceptionStatusOf(r.exception, r.selfSigned && r.trustedExplicitly(), now); st != model.ExceptionNone {
		return string(st)
	}
	return "-"
}

func issuerShort(r *Row) string { return r.issuer }

// findingsCell names the count and the worst severity in words, so that
// it reads without colour.
func findingsCell(r *Row) string {
	if len(r.findings) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d %s", len(r.findings), []string{"critical", "high", "medium", "low", ""}[r.worst])
}

// identitiesScreen is a table of our own in the style of pug's: the
// filtered and sorted order is a slice of indexes, the cursor follows an
// identity across sorts and reloads, and only visible rows are rendered.
type identitiesScreen struct {
	ds      *Dataset
	sorted  []int // every row index, in sort order; re-sorted only when the sort changes
	order   []int // sorted, filtered: what the table shows
	listNav       // over order; the selection holds identity keys
	sortCol int
	reverse bool

	filter filterField
	// shownFor is the filter order was made with; typed holds the lists
	// the last few filters showed, while one is typed (see refresh).
	shownFor *model.Filter
	typed    []shownList
}

// shownList is what the table showed for a filter.
type shownList struct {
	filter *model.Filter
	order  []int // never appended to: a later list is a new slice
}

// typedKept bounds the lists kept while a filter is typed, in rows: with
// a million rows, one list of every row.
func (s *identitiesScreen) typedKept() int { return max(len(s.ds.Rows), 4096) }

// sortByExpiry is the default sort: soonest expiry first, for triage.
var sortByExpiry = func() int {
	for i, c := range identityColumns {
		if c.title == "EXPIRES" {
			return i
		}
	}
	return 0
}()

func newIdentitiesScreen() *identitiesScreen {
	return &identitiesScreen{filter: newFilterField("filter: text, expired, expires<30d, selfsigned, finding:CODE, owner:none, …"), sortCol: sortByExpiry}
}

func (s *identitiesScreen) setData(ds *Dataset, now time.Time) {
	selected := s.selectedKey()
	grown := s.ds != nil && ds.run != 0 && ds.run == s.ds.run && len(ds.Rows) >= len(s.ds.Rows)
	from := 0
	if s.ds != nil {
		from = len(s.ds.Rows)
	}
	s.ds = ds
	if grown {
		// The same load, further on: its new rows are merged in.
		s.extend(from, now)
	} else {
		s.resort(now)
		s.refresh(now)
	}
	s.selectKey(selected)
}

// targets are what an action applies to: the selected rows in view,
// else the row under the cursor.
func (s *identitiesScreen) targets() []Row {
	var out []Row
	if len(s.selection) > 0 {
		for _, i := range s.order {
			if s.selection[string(s.ds.Rows[i].key[:])] {
				out = append(out, s.ds.Rows[i])
			}
		}
		return out
	}
	if r := s.selected(); r != nil {
		out = append(out, *r)
	}
	return out
}

// selected is the row under the cursor, or nil.
func (s *identitiesScreen) selected() *Row {
	if s.ds == nil || s.cursor >= len(s.order) {
		return nil
	}
	return &s.ds.Rows[s.order[s.cursor]]
}

func (s *identitiesScreen) selectedKey() string {
	if s.ds == nil || s.cursor >= len(s.order) {
		return ""
	}
	return string(s.ds.Rows[s.order[s.cursor]].key[:])
}

func (s *identitiesScreen) selectKey(identityKey string) {
	s.cursor = 0
	for i, idx := range s.order {
		if string(s.ds.Rows[idx].key[:]) == identityKey {
			s.cursor = i
			break
		}
	}
}

// resort orders every row by the sort column; filtering then keeps that
// order, so a filter keystroke never sorts.
func (s *identitiesScreen) resort(now time.Time) {
	if s.ds == nil {
		return
	}
	s.forgetTyped()
	s.sorted = s.sorted[:0]
	for i := range s.ds.Rows {
		s.sorted = append(s.sorted, i)
	}
	less := s.rowLess(now)
	sort.SliceStable(s.sorted, func(i, j int) bool { return less(s.sorted[i], s.sorted[j]) })
}

// rowLess compares two rows, by index, in the table's sort.
func (s *identitiesScreen) rowLess(now time.Time) func(i, j int) bool {
	col, rows, reverse := identityColumns[s.sortCol], s.ds.Rows, s.reverse
	return func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if reverse {
			a, b = b, a
		}
		return col.less(a, b, now)
	}
}

// extend merges the rows from index from on into the sorted and shown
// orders: what a full resort and refresh would give (ties keep index
// order either way), for the cost of sorting the new rows alone.
func (s *identitiesScreen) extend(from int, now time.Time) {
	less := s.rowLess(now)
	added := make([]int, 0, len(s.ds.Rows)-from)
	for i := from; i < len(s.ds.Rows); i++ {
		added = append(added, i)
	}
	sort.SliceStable(added, func(i, j int) bool { return less(added[i], added[j]) })
	shown := matching(s.ds.Rows, s.filter.filter, added, now)
	s.sorted = mergeOrdered(s.sorted, added, less)
	s.order = mergeOrdered(s.order, shown, less)
	// The kept lists lack the new rows; order, just merged, still holds
	// what its filter shows.
	s.typed = nil
	s.clamp(len(s.order))
	s.keepSelectionInView()
}

// mergeOrdered merges two index lists ordered by less, a's first on ties.
func mergeOrdered(a, b []int, less func(i, j int) bool) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if less(b[0], a[0]) {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// refresh recomputes what the table shows: the sorted rows the filter
// lets through.
//
// While a filter is typed, each keystroke answers without reading every
// row where it can: a filter that narrows the one shown (a longer word)
// filters the rows shown, and a backspace takes back the list the
// shorter filter showed. At a million rows a full pass is about 120 ms;
// typing a word is then one pass, not one a letter.
func (s *identitiesScreen) refresh(now time.Time) {
	if s.ds == nil {
		return
	}
	f := s.filter.filter
	from := s.sorted
	switch kept := s.typedList(f); {
	case kept != nil:
		s.order, s.shownFor = kept, f
		s.clamp(len(s.order))
		s.keepSelectionInView()
		return
	case f.Narrows(s.shownFor):
		from = s.order
	}
	order := matching(s.ds.Rows, f, from, now)
	s.order, s.shownFor = order, f
	s.keepTyped(f, order)
	s.clamp(len(s.order))
	s.keepSelectionInView()
}

// matching returns the rows of from (indexes into rows, in the table's
// order) that f lets through, in from's order. It reads the rows in their
// order in memory, not in from's: at a million rows, reading them in
// sorted order waited on memory for most of a keystroke.
func matching(rows []Row, f *model.Filter, from []int, now time.Time) []int {
	if f.Empty() {
		return slices.Clone(from)
	}
	let := make([]bool, len(rows))
	for _, i := range from {
		let[i] = true
	}
	var rec model.Record // each row's record in turn, in the same lists
	for i := range rows {
		if let[i] {
			let[i] = f.Match(rows[i].fill(&rec), now)
		}
	}
	out := make([]int, 0, len(from)/4)
	for _, i := range from {
		if let[i] {
			out = append(out, i)
		}
	}
	return out
}

// typedList is the list kept for a filter of the same text, or nil.
func (s *identitiesScreen) typedList(f *model.Filter) []int {
	for _, l := range s.typed {
		if l.filter.String() == f.String() {
			return l.order
		}
	}
	return nil
}

// keepTyped keeps the list a filter showed, dropping the oldest kept
// beyond typedKept rows. A filter that depends on the time is not kept:
// taken back a moment later, its list could be wrong.
func (s *identitiesScreen) keepTyped(f *model.Filter, order []int) {
	if f.Empty() || f.Timed() {
		return
	}
	s.typed = append(s.typed, shownList{f, order})
	total := 0
	for i := len(s.typed) - 1; i >= 0; i-- {
		total += len(s.typed[i].order)
		if total > s.typedKept() {
			s.typed = slices.Delete(s.typed, 0, i+1)
			break
		}
	}
}

// forgetTyped drops the kept lists: the rows or their order changed.
func (s *identitiesScreen) forgetTyped() { s.typed, s.shownFor = nil, nil }

// keepSelectionInView drops selected rows the view no longer shows, and
// says so: a bulk action must never reach rows the reviewer cannot see.
func (s *identitiesScreen) keepSelectionInView() {
	if len(s.selection) > 0 { // the keys of a million rows are not listed for nothing
		s.keepSelectionIn(s.shownKeys())
	}
}

// shownKeys are the identity keys of the rows shown, in order.
func (s *identitiesScreen) shownKeys() []string {
	keys := make([]string, len(s.order))
	for j, i := range s.order {
		keys[j] = string(s.ds.Rows[i].key[:])
	}
	return keys
}

// applyFilter sets the filter from another screen (overview, findings).
func (s *identitiesScreen) applyFilter(expr string, now time.Time) {
	s.filter.set(expr)
	s.cursor, s.offset = 0, 0
	s.refresh(now)
}

// updateFilter handles keys while the filter field has focus.
func (s *identitiesScreen) updateFilter(msg tea.KeyPressMsg, k KeyMap, now time.Time) tea.Cmd {
	changed, cmd := s.filter.update(msg, k)
	if changed {
		selected := s.selectedKey()
		s.refresh(now)
		s.selectKey(selected)
	}
	return cmd
}

// update handles the table's keys; it returns the row to open on enter.
func (s *identitiesScreen) update(msg tea.KeyPressMsg, k KeyMap, page int, now time.Time) (*Row, bool) {
	switch {
	case key.Matches(msg, k.Filter):
		s.filter.focus()
	case key.Matches(msg, k.Back):
		switch {
		case len(s.selection) > 0:
			s.selection = nil
		case s.filter.text != "":
			s.filter.clear()
			s.refresh(now)
		}
	case key.Matches(msg, k.Sort):
		selected := s.selectedKey()
		s.sortCol = (s.sortCol + 1) % len(identityColumns)
		s.resort(now)
		s.refresh(now)
		s.selectKey(selected)
	case key.Matches(msg, k.Reverse):
		selected := s.selectedKey()
		s.reverse = !s.reverse
		s.resort(now)
		s.refresh(now)
		s.selectKey(selected)
	case key.Matches(msg, k.Open):
		if s.cursor < len(s.order) {
			return &s.ds.Rows[s.order[s.cursor]], true
		}
	case key.Matches(msg, k.Select):
		if r := s.selected(); r != nil {
			s.toggle(string(r.key[:]), len(s.order))
		}
	case key.Matches(msg, k.SelectAll):
		s.selectAll(s.shownKeys())
	default:
		// page is the body height less two; the table shows page-1 rows.
		s.move(msg, k, len(s.order), page, page-1)
	}
	return nil, false
}

// visibleColumns drops the least important columns until the row fits.
func visibleColumns(width int) []int {
	for maxPriority := 5; maxPriority >= 0; maxPriority-- {
		var cols []int
		total := 2
		for i, c := range identityColumns {
			if c.priority <= maxPriority {
				cols = append(cols, i)
				total += c.width + 2
			}
		}
		if total <= width || maxPriority == 0 {
			return cols
		}
	}
	return nil
}

func (s *identitiesScreen) view(st Styles, width, height int, now time.Time) string {
	var b strings.Builder
	b.WriteString(s.filter.view(st, width, "/ to filter · s sort · r reverse · space select · enter opens", "   (esc clears)"))
	b.WriteByte('\n')

	cols := visibleColumns(width)
	// The identity column takes what the others leave.
	widths := map[int]int{}
	used := 2
	for _, i := range cols[1:] {
		widths[i] = identityColumns[i].width
		used += widths[i] + 2
	}
	widths[0] = max(12, width-used-2)

	var header strings.Builder
	header.WriteString("  ")
	for _, i := range cols {
		title := identityColumns[i].title
		if i == s.sortCol {
			title += map[bool]string{false: " ▲", true: " ▼"}[s.reverse]
		}
		header.WriteString(pad(title, widths[i]) + "  ")
	}
	b.WriteString(st.Header.Render(strings.TrimRight(header.String(), " ")))
	b.WriteByte('\n')

	rowsHeight := max(1, height-3)
	offset := scrolled(s.cursor, s.offset, rowsHeight) // the view only reads
	if len(s.order) == 0 {
		if s.ds.Partial {
			b.WriteString(st.Dim.Render(fmt.Sprintf("  none of the %d identities read so far matches; the rest is loading", len(s.ds.Rows))))
		} else {
			b.WriteString(st.Dim.Render("  no identity matches this filter"))
		}
		b.WriteByte('\n')
	}
	for pos := offset; pos < len(s.order) && pos < offset+rowsHeight; pos++ {
		r := &s.ds.Rows[s.order[pos]]
		marker := "  "
		switch {
		case pos == s.cursor && s.selection[string(r.key[:])]:
			marker = "▶✓"
		case pos == s.cursor:
			marker = "▶ "
		case s.selection[string(r.key[:])]:
			marker = " ✓"
		}
		var line strings.Builder
		line.WriteString(marker)
		for _, i := range cols {
			cell := pad(identityColumns[i].cell(r, now), widths[i])
			switch identityColumns[i].title {
			case "EXPIRES":
				cell = expiryStyle(st, r.NotAfter(), now).Render(cell)
			case "FINDINGS":
				if r.worst < 4 {
					cell = st.Severity([]model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow}[r.worst]).Render(cell)
				}
			}
			line.WriteString(cell + "  ")
		}
		text := strings.TrimRight(line.String(), " ")
		if pos == s.cursor {
			text = st.Selected.Render(ansi.Strip(text))
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	footer := fmt.Sprintf("  %s (%d identities in all)", position(offset, rowsHeight, len(s.order)), len(s.ds.Rows))
	if s.ds.Partial {
		footer = fmt.Sprintf("  %s (%d of %d identities read)", position(offset, rowsHeight, len(s.order)), len(s.ds.Rows), s.ds.Identities)
	}
	switch {
	case len(s.selection) > 0:
		footer += fmt.Sprintf(" · %d of %d shown selected: o e a x apply to them, esc clears", len(s.selection), len(s.order))
	case s.selectionNote != "":
		footer += " · " + s.selectionNote
	}
	b.WriteString(st.Dim.Render(footer))
	return b.String()
}

func position(offset, height, n int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d-%d of %d", offset+1, min(n, offset+height), n)
}

func expiryStyle(st Styles, notAfter, now time.Time) interface{ Render(...string) string } {
	switch {
	case now.After(notAfter):
		return st.expired
	case notAfter.Before(now.Add(7 * 24 * time.Hour)):
		return st.soon
	}
	return st.later
}

// pad cuts or pads s to exactly width cells.
func pad(s string, width int) string {
	w := ansi.StringWidth(s)
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return s + strings.Repeat(" ", width-w)
}

func ansiTruncate(s string, width int) string { return ansi.Truncate(s, width, "…") }

func ansiStrip(s string) string { return ansi.Strip(s) }
