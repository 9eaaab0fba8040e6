package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"certgov/model"
	"certgov/store"
)

// S starts a campaign over what the Identities screen's filter shows,
// after a confirmation by code, with the reviewers typed in the prompt;
// the Campaign screen then shows its queue.
func TestStartCampaignFromTheDashboard(t *testing.T) {
	s := buildDemo(t)
	defer s.Close()
	m := loadedAs(t, s, "erin", 80, 24)
	m = press(t, m, "2", "/")
	m = typeText(t, m, "payments")
	m = press(t, m, "enter")
	shown := len(m.identities.order)
	if shown < 4 {
		t.Fatalf("the filter shows %d identities", shown)
	}
	m = press(t, m, "S")
	if got := screenText(m); !strings.Contains(got, "start campaign for") {
		t.Fatalf("S asks nothing:\n%s", got)
	}
	m = typeText(t, m, "2027-Q1")
	m = press(t, m, "enter", "tab", "enter")
	m = typeText(t, m, "carol,dave")
	m = press(t, m, "enter")
	got := screenText(m)
	if !strings.Contains(got, "(scope: payments)") || !strings.Contains(got, "to apply, type "+m.prompt.code) {
		t.Fatalf("the confirmation does not show the scope and its code at 80 columns:\n%s", got)
	}
	checkFits(t, m, 80, 24)
	m = confirm(t, m)

	c, err := s.CampaignByName(context.Background(), "2027-Q1")
	if err != nil {
		t.Fatalf("no campaign: %v (flash %q)", err, m.flash)
	}
	if c.Items != shown || c.Scope != "payments" || c.Due == nil || c.StartedBy != actorOn(s, "erin") {
		t.Fatalf("campaign %+v, want %d items in scope payments with a due date, started by %s", c, shown, actorOn(s, "erin"))
	}
	loads, err := s.CampaignWorkloads(context.Background(), c)
	if err != nil || len(loads) != 2 || loads[0].Items+loads[1].Items != shown {
		t.Fatalf("workloads %+v, %v: want carol and dave in turn", loads, err)
	}
	if m.screen != screenCampaign || m.campaign.campaign == nil || m.campaign.campaign.Name != "2027-Q1" {
		t.Fatalf("after the start the dashboard shows:\n%s", screenText(m))
	}
	if len(m.campaign.rows) != shown {
		t.Errorf("the queue lists %d items, want %d", len(m.campaign.rows), shown)
	}

	// A name already taken is refused, and said so.
	m = press(t, m, "2", "S")
	m = typeText(t, m, "2027-Q1")
	m = press(t, m, "enter", "tab", "enter", "enter")
	m = confirm(t, m)
	if !strings.Contains(m.flash, "refused") {
		t.Errorf("a second 2027-Q1: %q", m.flash)
	}
}

