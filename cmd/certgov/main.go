// Command certgov governs certificate-backed non-human identities: it
// imports certificates and trust lists into a local governance database
// and lets reviewers and operators see who trusts what, and until when.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"certgov/model"
	"certgov/store"
)

// smallFileLimit bounds the small files certgov reads besides the ones it
// imports: password files, keys, policies.
const smallFileLimit = 1 << 20

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries an exit status with an error already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(runUntilSignalled(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// interruptGrace is how long work may take to stop after Ctrl-C or
// SIGTERM cancelled its context: long enough to roll back and close the
// database; whatever is not done by then is dropped, which the
// database's journal makes safe (an uncommitted transaction never was).
const interruptGrace = time.Second

// runUntilSignalled runs the command line; on Ctrl-C or SIGTERM it cancels
// the work, waits at most interruptGrace (or for a second signal), prints
// one line and returns 130 or 143 as shells do, unless the command ended
// cleanly on its own (the dashboard quits with 0).
func runUntilSignalled(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, osStreams(stdin, stdout, stderr)) }()
	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-signals:
	}
	cancel()
	code := 130
	if sig == syscall.SIGTERM {
		code = 143
	}
	select {
	case c := <-done:
		if c == 0 {
			return 0
		}
	case <-time.After(interruptGrace):
	case <-signals:
	}
	fmt.Fprintf(stderr, "certgov: stopped by %s; nothing after the last commit was written\n", signalName(sig))
	return code
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "Ctrl-C"
}

// run executes one certgov command line and returns its exit status:
// 0 success, 1 failure (bad input, unknown REF), 2 bad usage.
func run(ctx context.Context, args []string, st streams) int {
	stderr := st.err
	root := newRootCommand(st)
	root.SetArgs(args)
	root.SetIn(st.in)
	root.SetOut(st.out)
	root.SetErr(st.err)
	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		// Interrupted: the caller says so, in one line.
		return 1
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "certgov: %s\n", model.Printable(err.Error()))
		return 2
	default:
		fmt.Fprintf(stderr, "certgov: %s%s\n", model.Printable(err.Error()), flagHint(err))
		return 1
	}
}

// flagHint names the flag that supplies what a domain error says is
// missing: the domain states the fact, only the CLI knows its flags.
func flagHint(err error) string {
	var missing *model.MissingValueError
	var undecided *store.UndecidedItemsError
	var comment *store.CommentNeededError
	switch {
	case errors.As(err, &missing):
		return map[string]string{model.ValueReason: " (--reason)", model.ValueEndDate: " (--until YYYY-MM-DD)", model.ValueComment: " (--comment)"}[missing.Value]
	case errors.As(err, &undecided):
		return " (--force closes it)"
	case errors.As(err, &comment):
		return " (--comment)"
	}
	return ""
}

type usageError struct{ error }

// app holds what every sub-command shares.
type app struct {
	dbPath  string
	dbFlag  *pflag.Flag // to tell --db "" from no --db
	as      string      // --as: the actor of governance changes
	stdin   io.Reader
	streams streams
	root    *cobra.Command // for its output streams
	// unverified counts the governance values the audit trail does not
	// explain, found when a review was opened (openReview).
	unverified int
}

