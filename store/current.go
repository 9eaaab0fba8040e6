package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"certgov/model"
)

// identityRef names an identity as the linked state orders them.
type identityRef struct{ name, key string }

// writePeriods stores when each certificate of the given identities (nil:
// all) is current, from their stored linked rows.
func writePeriods(ctx context.Context, tx *sql.Tx, identities []identityRef) error {
	insert, err := tx.PrepareContext(ctx, `INSERT INTO current_periods(identity_name, identity_key, fingerprint_sha256, not_after, period_from, period_until)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	var group []model.Certificate
	var at identityRef
	flush := func() error {
		notAfter := map[string]int64{}
		for i := range group {
			notAfter[group[i].FingerprintSHA256] = group[i].NotAfter.Unix()
		}
		for _, p := range model.CurrentPeriods(group) {
			if _, err := insert.ExecContext(ctx, at.name, at.key, p.Fingerprint, notAfter[p.Fingerprint], p.From, p.Until); err != nil {
				return err
			}
		}
		group = group[:0]
		return nil
	}
	walk := func(rows *sql.Rows) error {
		for rows.Next() {
			var ref identityRef
			var facts string
			if err := rows.Scan(&ref.name, &ref.key, &facts); err != nil {
				return err
			}
			if len(group) > 0 && ref != at {
				if err := flush(); err != nil {
					return err
				}
			}
			at = ref
			var c model.Certificate
			if err := decodeFacts(facts, &c); err != nil {
				return err
			}
			group = append(group, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(group) > 0 {
			return flush()
		}
		return nil
	}
	const order = ` ORDER BY identity_name, identity_key, not_after, fingerprint_sha256`
	if identities == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM current_periods`); err != nil {
			return err
		}
		return eachTxRow(ctx, tx, `SELECT identity_name, identity_key, facts FROM linked`+order, nil, walk)
	}
	for _, ref := range identities {
		if _, err := tx.ExecContext(ctx, `DELETE FROM current_periods WHERE identity_name = ? AND identity_key = ?`, ref.name, ref.key); err != nil {
			return err
		}
		err := eachTxRow(ctx, tx, `SELECT identity_name, identity_key, facts FROM linked WHERE identity_name = ? AND identity_key = ?`+order,
			[]any{ref.name, ref.key}, walk)
		if err != nil {
			return err
		}
	}
	return nil
}

func eachStmtRow(ctx context.Context, stmt *sql.Stmt, args []any, fn func(*sql.Rows) error) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return fn(rows)
}

func eachTxRow(ctx context.Context, tx *sql.Tx, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return fn(rows)
}

// ErrStale is returned by reads that need the stored linked state when it
// is older than the imported facts (an import is under way or was
// interrupted): the full read links from the facts instead.
var ErrStale = errors.New("the stored linked state is being updated")

// EachSoonestExpiring calls fn for the limit identities whose current
// certificate at now expires soonest, in expiry then name order (the
// dashboard's first sort), with that certificate linked, its findings and
// the identity's number of versions. It reads only those identities: the
// stored periods say which certificates are current at now.
func (rv *Review) EachSoonestExpiring(ctx context.Context, policy model.Policy, now time.Time, limit int,
	fn func(r *model.Record, findings []model.Finding, versions int) error) error {
	if !rv.stored {
		return ErrStale
	}
	at := now.Unix()
	rows, err := rv.s.db.QueryContext(ctx, `SELECT identity_name, identity_key FROM current_periods
		WHERE period_from <= ? AND ? < period_until
		ORDER BY not_after, identity_name, identity_key LIMIT ?`, at, at, limit)
	if err != nil {
		return err
	}
	var page []identityRef
	for rows.Next() {
		var ref identityRef
		if err := rows.Scan(&ref.name, &ref.key); err != nil {
			rows.Close()
			return err
		}
		page = append(page, ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	versions, err := rv.s.db.PrepareContext(ctx, `SELECT identity_key, identity_name, facts, state FROM linked
		WHERE identity_name = ? AND identity_key = ? ORDER BY not_after, fingerprint_sha256`)
	if err != nil {
		return err
	}
	defer versions.Close()
	groups := make([][]scannedRecord, len(page))
	var states []string
	for i, ref := range page {
		var group []scannedRecord
		err := eachStmtRow(ctx, versions, []any{ref.name, ref.key},
			func(rows *sql.Rows) error {
				for rows.Next() {
					group = append(group, scannedRecord{})
					r := &group[len(group)-1]
					if err := rows.Scan(&r.IdentityKey, &r.IdentityName, &r.facts, &r.linked); err != nil {
						return err
					}
					if err := r.decode(); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		if err != nil {
			return err
		}
		groups[i] = group
		for _, r := range group {
			states = append(states, r.linked)
		}
	}
	// The entries these certificates reference, and no others.
	if err := rv.loadTemplatesFor(ctx, states); err != nil {
		return err
	}
	for _, group := range groups {
		current := model.CurrentIndexFunc(len(group), func(i int) *model.Certificate { return &group[i].Certificate }, now)
		if current < 0 {
			continue
		}
		r := &group[current].Record
		rv.link(r, group[current].linked)
		r.Current = true
		if err := fn(r, rv.Findings(r, policy, now), len(group)); err != nil {
			return err
		}
	}
	return nil
}
