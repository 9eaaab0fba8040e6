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
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

// sqliteDialect is a SQLite file through modernc.org/sqlite (pure Go),
// in WAL mode with a busy timeout so that several certgov processes can
// share it. Its writers take the file's write lock as they begin
// (BEGIN IMMEDIATE, the DSN's _txlock).
type sqliteDialect struct {
	watch *sql.Conn // WaitForChange's own connection: PRAGMA data_version is per connection
}

func (*sqliteDialect) name() string { return "sqlite" }

func (*sqliteDialect) migration(m migration) migrationStep { return m.sqlite }

func (*sqliteDialect) baseline() int { return 1 }

func (*sqliteDialect) schemaVersion(ctx context.Context, q execQuerier) (int, error) {
	var version int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version)
	return version, err
}

// lockMigrations has nothing to do: the migrations' transaction began
// IMMEDIATE, holding the file's write lock.
func (*sqliteDialect) lockMigrations(context.Context, *sql.Tx) error { return nil }

// initialise has nothing to do: a new file runs every migration.
func (*sqliteDialect) initialise(context.Context, *sql.Tx) (int, error) { return 0, nil }

func (*sqliteDialect) setSchemaVersion(ctx context.Context, tx *sql.Tx, version int) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version))
	return err
}

func (*sqliteDialect) lockWrites(context.Context, execQuerier) error { return nil }

func (*sqliteDialect) beginOn(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	return err
}

// sortOnDisk makes SQLite sort on conn in temporary files until restore
// is called (it must be, before conn goes back to the pool). Connections
// keep temporary data in memory (dsn), which for CREATE INDEX means
// every key at once: building linked_fingerprint over a million
// certificates took 240 MB more than in files. It must be set outside a
// transaction: within one it is only partly in effect.
func sortOnDisk(ctx context.Context, conn *sql.Conn) (restore func(), err error) {
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return nil, err
	}
	return func() { conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY") }, nil
}

// readerCacheSize is every connection's page cache but a writer's
// (tuneWriter): 1 MiB, in SQLite's terms (negative: KiB). Reads walk
// tables in order and a read holds three or four connections: with 4 MiB
// each, a read of a million certificates peaked 10 MB higher and was no
// faster (findings -o json 83 → 73 MB; the 100k import 16.0 → 15.6 s).
const readerCacheSize = -1024

// tuneWriter gives the connection 16 MiB of page cache instead of 1:
// inserts at random places of several indexes otherwise read the same
// pages again and again. It also lets the WAL grow to 512 MiB before the
// connection checkpoints it, instead of about 8 MiB: a batch of random
// inserts dirties more than 1,000 pages, so every commit was followed by
// a checkpoint that copied each page back into the database and synced
// both files, although the next commits would dirty most of the same
// pages again (a first import of a million certificates loaded in 185 s
// instead of 293). Commits stay atomic and the database consistent; a
// power cut may lose more of the last commits, as synchronous=NORMAL
// already allows. restore checkpoints, truncating the WAL so that its
// 512 MiB go back to the disk, and puts the defaults back before the
// connection returns to the pool.
func (*sqliteDialect) tuneWriter(ctx context.Context, conn *sql.Conn) (restore func(), err error) {
	for _, pragma := range []string{"PRAGMA cache_size = -16384", "PRAGMA wal_autocheckpoint = 65536"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return nil, err
		}
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		conn.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", readerCacheSize))
		conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 1000")
	}, nil
}

func (*sqliteDialect) changeTime(context.Context, execQuerier) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

func (*sqliteDialect) login() string { return "" }

// SQLite result codes certgov tells apart (sqlite.org/rescode.html).
const (
	sqliteCorrupt          = 11
	sqliteNotADB           = 26
	sqliteConstraintUnique = 2067 // SQLITE_CONSTRAINT | 8<<8
)

func (*sqliteDialect) classify(err error) errorClass {
	var e interface{ Code() int }
	if !errors.As(err, &e) {
		return otherError
	}
	switch code := e.Code(); {
	case code == sqliteConstraintUnique:
		return uniqueViolation
	case code&0xff == sqliteCorrupt || code&0xff == sqliteNotADB: // extended codes included
		return corruptDatabase
	}
	return otherError
}

