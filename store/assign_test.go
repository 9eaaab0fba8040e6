package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
)

// assigned is each item's reviewer in a campaign, by identity.
func assigned(t *testing.T, s *store.Store, campaign string) map[string]string {
	t.Helper()
	c, err := s.CampaignByName(ctx, campaign)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = s.EachCampaignItem(ctx, c, func(it *store.CampaignItem) error {
		out[it.Identity] = it.Assignee
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A campaign gives each item the reviewer of its owner's team, the rest in
// turn; only that reviewer decides an item; the campaign's starter
// reassigns and a reviewer hands their own item on; the audit trail
// explains every reviewer, and a reviewer written past certgov is a
// difference.
func TestAssignedItemsAreTheirReviewersAlone(t *testing.T) {
	storetest.SQLiteOnly(t, "names who acts by --as; the PostgreSQL pass runs TestTeamAssignment with logins")
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "/items.pem", "pay-api", "pay-batch", "crm-sync", "orphan-1", "orphan-2"))
	at := time.Now()
	ch := func(actor string) store.Change { return store.Change{Actor: actor, At: at} }
	for ref, owner := range map[string]string{"pay-api": "payments@example.com", "pay-batch": "Payments@Example.com", "crm-sync": "ops@crm.example.com"} {
		if _, err := s.SetOwner(ctx, ref, owner, ch("erin")); err != nil {
			t.Fatal(err)
		}
	}
	assign := model.Assignment{
		Rules:      []model.AssignRule{{Owner: "payments@example.com", Reviewer: "alice"}, {Owner: "@crm.example.com", Reviewer: "bob"}},
		RoundRobin: []string{"carol", "dave"},
	}
	if _, err := s.StartCampaign(ctx, "Q4", time.Time{}, nil, assign, model.DefaultPolicy(), ch("erin")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pay-api": "alice", "pay-batch": "alice", "crm-sync": "bob", "orphan-1": "carol", "orphan-2": "dave"}
	if got := assigned(t, s, "Q4"); !equalMaps(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}

	var notAssigned *store.NotAssignedError
	if _, err := s.Decide(ctx, "Q4", "pay-api", store.DecisionCertify, "checked with the team", ch("bob"), model.DefaultPolicy()); !errors.As(err, &notAssigned) || notAssigned.Assignee != "alice" {
		t.Fatalf("bob decided alice's item: %v", err)
	}
	if _, err := s.Decide(ctx, "Q4", "pay-api", store.DecisionCertify, "checked with the team", ch("alice"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	// Only the starter, or the item's reviewer, hands an item on.
	if _, err := s.Reassign(ctx, "Q4", "crm-sync", "mallory", ch("mallory")); err == nil {
		t.Fatal("mallory took bob's item")
	}
	if _, err := s.Reassign(ctx, "Q4", "crm-sync", "alice", store.Change{Actor: "bob", At: at, Reason: "on leave"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reassign(ctx, "Q4", "orphan-1", "", ch("erin")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, "Q4", "orphan-1", store.DecisionRevoke, "nobody knows it", ch("zoe"), model.DefaultPolicy()); err != nil {
		t.Fatalf("an item left to anyone: %v", err)
	}
	if _, err := s.Decide(ctx, "Q4", "crm-sync", store.DecisionCertify, "checked with the team", ch("bob"), model.DefaultPolicy()); !errors.As(err, &notAssigned) {
		t.Fatalf("bob decided the item he handed on: %v", err)
	}

	// alice's own items, undecided first.
	var mine []string
	err := s.EachAssignedItem(ctx, "alice", func(it *store.CampaignItem) error {
		mine = append(mine, it.Identity+":"+model.OrDash(string(it.Decision)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(mine, " "); got != "crm-sync:- pay-batch:- pay-api:certify" {
		t.Errorf("alice's items: %s", got)
	}
	events, err := s.AuditEvents(ctx, "crm-sync")
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != "campaign.assign" || last.Actor != "bob" || last.Before != "bob" || last.After != "alice" || last.Reason != "on leave" {
		t.Errorf("the delegation's event: %+v", last)
	}
	if diffs, err := s.VerifyStateFull(ctx); err != nil || len(diffs) > 0 {
		t.Fatalf("state: %v %v", diffs, err)
	}

	// Written past certgov: a reassigned item, and one assigned at launch.
	raw := storetest.OpenRaw(t, s.Path())
	before := assigned(t, s, "Q4")
	for _, forged := range []struct{ identity, what string }{{"crm-sync", "reviewer assigned"}, {"orphan-2", "reviewers assigned"}} {
		if _, err := raw.Exec(`UPDATE campaign_items SET assignee = 'mallory' WHERE identity = ?`, forged.identity); err != nil {
			t.Fatal(err)
		}
		diffs, err := s.VerifyState(ctx)
		if err != nil || len(diffs) != 1 || diffs[0].What != forged.what {
			t.Errorf("%s given to mallory: %v %v", forged.identity, diffs, err)
		}
		if _, err := raw.Exec(`UPDATE campaign_items SET assignee = ? WHERE identity = ?`, before[forged.identity], forged.identity); err != nil {
			t.Fatal(err)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// On a team database the database itself lets only the assigned login
// decide an item, and only the campaign's starter or the item's reviewer
// reassign it, whatever a client sends.
func TestTeamAssignment(t *testing.T) {
	admin := teamDatabase(t, team)
	alice, bob := openAs(t, admin, "alice"), openAs(t, admin, "bob")
	assign := model.Assignment{RoundRobin: []string{"alice", "bob"}}
	if _, err := alice.StartCampaign(ctx, "Q4", time.Time{}, nil, assign, model.DefaultPolicy(), store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	items := assigned(t, alice, "Q4")
	var bobs, alices string
	for identity, reviewer := range items {
		switch {
		case reviewer == "bob" && bobs == "":
			bobs = identity
		case reviewer == "alice" && alices == "" && identity != "svc-0": // alice owns svc-0
			alices = identity
		}
	}
	if bobs == "" || alices == "" {
		t.Fatalf("assigned %v", items)
	}
	var notAssigned *store.NotAssignedError
	if _, err := alice.Decide(ctx, "Q4", bobs, store.DecisionCertify, "checked with the team", store.Change{At: time.Now()}, model.DefaultPolicy()); !errors.As(err, &notAssigned) {
		t.Fatalf("alice decided bob's item: %v", err)
	}
	bobConn := rawAs(t, admin, "bob")
	for _, st := range []string{
		// bob decides alice's item, or takes it, past certgov.
		`UPDATE campaign_items SET decision = 'certify', reviewer = 'bob', decided_at = certgov_now() WHERE identity = '` + alices + `'`,
		`UPDATE campaign_items SET assignee = 'bob' WHERE identity = '` + alices + `'`,
		// A reassignment that also decides.
		`UPDATE campaign_items SET assignee = 'alice', decision = 'certify' WHERE identity = '` + bobs + `'`,
	} {
		if _, err := bobConn.ExecContext(ctx, st); err == nil {
			t.Errorf("%s: accepted", st)
		}
	}
	// bob hands his item to alice (delegation), who decides it.
	if _, err := bob.Reassign(ctx, "Q4", bobs, "alice", store.Change{At: time.Now(), Reason: "on leave"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Decide(ctx, "Q4", bobs, store.DecisionCertify, "checked with the team", store.Change{At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if diffs, err := openAs(t, admin, "audrey").VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state: %v %v", diffs, err)
	}
}