// L lists every campaign; a closed one opens read-only with its
// statement and decisions, and no key changes them.
func TestClosedCampaignIsReadOnly(t *testing.T) {
	s := buildDemo(t)
	defer s.Close()
	ctx := context.Background()
	f, _ := model.ParseFilter("selfsigned !ca")
	n, err := s.StartCampaign(ctx, "2026-Q3", time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil || n < 2 {
		t.Fatal(n, err)
	}
	var first *store.CampaignItem
	err = s.EachCampaignItem(ctx, mustCampaign(t, s, "2026-Q3"), func(it *store.CampaignItem) error {
		if first == nil {
			c := *it
			first = &c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, "2026-Q3", first.Fingerprint, store.DecisionRevoke, "replace with a CA-signed certificate", store.Change{Actor: "bob", Reason: "replace", At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseCampaign(ctx, "2026-Q3", true, store.Change{Actor: "erin", Reason: "Reviewed with the platform team; OPS-1234", At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}

	m := loadedAs(t, s, "erin", 80, 24)
	m = press(t, m, "7")
	got := screenText(m)
	if !strings.Contains(got, "No open campaign") || !strings.Contains(got, "2026-Q3") || !strings.Contains(got, "closed ") {
		t.Fatalf("without an open campaign the screen lists none:\n%s", got)
	}
	checkFits(t, m, 80, 24)
	next, cmd := m.Update(keyMsg("enter"))
	m = update(t, next.(Model), cmd())
	got = screenText(m)
	for _, want := range []string{"campaign 2026-Q3", "closed ", "by " + actorOn(s, "erin"), "statement: Reviewed with the platform team; OPS-1234", "revoke", actorOn(s, "bob"), "undecided", "read-only"} {
		if !strings.Contains(got, want) {
			t.Errorf("the closed campaign lacks %q:\n%s", want, got)
		}
	}
	if len(m.campaign.rows) != n {
		t.Errorf("it lists %d items, want all %d", len(m.campaign.rows), n)
	}
	checkFits(t, m, 80, 24)
	before := mustCampaign(t, s, "2026-Q3").Decided
	for _, k := range []string{"c", "v", "n", "space", "V"} {
		m = pressRun(t, m, k)
		if m.prompt != nil || !strings.Contains(m.flash, "read-only") {
			t.Fatalf("%s on a closed campaign: prompt %v, flash %q", k, m.prompt != nil, m.flash)
		}
	}
	if after := mustCampaign(t, s, "2026-Q3").Decided; after != before {
		t.Errorf("decisions went from %d to %d", before, after)
	}
	// L lists them again, esc goes back to the one shown.
	m = press(t, m, "L")
	if !m.campaign.listShown() {
		t.Fatal("L does not list the campaigns")
	}
	m = press(t, m, "esc")
	if m.campaign.listShown() || m.campaign.campaign.Name != "2026-Q3" {
		t.Fatal("esc does not go back to the campaign shown")
	}
}

// Two identities may share a name (a look-alike beside the real one):
// each is an item of its own in the queue, and a decision reaches the
// one chosen, not its namesake.
func TestCampaignTellsNamesakesApart(t *testing.T) {
	s := buildDemo(t)
	defer s.Close()
	ctx := context.Background()
	f, _ := model.ParseFilter("fx-rates.payments.svc")
	n, err := s.StartCampaign(ctx, "namesakes", time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]string{} // fingerprint at launch, by identity name and issuer
	err = s.EachCampaignItem(ctx, mustCampaign(t, s, "namesakes"), func(it *store.CampaignItem) error {
		items[it.Fingerprint] = it.Identity
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	namesakes := 0
	for _, name := range items {
		if name == "fx-rates.payments.svc" {
			namesakes++
		}
	}
	if namesakes != 2 {
		t.Fatalf("the demo's look-alike is gone: %d items named fx-rates.payments.svc of %d", namesakes, n)
	}
	m := loadedAs(t, s, "erin", 120, 35)
	m = press(t, m, "7")
	seen := map[string]bool{}
	for _, r := range m.campaign.rows {
		seen[r.FingerprintSHA256()] = true
	}
	if len(m.campaign.rows) != n || len(seen) != n {
		t.Fatalf("the queue lists %d rows of %d certificates, want %d items", len(m.campaign.rows), len(seen), n)
	}
	if got := screenText(m); strings.Count(got, "fx-rates.payments.svc · ") != 2 {
		t.Errorf("the namesakes are not told apart by fingerprint:\n%s", got)
	}
	for i, r := range m.campaign.rows {
		if r.IdentityName() == "fx-rates.payments.svc" && r.selfSigned {
			m.campaign.cursor = i
		}
	}
	chosen := m.campaign.selected().FingerprintSHA256()
	m = press(t, m, "v")
	m = typeText(t, m, "a look-alike of the real one")
	m = pressRun(t, m, "enter")
	err = s.EachCampaignItem(ctx, mustCampaign(t, s, "namesakes"), func(it *store.CampaignItem) error {
		if decided := it.Decision == store.DecisionRevoke; decided != (it.Fingerprint == chosen) {
			t.Errorf("%s (%s): decision %q; only %s was revoked", it.Identity, it.Fingerprint[:16], it.Decision, chosen[:16])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadedAs is the dashboard on s, loaded, acting as actor.
func loadedAs(t *testing.T, s *store.Store, actor string, width, height int) Model {
	t.Helper()
	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Actor: actor})
	m = update(t, m, tea.WindowSizeMsg{Width: width, Height: height})
	return update(t, m, m.loadCmd()())
}

// actorOn is who the audit trail names for a change made --as name: on a
// team database, the login.
func actorOn(s *store.Store, name string) string {
	if login := s.Login(); login != "" {
		return login
	}
	return name
}

// Every screen, its detail or the list it leads to, and an action's
// prompt fit 80x24 and say what they are.
func TestEveryScreenFits80x24(t *testing.T) {
	m := loaded(t, openDemo(t), 80, 24)
	for i, want := range []string{"identities", "EXPIRES", "Self-signed", "critical", ".pem", "hash-chained", "No campaign yet", "admit"} {
		key := string(rune('1' + i))
		m = press(t, m, key)
		if got := screenText(m); !strings.Contains(got, want) {
			t.Errorf("screen %s lacks %q:\n%s", key, want, got)
		}
		checkFits(t, m, 80, 24)
		m = press(t, m, "down", "enter")
		checkFits(t, m, 80, 24)
		m = press(t, m, "?")
		if lines := strings.Count(m.View().Content, "\n") + 1; lines > 24 {
			t.Errorf("help after enter on screen %s (now %v): %d lines:\n%s", key, m.screen, lines, screenText(m))
		}
		m = press(t, m, "?", "esc", "esc")
	}
	m = press(t, m, "3", "a")
	if m.prompt == nil {
		t.Fatal("a on the Exceptions screen asks nothing")
	}
	checkFits(t, m, 80, 24)
}

// The detail says where and when the servers' access logs last show the
// identity, and draws its rotation: the demo's partner gateway never saw
// one of the partners it admits.
func TestDetailShowsUsageAndRotation(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 60)
	m = press(t, m, "2", "/")
	m = typeText(t, m, "partner-umbrella-health")
	m = press(t, m, "enter")
	next, cmd := m.Update(keyMsg("enter"))
	m = update(t, next.(Model), cmd())
	got := screenText(m)
	for _, want := range []string{"Rotation (1 certificate)", "▼", "Seen at (1 server with access logs)", "partners.partner-edge.example:8444  never presented", "unused-trust"} {
		if !strings.Contains(got, want) {
			t.Errorf("the detail lacks %q:\n%s", want, got)
		}
	}
}

// The dashboard filters by usage as ls does: unseen>90d keeps the two
// partners the demo's gateway admits and never saw lately.
func TestFilterByUsage(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 40)
	m = press(t, m, "2", "/")
	m = typeText(t, m, "unseen>90d")
	m = press(t, m, "enter")
	got := screenText(m)
	for _, want := range []string{"partner-umbrella-health", "partner-wonka-retail"} {
		if !strings.Contains(got, want) {
			t.Errorf("unseen>90d lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "partner-sterling-cooper") || strings.Contains(got, "ledger") {
		t.Errorf("unseen>90d lists more:\n%s", got)
	}
}

// Rows carry the usage evidence however they are read: the first page
// (soonest expiring) as the rest. The campaign queue says when each
// item was last seen at 80 columns.
func TestRowsCarryUsage(t *testing.T) {
	s := openDemo(t)
	ds, err := LoadProgressively(context.Background(), s, model.DefaultPolicy(), time.Now(), func(*Dataset) {})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Row{}
	for i := range ds.Rows {
		byName[ds.Rows[i].IdentityName()] = &ds.Rows[i]
	}
	wonka, umbrella, duff := byName["partner-wonka-retail"], byName["partner-umbrella-health"], byName["partner-duff-beverages"]
	if wonka == nil || wonka.lastSeen == 0 || wonka.logsFrom == 0 {
		t.Errorf("partner-wonka-retail, seen 150 days ago: %+v", wonka)
	}
	if umbrella == nil || umbrella.lastSeen != 0 || umbrella.logsFrom == 0 {
		t.Errorf("partner-umbrella-health, never seen: %+v", umbrella)
	}
	if duff == nil || duff.lastSeen == 0 {
		t.Errorf("partner-duff-beverages, seen lately: %+v", duff)
	}

	b := buildDemo(t)
	f, _ := model.ParseFilter("partner-")
	if _, err := b.StartCampaign(context.Background(), "Partners", time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := loadedAs(t, b, "alice", 80, 24)
	m = press(t, m, "7")
	if got := screenText(m); !regexp.MustCompile(`partner-wonka-retail +in \d+d +seen 1\d\dd ago`).MatchString(got) {
		t.Errorf("the queue does not say when items were seen:\n%s", got)
	}
	checkFits(t, m, 80, 24)
	m = press(t, m, "/")
	m = typeText(t, m, "umbrella")
	m = press(t, m, "enter")
	if got := screenText(m); !strings.Contains(got, "never seen") {
		t.Errorf("the queue does not say an item was never seen:\n%s", got)
	}
}
