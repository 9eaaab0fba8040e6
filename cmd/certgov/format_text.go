package main

import (
	"fmt"
	"io"
	"text/tabwriter"
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
