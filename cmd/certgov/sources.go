package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

func newSourcesCommand(a *app) *cobra.Command {
	var output *output
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
				return output.write(cmd, a, sourceList{sources: sources, now: time.Now()})
			})
		},
	}
	output = outputFlag(cmd, "table", "json")
	cmd.AddCommand(newSourcesRemoveCommand(a))
	return cmd
}

func newSourcesRemoveCommand(a *app) *cobra.Command {
	var host, reason string
	cmd := &cobra.Command{
		Use:   "rm (PATH | --host NAME) [--reason TEXT]",
		Short: "Forget a source, or every source of a host: what it held and admitted stops counting (audited)",
		Long: `Forget an imported file (PATH, as certgov sources lists it or as a path to the
file; with --host, that host's copy) or, with --host alone, every file imported
from that host. Its certificates stay inventoried if other files hold them;
its trust entries stop admitting; its versions stay as history. Each source
forgotten is an audit event.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && host == "" {
				return usageError{fmt.Errorf("sources rm needs a PATH or --host NAME")}
			}
			if host != "" {
				if err := model.CheckHost(host); err != nil {
					return usageError{err}
				}
			}
			key := ""
			if len(args) == 1 {
				path := args[0]
				if h, p := model.SplitSourceKey(path); h != "" {
					host, path = h, p
				} else if real, err := importers.Canonical(path); err == nil {
					path = real // a file still there: named as import names it
				}
				key = model.SourceKey(host, path)
			}
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				forgotten, err := s.ForgetSources(ctx, key, host, a.change(reason))
				if err != nil {
					return "", err
				}
				if len(forgotten) == 0 {
					return "", fmt.Errorf("no current source is %s", model.Printable(model.OrDash(key+host)))
				}
				return fmt.Sprintf("forgot %d sources: %s", len(forgotten), strings.Join(forgotten, ", ")), nil
			})
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "the host the files were imported from (--host at import)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
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

// sourceList is what sources prints.
type sourceList struct {
	sources []store.SourceInfo
	now     time.Time
}

func (l sourceList) jsonValue() (any, error) { return nonNilSlice(l.sources), nil }

func (l sourceList) writeText(w io.Writer, _ int) error {
	sources, now := l.sources, l.now
	{
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
}
