package main

import (
	"net/url"
	"slices"
	"sync"

	"bytes"
	"certgov/store"
	"certgov/store/storetest"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets tests run certgov as a separate process (to kill it, or to
// run two at once): the test binary re-executed with CERTGOV_MAIN_ARGS.
func TestMain(m *testing.M) {
	if args := os.Getenv("CERTGOV_MAIN_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Exit(runUntilSignalled(argv, os.Stdin, os.Stdout, os.Stderr))
	}
	if spec := os.Getenv("CERTGOV_WRITE_ESTATE"); spec != "" {
		os.Exit(writeScaledEstate(spec))
	}
	os.Exit(storetest.RunBoth(m))
}

// databases are the PostgreSQL databases standing for the SQLite files
// tests name, in the PostgreSQL pass: test name and path → URL.
var databases sync.Map

// database is where a test's database at the SQLite path lives in this
// pass: the path itself, or (PostgreSQL pass) a database of the test's
// own, the same one each time the test names that path.
func database(t testing.TB, path string) string {
	t.Helper()
	if !storetest.Postgres() {
		return path
	}
	key := t.Name() + "\x00" + path
	if location, ok := databases.Load(key); ok {
		return location.(string)
	}
	location := storetest.NewDatabase(t)
	databases.Store(key, location)
	return location
}

type result struct {
	code           int
	stdout, stderr string
}

func certgov(t *testing.T, args ...string) result {
	t.Helper()
	return certgovOn(t, 0, args...)
}

// certgovOn runs certgov writing to a terminal width columns wide (0: not
// a terminal, a pipe or a file).
func certgovOn(t *testing.T, width int, args ...string) result {
	t.Helper()
	args = withDatabase(t, args)
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, streams{in: strings.NewReader(""), out: &out, err: &errOut, terminal: width > 0, width: width})
	return result{code, out.String(), errOut.String()}
}

// actorName is whom the audit trail names for a change made --as name:
// the name on SQLite, the database login on PostgreSQL (which keeps the
// name as on behalf of).
func actorName(name string) string {
	if !storetest.Postgres() {
		return name
	}
	u, err := url.Parse(os.Getenv(storetest.EnvPostgres))
	if err != nil {
		return name
	}
	return u.User.Username()
}

// actedByPrefix is how a report starts to say who acted --as name: "name
// (run by …" on SQLite, "on behalf of name" on PostgreSQL.
func actedByPrefix(name string) string {
	if storetest.Postgres() {
		return "on behalf of " + name
	}
	return name + " (run by "
}

// withDatabase gives a command the test's PostgreSQL database, in that
// pass, where it would use a default SQLite file: the demo's, or the
// default database.
func withDatabase(t *testing.T, args []string) []string {
	t.Helper()
	if !storetest.Postgres() || slices.Contains(args, "--db") || len(args) == 0 || os.Getenv("CERTGOV_DB") != "" {
		return args
	}
	name := "certgov.db"
	if args[0] == "demo" {
		name = "demo.db"
	}
	if args[0] == "verify" || args[0] == "help" || args[0] == "--help" || args[0] == "--version" {
		return args
	}
	path, err := store.DefaultPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"--db", database(t, path)}, args...)
}

// isolate points the default paths and environment at a temporary home.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("HOME", home)
	t.Setenv("CERTGOV_DB", "")
	t.Setenv("CERTGOV_KEYSTORE_PASSWORD", "")
	os.Unsetenv("CERTGOV_DB")
	os.Unsetenv("CERTGOV_KEYSTORE_PASSWORD")
	return home
}

// interopDir copies the importers' interop fixtures into a fresh folder.
func interopDir(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "importers", "testdata", "interop")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue // trust/ has its own test
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// demoDatabase builds the demo in an isolated home and makes it the
// database the commands use (CERTGOV_DB); it returns the home.
func demoDatabase(t *testing.T) string {
	t.Helper()
	home := isolate(t)
	if r := certgov(t, "demo", "--no-tui"); r.code != 0 {
		t.Fatalf("demo: %s", r.stderr)
	}
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	return home
}
