package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certgov/store/storetest"
)

// A campaign for the demo's teams: each owner's identities go to the
// team's reviewer from an assignment file, the unowned ones in turn to
// two more; each reviewer lists their own items, another's item is
// refused, a reviewer hands one on, and the trail explains it all.
func TestCampaignAssignedByTeam(t *testing.T) {
	storetest.SQLiteOnly(t, "reviewers act --as; the PostgreSQL pass checks assignment with logins (store's TestTeamAssignment)")
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", filepath.Join(home, "data", "certgov", "demo.db"))
	teams := filepath.Join(home, "teams.txt")
	os.WriteFile(teams, []byte("# owner team = its reviewer\npayments-oncall@example.com=alice\n@example.com = bob\n"), 0o600)
	r := certgov(t, "campaign", "start", "Q4", "--filter", "!ca", "--assign-file", teams, "--round-robin", "carol,dave", "--as", "erin")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, want := range []string{"alice: 0 of ", "bob: 0 of ", "carol: 0 of ", "dave: 0 of "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("start says %q, want %q in it", r.stdout, want)
		}
	}
	mine := func(who string) (items []struct{ Identity, Assignee, Campaign string }) {
		t.Helper()
		r := certgov(t, "review", "--mine", "-o", "json", "--as", who)
		var out struct {
			Reviewer string
			Items    []struct{ Identity, Assignee, Campaign string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Reviewer != who {
			t.Fatalf("review --mine as %s: %v %s %s", who, err, r.stdout, r.stderr)
		}
		return out.Items
	}
	alices := mine("alice")
	if len(alices) == 0 || len(mine("carol")) == 0 {
		t.Fatalf("alice has %d items, carol %d", len(alices), len(mine("carol")))
	}
	for _, it := range alices {
		if it.Assignee != "alice" || it.Campaign != "Q4" {
			t.Fatalf("alice's list holds %+v", it)
		}
	}
	item := alices[0].Identity
	r = certgov(t, "review", item, "--campaign", "Q4", "--decision", "certify", "--comment", "looks fine", "--as", "bob")
	if r.code == 0 || !strings.Contains(r.stderr, "assigned to alice") {
		t.Fatalf("bob decided alice's item: %d %s", r.code, r.stderr)
	}
	if r = certgov(t, "campaign", "assign", "Q4", item, "--to", "bob", "--reason", "alice is on leave", "--as", "mallory"); r.code == 0 {
		t.Fatal("mallory reassigned alice's item")
	}
	if r = certgov(t, "campaign", "assign", "Q4", item, "--to", "bob", "--reason", "alice is on leave", "--as", "alice"); r.code != 0 || !strings.Contains(r.stdout, "now reviewed by bob") {
		t.Fatalf("alice handing her item on: %s %s", r.stdout, r.stderr)
	}
	if r = certgov(t, "review", item, "--campaign", "Q4", "--decision", "certify", "--comment", "looks fine", "--as", "bob"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if len(mine("alice")) != len(alices)-1 {
		t.Errorf("alice still lists the item she handed on")
	}
	r = certgov(t, "campaign", "status", "Q4")
	if !strings.Contains(r.stdout, "ASSIGNED") || !strings.Contains(r.stdout, "bob: 1 of ") {
		t.Errorf("status:\n%s", r.stdout)
	}
	if r = certgov(t, "doctor"); r.code != 0 {
		t.Errorf("doctor after the campaign: %s %s", r.stdout, r.stderr)
	}
	// Due tomorrow: the digest reminds each reviewer of their items and
	// tells erin, who started it, about everyone's.
	if r = certgov(t, "campaign", "start", "Q4-soon", "--filter", "!ca", "--due", time.Now().AddDate(0, 0, 1).Format(time.DateOnly), "--round-robin", "carol", "--as", "erin"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := filepath.Join(home, "digests")
	if r = certgov(t, "digest", "--out", out); r.code != 0 {
		t.Fatal(r.stderr)
	}
	carol, _ := os.ReadFile(filepath.Join(out, "carol.md"))
	erin, _ := os.ReadFile(filepath.Join(out, "erin.md"))
	if !strings.Contains(string(carol), "campaign Q4-soon: ") || !strings.Contains(string(carol), "of yours to decide, due ") || !strings.Contains(string(carol), "certgov review --mine --campaign Q4-soon") {
		t.Errorf("carol's digest:\n%s", carol)
	}
	if !strings.Contains(string(erin), "campaign Q4-soon: carol has ") {
		t.Errorf("erin's digest:\n%s", erin)
	}

	// Under a policy whose sole_closer refuses, whoever decided every item
	// does not also close.
	policy := filepath.Join(home, "policy.json")
	os.WriteFile(policy, []byte(`{"separation_of_duties": {"sole_closer": "refuse"}}`), 0o600)
	certgov(t, "campaign", "start", "Q4-vault", "--filter", "card-vault", "--as", "erin")
	var status struct {
		Items []struct{ Identity string } `json:"items"`
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "Q4-vault", "-o", "json").stdout), &status)
	if len(status.Items) == 0 {
		t.Fatal("no card-vault identities")
	}
	for _, it := range status.Items {
		if r = certgov(t, "review", it.Identity, "--campaign", "Q4-vault", "--decision", "needs-change", "--comment", "rotate to the CA", "--as", "erin"); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	if r = certgov(t, "campaign", "close", "Q4-vault", "--policy", policy, "--as", "erin"); r.code == 0 || !strings.Contains(r.stderr, "sole_closer") {
		t.Fatalf("erin closed what she alone decided: %d %s", r.code, r.stderr)
	}
	if r = certgov(t, "campaign", "close", "Q4-vault", "--policy", policy, "--as", "bob"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// What no one could be is refused before anything starts.
	if r = certgov(t, "campaign", "start", "Q4-bad", "--assign", "payments-oncall@example.com=two words"); r.code == 0 {
		t.Error("a reviewer named with a space was accepted")
	}
}
