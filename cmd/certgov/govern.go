package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

// actor names who makes a change: --as, else $CERTGOV_ACTOR, else the OS
// user.
func (a *app) actor() string {
	if a.as != "" {
		return a.as
	}
	if env := os.Getenv("CERTGOV_ACTOR"); env != "" {
		return env
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func (a *app) change(reason string) store.Change {
	return store.Change{Actor: a.actor(), Reason: reason, At: time.Now().UTC()}
}

// parseDate reads a date argument (model.ParseDay: a day means all of it).
func parseDate(s string) (time.Time, error) {
	d, err := model.ParseDay(s)
	if err != nil {
		return time.Time{}, usageError{err}
	}
	return d, nil
}

// governed runs a governance change on an open store and prints what it
// did.
func (a *app) governed(cmd *cobra.Command, do func(ctx context.Context, s *store.Store) (string, error)) error {
	return a.withStore(cmd.Context(), func(s *store.Store) error {
		msg, err := do(cmd.Context(), s)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), model.Printable(msg))
		return nil
	})
}

func newOwnerCommand(a *app) *cobra.Command {
	var reason string
	var bulk bulkFlags
	cmd := &cobra.Command{Use: "owner", Short: "Set or clear an identity's owner"}
	set := &cobra.Command{
		Use: "set REF OWNER | set --filter EXPR OWNER [--confirm N]", Short: "Set the owner (a person or team, e.g. an email)", Args: bulk.args(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[len(args)-1] == "" {
				return usageError{errors.New("the owner is empty (use owner clear)")}
			}
			return bulk.run(cmd, a, args, func(ctx context.Context, s *store.Store, ref string, rest []string) (string, error) {
				ident, err := s.SetOwner(ctx, ref, rest[0], a.change(reason))
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: owner %s", ident.Name, rest[0]), nil
			})
		},
	}
	bulk.add(set)
	clear := &cobra.Command{
		Use: "clear REF", Short: "Clear the owner", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				ident, err := s.SetOwner(ctx, args[0], "", a.change(reason))
				if err != nil {
					return "", err
				}
				return ident.Name + ": owner cleared", nil
			})
		},
	}
	for _, c := range []*cobra.Command{set, clear} {
		c.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	}
	cmd.AddCommand(set, clear)
	return cmd
}

func newExpiryCommand(a *app) *cobra.Command {
	var reason string
	var bulk bulkFlags
	cmd := &cobra.Command{Use: "expiry", Short: "Set or clear an identity's governance expiration"}
	set := &cobra.Command{
		Use: "set REF YYYY-MM-DD | set --filter EXPR YYYY-MM-DD [--confirm N]", Short: "The date by which the identity must be re-attested or retired", Args: bulk.args(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			day := args[len(args)-1]
			date, err := parseDate(day)
			if err != nil {
				return err
			}
			return bulk.run(cmd, a, args, func(ctx context.Context, s *store.Store, ref string, _ []string) (string, error) {
				ident, warning, err := s.SetExpiry(ctx, ref, date, a.change(reason))
				if err != nil {
					return "", err
				}
				if warning != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), model.Printable(warning))
				}
				return fmt.Sprintf("%s: re-attest by %s", ident.Name, day), nil
			})
		},
	}
	bulk.add(set)
	clear := &cobra.Command{
		Use: "clear REF", Short: "Clear the governance expiration", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				ident, _, err := s.SetExpiry(ctx, args[0], time.Time{}, a.change(reason))
				if err != nil {
					return "", err
				}
				return ident.Name + ": expiration cleared", nil
			})
		},
	}
	for _, c := range []*cobra.Command{set, clear} {
		c.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	}
	cmd.AddCommand(set, clear)
	return cmd
}

