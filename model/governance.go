package model

import (
	"fmt"
	"time"
)

// ExceptionState is a decision on a self-signed certificate's exception,
// or (ExceptionStatus) where its exception stands.
type ExceptionState string

// Exception decisions.
const (
	ExceptionApproved ExceptionState = "approved"
	ExceptionRejected ExceptionState = "rejected"
	ExceptionRevoked  ExceptionState = "revoked"
)

// Exception is the explicit decision on trusting one self-signed
// certificate, by fingerprint, for its identity.
type Exception struct {
	State     ExceptionState `json:"state"`
	Reason    string         `json:"reason"`
	Until     time.Time      `json:"-"`
	DecidedBy string         `json:"decided_by"`
	DecidedAt time.Time      `json:"-"`
}

// ActiveAt reports whether the exception approves trust at now.
func (e *Exception) ActiveAt(now time.Time) bool {
	return e != nil && e.State == ExceptionApproved && now.Before(e.Until)
}

// ExpiredAt reports whether an approval has run out at now.
func (e *Exception) ExpiredAt(now time.Time) bool {
	return e != nil && e.State == ExceptionApproved && !now.Before(e.Until)
}

// Exception statuses, as the exception filter and `exception list` name
// them: an approval in force or past its end date, a rejection or
// revocation, a self-signed certificate trusted by name that awaits a
// decision, or no exception at all.
const (
	ExceptionEnded   ExceptionState = "ended"
	ExceptionPending ExceptionState = "pending"
	ExceptionNone    ExceptionState = "none"
)

// ExceptionStatuses lists the statuses ExceptionStatus returns.
var ExceptionStatuses = []ExceptionState{ExceptionApproved, ExceptionEnded, ExceptionRejected, ExceptionRevoked, ExceptionPending, ExceptionNone}

// ExceptionStatus is where r's exception stands at now.
func ExceptionStatus(r *Record, now time.Time) ExceptionState {
	return ExceptionStatusOf(r.Exception, r.SelfSigned && r.TrustedExplicitly(), now)
}

// ExceptionStatusOf is ExceptionStatus from its parts: the latest
// decision, if any, and whether the certificate is self-signed and named
// by a trust entry (what makes it wait for one).
func ExceptionStatusOf(e *Exception, selfSignedAndNamed bool, now time.Time) ExceptionState {
	switch {
	case e.ActiveAt(now):
		return ExceptionApproved
	case e.ExpiredAt(now):
		return ExceptionEnded
	case e != nil:
		return e.State
	case selfSignedAndNamed:
		return ExceptionPending
	}
	return ExceptionNone
}

// Decision is a reviewer's decision on a campaign item.
type Decision string

// Campaign decisions.
const (
	DecisionCertify     Decision = "certify"
	DecisionRevoke      Decision = "revoke"
	DecisionNeedsChange Decision = "needs-change"
	// DecisionUndecided is recorded for the items a campaign closed with
	// --force had not decided.
	DecisionUndecided Decision = "undecided"
)

// CampaignDecision is the latest campaign decision on an identity.
type CampaignDecision struct {
	Campaign  string
	Decision  Decision // certify, revoke, needs-change
	Comment   string
	Reviewer  string
	DecidedAt time.Time
	Due       time.Time // the campaign's due date; zero when it has none
}

// ExceptionJSON is the stable JSON shape of an exception in ls output.
type ExceptionJSON struct {
	State     string `json:"state"`
	Reason    string `json:"reason"`
	Until     string `json:"until,omitempty"`
	DecidedBy string `json:"decided_by"`
	DecidedAt string `json:"decided_at"`
}

// JSON returns the exception's stable JSON shape.
func (e *Exception) JSON() *ExceptionJSON {
	if e == nil {
		return nil
	}
	j := &ExceptionJSON{State: string(e.State), Reason: e.Reason, DecidedBy: e.DecidedBy, DecidedAt: e.DecidedAt.UTC().Format(time.RFC3339)}
	if !e.Until.IsZero() {
		j.Until = e.Until.UTC().Format(time.RFC3339)
	}
	return j
}

// Values a decision may lack (MissingValueError).
const (
	ValueReason  = "a reason"
	ValueEndDate = "an end date"
	ValueComment = "a comment"
)

// MissingValueError says what a decision lacks. It states the fact only:
// the CLI adds the flag that gives the value, the dashboard asks for it.
type MissingValueError struct {
	Decision string // "an approval", "revoke", …
	Value    string // ValueReason, ValueEndDate, ValueComment
}

func (e *MissingValueError) Error() string { return e.Decision + " needs " + e.Value }

// CheckApproval applies the rules an approval must meet: a reason, and an
// end date in the future, no later than the certificate's notAfter and no
// further than the policy allows. The error says which rule failed.
func CheckApproval(c *Certificate, reason string, until, now time.Time, p Policy) error {
	switch {
	case !c.SelfSigned:
		return fmt.Errorf("%s is not self-signed: exceptions are for self-signed certificates (CA-signed ones are trusted through their CA)", c.IdentityName)
	case reason == "":
		return &MissingValueError{Decision: "an approval", Value: ValueReason}
	case until.IsZero():
		return &MissingValueError{Decision: "an approval", Value: ValueEndDate}
	case !until.After(now):
		return fmt.Errorf("the end date %s is not in the future", until.Format("2006-01-02"))
	case until.After(c.NotAfter) && !sameDay(until, c.NotAfter):
		return fmt.Errorf("the end date %s is after the day the certificate expires (%s): the exception can last until then at most",
			until.Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02 15:04 MST"))
	case until.Sub(now) > time.Duration(p.ExceptionMaxDuration):
		return fmt.Errorf("the end date %s is more than the policy's %d days away", until.Format("2006-01-02"), int(time.Duration(p.ExceptionMaxDuration).Hours()/24))
	}
	return nil
}

// ApprovalEnd is when an approval given until a date ends: that date, or
// the certificate's notAfter when the date is its last day (a date means
// the whole day, the certificate may expire earlier in it).
func ApprovalEnd(c *Certificate, until time.Time) time.Time {
	if until.After(c.NotAfter) {
		return c.NotAfter
	}
	return until
}

func sameDay(a, b time.Time) bool {
	return a.UTC().Format("2006-01-02") == b.UTC().Format("2006-01-02")
}

// CheckExpiry applies the rules of a governance expiration: not in the
// past; after the certificate's notAfter is allowed, with a warning.
func CheckExpiry(c *Certificate, date, now time.Time) (warning string, err error) {
	if !date.After(now) {
		return "", fmt.Errorf("the date %s is in the past", date.Format("2006-01-02"))
	}
	if date.After(c.NotAfter) {
		return fmt.Sprintf("warning: %s is after the certificate's notAfter %s; the certificate expires first", date.Format("2006-01-02"), c.NotAfter.Format("2006-01-02")), nil
	}
	return "", nil
}

// ParseDay reads a date a person or a spreadsheet gives: a day
// (2026-12-31 or 2026/12/31) means the whole day, so it is read as its
// last second in UTC ("until 2026-12-31" includes the 31st); a time
// (RFC 3339, or "2026-12-31 15:04:05" in UTC) is taken as given. The CLI,
// the dashboard and CSV inventories all read dates this way.
func ParseDay(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006/01/02"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.Add(24*time.Hour - time.Second), nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: write it as YYYY-MM-DD", s)
}
