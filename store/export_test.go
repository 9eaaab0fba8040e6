package store

import (
	"context"
	"fmt"
	"time"
)

// ForceSchemaVersion pretends a newer certgov wrote the database.
func (s *Store) ForceSchemaVersion(ctx context.Context, v int) error {
	if s.Postgres() {
		_, err := s.db.ExecContext(ctx, `UPDATE certgov_schema SET version = ?`, v)
		return err
	}
	_, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
	return err
}

// OpenReadOnly opens a database read-only as Open does for a file this
// user may not write (which root, running the tests, always may).
func OpenReadOnly(ctx context.Context, path string) (*Store, error) { return openReadOnly(ctx, path) }

// SetWriteLockTimeout shortens the wait for the write lock, for a test
// that holds it; it returns a function that restores it.
func SetWriteLockTimeout(d time.Duration) func() {
	before := writeLockTimeout
	writeLockTimeout = d
	return func() { writeLockTimeout = before }
}

// SetEntryWindows makes walks read trust entries as the states name them
// from more than readAtOnce entries on, keeping kept templates at most;
// it returns a function that restores both.
func SetEntryWindows(readAtOnce, kept int) func() {
	beforeRead, beforeKept := entriesReadAtOnce, templatesKept
	entriesReadAtOnce, templatesKept = readAtOnce, kept
	return func() { entriesReadAtOnce, templatesKept = beforeRead, beforeKept }
}