func newExceptionCommand(a *app) *cobra.Command {
	var reason, until, policyFile string
	var bulk bulkFlags
	cmd := &cobra.Command{
		Use:   "exception",
		Short: "Approve, reject or revoke the exception for a self-signed certificate",
		Long: `An exception is the explicit decision to trust one self-signed certificate
(by fingerprint) for its identity. An approval needs a reason and an end date
that is in the future, no later than the certificate's notAfter, and no
further than the policy maximum (90 days; "exception_max" in a policy file).
A rotated certificate needs its own exception.`,
	}
	decide := func(state model.ExceptionState) func(cmd *cobra.Command, args []string) error {
		return func(cmd *cobra.Command, args []string) error {
			var end time.Time
			if state == model.ExceptionApproved {
				if until == "" {
					return usageError{errors.New("an approval needs --until YYYY-MM-DD")}
				}
				var err error
				if end, err = parseDate(until); err != nil {
					return err
				}
			}
			if reason == "" {
				return usageError{errors.New("a decision needs --reason")}
			}
			policy, err := loadPolicy(policyFile)
			if err != nil {
				return err
			}
			return bulk.run(cmd, a, args, func(ctx context.Context, s *store.Store, ref string, _ []string) (string, error) {
				ident, cert, err := s.DecideException(ctx, ref, state, end, a.change(reason), policy)
				if err != nil {
					return "", err
				}
				msg := fmt.Sprintf("%s (%s): exception %s", ident.Name, cert.FingerprintSHA256[:16], state)
				if state == model.ExceptionApproved {
					msg += " until " + until
				}
				return msg, nil
			})
		}
	}
	for _, sub := range []struct {
		use, short string
		state      model.ExceptionState
	}{
		{"approve REF --reason TEXT --until YYYY-MM-DD", "Approve trusting the self-signed certificate until a date", model.ExceptionApproved},
		{"reject REF --reason TEXT", "Reject trusting it", model.ExceptionRejected},
		{"revoke REF --reason TEXT", "Withdraw an approval", model.ExceptionRevoked},
	} {
		c := &cobra.Command{Use: sub.use, Short: sub.short, Args: bulk.args(1), RunE: decide(sub.state)}
		bulk.add(c)
		c.Flags().StringVar(&reason, "reason", "", "why (required)")
		c.Flags().StringVar(&policyFile, "policy", "", "policy file (see certgov findings --help)")
		if sub.state == model.ExceptionApproved {
			c.Flags().StringVar(&until, "until", "", "end date, YYYY-MM-DD (required)")
		}
		cmd.AddCommand(c)
	}
	cmd.AddCommand(newExceptionListCommand(a))
	return cmd
}

