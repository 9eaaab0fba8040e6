// Package store is certgov's governance database: SQLite through
// modernc.org/sqlite (pure Go), with ordered migrations, WAL and a busy
// timeout so that several certgov processes can share one file; or, for
// a team, PostgreSQL through pgx (postgres.go, team.go), the same store
// behind a small dialect seam.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// Store is an open governance database.
type Store struct {
	db      *sql.DB
	path    string // the file, or the URL without its password
	dialect dialect

	// login is the PostgreSQL session user, the actor of every change;
	// pgConfig connects the change listener (WaitForChange).
	login    string
	pgConfig *pgx.ConnConfig

	watchMu       sync.Mutex
	watch         *sql.Conn // WaitForChange's own connection (SQLite)
	listener      *pgx.Conn // WaitForChange's LISTEN connection (PostgreSQL)
	notified      int64     // notifications the listener received
	notifiedToken string    // changedToken when the listener last reported a change
	stopOnce      sync.Once
	stop          chan struct{} // closed by Close (closing)
	closeOnce     sync.Once

	// lastRelink is what the last Reindex did, for tests.
	lastRelink relinked
	warnings   []string
	// unwritable says why changes are refused (ErrReadOnly, ErrDamaged);
	// nil for a database open for reading and writing.
	unwritable error
}

// ErrReadOnly is returned for a change to a database that Open opened
// read-only, because its file or folder may not be written.
var ErrReadOnly = errors.New("the database is open read-only (its file or its folder is not writable): this command changes it")

// ErrDamaged is returned for a change to a database whose governance
// tables failed the check at open: writing to a damaged file spreads the
// damage.
var ErrDamaged = errors.New("the database is damaged (see certgov doctor): changes are refused; restore it from a backup")

// writable returns why changes are refused, if they are.
func (s *Store) writable() error { return s.unwritable }

// ReadOnly reports whether the database was opened read-only.
func (s *Store) ReadOnly() bool { return errors.Is(s.unwritable, ErrReadOnly) }

// Warnings are what Open noticed about the database that does not stop
// it from being used (a file other users may read).
func (s *Store) Warnings() []string { return s.warnings }

