// Package demostore builds the demo estate into a database for tests
// above the store (the store's own tests cannot import it: it imports
// the store).
package demostore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"certgov/importers"
	"certgov/model/demo"
	"certgov/store"
	"certgov/store/storetest"
)

// Import writes the demo estate to dir/estate (anew) and imports it, as
// certgov import does, into the database at location(dir/demo.db).
func Import(t testing.TB, dir string, location func(testing.TB, string) string) *store.Store {
	t.Helper()
	estate, err := demo.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "estate")); err != nil {
		t.Fatal(err)
	}
	if err := storetest.WriteEstate(estate, filepath.Join(dir, "estate")); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), location(t, filepath.Join(dir, "demo.db")))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := s.NewImport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts := importers.Options{Password: []byte(demo.KeystorePassword), Known: imp.Known}
	if _, err := imp.Run(context.Background(), importers.Walk(context.Background(), []string{filepath.Join(dir, "estate")}, opts), false, nil); err != nil {
		t.Fatal(err)
	}
	// The access logs its servers name, in a second pass as certgov
	// import reads them.
	logs, err := s.NewImport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts = importers.Options{Known: logs.Known, AccessLogFor: logs.AccessLogFor(""), OnlyAccessLogs: true}
	if _, err := logs.Run(context.Background(), importers.Walk(context.Background(), []string{filepath.Join(dir, "estate")}, opts), false, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// Open imports the demo estate into a new database of the test's own
// (SQLite, or PostgreSQL in that pass), closed when the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	s := Import(t, t.TempDir(), storetest.Location)
	t.Cleanup(func() { s.Close() })
	return s
}