// exceptionRow is one line of exception list.
type exceptionRow struct {
	Identity    string               `json:"identity"`
	Fingerprint string               `json:"fingerprint_sha256"`
	Owner       model.OptionalString `json:"owner"`
	Status      string               `json:"status"`
	Until       string               `json:"until,omitempty"`
	DecidedBy   string               `json:"decided_by,omitempty"`
	DecidedAt   string               `json:"decided_at,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	NotAfter    string               `json:"not_after"`
}

func newExceptionListCommand(a *app) *cobra.Command {
	var state string
	var output *output
	cmd := &cobra.Command{
		Use:   "list [--state approved|ended|rejected|revoked|pending] [-o table|json]",
		Short: "List the self-signed certificates' exceptions: in force, ended, refused, and those awaiting a decision",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" && (!slices.Contains(model.ExceptionStatuses, model.ExceptionState(state)) || state == string(model.ExceptionNone)) {
				return usageError{fmt.Errorf("--state %q: want approved, ended, rejected, revoked or pending", state)}
			}
			s, _, policy, err := a.openReview(cmd.Context(), "", "")
			if err != nil {
				return err
			}
			defer s.Close()
			rv, err := s.NewReview(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			rows := []exceptionRow{}
			err = rv.Each(cmd.Context(), policy, now, func(r *model.Record, _ []model.Finding) error {
				status := model.ExceptionStatus(r, now)
				if !r.Current || status == model.ExceptionNone || (state != "" && string(status) != state) {
					return nil
				}
				row := exceptionRow{Identity: r.IdentityName, Fingerprint: r.FingerprintSHA256, Owner: model.OptionalString(r.Owner), Status: string(status),
					NotAfter: r.NotAfter.UTC().Format("2006-01-02")}
				if e := r.Exception; e != nil {
					row.DecidedBy, row.DecidedAt, row.Reason = e.DecidedBy, e.DecidedAt.UTC().Format("2006-01-02"), e.Reason
					if !e.Until.IsZero() {
						row.Until = e.Until.UTC().Format("2006-01-02")
					}
				}
				rows = append(rows, row)
				return nil
			})
			if err != nil {
				return err
			}
			return output.write(cmd, a, printed{value: rows, text: func(w io.Writer, _ int) error {
				tw := newTable(w)
				fmt.Fprintln(tw, "IDENTITY\tOWNER\tSTATUS\tUNTIL\tDECIDED BY\tREASON\tFINGERPRINT")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clip(r.Identity, 36), clip(model.OrDash(string(r.Owner)), 24), r.Status, model.OrDash(r.Until),
						clip(model.OrDash(r.DecidedBy), 20), clip(model.OrDash(r.Reason), 40), r.Fingerprint[:16])
				}
				return tw.Flush()
			}})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only this status: approved (in force), ended, rejected, revoked, pending (self-signed, trusted by name, undecided)")
	output = outputFlag(cmd, "table", "json")
	return cmd
}

func newAuditCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The append-only, hash-chained audit trail"}
	var filter string
	var output *output
	logCmd := &cobra.Command{
		Use: "log [--filter TEXT] [-o table|json]", Short: "List the audit events, oldest first", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				events, err := s.AuditEvents(cmd.Context(), "")
				if err != nil {
					return err
				}
				return output.write(cmd, a, eventsMatching(events, filter))
			})
		},
	}
	logCmd.Flags().StringVar(&filter, "filter", "", "only events whose actor, OS user, action, identity, fingerprint or campaign contains TEXT")
	output = outputFlag(logCmd, "table", "json")
	verify := &cobra.Command{
		Use: "verify", Short: "Check the database file, the hash chain, and that the governance state is what the trail records: exit 0 when intact, 1 naming what is broken", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				// A chain read from a damaged file proves nothing.
				if err := s.IntegrityCheck(cmd.Context()); err != nil {
					return fmt.Errorf("the database file is damaged (PRAGMA integrity_check): %w", err)
				}
				n, head, err := s.VerifyAudit(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d events, head %s\n", n, head)
				// The governance tables must be what the trail says.
				diffs, err := s.VerifyStateFull(cmd.Context())
				if err != nil {
					return err
				}
				for _, d := range diffs {
					fmt.Fprintln(cmd.OutOrStdout(), "NOT EXPLAINED BY THE TRAIL: "+model.Printable(d.String()))
				}
				if len(diffs) > 0 {
					return fmt.Errorf("%d governance values differ from what the audit trail records: changed behind certgov's back", len(diffs))
				}
				fmt.Fprintln(cmd.OutOrStdout(), "governance state matches the audit trail")
				return nil
			})
		},
	}
	head := &cobra.Command{
		Use: "head", Short: "Print the latest event's hash, to quote in evidence", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				seq, hash, err := s.AuditHead(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %d\n", hash, seq)
				return nil
			})
		},
	}
	cmd.AddCommand(logCmd, verify, head)
	return cmd
}

// eventList is what audit log prints.
type eventList []store.Event

// eventsMatching are the events whose actor, OS user, action, identity,
// fingerprint or campaign contains filter.
func eventsMatching(events []store.Event, filter string) eventList {
	shown := eventList{}
	for _, e := range events {
		if filter == "" || containsAnyFold(filter, e.Actor, e.OSUser, e.Action, e.Identity, e.Fingerprint, e.Campaign) {
			shown = append(shown, e)
		}
	}
	return shown
}

func (shown eventList) jsonValue() (any, error) { return []store.Event(shown), nil }

func (shown eventList) writeText(w io.Writer, _ int) error {
	{
		tw := newTable(w)
		fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tIDENTITY\tBEFORE\tAFTER\tREASON")
		for _, e := range shown {
			subject := e.Identity
			if e.Campaign != "" {
				subject = strings.TrimSpace("campaign " + e.Campaign + " " + e.Identity)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Format("2006-01-02 15:04"), clip(e.ActedBy(), 40), model.Printable(e.Action),
				clip(model.OrDash(subject), 46), clip(model.OrDash(e.Before), 30), clip(model.OrDash(e.After), 40), clip(e.Reason, 40))
		}
		return tw.Flush()
	}
}

func containsAnyFold(needle string, values ...string) bool {
	for _, v := range values {
		if containsFold(v, needle) {
			return true
		}
	}
	return false
}
