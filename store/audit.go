package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one entry of the audit trail.
type Event struct {
	Seq         int64     `json:"seq"`
	At          time.Time `json:"at"`
	Actor       string    `json:"actor"`
	Action      string    `json:"action"`
	Identity    string    `json:"identity,omitempty"`
	Fingerprint string    `json:"fingerprint_sha256,omitempty"`
	Before      string    `json:"before,omitempty"`
	After       string    `json:"after,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	PrevHash    string    `json:"prev_hash"`
	Hash        string    `json:"hash"`
}

// genesisHash is the prev_hash of the first event.
var genesisHash = strings.Repeat("0", 64)

// canonical is the encoding an event's hash covers: every field but the
// hash, in a fixed order, times in UTC seconds.
func (e *Event) canonical() []byte {
	b, _ := json.Marshal([]any{e.Seq, e.At.UTC().Unix(), e.Actor, e.Action, e.Identity, e.Fingerprint, e.Before, e.After, e.Reason, e.PrevHash})
	return b
}

func (e *Event) computeHash() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write(e.canonical())
	return hex.EncodeToString(h.Sum(nil))
}

// execQuerier is what both *sql.Tx and *sql.Conn offer.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// appendEvent chains e to the trail inside the caller's transaction, so
// that a change and its event are committed together or not at all. The
// write lock taken by the transaction orders concurrent writers.
func appendEvent(ctx context.Context, tx execQuerier, e *Event) error {
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&e.Seq, &e.PrevHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.Seq, e.PrevHash = 0, genesisHash
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	}
	e.Seq++
	e.At = e.At.UTC().Truncate(time.Second)
	e.Hash = e.computeHash()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events(seq, at, actor, action, identity, fingerprint, before, after, reason, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.Unix(), e.Actor, e.Action, e.Identity, e.Fingerprint, e.Before, e.After, e.Reason, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditEvents lists the trail, oldest first; identity narrows it to one
// identity's events when set.
func (s *Store) AuditEvents(ctx context.Context, identity string) ([]Event, error) {
	query := `SELECT seq, at, actor, action, identity, fingerprint, before, after, reason, prev_hash, hash FROM audit_events`
	var args []any
	if identity != "" {
		query += ` WHERE identity = ?`
		args = append(args, identity)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Identity, &e.Fingerprint, &e.Before, &e.After, &e.Reason, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At = time.Unix(at, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// BrokenChainError names the first event that does not chain.
type BrokenChainError struct {
	Seq    int64
	Reason string
}

func (e *BrokenChainError) Error() string {
	return fmt.Sprintf("audit trail broken at event %d: %s", e.Seq, e.Reason)
}

// VerifyAudit recomputes the chain; it returns the number of events and
// the head hash, or a *BrokenChainError for the first event that does not
// chain (a gap, a changed field, a changed link).
func (s *Store) VerifyAudit(ctx context.Context) (int, string, error) {
	events, err := s.AuditEvents(ctx, "")
	if err != nil {
		return 0, "", err
	}
	prev, want := genesisHash, int64(1)
	for _, e := range events {
		switch {
		case e.Seq != want:
			return 0, "", &BrokenChainError{Seq: want, Reason: fmt.Sprintf("event missing (next is %d)", e.Seq)}
		case e.PrevHash != prev:
			return 0, "", &BrokenChainError{Seq: e.Seq, Reason: "its prev_hash is not the hash of the event before"}
		case e.computeHash() != e.Hash:
			return 0, "", &BrokenChainError{Seq: e.Seq, Reason: "its content does not match its hash"}
		}
		prev, want = e.Hash, want+1
	}
	return len(events), prev, nil
}

// AuditHead is the hash of the latest event (genesis when none).
func (s *Store) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, genesisHash, nil
	}
	return seq, hash, err
}
