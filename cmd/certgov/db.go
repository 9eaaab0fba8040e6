package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

// newDBCommand sets up and fills a team database (PostgreSQL).
func newDBCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Set up a team database on PostgreSQL, or copy a SQLite database up to one",
	}
	var setup store.TeamSetup
	initCmd := &cobra.Command{
		Use:   "init --db postgres://ADMIN@HOST/DB [--importer LOGIN]... [--reviewer LOGIN]... [--auditor LOGIN]... [--four-eyes]",
		Short: "Create or upgrade the schema and the certgov roles, and grant logins their role",
		Long: `Run by an administrator (the owner of the database's schema); running it again
is safe. It creates the schema, the roles certgov_importer (imports),
certgov_reviewer (owners, review dates, exceptions, campaign decisions) and
certgov_auditor (reads, verifies and exports; changes nothing), and grants
each named login its role, creating a login that does not exist (without a
password). The audit trail is insert-only for every role. --four-eyes makes
the database refuse an owner's approval or certification of their own
identity, whatever policy file a reviewer passes.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			location, err := a.databasePath("certgov.db")
			if err != nil {
				return err
			}
			if !store.IsPostgres(location) {
				return usageError{errors.New("db init sets up a PostgreSQL database: --db postgres://ADMIN@HOST/DB (a SQLite file needs no set-up)")}
			}
			done, err := store.InitPostgres(cmd.Context(), location, setup)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, line := range done {
				fmt.Fprintln(out, model.Printable(line))
			}
			return nil
		},
	}
	initCmd.Flags().StringArrayVar(&setup.Importers, "importer", nil, "a login that imports (repeatable)")
	initCmd.Flags().StringArrayVar(&setup.Reviewers, "reviewer", nil, "a login that reviews and decides (repeatable)")
	initCmd.Flags().StringArrayVar(&setup.Auditors, "auditor", nil, "a login that reads, verifies and exports (repeatable)")
	initCmd.Flags().BoolVar(&setup.FourEyes, "four-eyes", false, "an owner may not approve or certify their own identity")
	initCmd.Flags().IntVar(&setup.DecisionsPerMinute, "separation-of-duties", 0, "N: the database refuses a decision without a comment from a reviewer who made N in the minute before, and a close by whoever made every decision")

	var from, to string
	copyCmd := &cobra.Command{
		Use:   "copy --from FILE.db --to postgres://ADMIN@HOST/DB",
		Short: "Copy a SQLite database into a new team database, audit trail and hashes included",
		Long: `Copies every row of a SQLite governance database into an initialised, empty
PostgreSQL database (certgov db init first), in one transaction, then
verifies the audit trail on the target. Events keep their sequence numbers
and hashes, so the chain an auditor checked before still checks; a db.copy
event follows them, in the administrator's name, naming the source file's
SHA-256 and head, so that the names the file recorded (--as, OS users) never
read as database logins. A file whose governance state its trail does not
explain (a value edited behind certgov's back), or whose linked state is
not what its facts give, is refused.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageError{errors.New("db copy needs --from FILE.db and --to postgres://…")}
			}
			if store.IsPostgres(from) || !store.IsPostgres(to) {
				return usageError{errors.New("db copy copies a SQLite file (--from) to PostgreSQL (--to postgres://…)")}
			}
			ctx := cmd.Context()
			src, err := store.Open(ctx, from)
			if err != nil {
				return err
			}
			defer src.Close()
			// CopyTo verifies the source's chain and state first.
			sum, err := src.CopyTo(ctx, to)
			if err != nil {
				return err
			}
			if sum.Events == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "certgov: note: the source has no audit events")
			}
			target, err := store.Open(ctx, to)
			if err != nil {
				return err
			}
			defer target.Close()
			n, head, err := target.VerifyAudit(ctx)
			if err != nil {
				return fmt.Errorf("copied, but the audit trail does not verify on the target: %w", err)
			}
			out := cmd.OutOrStdout()
			tables := make([]string, 0, len(sum.Rows))
			for t := range sum.Rows {
				tables = append(tables, t)
			}
			sort.Strings(tables)
			for _, t := range tables {
				fmt.Fprintf(out, "%-20s %d rows\n", t, sum.Rows[t])
			}
			fmt.Fprintf(out, "audit trail intact on %s: %d events, head %s\n", model.Printable(store.RedactURL(to)), n, head)
			fmt.Fprintf(out, "  the source's %d events up to its head %s, then a db.copy event naming the file: the names before it are the file's, not logins\n", sum.Events, sum.SourceHead)
			return nil
		},
	}
	copyCmd.Flags().StringVar(&from, "from", "", "the SQLite database file")
	copyCmd.Flags().StringVar(&to, "to", "", "the PostgreSQL database (postgres://…), initialised and empty")
	cmd.AddCommand(initCmd, copyCmd)
	return cmd
}
