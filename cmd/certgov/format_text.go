package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// A textResult prints itself for people (-o table, -o text): a table or
// prose, fitted to the terminal's width (0: not a terminal, no limit).
// Every value from a file or a person goes through model.Printable
// (clip does it, then cuts) before it is written.
type textResult interface {
	writeText(w io.Writer, width int) error
}

func writeText(w io.Writer, width int, result any) error {
	r, ok := result.(textResult)
	if !ok {
		return fmt.Errorf("this result has no form for people (%T)", result)
	}
	return r.writeText(w, width)
}

// newTable is the tab-aligned table every list prints.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// printed is a result with a JSON value and its own form for people: what
// most commands print (one thing, a report, a small list).
type printed struct {
	value any
	text  func(w io.Writer, width int) error
}

func (p printed) writeText(w io.Writer, width int) error { return p.text(w, width) }
func (p printed) jsonValue() (any, error)                { return p.value, nil }

// streamedTable is newTable for a list that streams: its column widths
// are fitted to the header and the first tableSample rows, which it holds;
// later rows are written as they come, in those widths (a longer cell
// pushes the rest of its row right). The last column is not padded.
type streamedTable struct {
	w      io.Writer
	header []string
	sample [][]string
	widths []int
	rows   int
}

func (t *streamedTable) row(cells ...string) error {
	t.rows++
	if t.widths == nil {
		t.sample = append(t.sample, cells)
		if len(t.sample) < tableSample {
			return nil
		}
		return t.flush()
	}
	return t.write(cells)
}

// flush fixes the widths and writes the header and the rows held.
func (t *streamedTable) flush() error {
	if t.widths != nil {
		return nil
	}
	t.widths = make([]int, len(t.header))
	for _, cells := range append([][]string{t.header}, t.sample...) {
		for i, c := range cells {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, cells := range append([][]string{t.header}, t.sample...) {
		if err := t.write(cells); err != nil {
			return err
		}
	}
	t.sample = nil
	return nil
}

func (t *streamedTable) write(cells []string) error {
	var line strings.Builder
	for i, c := range cells {
		line.WriteString(c)
		if i < len(cells)-1 {
			line.WriteString(strings.Repeat(" ", max(0, t.widths[i]-utf8.RuneCountInString(c))+2))
		}
	}
	line.WriteByte('\n')
	_, err := io.WriteString(t.w, line.String())
	return err
}