func newRootCommand(st streams) *cobra.Command {
	a := &app{stdin: st.in, streams: st}
	root := &cobra.Command{
		Use:   "certgov",
		Short: "Governance for certificate-backed non-human identities",
		Long: `certgov inventories the X.509 client certificates that service accounts,
workloads, CI jobs and partner integrations use for mTLS, and makes every
trust decision visible, owned, time-bound and evidenced.

Start with "certgov demo" to try it on built-in demo data, or
"certgov import PATH..." to load your own certificates.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.Args = exactArgs(0)
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		return a.openDashboard(cmd.Context(), "")
	}
	root.PersistentFlags().StringVar(&a.dbPath, "db", "", "governance database: a SQLite file, or postgres://USER@HOST/DB for a team database (default $CERTGOV_DB, else $XDG_DATA_HOME/certgov/certgov.db)")
	a.dbFlag = root.PersistentFlags().Lookup("db")
	root.PersistentFlags().StringVar(&a.as, "as", "", "who makes a change, for the audit trail (default $CERTGOV_ACTOR, else the OS user)")
	root.AddCommand(
		newImportCommand(a),
		newLsCommand(a),
		newShowCommand(a),
		newFindingsCommand(a),
		newSourcesCommand(a),
		newServersCommand(a),
		newScanCommand(a),
		newTUICommand(a),
		newOwnerCommand(a),
		newExpiryCommand(a),
		newExceptionCommand(a),
		newAuditCommand(a),
		newCheckCommand(a),
		newServeCommand(a),
		newMetricsCommand(a),
		newNotifyCommand(a),
		newDigestCommand(a),
		newCampaignCommand(a),
		newReviewCommand(a),
		newExportCommand(a),
		newVerifyCommand(a),
		newDemoCommand(a),
		newReindexCommand(a),
		newDoctorCommand(a),
		newDBCommand(a),
	)
	a.root = root
	return root
}

// databasePath resolves --db, then $CERTGOV_DB, then the default.
func (a *app) databasePath(defaultName string) (string, error) {
	path, err := a.databasePathGiven(defaultName)
	if err != nil {
		return "", err
	}
	// postgres://… (or postgres:key=value) is a team database; a path,
	// or sqlite:PATH, a SQLite file.
	if store.IsPostgres(path) {
		return path, nil
	}
	return strings.TrimPrefix(path, "sqlite:"), nil
}

func (a *app) databasePathGiven(defaultName string) (string, error) {
	if a.dbPath != "" {
		return a.dbPath, nil
	}
	// --db "" is a mistake (an unset variable in a script), not a
	// request for the default database.
	if a.dbFlag != nil && a.dbFlag.Changed {
		return "", usageError{errors.New(`--db "": name a database file`)}
	}
	if env := os.Getenv("CERTGOV_DB"); env != "" {
		return env, nil
	}
	return store.DefaultPath(defaultName)
}

// openDashboard opens the database and the dashboard on it. The
// dashboard shows the database's warnings when the check at open has
// ended, so that its first rows need not wait for it.
func (a *app) openDashboard(ctx context.Context, policyFile string) error {
	path, err := a.databasePath("certgov.db")
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	return runDashboard(ctx, s, policyFile, a.actor(), a.streams)
}

// withStore opens the database for fn and closes it after.
func (a *app) withStore(ctx context.Context, fn func(*store.Store) error) error {
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func (a *app) open(ctx context.Context) (*store.Store, error) {
	path, err := a.databasePath("certgov.db")
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, path)
	if err == nil {
		for _, w := range s.Warnings() {
			fmt.Fprintln(a.root.ErrOrStderr(), "certgov: warning: "+model.Printable(w))
		}
	}
	return s, err
}

// exactArgs is cobra.ExactArgs reported as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// openReview parses a filter and a policy file, then opens the database:
// what ls and findings share before they walk the review.
func (a *app) openReview(ctx context.Context, filter, policyFile string) (*store.Store, *model.Filter, model.Policy, error) {
	f, err := model.ParseFilter(filter)
	if err != nil {
		return nil, nil, model.Policy{}, usageError{err}
	}
	policy, err := loadPolicy(policyFile)
	if err != nil {
		return nil, nil, model.Policy{}, err
	}
	s, err := a.open(ctx)
	if err != nil {
		return nil, nil, policy, err
	}
	if a.unverified, err = a.stateUnverified(ctx, s); err != nil {
		s.Close()
		return nil, nil, policy, err
	}
	return s, f, policy, nil
}

// stateUnverified warns when the governance tables hold values the audit
// trail does not explain (an owner or exception written behind certgov's
// back): findings computed from them must not pass silently. It returns
// how many there are.
func (a *app) stateUnverified(ctx context.Context, s *store.Store) (int, error) {
	diffs, err := s.VerifyState(ctx)
	if err != nil || len(diffs) == 0 {
		return 0, err
	}
	fmt.Fprintf(a.root.ErrOrStderr(), "certgov: warning: %d governance values are not what the audit trail records (first: %s); certgov audit verify lists them\n",
		len(diffs), model.Printable(diffs[0].String()))
	return len(diffs), nil
}

func containsFold(s, needle string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(needle))
}
