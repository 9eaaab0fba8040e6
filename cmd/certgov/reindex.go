package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newReindexCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Recompute the stored trust links from the imported facts",
		Long: `Recompute, from the imported certificates, trust entries and CRLs, what
every read takes from the database: each certificate's trust references,
trust model, chain, CA and lookalike facts, and the findings about trust
entries. Every import does this when it changed something; run it by hand
after upgrading certgov, or to check that nothing is stale.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				start := time.Now()
				if err := s.Reindex(cmd.Context(), true); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Linked state recomputed in %s\n", time.Since(start).Round(time.Millisecond))
				return nil
			})
		},
	}
}

func newDoctorCommand(a *app) *cobra.Command {
	var fix bool
	cmd := &cobra.Command{
		Use:   "doctor [--fix]",
		Short: "Check the database file: integrity, audit trail, governance state, permissions",
		Long: `Check the database: PRAGMA integrity_check over the whole file, the audit
trail's hash chain, that every owner, review date, exception and campaign
decision is what the trail records (certgov audit verify lists the
differences), and that the database and its WAL files are readable by you
alone. Exit 0 when all is well, 1 otherwise. --fix makes the files 0600.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				report, ok := s.Doctor(cmd.Context(), fix)
				for _, line := range report {
					fmt.Fprintln(cmd.OutOrStdout(), model.Printable(line))
				}
				if !ok {
					return exitError{1}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fix, "fix", false, "make the database files readable by you alone")
	return cmd
}
