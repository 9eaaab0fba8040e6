package store

import (
	"context"
	"database/sql"
	"time"

	"certgov/model"
)

// What evidence bundles are made of (package store/evidence renders,
// signs and verifies them): the identities with their state and findings,
// the campaign's items, the exception decisions, the audit trail.

// EachExportRecord streams what an export covers, in identity order: the
// current certificate of every identity with its findings and what each
// server's access logs say of it (Record.Usage), and, for a
// campaign, the campaign's items merged in (an item whose identity has no
// current certificate any more comes with a nil record). Both streams come
// in the same order (name, then id), so nothing is held in memory. It
// returns the findings about trust entries, known once every certificate
// was read.
func (s *Store) EachExportRecord(ctx context.Context, policy model.Policy, now time.Time, campaign *Campaign,
	fn func(r *model.Record, findings []model.Finding, item *CampaignItem) error) ([]model.Finding, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	if campaign == nil {
		err := rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
			if !r.Current {
				return nil
			}
			r.Usage = rv.usage.of(r.FingerprintSHA1)
			return fn(r, findings, nil)
		})
		if err != nil {
			return nil, err
		}
		return rv.EntryFindings(), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan *CampaignItem, 256)
	itemsErr := make(chan error, 1)
	go func() {
		defer close(items)
		itemsErr <- s.EachCampaignItem(ctx, campaign, func(it *CampaignItem) error {
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	next, more := <-items
	err = rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
		if !more || !r.Current || r.IdentityKey != next.IdentityKey {
			return nil
		}
		it := next
		next, more = <-items
		r.Usage = rv.usage.of(r.FingerprintSHA1)
		return fn(r, findings, it)
	})
	if err != nil {
		return nil, err
	}
	for ; more; next, more = <-items {
		if err := fn(nil, nil, next); err != nil {
			return nil, err
		}
	}
	if err := <-itemsErr; err != nil {
		return nil, err
	}
	return rv.EntryFindings(), nil
}

// ExceptionDecision is one decision on a self-signed certificate's
// exception, with the identity it was made for.
type ExceptionDecision struct {
	Identity    string
	Fingerprint string
	model.Exception
}

// ExceptionDecisions lists every exception decision, oldest first.
func (s *Store) ExceptionDecisions(ctx context.Context) ([]ExceptionDecision, error) {
	var out []ExceptionDecision
	err := s.eachRow(ctx, `SELECT coalesce(i.name, ''), e.fingerprint_sha256, e.state, e.reason, e.until, e.decided_by, e.decided_at
		FROM exceptions e LEFT JOIN identities i ON i.id = e.identity_id ORDER BY e.id`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var d ExceptionDecision
			var until sql.NullInt64
			var at int64
			if err := rows.Scan(&d.Identity, &d.Fingerprint, &d.State, &d.Reason, &until, &d.DecidedBy, &at); err != nil {
				return err
			}
			if until.Valid {
				d.Until = unixUTC(until.Int64)
			}
			d.DecidedAt = unixUTC(at)
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}
