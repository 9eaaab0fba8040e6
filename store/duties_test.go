package store_test

import (
	"errors"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
)

// Under a policy that refuses: a reviewer deciding faster than the policy
// allows says what they checked, and whoever made every decision does not
// also close. Observed (the default), both go through.
func TestSeparationOfDuties(t *testing.T) {
	storetest.SQLiteOnly(t, "names who acts by --as; the PostgreSQL pass runs TestTeamSeparationOfDuties with logins")
	// The items expire in days: not "expiring" (high) here, so that
	// certifying one needs no comment for that.
	observed := model.DefaultPolicy()
	observed.ExpiringWithin = model.Duration(time.Hour)
	strict := observed
	strict.SeparationOfDuties = model.SeparationOfDuties{SoleCloser: model.Refuse, DecisionsPerMinute: 2, FastWithoutComment: model.Refuse}
	for _, c := range []struct {
		name   string
		policy model.Policy
		refuse bool
	}{{"refused", strict, true}, {"observed", observed, false}} {
		t.Run(c.name, func(t *testing.T) {
			s := openTemp(t)
			runImport(t, s, false, fileWith(t, "/items.pem", "svc-a", "svc-b", "svc-c", "svc-d"))
			at := time.Now()
			alice := store.Change{Actor: "alice", At: at}
			if _, err := s.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, c.policy, alice); err != nil {
				t.Fatal(err)
			}
			var sepErr *model.SeparationError
			for i, ref := range []string{"svc-a", "svc-b", "svc-c"} {
				alice.At = at.Add(time.Duration(i) * 10 * time.Second)
				_, err := s.Decide(ctx, "Q4", ref, store.DecisionRevoke, "retired", alice, c.policy)
				if err != nil {
					t.Fatal(err)
				}
			}
			// The fourth decision within a minute, without a comment.
			alice.At = at.Add(30 * time.Second)
			_, err := s.Decide(ctx, "Q4", "svc-d", store.DecisionCertify, "", alice, c.policy)
			if got := errors.As(err, &sepErr); got != c.refuse || (!c.refuse && err != nil) {
				t.Fatalf("a fourth decision within a minute without a comment: %v", err)
			}
			if c.refuse {
				if _, err := s.Decide(ctx, "Q4", "svc-d", store.DecisionCertify, "owner confirmed in OPS-7", alice, c.policy); err != nil {
					t.Fatal(err)
				}
			}
			_, err = s.CloseCampaign(ctx, "Q4", false, store.Change{Actor: "alice", At: at.Add(time.Minute), Reason: "done"}, c.policy)
			if got := errors.As(err, &sepErr); got != c.refuse || (!c.refuse && err != nil) {
				t.Fatalf("alice closing what she alone decided: %v", err)
			}
			if c.refuse {
				if _, err := s.CloseCampaign(ctx, "Q4", false, store.Change{Actor: "bob", At: at.Add(time.Minute), Reason: "read alice's decisions"}, c.policy); err != nil {
					t.Fatal(err)
				}
			}
			if diffs, err := s.VerifyState(ctx); err != nil || len(diffs) > 0 {
				t.Fatalf("state: %v %v", diffs, err)
			}
		})
	}
}

// db init --separation-of-duties makes the database refuse both, whatever
// policy the client brings, and a closed campaign is never changed.
func TestTeamSeparationOfDuties(t *testing.T) {
	setup := team
	setup.DecisionsPerMinute = 2
	admin := teamDatabase(t, setup)
	alice, bob := openAs(t, admin, "alice"), openAs(t, admin, "bob")
	loose := model.DefaultPolicy() // observe: the database still refuses
	loose.ExpiringWithin = model.Duration(time.Hour)
	if _, err := alice.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, loose, store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"svc-1", "svc-2"} {
		if _, err := alice.Decide(ctx, "Q4", ref, store.DecisionRevoke, "retired", store.Change{At: time.Now()}, loose); err != nil {
			t.Fatal(err)
		}
	}
	var sepErr *model.SeparationError
	if _, err := alice.Decide(ctx, "Q4", "svc-3", store.DecisionCertify, "", store.Change{At: time.Now()}, loose); !errors.As(err, &sepErr) {
		t.Fatalf("a third decision within a minute without a comment: %v", err)
	}
	conn := rawAs(t, admin, "alice")
	for _, st := range []string{
		`UPDATE campaign_items SET decision = 'certify', reviewer = 'alice', decided_at = certgov_now() WHERE identity = 'svc-3'`,
		`UPDATE campaigns SET closed_at = certgov_now(), closed_by = 'alice'`,
		`UPDATE campaigns SET closed_at = certgov_now(), closed_by = 'bob'`,
		`UPDATE campaigns SET scope = 'svc-1'`,
	} {
		if _, err := conn.ExecContext(ctx, st); err == nil {
			t.Errorf("%s: accepted", st)
		}
	}
	if _, err := alice.CloseCampaign(ctx, "Q4", true, store.Change{At: time.Now()}, loose); !errors.As(err, &sepErr) {
		t.Fatalf("alice closing what she alone decided: %v", err)
	}
	if _, err := bob.CloseCampaign(ctx, "Q4", true, store.Change{At: time.Now(), Reason: "read alice's decisions"}, loose); err != nil {
		t.Fatal(err)
	}
	if _, err := rawAs(t, admin, "bob").ExecContext(ctx, `UPDATE campaigns SET closed_statement = 'nothing to see'`); err == nil {
		t.Error("a closed campaign was changed")
	}
	if diffs, err := openAs(t, admin, "audrey").VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state: %v %v", diffs, err)
	}
}
