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

// periodWriter stores when each certificate is its identity's current
// one (model.CurrentPeriods). Certificates come identity by identity, in
// the linked state's order.
type periodWriter struct {
	insert rowWriter // into current_periods, or a staging table
	at     identityRef
	group  []model.Certificate
}

// periodColumns are current_periods' columns, its key first.
const periodColumns = `not_after, identity_name, key_hash, period_from, period_until`

// newPeriodWriter writes periods into current_periods in tx by
// multi-row INSERTs (Store.bulkWriter makes the writer of a full relink).
func newPeriodWriter(tx *sql.Tx) *periodWriter {
	return &periodWriter{insert: newRowBatch(tx, `INSERT INTO current_periods(`+periodColumns+`)`, 5)}
}

// newStagedPeriodWriter writes the periods of every identity into an
// empty current_periods, in its key's order: they come in identity order,
// and inserting each at a random place of a table larger than the page
// cache took 20 s at a million certificates. They are staged in a
// temporary table, which moveStagedPeriods sorts into current_periods
// once at the end (by SQLite, in files where the caller asked for that:
// sortOnDisk). SQLite only.
func newStagedPeriodWriter(ctx context.Context, tx *sql.Tx) (*periodWriter, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE periods_staged(`+periodColumns+`)`); err != nil {
		return nil, err
	}
	return &periodWriter{insert: newRowBatch(tx, `INSERT INTO temp.periods_staged(`+periodColumns+`)`, 5)}, nil
}

func (w *periodWriter) add(ctx context.Context, ref identityRef, c *model.Certificate) error {
	if len(w.group) > 0 && ref != w.at {
		if err := w.writeGroup(ctx); err != nil {
			return err
		}
	}
	w.at = ref
	w.group = append(w.group, model.Certificate{FingerprintSHA256: c.FingerprintSHA256, NotBefore: c.NotBefore, NotAfter: c.NotAfter})
	return nil
}

func (w *periodWriter) writeGroup(ctx context.Context) error {
	keyHash := identityKeyHash(w.at.key)
	for _, p := range model.CurrentPeriods(w.group) {
		var notAfter int64
		for i := range w.group {
			if w.group[i].FingerprintSHA256 == p.Fingerprint {
				notAfter = w.group[i].NotAfter.Unix()
			}
		}
		if err := w.insert.add(ctx, notAfter, w.at.name, keyHash, p.From, p.Until); err != nil {
			return err
		}
	}
	w.group = w.group[:0]
	return nil
}

// flush writes what is queued (staged: into the staging table).
func (w *periodWriter) flush(ctx context.Context) error {
	if len(w.group) > 0 {
		if err := w.writeGroup(ctx); err != nil {
			return err
		}
	}
	return w.insert.flush(ctx)
}

// moveStagedPeriods writes what a staged periodWriter staged into
// current_periods, in its key's order, and drops the staging table.
func moveStagedPeriods(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO current_periods(`+periodColumns+`)
		SELECT `+periodColumns+` FROM temp.periods_staged
		ORDER BY not_after, identity_name COLLATE NOCASE, key_hash, period_from`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE temp.periods_staged`)
	return err
}

// rewritePeriods replaces the periods of the given identities, from their
// stored linked rows.
func rewritePeriods(ctx context.Context, tx *sql.Tx, identities []identityRef) error {
	w := newPeriodWriter(tx)
	for _, ref := range identities {
		if _, err := tx.ExecContext(ctx, `DELETE FROM current_periods WHERE key_hash = ?`, identityKeyHash(ref.key)); err != nil {
			return err
		}
		// Read whole before writing: a PostgreSQL connection runs one
		// statement at a time, and the writer flushes on the same one.
		var certs []model.Certificate
		err := eachRowOf(ctx, tx, `SELECT fingerprint_sha256, facts FROM linked WHERE identity_name = ? AND key_hash = ?
			ORDER BY not_after, fingerprint_sha256`, []any{ref.name, identityKeyHash(ref.key)}, func(rows *sql.Rows) error {
			for rows.Next() {
				var fingerprint hexFingerprint
				var facts string
				if err := rows.Scan(&fingerprint, &facts); err != nil {
					return err
				}
				var c model.Certificate
				if err := decodeFacts(string(fingerprint), facts, &c); err != nil {
					return err
				}
				certs = append(certs, c)
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for i := range certs {
			if err := w.add(ctx, ref, &certs[i]); err != nil {
				return err
			}
		}
	}
	return w.flush(ctx)
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
	// Among identities of one name expiring at the same instant, the key
	// hash orders the page: what the table's order gives.
	rows, err := rv.s.db.QueryContext(ctx, `SELECT p.identity_name, i.identity_key FROM current_periods p
		JOIN identities i ON i.key_hash = p.key_hash
		WHERE p.period_from <= ? AND ? < p.period_until
		ORDER BY p.not_after, p.identity_name, p.key_hash LIMIT ?`, at, at, limit)
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
	versions, err := rv.s.db.PrepareContext(ctx, `SELECT identity_name, fingerprint_sha256, facts, state FROM linked
		WHERE identity_name = ? AND key_hash = ? ORDER BY not_after, fingerprint_sha256`)
	if err != nil {
		return err
	}
	defer versions.Close()
	groups := make([][]scannedRecord, len(page))
	var states []string
	for i, ref := range page {
		rows, err := versions.QueryContext(ctx, ref.name, identityKeyHash(ref.key))
		if err != nil {
			return err
		}
		group, err := scanLinkedRows(rows)
		rows.Close()
		if err != nil {
			return err
		}
		groups[i] = group
		for _, r := range group {
			states = append(states, r.linked)
		}
	}
	// The entries these certificates reference, and no others.
	if err := rv.loadTemplatesFor(ctx, states, nil); err != nil {
		return err
	}
	for _, group := range groups {
		current := model.CurrentIndexFunc(len(group), func(i int) *model.Certificate { return &group[i].Certificate }, now)
		if current < 0 {
			continue
		}
		r := &group[current].Record
		rv.linkAt(r, group[current].linked, now)
		r.Current = true
		history := make([]*model.Certificate, len(group))
		for i := range group {
			history[i] = &group[i].Certificate
		}
		if err := fn(r, rv.Findings(r, history, policy, now), len(group)); err != nil {
			return err
		}
	}
	return nil
}

// scanLinkedRows reads rows of identity_name, fingerprint_sha256, facts, state.
func scanLinkedRows(rows *sql.Rows) ([]scannedRecord, error) {
	var group []scannedRecord
	for rows.Next() {
		group = append(group, scannedRecord{})
		r := &group[len(group)-1]
		if err := rows.Scan(&r.IdentityName, (*hexFingerprint)(&r.FingerprintSHA256), &r.facts, &r.linked); err != nil {
			return nil, err
		}
		if err := r.decode(nil); err != nil {
			return nil, err
		}
	}
	return group, rows.Err()
}
