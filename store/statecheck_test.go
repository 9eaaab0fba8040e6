package store_test

import (
	"certgov/store/storetest"
	"errors"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"certgov/model"
	"certgov/store"
)

// Governance state is a fold of the audit trail: after real changes the
// replay explains every value; a value written straight into SQLite (an
// owner, an approved exception, a campaign decision, a deleted decision
// row) is named with what the database and the trail each say.
func TestStateIsAFoldOfTheTrail(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "a.pem", "alpha-svc", "beta-svc"))
	now := time.Now().UTC()
	ch := func(reason string) store.Change { return store.Change{Actor: "erin", Reason: reason, At: now} }
	if _, err := s.SetOwner(ctx, "alpha-svc", "ops@example.com", ch("")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SetExpiry(ctx, "beta-svc", now.AddDate(0, 0, 1).Truncate(24*time.Hour), ch("")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DecideException(ctx, "alpha-svc", model.ExceptionApproved, now.Add(12*time.Hour), ch("partner cannot rotate yet"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, "2026-Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), ch("")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, "2026-Q4", "alpha-svc", store.DecisionRevoke, "partner left", ch("partner left"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseCampaign(ctx, "2026-Q4", true, ch("reviewed with the platform team"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if diffs, err := s.VerifyState(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("after real changes: %v, %v; want the trail to explain everything", diffs, err)
	}

	reviewer := "erin" // on PostgreSQL, the login
	if s.Postgres() {
		reviewer = s.Login()
	}
	db := storetest.OpenRaw(t, s.Path())
	for _, tamper := range []struct {
		name, sql, want string
	}{
		{"owner changed", `UPDATE identities SET owner = 'mallory' WHERE name = 'alpha-svc'`, `owner of alpha-svc: the database says "mallory", the audit trail "ops@example.com"`},
		{"owner added", `UPDATE identities SET owner = 'mallory' WHERE name = 'beta-svc'`, `owner of beta-svc: the database says "mallory", the audit trail "(none)"`},
		{"exception inserted", `INSERT INTO exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
			SELECT identity_id, fingerprint_sha256, 'approved', 'ok', 4102444800, 'ciso', 1 FROM certificates c JOIN identities i ON i.id = c.identity_id WHERE i.name = 'beta-svc'`,
			`exception decision 1 of beta-svc`},
		{"decision changed", `UPDATE campaign_items SET decision = 'certify' WHERE identity = 'alpha-svc'`, `decision of campaign 2026-Q4, alpha-svc: the database says "certify by ` + reviewer},
		{"statement changed", `UPDATE campaigns SET closed_statement = 'all fine'`, `campaign of campaign 1`},
		{"exception deleted", `DELETE FROM exceptions WHERE reason = 'partner cannot rotate yet'`, `exception decision 1 of alpha-svc`},
	} {
		if _, err := db.Exec(tamper.sql); err != nil {
			t.Fatalf("%s: %v", tamper.name, err)
		}
		diffs, err := s.VerifyState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, d := range diffs {
			found = found || strings.Contains(d.String(), tamper.want)
		}
		if !found {
			t.Errorf("%s: differences %v, want one saying %q", tamper.name, diffs, tamper.want)
		}
	}
}

// A second open campaign of one name is refused as such (SQLite's
// SQLITE_CONSTRAINT_UNIQUE, told by its code, not its message).
func TestCampaignNameTaken(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "a.pem", "alpha-svc"))
	ch := store.Change{Actor: "erin", At: time.Now()}
	if _, err := s.StartCampaign(ctx, "2026-Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), ch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, "2026-Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), ch); !errors.Is(err, store.ErrCampaignExists) {
		t.Fatalf("second open campaign of one name: %v, want ErrCampaignExists", err)
	}
}
