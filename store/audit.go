package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"
)

// Event is one entry of the audit trail.
type Event struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Actor is the name the change was made as (--as, $CERTGOV_ACTOR,
	// else the OS user); OSUser and Host say who really ran certgov, and
	// where (empty in events from before certgov recorded them).
	Actor  string `json:"actor"`
	OSUser string `json:"os_user,omitempty"`
	Host   string `json:"host,omitempty"`
	// OnBehalfOf is the name a change was made for (--as) on a team
	// database, where Actor is the database login that made it.
	OnBehalfOf  string `json:"on_behalf_of,omitempty"`
	Action      string `json:"action"`
	Identity    string `json:"identity,omitempty"`
	Fingerprint string `json:"fingerprint_sha256,omitempty"`
	// Campaign names the campaign of a campaign event.
	Campaign string `json:"campaign,omitempty"`
	Before   string `json:"before,omitempty"`
	After    string `json:"after,omitempty"`
	Reason   string `json:"reason,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	// Format is the canonical form the hash covers (Canonical).
	Format int `json:"format"`
	// BeforeCopy marks an event a db copy brought up from a SQLite file
	// (it comes before a db.copy event): its actor is a name that file
	// recorded (--as, the OS user), not a database login. Not hashed: it
	// is read from the trail's own db.copy event.
	BeforeCopy bool `json:"before_copy,omitempty"`
}

// ActionCopy is the boundary event db copy writes on the target after
// the events it copied (CopyTo).
const ActionCopy = "db.copy"

// genesisHash is the prev_hash of the first event.
var genesisHash = strings.Repeat("0", 64)

// GenesisHash is the prev_hash of the first event: 64 zeros.
func GenesisHash() string { return genesisHash }

// eventFormat is the canonical form new events are written in.
const eventFormat = 3

// Canonical is the encoding an event's hash covers: a JSON array of every
// field but the hash, in a fixed order, the time in UTC Unix seconds,
// prev_hash always last. Format 1 (events from before certgov 7):
// [seq, at, actor, action, identity, fingerprint, before, after, reason,
// prev_hash]. Format 2 adds campaign, os_user and host before prev_hash;
// format 3 adds on_behalf_of after them.
// The hash is SHA-256 over the previous event's hash (64 hex digits, as
// text) followed by these bytes; audit.jsonl holds them one per line, so
// an auditor recomputes the chain from the file's own bytes.
func (e *Event) Canonical() []byte {
	fields := []any{e.Seq, e.At.UTC().Unix(), e.Actor, e.Action, e.Identity, e.Fingerprint, e.Before, e.After, e.Reason}
	if e.Format >= 2 {
		fields = append(fields, e.Campaign, e.OSUser, e.Host)
	}
	if e.Format >= 3 {
		fields = append(fields, e.OnBehalfOf)
	}
	b, _ := json.Marshal(append(fields, e.PrevHash))
	return b
}

// ActedBy is who made the change as a person reads it: the actor, the
// name it was made for on a team database, and who really ran certgov
// where that differs ("erin (run by root@ci-7)", "alice (on behalf of
// bob; run by alice@laptop)"). Events from before certgov recorded the
// OS user give the name alone.
func (e *Event) ActedBy() string {
	text := ActorText(e.Actor, e.OnBehalfOf, e.RunBy())
	if e.BeforeCopy {
		text += " [a name from a SQLite file, before db copy; not a login]"
	}
	return text
}

// ActorText is an actor as a person reads it, with whom it acted for and
// who really ran certgov where those are known: ActedBy, and the reports'
// reviewer and decider columns.
func ActorText(actor, onBehalfOf, runBy string) string {
	var more []string
	if onBehalfOf != "" {
		more = append(more, "on behalf of "+onBehalfOf)
	}
	if runBy != "" {
		more = append(more, "run by "+runBy)
	}
	if len(more) == 0 {
		return actor
	}
	return actor + " (" + strings.Join(more, "; ") + ")"
}

// RunBy is who really ran certgov for the event ("root@ci-7"), when that
// is not the name it was made as; "" otherwise.
func (e *Event) RunBy() string {
	if e.OSUser == "" || e.OSUser == e.Actor {
		return ""
	}
	return userAtHost(e.OSUser, e.Host)
}

// RunningAs is who runs this certgov, and where: "user@host".
func RunningAs() string { return userAtHost(whoRuns()) }

func userAtHost(user, host string) string {
	if host == "" {
		return user
	}
	return user + "@" + host
}

// CampaignOf reads a campaign event's campaign and its text (a decision's
// comment, a closer's statement): named fields since event format 2;
// before that, "campaign NAME" or "campaign NAME: comment" in the reason.
func (e *Event) CampaignOf() (name, text string) {
	if e.Format >= 2 {
		return e.Campaign, e.Reason
	}
	name, text, _ = strings.Cut(strings.TrimPrefix(e.Reason, "campaign "), ": ")
	return name, text
}

// ChainHash is the hash of an event whose canonical form is line and whose
// predecessor's hash is prev.
func ChainHash(prev string, line []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(line)
	return hex.EncodeToString(h.Sum(nil))
}

func (e *Event) computeHash() string { return ChainHash(e.PrevHash, e.Canonical()) }

// whoRuns is the OS user and host this process runs as, recorded with
// every event beside the name the change is made as.
var whoRuns = sync.OnceValues(func() (string, string) {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name, host
})

// execQuerier is what both *sql.Tx and *sql.Conn offer.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// appendEvent chains e to the trail inside the caller's transaction, so
// that a change and its event are committed together or not at all. The
// write lock taken by the transaction orders concurrent writers. On
// PostgreSQL the event is made at the server's time (changeTime).
func (s *Store) appendEvent(ctx context.Context, tx execQuerier, e *Event) error {
	if at, ok, err := s.dialect.changeTime(ctx, tx); err != nil {
		return fmt.Errorf("audit: %w", err)
	} else if ok {
		e.At = at
	}
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&e.Seq, &e.PrevHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.Seq, e.PrevHash = 0, genesisHash
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	}
	e.Seq++
	e.At = e.At.UTC().Truncate(time.Second)
	e.Format = eventFormat
	e.OSUser, e.Host = whoRuns()
	e.Hash = e.computeHash()
	err = insertEvent(ctx, tx, e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditEvents lists the trail, oldest first; identity narrows it to one
// identity's events when set.
func (s *Store) AuditEvents(ctx context.Context, identity string) ([]Event, error) {
	if identity != "" {
		return s.auditEvents(ctx, ` WHERE identity = ?`, identity)
	}
	return s.auditEvents(ctx, "")
}

// ChangesOnlyItsIdentity reports whether an event of this action changes
// nothing but the governance of the certificate it names: its identity's
// owner, expiration or exception, or a campaign decision on it. A reader
// may then read that identity again instead of everything.
func ChangesOnlyItsIdentity(action string) bool {
	switch action {
	case "owner.set", "owner.clear", "expiry.set", "expiry.clear",
		"exception.approve", "exception.reject", "exception.revoke", "campaign.decide":
		return true
	}
	return false
}

// AuditEventsAfter lists the events after the one numbered seq, oldest
// first: what changed since a reader last looked.
func (s *Store) AuditEventsAfter(ctx context.Context, seq int64) ([]Event, error) {
	return s.auditEvents(ctx, ` WHERE seq > ?`, seq)
}

func (s *Store) auditEvents(ctx context.Context, where string, args ...any) ([]Event, error) {
	events, err := collect(ctx, s.db, `SELECT `+eventColumns+` FROM audit_events`+where+` ORDER BY seq`, args, func(rows *sql.Rows) (Event, error) {
		return scanEvent(rows)
	})
	if err != nil {
		return nil, err
	}
	// Events before a db copy were made in a SQLite file, as names its
	// users gave: there is no copy event in a SQLite file itself.
	var copied int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_events WHERE action = ?`, ActionCopy).Scan(&copied); err != nil {
		return nil, err
	}
	for i := range events {
		events[i].BeforeCopy = events[i].Seq < copied
	}
	return events, nil
}

