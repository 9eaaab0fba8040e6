package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
	"certgov/store"
)

func newDemoCommand(a *app) *cobra.Command {
	var noTUI bool
	cmd := &cobra.Command{
		Use:   "demo [--db PATH] [--no-tui]",
		Short: "Build a demo database from a generated certificate estate",
		Long: `Generate a realistic certificate estate (an internal PKI, ~250 workload,
CI and partner identities across six teams: CA-signed and self-signed, some
expired, some expiring this week, weak keys, SHA-1, rotations, copies, a key
left on disk, PEM/DER/PKCS#7/PKCS#12/JKS files, CA bundles, a pin list,
OAuth mTLS registrations and a Keycloak realm), import it with the ordinary
importers into a fresh demo database, and say what to try next.

The demo database is rebuilt on every run. It lives at
$XDG_DATA_HOME/certgov/demo.db unless --db says otherwise; certgov refuses to
overwrite a database that is not a demo.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := a.dbPath
			if path == "" {
				var err error
				if path, err = store.DefaultPath("demo.db"); err != nil {
					return err
				}
			}
			if err := buildDemo(cmd.Context(), path, cmd.OutOrStdout(), time.Now()); err != nil {
				return err
			}
			if noTUI || !a.streams.terminal {
				return nil
			}
			s, err := store.Open(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer s.Close()
			return runDashboard(cmd.Context(), s, "", a.actor(), a.streams)
		},
	}
	cmd.Flags().BoolVar(&noTUI, "no-tui", false, "only build the database; do not open the dashboard")
	return cmd
}

func buildDemo(ctx context.Context, dbPath string, w io.Writer, now time.Time) error {
	estateDir := dbPath + ".estate"
	if store.IsPostgres(dbPath) {
		// A team database is never dropped by certgov: the demo fills an
		// empty one, its estate kept beside the default database.
		if err := checkEmptyTeamDatabase(ctx, dbPath); err != nil {
			return err
		}
		var err error
		if estateDir, err = store.DefaultPath("demo-team.estate"); err != nil {
			return err
		}
	} else if err := removeOldDemo(ctx, dbPath); err != nil {
		return err
	}
	if err := os.RemoveAll(estateDir); err != nil {
		return err
	}
	estate, err := demo.Generate(now)
	if err != nil {
		return fmt.Errorf("generating the demo estate: %w", err)
	}
	if err := writeEstate(estate, estateDir); err != nil {
		return fmt.Errorf("writing the demo estate: %w", err)
	}
	s, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.SetMeta(ctx, "demo", "true"); err != nil {
		return err
	}
	opts := importers.Options{Password: []byte(demo.KeystorePassword)}
	summary, failures, _, err := importPaths(ctx, s, []string{estateDir}, opts, false, "certgov demo")
	if err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("the demo estate did not import cleanly: %s", failures[0])
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Demo database: %s\n", model.Printable(store.RedactURL(dbPath)))
	fmt.Fprintf(w, "  %d identities, %d certificates from %d files (%d private keys found on disk)\n",
		counts.Identities, counts.Certificates, summary.SourcesNew, counts.PrivateKeys)
	fmt.Fprintf(w, "Demo estate:   %s (the files it was imported from)\n\n", model.Printable(estateDir))
	fmt.Fprintf(w, "Try next:\n")
	fmt.Fprintf(w, "  export CERTGOV_DB=%s\n", model.Printable(store.RedactURL(dbPath)))
	me := invokedAs()
	for _, next := range [][2]string{
		{"", "the dashboard"},
		{"findings", "what needs attention, most urgent first"},
		{"ls --filter 'selfsigned expires<30d'", "self-signed, expiring within 30 days"},
		{"ls --filter 'expired !ca' -o json", "expired client certificates"},
		{"ls --filter 'untrusted !ca'", "trusted nowhere: removal candidates"},
		{"show ledger.payments.svc", "one identity: the servers that admit it, and why"},
		{"servers", "the servers that decide, their policy and what each admits"},
		{"servers what-if --remove carriers.partner-edge.example", "who would lose access if it went"},
		{"import " + model.Printable(estateDir), "re-import: nothing new"},
	} {
		fmt.Fprintf(w, "  %-62s # %s\n", strings.TrimSpace(me+" "+next[0]), next[1])
	}
	return nil
}

// invokedAs is how to run this certgov again, for the lines that
// suggest commands: "go run ./cmd/certgov" after go run (its binary is a
// temporary file), the name when certgov was found on the PATH, else the
// path it was started by.
func invokedAs() string {
	exe := os.Args[0]
	switch {
	case strings.Contains(exe, string(filepath.Separator)+"go-build"):
		return "go run ./cmd/certgov"
	case !strings.ContainsRune(exe, filepath.Separator):
		return exe
	}
	return model.Printable(exe)
}

// checkEmptyTeamDatabase refuses to put the demo into a PostgreSQL
// database that holds anything.
func checkEmptyTeamDatabase(ctx context.Context, location string) error {
	s, err := store.Open(ctx, location)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	if c.Identities > 0 || c.Sources > 0 {
		return fmt.Errorf("%s is not empty: the demo fills an empty team database (create a new one for it)", store.RedactURL(location))
	}
	return nil
}

// removeOldDemo deletes a previous demo database, and refuses to delete
// anything that is not one.
func removeOldDemo(ctx context.Context, dbPath string) error {
	info, err := os.Stat(dbPath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Size() > 0 {
		s, err := store.Open(ctx, dbPath)
		if err != nil {
			return fmt.Errorf("%s exists and is not a certgov demo database: %w", dbPath, err)
		}
		isDemo, err := s.Meta(ctx, "demo")
		s.Close()
		if err != nil {
			return err
		}
		if isDemo != "true" {
			return fmt.Errorf("%s exists and is not a demo database: refusing to overwrite it (choose another --db)", dbPath)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return os.MkdirAll(filepath.Dir(dbPath), 0o700)
}

// writeEstate writes a generated estate below dir: folders 0700, files
// 0600, since the estate holds (throwaway) private keys.
func writeEstate(e *demo.Estate, dir string) error {
	for _, p := range e.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(full, e.Content(p, dir), 0o600); err != nil {
			return err
		}
	}
	return nil
}
