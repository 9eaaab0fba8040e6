package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"certgov/model"
)

// The linked state is what linking computes from the raw facts and what
// changes only when they do: each certificate's trust references and trust
// model, whether it acts as a CA, its chain, revocation, lookalike and
// unverified-match facts, and the findings about trust entries. Reindex
// stores it after every import, so that reads take it from the database
// instead of linking every certificate again. Owners, review dates and
// exceptions change with every decision and are applied at read time, as
// are findings that depend on the clock. A read that finds the state older
// than the facts (an import that was interrupted, a database from an
// older certgov) links from the raw facts instead, without writing.

// linkerVersion changes whenever linking changes what it computes, so that
// state stored by an older certgov is never read.
const linkerVersion = 1

// linkedState is one certificate's stored linked state.
type linkedState struct {
	Trust      []model.TrustRef `json:"trust,omitempty"`
	TrustModel string           `json:"trust_model"`
	ActsAsCA   bool             `json:"acts_as_ca,omitempty"`
	Revoked    string           `json:"revoked_by,omitempty"`
	Chain      model.Chain      `json:"chain"`
	Unverified []string         `json:"unverified,omitempty"`
	Mimics     []string         `json:"mimics,omitempty"`
}

func stateOf(r *model.Record) linkedState {
	st := linkedState{Trust: r.Trust, TrustModel: r.TrustModel, ActsAsCA: r.ActsAsCA, Chain: r.Chain,
		Unverified: r.MatchesWithoutChain, Mimics: r.Mimics}
	if r.Revoked {
		st.Revoked = r.RevokedBy
	}
	return st
}

// decodeLinkedState fills r from its stored state. A certificate without
// one (imported by a run that was interrupted before the state was
// stored) cannot be here: the summary's version would not match.
func decodeLinkedState(state string, r *model.Record) {
	var st linkedState
	if state != "" {
		json.Unmarshal([]byte(state), &st)
	}
	r.Trust, r.TrustModel, r.ActsAsCA, r.Chain = st.Trust, st.TrustModel, st.ActsAsCA, st.Chain
	r.MatchesWithoutChain, r.Mimics = st.Unverified, st.Mimics
	r.Revoked, r.RevokedBy = st.Revoked != "", st.Revoked
	if r.TrustModel == "" {
		r.TrustModel = model.TrustModelUntrusted
	}
}

// factsVersion names the state of the raw facts linking reads. Facts are
// only ever added (new rows, new ids) or superseded, so the highest ids and
// the counts change with every change, and stay as they are when an import
// finds nothing new.
func (s *Store) factsVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var v [8]int64
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(max(id), 0) FROM sources), (SELECT count(*) FROM sources WHERE superseded_at IS NULL),
		(SELECT count(*) FROM certificates), (SELECT count(*) FROM certificate_sources),
		(SELECT coalesce(max(id), 0) FROM trust_entries), (SELECT count(*) FROM trust_entries),
		(SELECT coalesce(max(id), 0) FROM crls), (SELECT count(*) FROM revocations)`).Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
	return fmt.Sprint(linkerVersion, v), err
}

// loadLinkedSummary reports whether the stored linked state is current;
// if it is, it loads the entry findings and trust flag into rv.
func (s *Store) loadLinkedSummary(ctx context.Context, rv *Review) (bool, error) {
	current, err := s.factsVersion(ctx, s.db)
	if err != nil {
		return false, err
	}
	var version, summary string
	err = s.db.QueryRowContext(ctx, `SELECT version, summary FROM linked_summary WHERE id = 1`).Scan(&version, &summary)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && version != current) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var sum struct {
		TrustChecked  bool            `json:"trust_checked"`
		EntryFindings []model.Finding `json:"entry_findings"`
	}
	if err := json.Unmarshal([]byte(summary), &sum); err != nil {
		return false, nil
	}
	rv.trustChecked, rv.entryFindings = sum.TrustChecked, sum.EntryFindings
	return true, nil
}

// linkedStateOf reads one certificate's stored state.
func (s *Store) linkedStateOf(ctx context.Context, fingerprint string) string {
	var state string
	s.db.QueryRowContext(ctx, `SELECT state FROM linked WHERE fingerprint_sha256 = ?`, fingerprint).Scan(&state)
	return state
}

// Reindex recomputes the linked state of every certificate from the raw
// facts and stores it, with the findings about trust entries, in one
// transaction. Import runs it after every import that changed something;
// `certgov reindex` runs it by hand (force: even when it looks current).
func (s *Store) Reindex(ctx context.Context, force bool) error {
	rv := &Review{s: s, ctx: ctx}
	if current, err := s.loadLinkedSummary(ctx, rv); err != nil || (current && !force) {
		return err
	}
	if err := rv.loadGovernance(ctx); err != nil {
		return err
	}
	// Chain verification commits its own cache first, so that it is
	// done before this transaction takes the write lock.
	if err := rv.prepareLinking(ctx); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM linked`); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO linked(fingerprint_sha256, state) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	err = s.EachRecord(ctx, func(r *model.Record) error {
		rv.link(r, "")
		state, err := json.Marshal(stateOf(r))
		if err != nil {
			return err
		}
		_, err = stmt.ExecContext(ctx, r.FingerprintSHA256, string(state))
		return err
	})
	if err != nil {
		return err
	}
	summary, err := json.Marshal(map[string]any{"trust_checked": rv.trustChecked, "entry_findings": rv.EntryFindings()})
	if err != nil {
		return err
	}
	version, err := s.factsVersion(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO linked_summary(id, version, summary) VALUES (1, ?, ?)`, version, string(summary)); err != nil {
		return err
	}
	return tx.Commit()
}