// Doctor checks the database file: integrity (PRAGMA integrity_check),
// the audit trail, and the file's permissions; with fix, it makes the
// database and its WAL files 0600. It returns what it found, one line
// each, and whether all is well.
func (s *Store) Doctor(ctx context.Context, fix bool) ([]string, bool) {
	var report []string
	ok := true
	if err := s.IntegrityCheck(ctx); err != nil {
		report, ok = append(report, "integrity: DAMAGED: "+err.Error()), false
	} else if s.dialect == postgresDialect {
		report = append(report, "integrity: the PostgreSQL server's (its WAL, and data checksums where the cluster has them)")
	} else {
		report = append(report, "integrity: ok")
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

// Open opens (and creates, mode 0600 in a 0700 folder) the database at
// path and brings its schema up to date. A database that exists but that
// this user may not write (the file, or the folder where SQLite keeps its
// journal; a read-only mount) is opened read-only: reads work, changes
// return ErrReadOnly. Either way the governance tables are checked
// (quickCheck); a damaged database is opened with a warning and refuses
// changes.
//
// A postgres:// URL opens a PostgreSQL team database instead (openPostgres).
func Open(ctx context.Context, path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path)
	}
	if _, err := os.Stat(path); err == nil && !writable(path) {
		return openReadOnly(ctx, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("database folder: %w", err)
	}
	// Create the file ourselves so that it never exists with wider
	// permissions than 0600; SQLite gives the -wal and -shm files the
	// permissions of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	var warnings []string
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("%s: other users may read it (mode %04o); certgov doctor --fix makes it 0600", path, perm))
	}

	db, err := sql.Open("sqlite", dsn(path, url.Values{}))
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	s := &Store{db: db, path: path, warnings: warnings}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	if err := s.checkAtOpen(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.relinkIfOlder(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return s, nil
}

// dsn is the data source name of the database at path, with extra
// parameters q.
func dsn(path string, q url.Values) string {
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals in memory: on disk they cost a write per changed
	// page. 4 MiB of page cache a connection: reads walk tables in order;
	// the import's writer takes 16 MiB (Import.Run), as it inserts at
	// random places of several indexes.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-4096)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// writable reports whether this user may write the database file and the
// folder SQLite keeps its journal (-wal, -shm) in.
func writable(path string) bool {
	return syscall.Access(path, unixWriteOK) == nil && syscall.Access(filepath.Dir(path), unixWriteOK) == nil
}

const unixWriteOK = 2 // W_OK of access(2)

// openReadOnly opens an existing database for reading only: nothing is
// migrated or written. Where the folder is not writable either, SQLite
// cannot make the shared-memory file WAL readers need, so a database
// with no pending journal is opened as immutable (nobody can change it
// there anyway).
func openReadOnly(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	if syscall.Access(filepath.Dir(path), unixWriteOK) != nil {
		if info, err := os.Stat(path + "-wal"); err != nil || info.Size() == 0 {
			q.Set("immutable", "1")
		}
	}
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	s := &Store{db: db, path: path, unwritable: ErrReadOnly}
	version, err := s.schemaVersion(ctx)
	switch {
	case err != nil:
		err = fmt.Errorf("database %s (read-only): %w", path, err)
	case version > len(migrations):
		err = fmt.Errorf("database %s: schema version %d is newer than this certgov knows (%d): upgrade certgov", path, version, len(migrations))
	case version < len(migrations):
		err = fmt.Errorf("database %s: written by an older certgov (schema %d of %d) and read-only here: open it once where it is writable to upgrade it", path, version, len(migrations))
	default:
		err = s.checkAtOpen(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// governanceTables hold what no imported file can give back: owners and
// review dates (identities), exceptions, campaigns and the audit trail.
// They are small, so checking them at every open costs milliseconds even
// at 100,000 certificates, where checking the whole file takes seconds
// (certgov doctor does that).
var governanceTables = []string{"identities", "exceptions", "campaigns", "campaign_items", "audit_events", "meta"}

// checkAtOpen runs PRAGMA quick_check over the governance tables. A
// damaged database stays open for reading, with a warning, and refuses
// changes; errors other than damage fail the open.
func (s *Store) checkAtOpen(ctx context.Context) error {
	var problems []string
	for _, table := range governanceTables {
		found, err := s.check(ctx, fmt.Sprintf("PRAGMA quick_check(%s)", table), 5)
		if err != nil {
			if isCorrupt(err) {
				problems = append(problems, table+": "+err.Error())
				continue
			}
			return fmt.Errorf("database %s: %w", s.path, err)
		}
		for _, p := range found {
			problems = append(problems, table+": "+p)
		}
	}
	if len(problems) > 0 {
		s.unwritable = ErrDamaged
		s.warnings = append(s.warnings, fmt.Sprintf("%s is DAMAGED (%s): answers may be wrong and changes are refused; run certgov doctor and restore a backup",
			s.path, strings.Join(problems, "; ")))
	}
	return nil
}

// SQLite result codes certgov tells apart (sqlite.org/rescode.html).
const (
	sqliteCorrupt          = 11
	sqliteNotADB           = 26
	sqliteConstraintUnique = 2067 // SQLITE_CONSTRAINT | 8<<8
)

// sqliteCode is the SQLite result code of err, or 0 when it has none.
func sqliteCode(err error) int {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isCorrupt reports whether err is SQLite's SQLITE_CORRUPT or
// SQLITE_NOTADB (extended codes included).
func isCorrupt(err error) bool {
	code := sqliteCode(err) & 0xff
	return code == sqliteCorrupt || code == sqliteNotADB
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
	s.watchMu.Lock()
	if s.watch != nil {
		s.watch.Close()
	}
	if s.listener != nil {
		s.listener.Close(context.Background())
	}
	s.watchMu.Unlock()
	return s.db.Close()
}

func (s *Store) init(ctx context.Context) error {
	// Settings of the file rather than the connection. page_size only
	// takes effect before the journal mode becomes WAL, and modernc
	// applies DSN pragmas in name order, so they are set here in the
	// order that works.
	for _, pragma := range []string{
		"PRAGMA page_size = 8192",
		"PRAGMA journal_mode = WAL",
	} {
		if _, err := s.db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
	}
	before, err := s.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	// A database from before the stored linked state (or its current
	// form) gets it now, once, so that its first reads are as fast as any.
	if before > 0 && before < linkedStateSchema {
		return s.Reindex(ctx, false)
	}
	return nil
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
	if s.dialect == postgresDialect {
		return s.postgresSchemaVersion(ctx, s.db)
	}
	var version int
	err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	return version, err
}

// SchemaVersion is the database schema this certgov writes.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this certgov knows (%d): upgrade certgov", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// Another process may have migrated while we waited for the lock.
		var current int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
			tx.Rollback()
			return err
		}
		if current > i {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if step := migrationSteps[i+1]; step != nil {
			if err := step(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns its complaint.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.dialect == postgresDialect {
		// The server keeps its own files consistent (WAL, checksums
		// when the cluster has them): nothing for a client to walk.
		return nil
	}
	problems, err := s.check(ctx, "PRAGMA integrity_check(20)", 20)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// check runs an integrity pragma and returns up to limit of the lines it
// reports other than "ok".
func (s *Store) check(ctx context.Context, pragma string, limit int) ([]string, error) {
	var problems []string
	err := s.eachRow(ctx, pragma, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			if line != "ok" && len(problems) < limit {
				problems = append(problems, line)
			}
		}
		return rows.Err()
	})
	return problems, err
}

// unixUTC is a time the database stores as Unix seconds.
func unixUTC(seconds int64) time.Time { return time.Unix(seconds, 0).UTC() }
