package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// streams are what a command reads and writes, and what certgov knows of
// the terminal it writes to. main makes them from the process's own
// (osStreams); tests make them with any width (a narrow terminal too).
type streams struct {
	in       io.Reader
	out, err io.Writer
	terminal bool // out is a terminal
	width    int  // out's width in columns when it is a terminal, else 0
}

// osStreams are the process's streams, out measured when it is a terminal.
func osStreams(in io.Reader, out, errOut io.Writer) streams {
	st := streams{in: in, out: out, err: errOut}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		st.terminal = true
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			st.width = width
		}
	}
	return st
}

// formats are the -o values certgov knows: each writes a command's result
// in its form, asking the result for what the form needs (format_*.go).
// A new format is its encoder file and one line here; a command offers it
// by naming it in its outputFlag and giving a result the encoder can read.
var formats = map[string]func(w io.Writer, width int, result any) error{
	"table": writeText, // a list for people, its columns fitted to the width
	"text":  writeText, // one thing for people
	"json":  writeJSON,
	"csv":   writeCSV,
	"sarif": writeSARIF, // SARIF 2.1.0, for code scanning in CI
}

// output is a command's -o flag: one of the formats the command offers.
type output struct {
	format  string
	offered []string
}

// outputFlag adds -o to cmd with the formats it offers, the first the
// default. A format it does not offer is a usage error when the flags
// are read, before any work.
func outputFlag(cmd *cobra.Command, offered ...string) *output {
	o := &output{format: offered[0], offered: offered}
	cmd.Flags().VarP(o, "output", "o", "output format: "+strings.Join(offered, ", "))
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(offered, cobra.ShellCompDirectiveNoFileComp))
	return o
}

func (o *output) String() string { return o.format }
func (o *output) Type() string   { return "format" }

func (o *output) Set(value string) error {
	if !slices.Contains(o.offered, value) {
		return fmt.Errorf("want one of %s", strings.Join(o.offered, ", "))
	}
	o.format = value
	return nil
}

// is reports whether the format asked for is name.
func (o *output) is(name string) bool { return o.format == name }

// write writes result to the command's output in the format asked for.
func (o *output) write(cmd *cobra.Command, a *app, result any) error {
	return formats[o.format](cmd.OutOrStdout(), a.streams.width, result)
}
