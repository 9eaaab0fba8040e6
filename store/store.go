// Package store is certgov's governance database: a SQLite file
// (sqlite.go) or, for a team, PostgreSQL (postgres.go, team.go), the same
// store behind one dialect interface (dialect.go) and one list of
// migrations carrying both dialects' SQL (migrations.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Store is an open governance database.
type Store struct {
	db      *sql.DB
	path    string  // the file, or the URL without its password
	dialect dialect // what differs between the databases (dialect.go)

	watchMu   sync.Mutex // one WaitForChange at a time: the dialect's watch is one connection
	stopOnce  sync.Once
	stop      chan struct{} // closed by Close (closing)
	closeOnce sync.Once

	// lastRelink is what the last Reindex did, for tests.
	lastRelink relinked
	warnings   []string
	// unwritable says why changes are refused (ErrReadOnly); nil for a
	// database open for reading and writing.
	unwritable error
	// check is the check of the governance tables at open, which runs
	// beside the first reads (startCheck).
	check *openCheck
}

// openCheck is a check run at open. Changes and Warnings wait for it.
type openCheck struct {
	done    chan struct{} // closed when the check has ended
	stop    context.CancelFunc
	refusal error  // why changes are refused after it: ErrDamaged, or the check failed
	warning string // what it found, for Warnings
}

// startCheck runs check beside whatever the store is asked next: a
// million certificates' identities take 0.23 s to check, a dashboard's
// first page 0.17 s to read. check returns a warning and why changes
// must be refused.
func (s *Store) startCheck(ctx context.Context, check func(context.Context) (warning string, refusal error)) {
	ctx, stop := context.WithCancel(ctx)
	c := &openCheck{done: make(chan struct{}), stop: stop}
	s.check = c
	go func() {
		defer close(c.done)
		c.warning, c.refusal = check(ctx)
	}()
}

// awaitCheck waits for the check at open, if there is one, and returns it.
func (s *Store) awaitCheck() openCheck {
	if s.check == nil {
		return openCheck{}
	}
	<-s.check.done
	return *s.check
}

// Checked is closed when the check at open has ended: Warnings then
// answers at once.
func (s *Store) Checked() <-chan struct{} {
	if s.check == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return s.check.done
}

// ErrReadOnly is returned for a change to a database that Open opened
// read-only, because its file or folder may not be written.
var ErrReadOnly = errors.New("the database is open read-only (its file or its folder is not writable): this command changes it")

// ErrDamaged is returned for a change to a database whose governance
// tables failed the check at open: writing to a damaged file spreads the
// damage.
var ErrDamaged = errors.New("the database is damaged (see certgov doctor): changes are refused; restore it from a backup")

// writable returns why changes are refused, if they are. It waits for
// the check at open: writing to a damaged file spreads the damage.
func (s *Store) writable() error {
	if c := s.awaitCheck(); c.refusal != nil {
		return c.refusal
	}
	return s.unwritable
}

// ReadOnly reports whether the database was opened read-only.
func (s *Store) ReadOnly() bool { return errors.Is(s.unwritable, ErrReadOnly) }

// Warnings are what Open noticed about the database that does not stop
// it from being used (a file other users may read, damage that refuses
// changes). It waits for the check at open (Checked).
func (s *Store) Warnings() []string {
	warnings := s.warnings
	if c := s.awaitCheck(); c.warning != "" {
		warnings = append(warnings[:len(warnings):len(warnings)], c.warning)
	}
	return warnings
}

