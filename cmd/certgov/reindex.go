package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

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
