// Package storetest runs a package's tests against both databases: SQLite
// files, then, when CERTGOV_TEST_POSTGRES names a PostgreSQL server, a
// fresh database on it for each test. .ci/run starts such a server, so CI
// runs every test on both; a developer's quick go test runs SQLite only.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/coverage"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"certgov/model/demo"
	_ "github.com/jackc/pgx/v5/stdlib" // OpenRaw
	_ "modernc.org/sqlite"             // OpenRaw
)

// EnvPostgres names the PostgreSQL server tests may create databases on:
// postgres://USER@HOST:PORT/DB of a login that may CREATE DATABASE.
const EnvPostgres = "CERTGOV_TEST_POSTGRES"

var postgresPass bool

// Postgres reports whether this pass runs against PostgreSQL.
func Postgres() bool { return postgresPass }

// RunBoth runs the package's tests on SQLite, then on PostgreSQL when
// EnvPostgres is set, and returns the exit code for os.Exit.
//
// The environment is read before the first m.Run: Go's test cache keys a
// result on the variables the test binary read, and stops recording them
// when m.Run ends, so a read after it would let a cached SQLite-only
// result stand for a run against a server (or a dead one).
//
// afterEach runs after each pass: a package that keeps a store for all its
// tests closes it there, so the next pass builds its own.
func RunBoth(m *testing.M, afterEach ...func()) int {
	server, ci := os.Getenv(EnvPostgres), os.Getenv("CERTGOV_CI")
	if server == "" && ci != "" {
		fmt.Fprintln(os.Stderr, "storetest: CERTGOV_CI is set but "+EnvPostgres+" is not: CI runs every test on PostgreSQL too (.ci/with-postgres)")
		return 1
	}
	after := func() {
		for _, f := range afterEach {
			f()
		}
		for _, name := range shared {
			dropDatabase(name)
		}
		shared = nil
	}
	postgresPass = false
	code := m.Run()
	after()
	if server == "" {
		fmt.Fprintln(os.Stderr, "storetest: "+EnvPostgres+" is unset: the tests ran on SQLite only (.ci/with-postgres go test ./... runs them on PostgreSQL too)")
		return code
	}
	postgresPass = true
	if pgCode := m.Run(); code == 0 {
		code = pgCode
	}
	after()
	if err := writeCoverage(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest: the PostgreSQL pass's coverage: "+err.Error())
		return 1
	}
	return code
}

// writeCoverage writes the coverage counters again after the PostgreSQL
// pass, when the tests run with -cover and a coverage folder
// (go test -cover ./... -args -test.gocoverdir=DIR): the testing package
// writes them once, when the first m.Run ends, so without this the
// PostgreSQL code would never count. The counters are cumulative, so
// go tool covdata merges the two files into the figure of both passes.
func writeCoverage() error {
	dir := flag.Lookup("test.gocoverdir")
	if dir == nil || dir.Value.String() == "" || testing.CoverMode() == "" {
		return nil
	}
	return coverage.WriteCountersDir(dir.Value.String())
}

// shared are the databases SharedLocation made, dropped after the pass.
var shared []string

// SharedLocation is Location for a database the package's tests share:
// it outlives the test that makes it, until the end of the pass.
func SharedLocation(t testing.TB, sqlitePath string) string {
	t.Helper()
	if !postgresPass {
		return sqlitePath
	}
	location, name := createDatabase(t)
	shared = append(shared, name)
	return location
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if conn, err := pgx.Connect(ctx, os.Getenv(EnvPostgres)); err == nil {
		conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		conn.Close(ctx)
	}
}

// Location is where a test keeps a database: the SQLite file path given,
// or, in the PostgreSQL pass, the URL of a new empty database of its own
// (dropped when the test ends).
func Location(t testing.TB, sqlitePath string) string {
	t.Helper()
	if !postgresPass {
		return sqlitePath
	}
	return NewDatabase(t)
}

// SQLiteOnly skips a test about the SQLite file itself (its bytes, modes,
// journal) in the PostgreSQL pass.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if postgresPass {
		t.Skip("SQLite file only: " + why)
	}
}

// NewDatabase creates an empty database on the EnvPostgres server and
// returns its URL; the test's cleanup drops it.
func NewDatabase(t testing.TB) string {
	t.Helper()
	location, name := createDatabase(t)
	t.Cleanup(func() { dropDatabase(name) })
	return location
}

func createDatabase(t testing.TB) (location, name string) {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		t.Skip(EnvPostgres + " is unset: no PostgreSQL server to test on")
	}
	b := make([]byte, 6)
	rand.Read(b)
	name = "certgov_test_" + hex.EncodeToString(b)
	exec(t, admin, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8'`)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), name
}

// As is the URL of the database at location for another login.
func As(t testing.TB, location, login string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(login)
	return u.String()
}

func exec(t testing.TB, location, statement string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, location)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, statement); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}

// OpenRaw opens the database at location directly, around certgov, as
// someone editing it behind certgov's back would.
func OpenRaw(t testing.TB, location string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if strings.HasPrefix(location, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// WriteEstate writes a generated estate below dir as certgov demo does:
// folders 0700, files 0600, since the estate holds (throwaway) private
// keys.
func WriteEstate(e *demo.Estate, dir string) error {
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