// Doctor checks the database file: integrity (PRAGMA integrity_check),
// the audit trail, and the file's permissions; with fix, it makes the
// database and its WAL files 0600. It returns what it found, one line
// each, and whether all is well.
func (s *Store) Doctor(ctx context.Context, fix bool) ([]string, bool) {
	var report []string
	ok := true
	if checked, err := s.dialect.integrity(ctx, s.db); err != nil {
		report, ok = append(report, "integrity: DAMAGED: "+err.Error()), false
	} else {
		report = append(report, "integrity: "+checked)
	}
	if n, _, err := s.VerifyAudit(ctx); err != nil {
		report, ok = append(report, "audit trail: BROKEN: "+err.Error()), false
	} else {
		report = append(report, fmt.Sprintf("audit trail: intact (%d events)", n))
		switch diffs, err := s.VerifyStateFull(ctx); {
		case err != nil:
			report, ok = append(report, "governance state: cannot check: "+err.Error()), false
		case len(diffs) > 0:
			report, ok = append(report, fmt.Sprintf("governance state: %d values the audit trail does not explain (certgov audit verify lists them)", len(diffs))), false
		default:
			report = append(report, "governance state: matches the audit trail")
		}
	}
	switch diffs, err := s.VerifyDerived(ctx); {
	case err != nil:
		report, ok = append(report, "linked state: cannot check: "+err.Error()), false
	case len(diffs) > 0:
		report, ok = append(report, fmt.Sprintf("linked state: %d certificates differ from what linking their facts gives (first: %s); certgov reindex rebuilds it", len(diffs), diffs[0])), false
	default:
		report = append(report, "linked state: what linking the facts gives")
	}
	for _, path := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		perm := info.Mode().Perm()
		switch {
		case perm&0o077 == 0:
			report = append(report, fmt.Sprintf("%s: mode %04o ok", path, perm))
		case fix:
			if err := os.Chmod(path, 0o600); err != nil {
				report, ok = append(report, fmt.Sprintf("%s: mode %04o, cannot make it 0600: %v", path, perm, err)), false
			} else {
				report = append(report, fmt.Sprintf("%s: mode %04o, now 0600", path, perm))
			}
		default:
			report, ok = append(report, fmt.Sprintf("%s: mode %04o: other users may read it (--fix makes it 0600)", path, perm)), false
		}
	}
	return report, ok
}

// DefaultPath is $XDG_DATA_HOME/certgov/certgov.db, falling back to
// ~/.local/share/certgov/certgov.db.
func DefaultPath(name string) (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home folder for the default database: %w (use --db)", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "certgov", name), nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// closing is closed when the store is: it ends WaitForChange.
func (s *Store) closing() chan struct{} {
	s.stopOnce.Do(func() { s.stop = make(chan struct{}) })
	return s.stop
}

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing()) })
	if s.check != nil {
		s.check.stop()
		<-s.check.done
	}
	s.watchMu.Lock()
	s.dialect.close()
	s.watchMu.Unlock()
	return s.db.Close()
}

// relinkIfOlder relinks a database whose linked state an older certgov
// computed, once, instead of leaving every read to link in memory.
func (s *Store) relinkIfOlder(ctx context.Context) error {
	var stored int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM linked_summary WHERE id = 1`).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case stored != linkerVersion && s.writable() == nil:
		return s.Reindex(ctx, false)
	}
	return nil
}

// linkedStateSchema is the last migration that changed the stored linked
// state's tables.
const linkedStateSchema = 6

func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	return s.dialect.schemaVersion(ctx, s.db)
}

// SchemaVersion is the database schema this certgov writes.
func SchemaVersion() int { return len(migrations) }

// IntegrityCheck checks the database's own structures (SQLite's PRAGMA
// integrity_check) and returns the damage it found.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	_, err := s.dialect.integrity(ctx, s.db)
	return err
}

// Open opens the database at location: a PostgreSQL team database for a
// postgres:// URL (IsPostgres), else a SQLite file (openSQLite), the
// first of backends that accepts it. Its schema is brought up to date.
func Open(ctx context.Context, location string) (*Store, error) {
	for _, b := range backends {
		if b.accepts(location) {
			return b.open(ctx, location)
		}
	}
	return nil, fmt.Errorf("database %s: no backend reads it", RedactURL(location))
}

// unixUTC is a time the database stores as Unix seconds.
func unixUTC(seconds int64) time.Time { return time.Unix(seconds, 0).UTC() }