// integrity runs PRAGMA integrity_check over the whole file.
func (*sqliteDialect) integrity(ctx context.Context, db *sql.DB) (string, error) {
	problems, err := pragmaCheck(ctx, db, "PRAGMA integrity_check(20)", 20)
	if err != nil {
		return "", err
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return "ok", nil
}

// pragmaCheck runs an integrity pragma and returns up to limit of the
// lines it reports other than "ok".
func pragmaCheck(ctx context.Context, db *sql.DB, pragma string, limit int) ([]string, error) {
	lines, err := collect(ctx, db, pragma, nil, func(rows *sql.Rows) (string, error) {
		var line string
		err := rows.Scan(&line)
		return line, err
	})
	var problems []string
	for _, line := range lines {
		if line != "ok" && len(problems) < limit {
			problems = append(problems, line)
		}
	}
	return problems, err
}

// waitForChange asks every poll: PRAGMA data_version changes when another
// connection commits.
func (d *sqliteDialect) waitForChange(ctx context.Context, db *sql.DB, since int64, poll time.Duration) (int64, error) {
	if d.watch == nil {
		conn, err := db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		d.watch = conn
	}
	for {
		var v int64
		if err := d.watch.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil || v != since {
			return v, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func (*sqliteDialect) recordQuery() string { return recordQuery }

func (*sqliteDialect) fromHex(hex string) string { return "unhex(" + hex + ")" }

func (d *sqliteDialect) close() {
	if d.watch != nil {
		d.watch.Close()
	}
}

// openSQLite opens (and creates, mode 0600 in a 0700 folder) the database at
// path and brings its schema up to date. A database that exists but that
// this user may not write (the file, or the folder where SQLite keeps its
// journal; a read-only mount) is opened read-only: reads work, changes
// return ErrReadOnly. Either way the governance tables are checked
// (quickCheck); a damaged database is opened with a warning and refuses
// changes.
func openSQLite(ctx context.Context, path string) (*Store, error) {
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
	s := &Store{db: db, path: path, dialect: &sqliteDialect{}, warnings: warnings}
	if err := s.initSQLite(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	s.startCheck(ctx, s.checkAtOpen)
	if err := s.relinkIfOlder(ctx); err != nil {
		s.Close()
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
	// page. 1 MiB of page cache a connection (readerCacheSize); the
	// import's writer takes 16 MiB (tuneWriter).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", readerCacheSize))
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
	s := &Store{db: db, path: path, dialect: &sqliteDialect{}, unwritable: ErrReadOnly}
	version, err := s.schemaVersion(ctx)
	switch {
	case err != nil:
		err = fmt.Errorf("database %s (read-only): %w", path, err)
	case version > len(migrations):
		err = fmt.Errorf("database %s: schema version %d is newer than this certgov knows (%d): upgrade certgov", path, version, len(migrations))
	case version < len(migrations):
		err = fmt.Errorf("database %s: written by an older certgov (schema %d of %d) and read-only here: open it once where it is writable to upgrade it", path, version, len(migrations))
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s.startCheck(ctx, s.checkAtOpen)
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
// changes; so does one whose check failed (it may be damaged).
func (s *Store) checkAtOpen(ctx context.Context) (warning string, refusal error) {
	var problems []string
	for _, table := range governanceTables {
		found, err := pragmaCheck(ctx, s.db, fmt.Sprintf("PRAGMA quick_check(%s)", table), 5)
		if err != nil {
			if s.isCorrupt(err) {
				problems = append(problems, table+": "+err.Error())
				continue
			}
			err = fmt.Errorf("database %s: checking it at open: %w", s.path, err)
			return err.Error() + ": changes are refused", err
		}
		for _, p := range found {
			problems = append(problems, table+": "+p)
		}
	}
	if len(problems) > 0 {
		return fmt.Sprintf("%s is DAMAGED (%s): answers may be wrong and changes are refused; run certgov doctor and restore a backup",
			s.path, strings.Join(problems, "; ")), ErrDamaged
	}
	return "", nil
}

// initSQLite sets the file's settings and brings its schema up to date.
func (s *Store) initSQLite(ctx context.Context) error {
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
	before, err := s.migrate(ctx)
	if err != nil {
		return err
	}
	// A database from before the stored linked state (or its current
	// form) gets it now, once, so that its first reads are as fast as any.
	if before > 0 && before < linkedStateSchema {
		return s.Reindex(ctx, false)
	}
	return nil
}
