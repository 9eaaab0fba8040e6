package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"certgov/model"
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
			g.ExpiresAt = unixUTC(expires.Int64)
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

// Change says who makes a governance change, when and why.
type Change struct {
	// Actor is the name the change is made as (--as, else the OS user).
	// On PostgreSQL the store replaces it with the database login and
	// keeps a different name given as OnBehalfOf (authenticated).
	Actor      string
	OnBehalfOf string
	Reason     string
	At         time.Time
}

// authenticated is ch as the database records it. On PostgreSQL the
// actor is the login the server authenticated, never a name the client
// claims; a name given with --as (one that is neither the login nor the
// OS user) is kept as whom the change was made for.
func (s *Store) authenticated(ch Change) Change {
	login := s.dialect.login()
	if login == "" {
		return ch
	}
	osUser, _ := whoRuns()
	if ch.Actor != "" && ch.Actor != login && ch.Actor != osUser {
		ch.OnBehalfOf = ch.Actor
	}
	ch.Actor = login
	return ch
}

// checkFourEyes applies the four_eyes policy to a decision on the
// identity with the given id, reading its owner inside the change's
// transaction so that a concurrent owner change cannot slip past it.
//
// The rule holds when the policy file asks for it or when the database
// does (meta four_eyes, set by certgov db init --four-eyes): on a team
// database a reviewer cannot leave it out by leaving out --policy.
func checkFourEyes(ctx context.Context, tx *sql.Tx, p model.Policy, id int64, identity, decision string, ch Change) error {
	if !p.FourEyes {
		var setting string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'four_eyes'`).Scan(&setting)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if p.FourEyes = setting == "on"; !p.FourEyes {
			return nil
		}
	}
	var owner sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT owner FROM identities WHERE id = ?`, id).Scan(&owner); err != nil {
		return err
	}
	osUser, _ := whoRuns()
	return model.CheckFourEyes(p, identity, owner.String, decision, ch.Actor, ch.OnBehalfOf, osUser)
}

// separationOfDuties is the policy's separation-of-duties rules,
// tightened by what the database asks for (db init
// --separation-of-duties: meta sod_*): on a team database a reviewer
// cannot loosen them by leaving out --policy.
func separationOfDuties(ctx context.Context, tx *sql.Tx, p model.Policy) (model.SeparationOfDuties, error) {
	setting := map[string]string{}
	err := eachRowOf(ctx, tx, `SELECT key, value FROM meta WHERE key IN ('sod_sole_closer', 'sod_fast_without_comment', 'sod_decisions_per_minute')`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			setting[k] = v
		}
		return rows.Err()
	})
	perMinute, _ := strconv.Atoi(setting["sod_decisions_per_minute"])
	sod := p.SeparationOfDuties
	if sod.DecisionsPerMinute < 1 {
		sod.DecisionsPerMinute = model.FastRun // a policy made by hand, not ParsePolicy
	}
	return sod.Tightened(model.Enforcement(setting["sod_sole_closer"]), model.Enforcement(setting["sod_fast_without_comment"]), perMinute), err
}

