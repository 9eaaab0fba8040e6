package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newSourcesCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "sources [-o table|json]",
		Short: "List imported files, their counts, and trust entries they dropped",
		Long: `List every imported file as it stands now: its kind, how many certificates,
trust entries and private keys it holds, when it was last imported, how many
content versions certgov has seen, and the trust entries that earlier
versions had and the current one lacks (drift), with the date they vanished.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				sources, err := s.Sources(cmd.Context())
				if err != nil {
					return err
				}
				return printSources(cmd.OutOrStdout(), sources, output, time.Now())
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// commonDir is the folder (with its trailing separator) that every path
// lies in, or "".
func commonDir(sources []store.SourceInfo) string {
	if len(sources) < 2 {
		return ""
	}
	prefix := filepath.Dir(sources[0].Path) + string(filepath.Separator)
	for _, s := range sources[1:] {
		for !strings.HasPrefix(s.Path, prefix) {
			parent := filepath.Dir(strings.TrimSuffix(prefix, string(filepath.Separator)))
			if parent+string(filepath.Separator) == prefix || parent == "." {
				return ""
			}
			prefix = strings.TrimSuffix(parent, string(filepath.Separator)) + string(filepath.Separator)
		}
	}
	if prefix == string(filepath.Separator) {
		return ""
	}
	return prefix
}

func printSources(w io.Writer, sources []store.SourceInfo, format string, now time.Time) error {
	switch format {
	case "json":
		if sources == nil {
			sources = []store.SourceInfo{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sources)
	case "table":
		// Paths are shown below the folder they all share, named once.
		base := commonDir(sources)
		if base != "" {
			fmt.Fprintf(w, "in %s\n", model.Printable(base))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PATH\tKIND\tCERTS\tENTRIES\tKEYS\tIMPORTED\tVERSIONS\tREMOVED")
		for _, s := range sources {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\n", model.Printable(strings.TrimPrefix(s.Path, base)), s.Kind, s.Certificates, s.TrustEntries, s.PrivateKeys,
				model.Relative(s.ImportedAt, now), s.Versions, len(s.Removed))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, s := range sources {
			for _, r := range s.Removed {
				fmt.Fprintln(w, model.Printable(fmt.Sprintf("removed %s from %s: %s %s %q (%s)", r.RemovedAt.Format("2006-01-02"), s.Path, r.Kind, r.Label, r.Value, r.Location)))
			}
		}
		return nil
	}
	return usageError{fmt.Errorf("-o %q: want table or json", format)}
}
