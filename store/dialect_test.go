package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/store/storetest"
)

// Every dialect has statements for every version from its baseline on,
// and none before it: a version without them would be marked applied
// having changed nothing.
func TestMigrationsCoverEveryDialect(t *testing.T) {
	for _, b := range backends {
		d := b.dialect
		for v := 1; v <= len(migrations); v++ {
			step := d.migration(migrations[v-1])
			sql := strings.TrimSpace(step.sql)
			switch {
			case step.unchanged != "" && (sql != "" || step.after != nil):
				t.Errorf("%s: migration %d has statements yet says it changes nothing", d.name(), v)
			case step.unchanged != "" && v < d.baseline():
				t.Errorf("%s: migration %d is before its baseline (%d) but says why it changes nothing", d.name(), v, d.baseline())
			case step.unchanged != "":
			case v >= d.baseline() && sql == "":
				t.Errorf("%s: migration %d has no statements", d.name(), v)
			case v < d.baseline() && sql != "":
				t.Errorf("%s: migration %d is before its baseline (%d) but has statements", d.name(), v, d.baseline())
			}
		}
	}
}

// A migration with no statements for the dialect is refused, not
// recorded as applied.
func TestMigrationWithoutStatementsIsRefused(t *testing.T) {
	storetest.SQLiteOnly(t, "the SQLite part of a migration is taken away")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := migrations
	t.Cleanup(func() { migrations = before })
	migrations = append(slices.Clip(before), migration{postgres: migrationStep{sql: "SELECT 1"}})
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d has no sqlite statements", len(migrations))) {
		t.Fatalf("a migration without SQLite statements: %v", err)
	}
	migrations = before
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.schemaVersion(ctx); err != nil || v != len(before) {
		t.Fatalf("version %d (%v), want %d: the refused migration was recorded", v, err, len(before))
	}
}

// Both dialects' migrations end with the same tables, columns and
// indexes (names; types are each dialect's own), but for the objects
// only one of them needs.
func TestSchemasAgree(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("compares with PostgreSQL: runs in the PostgreSQL pass")
	}
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	sqliteSchema := schemaOf(t, lite.db,
		`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'`,
		`SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'`)
	postgresSchema := schemaOf(t, pg.db,
		`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
		// Primary keys and UNIQUE constraints make their own indexes, as
		// SQLite's autoindexes are.
		`SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()
			AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))`)
	for _, object := range []string{"table audit_events.column hash", "table servers.index servers_source"} {
		if !sqliteSchema[object] || !postgresSchema[object] {
			t.Fatalf("%s: SQLite %v, PostgreSQL %v: the schema is not read", object, sqliteSchema[object], postgresSchema[object])
		}
	}
	// What only PostgreSQL has, and why.
	postgresOnly := map[string]string{
		"table certgov_schema":                       "the schema version (SQLite's PRAGMA user_version)",
		"table write_lock":                           "the lock writers take (SQLite's BEGIN IMMEDIATE)",
		"table confusables":                          "TR39's skeletons for certgov_canonical_name, a function in Go on SQLite",
		"table certificates.index certificates_sha1": "the index SHA-1 pins are looked up by (in SQLite, IN (subquery) builds one for the query)",
	}
	for only := range postgresOnly {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(postgresSchema)), func(o string) bool { return o == only || strings.HasPrefix(o, only+".") }) {
			t.Errorf("PostgreSQL has no %s any more: take it from postgresOnly", only)
		}
	}
	for object := range postgresSchema {
		if !sqliteSchema[object] && postgresOnly[object] == "" && postgresOnly[strings.SplitN(object, ".", 2)[0]] == "" {
			t.Errorf("only PostgreSQL has %s", object)
		}
	}
	for object := range sqliteSchema {
		if !postgresSchema[object] {
			t.Errorf("only SQLite has %s", object)
		}
	}
}

// schemaOf reads a schema as "table T.column C" and "index T.I" entries.
func schemaOf(t *testing.T, db *sql.DB, columns, indexes string) map[string]bool {
	t.Helper()
	schema := map[string]bool{}
	for kind, query := range map[string]string{"column": columns, "index": indexes} {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var table, name string
			if err := rows.Scan(&table, &name); err != nil {
				t.Fatal(err)
			}
			schema["table "+table+"."+kind+" "+name] = true
		}
		rows.Close()
	}
	return schema
}

// Opening a database whose schema is current takes no lock: a dashboard
// or a read opens while an import holds SQLite's write lock for seconds.
func TestOpenDoesNotWaitForWriters(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite's file write lock")
	ctx := context.Background()
	s, path := newSQLiteStore(t)
	holdWriteLock(t, s)
	// The busy timeout is ten seconds: an Open that waited for the lock
	// would outlast this.
	openCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	other, err := Open(openCtx, path)
	if err != nil {
		t.Fatalf("open while another connection writes: %v", err)
	}
	other.Close()
}

// holdWriteLock begins a writing transaction on a connection of its own,
// as an import does, until the test ends.
func holdWriteLock(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	writer, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.dialect.beginOn(ctx, writer); err != nil {
		writer.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		writer.ExecContext(ctx, "ROLLBACK")
		writer.Close()
	})
}