// checkTyped refuses control and invisible characters in what a person
// typed for a change (model.TypedText), with the values the change adds
// by name ("owner", "comment", …), so that the audit trail and every
// report read as typed.
func (ch Change) checkTyped(more ...string) error {
	values := append([]string{"actor (--as)", ch.Actor, "reason", ch.Reason}, more...)
	for i := 0; i+1 < len(values); i += 2 {
		if err := model.TypedText(values[i], values[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// target resolves REF to an identity and the certificate a decision is
// about: the named certificate, or the identity's current one.
func (s *Store) target(ctx context.Context, ref string, now time.Time) (*Identity, *model.Certificate, error) {
	ident, index, err := s.Resolve(ctx, ref, now)
	if err != nil {
		return nil, nil, err
	}
	if index < 0 {
		index = ident.Current
	}
	return ident, &ident.Certificates[index], nil
}

// change runs fn and appends its audit event in one write transaction:
// no change without its event, and the before-value fn reads is the one
// it replaces (the transaction holds the write lock from its start).
//
// On PostgreSQL a transaction the server ends with a serialization
// failure or a deadlock has changed nothing and runs again, a few times.
//
// On PostgreSQL the change is made at the server's time (changeTime), which
// ch.At is set to before fn runs: the audit trigger refuses any other.
func (s *Store) change(ctx context.Context, ch *Change, fn func(tx *sql.Tx) (*Event, error)) error {
	if err := s.writable(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.changeOnce(ctx, ch, fn)
		if !s.retryable(err) || attempt == 5 {
			return s.permitted(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

func (s *Store) changeOnce(ctx context.Context, ch *Change, fn func(tx *sql.Tx) (*Event, error)) error {
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if at, ok, err := s.dialect.changeTime(ctx, tx); err != nil {
		return err
	} else if ok {
		ch.At = at
	}
	e, err := fn(tx)
	if err != nil {
		return err
	}
	e.OnBehalfOf = ch.OnBehalfOf
	if err := s.appendEvent(ctx, tx, e); err != nil {
		return err
	}
	return tx.Commit()
}

// SetOwner records the identity's owner ("" clears it). The owner stays
// with the identity across certificate rotations.
func (s *Store) SetOwner(ctx context.Context, ref, owner string, ch Change) (*Identity, error) {
	if err := ch.checkTyped("owner", owner); err != nil {
		return nil, err
	}
	ch = s.authenticated(ch)
	ident, cert, err := s.target(ctx, ref, ch.At)
	if err != nil {
		return nil, err
	}
	return ident, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var before sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT owner FROM identities WHERE id = ?`, ident.ID).Scan(&before); err != nil {
			return nil, err
		}
		var value any
		action := "owner.clear"
		if owner != "" {
			value, action = owner, "owner.set"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET owner = ? WHERE id = ?`, value, ident.ID); err != nil {
			return nil, err
		}
		return &Event{At: ch.At, Actor: ch.Actor, Action: action, Identity: ident.Name, Fingerprint: cert.FingerprintSHA256,
			Before: before.String, After: owner, Reason: ch.Reason}, nil
	})
}

// SetExpiry records the identity's governance expiration (zero clears
// it): the date by which it must be re-attested. A date in the past is
// refused; one after the certificate's notAfter comes with a warning.
func (s *Store) SetExpiry(ctx context.Context, ref string, date time.Time, ch Change) (*Identity, string, error) {
	if err := ch.checkTyped(); err != nil {
		return nil, "", err
	}
	ch = s.authenticated(ch)
	ident, cert, err := s.target(ctx, ref, ch.At)
	if err != nil {
		return nil, "", err
	}
	warning := ""
	if !date.IsZero() {
		if warning, err = model.CheckExpiry(cert, date, ch.At); err != nil {
			return nil, "", err
		}
	}
	return ident, warning, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var before sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT expires_at FROM identities WHERE id = ?`, ident.ID).Scan(&before); err != nil {
			return nil, err
		}
		var value any
		action, after := "expiry.clear", ""
		if !date.IsZero() {
			value, action, after = date.Unix(), "expiry.set", date.UTC().Format("2006-01-02")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET expires_at = ? WHERE id = ?`, value, ident.ID); err != nil {
			return nil, err
		}
		return &Event{At: ch.At, Actor: ch.Actor, Action: action, Identity: ident.Name, Fingerprint: cert.FingerprintSHA256,
			Before: dateText(before), After: after, Reason: ch.Reason}, nil
	})
}

func dateText(v sql.NullInt64) string {
	if !v.Valid {
		return ""
	}
	return unixUTC(v.Int64).Format("2006-01-02")
}

// DecideException approves, rejects or revokes the exception for a
// self-signed certificate. Approvals must meet model.CheckApproval; every
// decision needs a reason; revoking needs an approval to revoke.
func (s *Store) DecideException(ctx context.Context, ref string, state model.ExceptionState, until time.Time, ch Change, p model.Policy) (*Identity, *model.Certificate, error) {
	if err := ch.checkTyped(); err != nil {
		return nil, nil, err
	}
	ch = s.authenticated(ch)
	ident, cert, err := s.target(ctx, ref, ch.At)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case state == model.ExceptionApproved:
		if err := model.CheckApproval(cert, ch.Reason, until, ch.At, p); err != nil {
			return nil, nil, err
		}
		until = model.ApprovalEnd(cert, until)
	case ch.Reason == "":
		return nil, nil, &model.MissingValueError{Decision: "a decision", Value: model.ValueReason}
	case !cert.SelfSigned:
		return nil, nil, fmt.Errorf("%s is not self-signed: exceptions are for self-signed certificates", ident.Name)
	}
	return ident, cert, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		before, err := latestException(ctx, tx, cert.FingerprintSHA256)
		if err != nil {
			return nil, err
		}
		if state == model.ExceptionRevoked && (before == nil || before.State != model.ExceptionApproved) {
			return nil, fmt.Errorf("%s has no approved exception to revoke", ident.Name)
		}
		if state == model.ExceptionApproved {
			if err := checkFourEyes(ctx, tx, p, ident.ID, ident.Name, "approve", ch); err != nil {
				return nil, err
			}
		}
		var untilValue any
		after := string(state)
		if state == model.ExceptionApproved {
			untilValue, after = until.Unix(), string(state)+" until "+until.UTC().Format("2006-01-02")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, ident.ID, cert.FingerprintSHA256, state, ch.Reason, untilValue, ch.Actor, ch.At.Unix()); err != nil {
			return nil, err
		}
		return &Event{At: ch.At, Actor: ch.Actor, Action: exceptionActions[state],
			Identity: ident.Name, Fingerprint: cert.FingerprintSHA256, Before: exceptionText(before), After: after, Reason: ch.Reason}, nil
	})
}

