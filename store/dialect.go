package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// A dialect is everything that differs between the databases certgov
// keeps its store in; the rest of the package is written once, in the SQL
// both accept (? placeholders, COLLATE NOCASE, json_group_array: the
// PostgreSQL schema defines what SQLite has built in).
//
// Adding a backend is one file (a type implementing dialect, and its
// opener in backends) plus its SQL in each entry of migrations;
// TestMigrationsCoverEveryDialect and TestSchemasAgree say what is
// missing.
//
// A dialect value belongs to one open Store: it keeps that store's
// connections of its own (the change watch).
type dialect interface {
	// name is how migrations and messages call the dialect.
	name() string

	// schemaVersion is the schema's version, 0 for a database certgov
	// has not initialised; q is the pool or a migration's transaction.
	schemaVersion(ctx context.Context, q execQuerier) (int, error)
	// lockMigrations runs first in the migrations' transaction: it
	// waits out other migrators.
	lockMigrations(ctx context.Context, tx *sql.Tx) error
	// initialise prepares a database certgov has not initialised and
	// returns the version its migrations start after: a dialect may
	// start at a baseline that creates the schema of that version at
	// once, the versions before it history it never had.
	initialise(ctx context.Context, tx *sql.Tx) (int, error)
	// migration is the dialect's part of a migration entry.
	migration(m migration) migrationStep
	// baseline is the first version whose migration the dialect runs:
	// it creates the schema of that version at once.
	baseline() int
	// setSchemaVersion records the version the migrations reached.
	setSchemaVersion(ctx context.Context, tx *sql.Tx, version int) error

	// lockWrites runs first in every writing transaction begun with
	// BeginTx, so that writers run one at a time.
	lockWrites(ctx context.Context, q execQuerier) error
	// beginOn starts a writing transaction by statement on conn (the
	// import commits and begins again on one connection).
	beginOn(ctx context.Context, conn *sql.Conn) error
	// tuneWriter gives a connection about to write at random places of
	// large indexes the settings that make it fast; restore takes them
	// back before the connection returns to the pool.
	tuneWriter(ctx context.Context, conn *sql.Conn) (restore func(), err error)
	// changeTime is the time a change in tx is made at when the database
	// sets it (ok); otherwise the caller's clock is used.
	changeTime(ctx context.Context, tx execQuerier) (at time.Time, ok bool, err error)
	// login is the database login that makes every change, "" where the
	// database does not authenticate its users (the actor is then the
	// name given and the OS user).
	login() string

	// classify says what a driver error means to certgov.
	classify(err error) errorClass
	// integrity checks the database's own structures; it returns what it
	// checked, or an error naming the damage.
	integrity(ctx context.Context, db *sql.DB) (string, error)
	// waitForChange is WaitForChange on this dialect (see there).
	waitForChange(ctx context.Context, db *sql.DB, since int64, poll time.Duration) (int64, error)
	// recordQuery is recordQuery as this dialect runs it fast.
	recordQuery() string
	// fromHex is the SQL expression for the bytes the lowercase hex
	// expression hex spells (the linked table keeps fingerprints so).
	fromHex(hex string) string
	// close releases the dialect's own connections.
	close()
}

// backends are the databases a --db location can name, the first whose
// accepts says yes opening it; SQLite files are the default.
var backends = []struct {
	accepts func(location string) bool
	open    func(ctx context.Context, location string) (*Store, error)
	dialect dialect // a value of its dialect, for the checks of migrations
}{
	{IsPostgres, openPostgres, &postgresDialect{}},
	{func(string) bool { return true }, openSQLite, &sqliteDialect{}},
}

// errorClass is what a driver error means to certgov.
type errorClass int

const (
	otherError       errorClass = iota
	uniqueViolation             // a UNIQUE constraint refused the row
	retryableError              // the transaction changed nothing and may simply run again
	permissionDenied            // the login's role does not allow the statement
	corruptDatabase             // the database's file is damaged
)

func (s *Store) isUniqueViolation(err error) bool { return s.dialect.classify(err) == uniqueViolation }
func (s *Store) retryable(err error) bool         { return s.dialect.classify(err) == retryableError }
func (s *Store) isPermissionDenied(err error) bool {
	return s.dialect.classify(err) == permissionDenied
}
func (s *Store) isCorrupt(err error) bool { return s.dialect.classify(err) == corruptDatabase }

// migrationStep is one dialect's part of a migration: its statements, and
// a Go step run after them in the same transaction.
type migrationStep struct {
	sql   string
	after func(ctx context.Context, tx *sql.Tx) error
	// unchanged, instead of statements, says why this dialect needs
	// nothing at this version.
	unchanged string
}

// migrate brings the schema to len(migrations) in one transaction: every
// pending version, or none. It returns the version found before.
func (s *Store) migrate(ctx context.Context) (before int, err error) {
	// A current schema is read without a transaction: a writing one would
	// wait for every other writer (an import holds SQLite's write lock
	// for seconds) just to find nothing to do.
	if before, err = s.dialect.schemaVersion(ctx, s.db); err != nil || before == len(migrations) {
		return before, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := s.dialect.lockMigrations(ctx, tx); err != nil {
		return 0, err
	}
	// Read under the lock: another process may have migrated while this
	// one waited.
	before, err = s.dialect.schemaVersion(ctx, tx)
	if err != nil {
		return 0, err
	}
	if before > len(migrations) {
		return 0, fmt.Errorf("schema version %d is newer than this certgov knows (%d): upgrade certgov", before, len(migrations))
	}
	from := before
	if before == 0 {
		if from, err = s.dialect.initialise(ctx, tx); err != nil {
			return 0, err
		}
	}
	if from == len(migrations) {
		return before, nil
	}
	for v := from + 1; v <= len(migrations); v++ {
		step := s.dialect.migration(migrations[v-1])
		if step.unchanged != "" && step.sql == "" && step.after == nil {
			continue
		}
		// A version without statements would be recorded as applied
		// having changed nothing: refuse it rather than run "", unless
		// it says why (unchanged).
		if strings.TrimSpace(step.sql) == "" {
			return 0, fmt.Errorf("migration %d has no %s statements", v, s.dialect.name())
		}
		if _, err := tx.ExecContext(ctx, step.sql); err != nil {
			return 0, fmt.Errorf("migration %d: %w", v, err)
		}
		if step.after != nil {
			if err := step.after(ctx, tx); err != nil {
				return 0, fmt.Errorf("migration %d: %w", v, err)
			}
		}
	}
	if err := s.dialect.setSchemaVersion(ctx, tx, len(migrations)); err != nil {
		return 0, err
	}
	return before, tx.Commit()
}

// beginTx starts a writing transaction, the write lock taken.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, error) { return s.beginTxOn(ctx, s.db) }

// beginTxOn is beginTx on a connection of the caller's (or the pool).
func (s *Store) beginTxOn(ctx context.Context, on interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}) (*sql.Tx, error) {
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := s.dialect.lockWrites(ctx, tx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}
