package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certgov/store/storetest"
)

// newSQLiteStore opens a new SQLite database in the test's folder, closed
// when the test ends.
func newSQLiteStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "certgov.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestWriterCheckpointsLateAndGivesItsSettingsBack: a writer's connection
// leaves the pages of many commits in the WAL rather than copying them
// back after each, and when it is done it empties the WAL and gives the
// pool's defaults back, so that the next writer, and the disk, are as
// before.
func TestWriterCheckpointsLateAndGivesItsSettingsBack(t *testing.T) {
	storetest.SQLiteOnly(t, "PostgreSQL has no WAL of its own to tune")
	ctx := context.Background()
	s, path := newSQLiteStore(t)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pragma := func(name string) int {
		t.Helper()
		var v int
		if err := conn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	defaults := [2]int{pragma("cache_size"), pragma("wal_autocheckpoint")}
	if defaults != [2]int{readerCacheSize, 1000} {
		t.Fatalf("a pooled connection has cache_size and wal_autocheckpoint %v, want %v", defaults, [2]int{readerCacheSize, 1000})
	}

	restore, err := s.dialect.tuneWriter(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE filler(page BLOB)`); err != nil {
		t.Fatal(err)
	}
	// 300 commits of a few pages each: 1,200 pages or more, past the
	// default's checkpoint at 1,000.
	page := strings.Repeat("x", 7000)
	for range 300 {
		if _, err := conn.ExecContext(ctx, `INSERT INTO filler(page) VALUES (?), (?), (?)`, page, page, page); err != nil {
			t.Fatal(err)
		}
	}
	var busy, logged, checkpointed int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &checkpointed); err != nil {
		t.Fatal(err)
	}
	if logged < 1200 {
		t.Errorf("the writer's WAL held %d pages at the end: it was checkpointed on the way", logged)
	}

	restore()
	if got := [2]int{pragma("cache_size"), pragma("wal_autocheckpoint")}; got != defaults {
		t.Errorf("after the writer, cache_size and wal_autocheckpoint are %v, want %v", got, defaults)
	}
	if n := walSize(); n != 0 {
		t.Errorf("after the writer, the WAL holds %d bytes, want it truncated", n)
	}
	var rows int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM filler`).Scan(&rows); err != nil || rows != 900 {
		t.Fatalf("%d rows (%v) after the checkpoint, want 900", rows, err)
	}
}
