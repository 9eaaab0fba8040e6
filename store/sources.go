package store

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"certgov/model"
)

// SourceInfo describes one imported file as it stands now.
type SourceInfo struct {
	Path          string         `json:"path"`
	Kind          string         `json:"kind"`
	ContentSHA256 string         `json:"content_sha256"`
	Certificates  int            `json:"certificates"`
	TrustEntries  int            `json:"trust_entries"`
	PrivateKeys   int            `json:"private_keys"`
	Problems      int            `json:"problems"`
	ImportedAt    time.Time      `json:"imported_at"`
	Versions      int            `json:"versions"`
	Removed       []RemovedEntry `json:"removed_entries"`
}

// RemovedEntry is a trust entry an earlier version of a file had and the
// current one lacks: drift, kept as history.
type RemovedEntry struct {
	model.TrustEntry
	RemovedAt time.Time `json:"removed_at"`
}

// Sources lists every current source with its counts and the trust
// entries its earlier versions had that it no longer has.
func (s *Store) Sources(ctx context.Context) ([]SourceInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.path, s.kind, s.content_sha256, s.certificate_count,
		(SELECT count(*) FROM trust_entries e WHERE e.source_id = s.id),
		(SELECT count(*) FROM private_keys k WHERE k.source_id = s.id),
		s.problem_count, s.imported_at,
		(SELECT count(*) FROM sources v WHERE v.path = s.path)
		FROM sources s WHERE s.superseded_at IS NULL ORDER BY s.path`)
	if err != nil {
		return nil, err
	}
	var out []SourceInfo
	for rows.Next() {
		var si SourceInfo
		var at int64
		if err := rows.Scan(&si.Path, &si.Kind, &si.ContentSHA256, &si.Certificates, &si.TrustEntries, &si.PrivateKeys, &si.Problems, &at, &si.Versions); err != nil {
			rows.Close()
			return nil, err
		}
		si.ImportedAt = unixUTC(at)
		si.Removed = []RemovedEntry{}
		out = append(out, si)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Versions > 1 {
			if out[i].Removed, err = s.removedEntries(ctx, out[i].Path); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// removedEntries walks a file's versions in the order they were imported
// and keeps the entries that disappeared and did not come back.
func (s *Store) removedEntries(ctx context.Context, path string) ([]RemovedEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT v.id, v.imported_at, e.kind, e.value, e.hash_algorithm, e.san_type, e.match, e.label, e.location
		FROM sources v LEFT JOIN trust_entries e ON e.source_id = v.id
		WHERE v.path = ? ORDER BY v.superseded_at IS NULL, v.superseded_at, v.id, e.id`, path)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type version struct {
		at      time.Time
		entries map[model.TrustEntry]bool // by the decision, without label and place
	}
	full := map[model.TrustEntry]model.TrustEntry{} // the decision as last written
	var versions []*version
	lastID := int64(-1)
	for rows.Next() {
		var id, at int64
		var kind, value, alg, sanType, match, label, location *string
		if err := rows.Scan(&id, &at, &kind, &value, &alg, &sanType, &match, &label, &location); err != nil {
			return nil, err
		}
		if id != lastID {
			versions = append(versions, &version{at: unixUTC(at), entries: map[model.TrustEntry]bool{}})
			lastID = id
		}
		if kind != nil {
			// Label and location change when lines move; the decision is
			// the same.
			key := model.TrustEntry{Kind: model.EntryKind(*kind), Value: *value, HashAlgorithm: *alg, SANType: *sanType, Match: *match}
			versions[len(versions)-1].entries[key] = true
			e := key
			e.Label, e.Location = *label, *location
			full[key] = e
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	removed := map[model.TrustEntry]time.Time{}
	for i := 1; i < len(versions); i++ {
		for e := range versions[i-1].entries {
			if !versions[i].entries[e] {
				removed[e] = versions[i].at
			}
		}
		for e := range versions[i].entries {
			delete(removed, e)
		}
	}
	out := make([]RemovedEntry, 0, len(removed))
	for key, at := range removed {
		out = append(out, RemovedEntry{TrustEntry: full[key], RemovedAt: at})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RemovedAt.Equal(out[j].RemovedAt) {
			return out[i].RemovedAt.After(out[j].RemovedAt)
		}
		return string(out[i].Kind)+out[i].Value < string(out[j].Kind)+out[j].Value
	})
	return out, nil
}

// ForgetSources ends the current sources named by key (a source key, as
// `certgov sources` lists it) or, with key empty, every source of host:
// what they held and admitted stops counting, their versions stay as
// history, and each gets its audit event. It relinks and returns the
// keys it forgot.
func (s *Store) ForgetSources(ctx context.Context, key, host string, ch Change) ([]string, error) {
	if err := ch.checkTyped(); err != nil {
		return nil, err
	}
	ch = s.authenticated(ch)
	if err := s.writable(); err != nil {
		return nil, err
	}
	query, arg := `SELECT id, path FROM sources WHERE superseded_at IS NULL AND path = ?`, key
	if key == "" {
		query, arg = `SELECT id, path FROM sources WHERE superseded_at IS NULL AND substr(path, 1, length(?)) = ?`, host+":"
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return nil, s.permitted(err)
	}
	defer tx.Rollback()
	var ids []int64
	var keys []string
	args := []any{arg}
	if key == "" {
		args = append(args, arg)
	}
	err = eachRowOf(ctx, tx, query, args, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var path string
			if err := rows.Scan(&id, &path); err != nil {
				return err
			}
			ids, keys = append(ids, id), append(keys, path)
		}
		return rows.Err()
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	for i, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE sources SET superseded_at = ? WHERE id = ?`, ch.At.Unix(), id); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO relink_pending(source_id) VALUES (?) ON CONFLICT DO NOTHING`, id); err != nil {
			return nil, err
		}
		if err := s.appendEvent(ctx, tx, &Event{At: ch.At, Actor: ch.Actor, OnBehalfOf: ch.OnBehalfOf, Action: "source.forget", Before: keys[i], Reason: ch.Reason}); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.permitted(err)
	}
	return keys, s.Reindex(ctx, false)
}
