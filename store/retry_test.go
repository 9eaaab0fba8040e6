package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"certgov/store/storetest"
)

// A change the server ends with a serialization failure or a deadlock
// runs again, and is written once; other errors are not retried.
func TestChangeRetriesSerializationFailures(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("PostgreSQL's errors, which its dialect classifies: runs in the PostgreSQL pass")
	}
	ctx := context.Background()
	s, err := Open(ctx, storetest.Location(t, filepath.Join(t.TempDir(), "retry.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	attempts := 0
	ch := Change{Actor: "erin", At: time.Now()}
	err = s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		attempts++
		switch attempts {
		case 1:
			return nil, &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		case 2:
			return nil, &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
		}
		return &Event{At: ch.At, Actor: s.authenticated(ch).Actor, Action: "test.retry"}, nil
	})
	if err != nil || attempts != 3 {
		t.Fatalf("after %d attempts: %v", attempts, err)
	}
	events, err := s.AuditEvents(ctx, "")
	if err != nil || len(events) != 1 || events[0].Action != "test.retry" {
		t.Fatalf("events %v %v", events, err)
	}
	attempts = 0
	err = s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		attempts++
		return nil, &pgconn.PgError{Code: "23505", Message: "duplicate key"}
	})
	if err == nil || attempts != 1 {
		t.Errorf("a unique violation was retried (%d attempts): %v", attempts, err)
	}
}

// A plain-text connection to another machine is warned about; a local
// one (loopback, a Unix socket) is not.
func TestPlaintextConnectionIsWarnedAbout(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("a PostgreSQL connection's: runs in the PostgreSQL pass")
	}
	s, err := Open(context.Background(), storetest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w := s.plaintextWarning(context.Background(), "db.example.com"); !strings.Contains(w, "not encrypted") || !strings.Contains(w, "sslmode=verify-full") {
		t.Errorf("no warning for a remote plain-text connection: %q", w)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "/var/run/postgresql"} {
		if w := s.plaintextWarning(context.Background(), host); w != "" {
			t.Errorf("%s: %q", host, w)
		}
	}
}