// ExceptionStateOf is the decision an exception event records
// ("exception.approve" -> approved), the inverse of exceptionActions.
func ExceptionStateOf(action string) (model.ExceptionState, bool) {
	for state, a := range exceptionActions {
		if a == action {
			return state, true
		}
	}
	return "", false
}

var exceptionActions = map[model.ExceptionState]string{
	model.ExceptionApproved: "exception.approve",
	model.ExceptionRejected: "exception.reject",
	model.ExceptionRevoked:  "exception.revoke",
}

func exceptionText(e *model.Exception) string {
	switch {
	case e == nil:
		return ""
	case e.State == model.ExceptionApproved:
		return string(e.State) + " until " + e.Until.UTC().Format("2006-01-02")
	}
	return string(e.State)
}

func latestException(ctx context.Context, q execQuerier, fingerprint string) (*model.Exception, error) {
	var e model.Exception
	var until sql.NullInt64
	var at int64
	err := q.QueryRowContext(ctx, `SELECT state, reason, until, decided_by, decided_at FROM exceptions
		WHERE fingerprint_sha256 = ? ORDER BY id DESC LIMIT 1`, fingerprint).Scan(&e.State, &e.Reason, &until, &e.DecidedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if until.Valid {
		e.Until = unixUTC(until.Int64)
	}
	e.DecidedAt = unixUTC(at)
	return &e, nil
}

// exceptionsByFingerprint loads the latest decision for every certificate.
func (s *Store) exceptionsByFingerprint(ctx context.Context) (map[string]*model.Exception, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint_sha256, state, reason, until, decided_by, decided_at FROM exceptions ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*model.Exception{}
	for rows.Next() {
		var fp string
		var e model.Exception
		var until sql.NullInt64
		var at int64
		if err := rows.Scan(&fp, &e.State, &e.Reason, &until, &e.DecidedBy, &at); err != nil {
			return nil, err
		}
		if until.Valid {
			e.Until = unixUTC(until.Int64)
		}
		e.DecidedAt = unixUTC(at)
		out[fp] = &e
	}
	return out, rows.Err()
}

// reviewerGovernance loads the owners and expirations reviewers set.
func (s *Store) reviewerGovernance(ctx context.Context) (map[string]Governance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT identity_key, owner, expires_at FROM identities WHERE owner IS NOT NULL OR expires_at IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Governance{}
	for rows.Next() {
		var key string
		var owner sql.NullString
		var expires sql.NullInt64
		if err := rows.Scan(&key, &owner, &expires); err != nil {
			return nil, err
		}
		g := Governance{Owner: owner.String, Source: "reviewer"}
		if expires.Valid {
			g.ExpiresAt = unixUTC(expires.Int64)
		}
		out[key] = g
	}
	return out, rows.Err()
}
