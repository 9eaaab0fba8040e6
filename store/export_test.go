package store

import (
	"context"
	"fmt"
)

// ForceSchemaVersion pretends a newer certgov wrote the database.
func (s *Store) ForceSchemaVersion(ctx context.Context, v int) error {
	_, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
	return err
}
