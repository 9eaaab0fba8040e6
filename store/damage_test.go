package store_test

import (
	"bytes"
	"certgov/store/storetest"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"certgov/model"
	"certgov/store"
)

// governedDatabase makes a closed database with a certificate, its owner
// and the audit event that set it.
func governedDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "certgov.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	runImport(t, s, false, fileWith(t, "a.pem", "first-svc"))
	if _, err := s.SetOwner(ctx, "first-svc", "ops@example.com", store.Change{Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// A database that may not be written (a read-only file, folder or
// mount) is read without writing a byte, and a change says why it
// cannot be made.
func TestReadOnlyDatabase(t *testing.T) {
	storetest.SQLiteOnly(t, "a read-only file and folder")
	path := governedDatabase(t)
	before, _ := os.ReadFile(path)
	s, err := store.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ReadOnly() {
		t.Error("ReadOnly() = false")
	}
	var owners []string
	rv, err := s.NewReview(ctx)
	if err == nil {
		err = rv.Each(ctx, model.DefaultPolicy(), time.Now(), func(r *model.Record, _ []model.Finding) error {
			owners = append(owners, r.Owner)
			return nil
		})
	}
	if err != nil || len(owners) != 1 || owners[0] != "ops@example.com" {
		t.Fatalf("read from a read-only database: owners %q, %v", owners, err)
	}
	if _, err := s.SetOwner(ctx, "first-svc", "other", store.Change{Actor: "test", At: time.Now()}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("owner set on a read-only database: %v, want ErrReadOnly", err)
	}
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nothing := make(chan model.FileResult)
	close(nothing)
	if _, err := imp.Run(ctx, nothing, false, nil); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("import into a read-only database: %v, want ErrReadOnly", err)
	}
	s.Close()
	if after, _ := os.ReadFile(path); sha256.Sum256(after) != sha256.Sum256(before) {
		t.Error("reading a read-only database changed its file")
	}

	if os.Geteuid() != 0 { // root may write any file: Open's choice is tested where it can be
		os.Chmod(path, 0o400)
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open of a 0400 database: %v", err)
		}
		defer s.Close()
		if !s.ReadOnly() {
			t.Error("Open of a 0400 database: not read-only")
		}
	}
}

// A damaged governance table is found at open: the database stays
// readable, with a warning, and refuses changes that would spread the
// damage; doctor reports it.
func TestDamagedDatabaseIsFoundAtOpen(t *testing.T) {
	storetest.SQLiteOnly(t, "damaged pages of the file")
	path := governedDatabase(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'audit_events'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage over the table's root page, past its 8-byte header, as a
	// torn write or a bad sector leaves it.
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, int(pageSize)-8), (root-1)*pageSize+8); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("a damaged database must still open for reading and doctor: %v", err)
	}
	defer s.Close()
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "DAMAGED") || !strings.Contains(w, "audit_events") {
		t.Errorf("warnings %q, want the damaged audit_events named", w)
	}
	if _, err := s.SetOwner(ctx, "first-svc", "other", store.Change{Actor: "test", At: time.Now()}); !errors.Is(err, store.ErrDamaged) {
		t.Errorf("a change to a damaged database: %v, want ErrDamaged", err)
	}
	if report, ok := s.Doctor(ctx, false); ok {
		t.Errorf("doctor on a damaged database says all is well: %v", report)
	}
}