// eventColumns are the audit_events columns scanEvent and insertEvent
// read and write, in their order.
const eventColumns = `seq, at, actor, action, identity, fingerprint, before, after, reason, prev_hash, hash, format, campaign, os_user, host, on_behalf_of`

func scanEvent(rows *sql.Rows) (Event, error) {
	var e Event
	var at int64
	err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Identity, &e.Fingerprint, &e.Before, &e.After, &e.Reason, &e.PrevHash, &e.Hash, &e.Format, &e.Campaign, &e.OSUser, &e.Host, &e.OnBehalfOf)
	e.At = unixUTC(at)
	return e, err
}

// insertEvent writes e as it is, hash included.
func insertEvent(ctx context.Context, tx execQuerier, e *Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events(`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.Unix(), e.Actor, e.Action, e.Identity, e.Fingerprint, e.Before, e.After, e.Reason, e.PrevHash, e.Hash, e.Format, e.Campaign, e.OSUser, e.Host, e.OnBehalfOf)
	return err
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
	return verifyChain(events)
}

// VerifyTrail reads the trail once and checks both its chain
// (VerifyAudit) and that the governance state is what it records
// (VerifyState): what an export needs, with the events it quotes.
func (s *Store) VerifyTrail(ctx context.Context) ([]Event, []StateDifference, error) {
	events, err := s.AuditEvents(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := verifyChain(events); err != nil {
		return nil, nil, err
	}
	diffs, err := s.verifyStateOf(ctx, events, true)
	return events, diffs, err
}

// verifyChain recomputes the chain over events, oldest first.
func verifyChain(events []Event) (int, string, error) {
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
