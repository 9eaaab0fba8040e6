package store

import (
	"context"
	"database/sql"
	"time"
)

// Governance is what is recorded of an identity's governance: its owner
// and the date by which it must be re-attested, with where it came from.
type Governance struct {
	Owner     string
	ExpiresAt time.Time // zero when unset
	Notes     string
	Source    string
}

// ImportedGovernance maps identity keys to the governance values that
// inventory files give for any of their certificates; when several do, the
// most recently imported file wins.
func (s *Store) ImportedGovernance(ctx context.Context) (map[string]Governance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT i.identity_key, g.owner, g.expires_at, g.notes, s.path
		FROM governance_values g
		JOIN sources s ON s.id = g.source_id
		JOIN certificates c ON c.fingerprint_sha256 = g.fingerprint_sha256
		JOIN identities i ON i.id = c.identity_id
		WHERE s.superseded_at IS NULL
		ORDER BY s.imported_at, g.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Governance{}
	for rows.Next() {
		var key string
		var g Governance
		var expires sql.NullInt64
		if err := rows.Scan(&key, &g.Owner, &expires, &g.Notes, &g.Source); err != nil {
			return nil, err
		}
		if expires.Valid {
			g.ExpiresAt = time.Unix(expires.Int64, 0).UTC()
		}
		prev := out[key]
		if g.Owner == "" {
			g.Owner = prev.Owner
		}
		if g.ExpiresAt.IsZero() {
			g.ExpiresAt = prev.ExpiresAt
		}
		out[key] = g
	}
	return out, rows.Err()
}
