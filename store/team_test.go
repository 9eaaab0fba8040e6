package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
)

// teamDatabase is a PostgreSQL database set up by its administrator with
// db init: alice and bob review, audrey audits, ci imports. It holds one
// import of ten identities; alice owns svc-0.
func teamDatabase(t testing.TB, setup store.TeamSetup) string {
	t.Helper()
	if !storetest.Postgres() {
		t.Skip("team mode is a PostgreSQL database's: runs in the PostgreSQL pass")
	}
	admin := storetest.NewDatabase(t)
	if _, err := store.InitPostgres(ctx, admin, setup); err != nil {
		t.Fatal(err)
	}
	ci := openAs(t, admin, "ci")
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("svc-%d", i))
	}
	runImport(t, ci, false, fileWith(t, "/team.pem", names...))
	if _, err := openAs(t, admin, "alice").SetOwner(ctx, "svc-0", "alice", store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return admin
}

func openAs(t testing.TB, location, login string) *store.Store {
	t.Helper()
	s, err := store.Open(ctx, storetest.As(t, location, login))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var team = store.TeamSetup{Importers: []string{"ci"}, Reviewers: []string{"alice", "bob"}, Auditors: []string{"audrey"}}

// Two reviewers, logged in as themselves, certify at the same time; the
// trail names each login even where --as claims someone else; the auditor
// reads and verifies but changes nothing.
func TestTeamReviewersAndAuditor(t *testing.T) {
	admin := teamDatabase(t, team)
	alice, bob, audrey := openAs(t, admin, "alice"), openAs(t, admin, "bob"), openAs(t, admin, "audrey")
	if _, err := alice.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 1; i < 10; i++ {
		reviewer, claim := alice, "carol" // alice claims to be carol
		if i%2 == 0 {
			reviewer, claim = bob, ""
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := reviewer.Decide(ctx, "Q4", fmt.Sprintf("svc-%d", i), store.DecisionCertify, "checked with the team", store.Change{Actor: claim, At: time.Now()}, model.DefaultPolicy())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	events, err := audrey.AuditEvents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, e := range events {
		if e.Action == "campaign.decide" {
			by[e.Actor+"/"+e.OnBehalfOf]++
		}
	}
	if by["alice/carol"] != 5 || by["bob/"] != 4 || len(by) != 2 {
		t.Errorf("decisions by login/on behalf of: %v; want alice/carol 5, bob 4", by)
	}
	if n, _, err := audrey.VerifyAudit(ctx); err != nil || n != len(events) {
		t.Errorf("the auditor's verify: %d events, %v", n, err)
	}
	if diffs, err := audrey.VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state: %v %v", diffs, err)
	}
	_, err = audrey.SetOwner(ctx, "svc-1", "audrey", store.Change{At: time.Now()})
	var refused *store.NotPermittedError
	if !errors.As(err, &refused) || refused.Login != "audrey" {
		t.Errorf("an auditor changed an owner: %v", err)
	}
	if _, _, err := audrey.DecideException(ctx, "svc-1", model.ExceptionRejected, time.Time{}, store.Change{Reason: "x", At: time.Now()}, model.DefaultPolicy()); !errors.As(err, &refused) {
		t.Errorf("an auditor decided an exception: %v", err)
	}
	// A reviewer imports nothing.
	imp, err := bob.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan model.FileResult, 1)
	results <- fileWith(t, "/bob.pem", "svc-bob")
	close(results)
	if _, err := imp.Run(ctx, results, false, nil); !errors.As(err, &refused) {
		t.Errorf("a reviewer imported: %v", err)
	}
	// Nobody edits the trail, not even through SQL.
	raw := storetest.OpenRaw(t, storetest.As(t, admin, "alice"))
	if _, err := raw.Exec(`UPDATE audit_events SET reason = 'x' WHERE seq = 1`); err == nil {
		t.Error("a reviewer updated an audit event")
	}
	if _, err := raw.Exec(`INSERT INTO audit_events(seq, at, actor, action, identity, fingerprint, before, after, reason, prev_hash, hash)
		SELECT seq + 1, 0, 'bob', 'x', '', '', '', '', '', hash, 'h' FROM audit_events ORDER BY seq DESC LIMIT 1`); err == nil {
		t.Error("alice wrote an event in bob's name")
	}
}

// With four_eyes in the database, an owner may not certify or approve
// their own identity, whatever policy the reviewer passes; another
// reviewer may.
func TestTeamFourEyes(t *testing.T) {
	setup := team
	setup.FourEyes = true
	admin := teamDatabase(t, setup)
	alice, bob := openAs(t, admin, "alice"), openAs(t, admin, "bob")
	if _, err := alice.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var fourEyes *model.FourEyesError
	if _, err := alice.Decide(ctx, "Q4", "svc-0", store.DecisionCertify, "checked with the team", store.Change{At: time.Now()}, model.DefaultPolicy()); !errors.As(err, &fourEyes) {
		t.Errorf("the owner certified her own identity: %v", err)
	}
	if _, err := bob.Decide(ctx, "Q4", "svc-0", store.DecisionCertify, "checked with the team", store.Change{Actor: "alice", At: time.Now()}, model.DefaultPolicy()); !errors.As(err, &fourEyes) {
		t.Errorf("bob certified on behalf of the owner: %v", err)
	}
	if _, err := bob.Decide(ctx, "Q4", "svc-0", store.DecisionCertify, "checked with the team", store.Change{At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Errorf("another reviewer could not certify: %v", err)
	}
	// Revoking is no conflict of interest.
	if _, err := alice.Decide(ctx, "Q4", "svc-0", store.DecisionRevoke, "retired", store.Change{At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Errorf("the owner could not revoke: %v", err)
	}
}

// A SQLite database copied up keeps every event and its hash: the chain
// verifies on the target, to the same head.
func TestCopyUpKeepsTheChain(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("copies up to PostgreSQL: runs in the PostgreSQL pass")
	}
	local, err := store.Open(ctx, filepath.Join(t.TempDir(), "local.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	runImport(t, local, false, fileWith(t, "/a.pem", "alpha-svc", "beta-svc"))
	for i, owner := range []string{"ops@example.com", "sre@example.com"} {
		if _, err := local.SetOwner(ctx, []string{"alpha-svc", "beta-svc"}[i], owner, store.Change{Actor: "erin", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	n, head, err := local.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := storetest.NewDatabase(t)
	if _, err := store.InitPostgres(ctx, target, team); err != nil {
		t.Fatal(err)
	}
	if _, err := local.CopyTo(ctx, target); err != nil {
		t.Fatal(err)
	}
	up := openAs(t, target, "audrey")
	upN, _, err := up.VerifyAudit(ctx)
	if err != nil || upN != n+1 {
		t.Fatalf("on the target: %d events (%v); here %d, and the copy adds its own", upN, err, n)
	}
	// The copied events keep their hashes up to the source's head; the
	// db.copy event after them names that head and the file, and marks
	// the names before it as the file's, not logins.
	events, err := up.AuditEvents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	boundary := events[n]
	if events[n-1].Hash != head || boundary.Action != store.ActionCopy || boundary.Before != head || !strings.Contains(boundary.After, "source_sha256") {
		t.Errorf("after the copied events: %+v", boundary)
	}
	for _, e := range events[:n] {
		if !e.BeforeCopy || !strings.Contains(e.ActedBy(), "not a login") {
			t.Errorf("copied event %d reads as a login's: %q", e.Seq, e.ActedBy())
		}
	}
	if diffs, err := up.VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state on the target: %v %v", diffs, err)
	}
	// The chain goes on from the copied head, in the login's name.
	alice := openAs(t, target, "alice")
	if _, err := alice.SetOwner(ctx, "alpha-svc", "alice", store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n2, _, err := up.VerifyAudit(ctx); err != nil || n2 != n+2 {
		t.Errorf("after a change on the target: %d events, %v", n2, err)
	}
	if _, err := local.CopyTo(ctx, target); err == nil {
		t.Error("copied into a database that is not empty")
	}

	// A file whose owner was edited without an event is not copied up:
	// the copy would launder it into a trail that reads as intact.
	raw := storetest.OpenRaw(t, local.Path())
	if _, err := raw.Exec(`UPDATE identities SET owner = 'mallory' WHERE name = 'beta-svc'`); err != nil {
		t.Fatal(err)
	}
	fresh := storetest.NewDatabase(t)
	if _, err := store.InitPostgres(ctx, fresh, team); err != nil {
		t.Fatal(err)
	}
	var unexplained *store.UnexplainedStateError
	if _, err := local.CopyTo(ctx, fresh); !errors.As(err, &unexplained) || !strings.Contains(err.Error(), "mallory") {
		t.Errorf("a laundering copy: %v", err)
	}
}

// A dashboard waiting on PostgreSQL hears another login's change.
func TestTeamDashboardIsNotified(t *testing.T) {
	admin := teamDatabase(t, team)
	watcher, alice := openAs(t, admin, "audrey"), openAs(t, admin, "alice")
	v, err := watcher.WaitForChange(ctx, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan int64, 1)
	go func() {
		next, err := watcher.WaitForChange(ctx, v, time.Hour)
		if err != nil {
			t.Error(err)
		}
		changed <- next
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := alice.SetOwner(ctx, "svc-1", "bob", store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-changed:
		if next == v {
			t.Error("the version did not change")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s (poll interval: an hour)")
	}
}

// BenchmarkTeamReviewers: 8 reviewers, each logged in as themselves,
// make 100 owner changes each at once, on the same 10 identities (so
// that they contend). No update may be lost: each identity's events
// chain before → after; the audit chain verifies.
func BenchmarkTeamReviewers(b *testing.B) {
	const reviewers, changes = 8, 100
	setup := store.TeamSetup{Importers: []string{"ci"}}
	for r := range reviewers {
		setup.Reviewers = append(setup.Reviewers, fmt.Sprintf("reviewer-%d", r))
	}
	for b.Loop() {
		b.StopTimer()
		admin := teamDatabase(b, setup)
		stores := make([]*store.Store, reviewers)
		for r := range stores {
			stores[r] = openAs(b, admin, fmt.Sprintf("reviewer-%d", r))
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for r, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range changes {
					if _, err := s.SetOwner(ctx, fmt.Sprintf("svc-%d", (r+c)%10), fmt.Sprintf("team-%d-%d", r, c), store.Change{At: time.Now()}); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(reviewers*changes)/time.Since(start).Seconds(), "changes/s")
		b.StopTimer()
		events, err := stores[0].AuditEvents(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		last := map[string]string{}
		changed := 0
		for _, e := range events {
			if e.Action != "owner.set" && e.Action != "owner.change" {
				continue
			}
			changed++
			if prev, ok := last[e.Identity]; ok && e.Before != prev {
				b.Fatalf("lost update on %s: event %d replaces %q, the one before set %q", e.Identity, e.Seq, e.Before, prev)
			}
			last[e.Identity] = e.After
		}
		if changed < reviewers*changes {
			b.Fatalf("%d owner events for %d changes", changed, reviewers*changes)
		}
		if _, _, err := stores[0].VerifyAudit(ctx); err != nil {
			b.Fatal(err)
		}
		for _, s := range stores {
			s.Close()
		}
		b.StartTimer()
	}
}

// A team database upgraded to schema 17 (by db init, as its administrator
// upgrades it): the importers may write the new usage tables, auditors
// may not.
func TestUpgradedTeamDatabaseGrantsUsageTables(t *testing.T) {
	admin := teamDatabase(t, team)
	raw := storetest.OpenRaw(t, admin)
	if _, err := raw.ExecContext(ctx, `DROP TABLE usage_days; DROP TABLE access_log_reads; UPDATE certgov_schema SET version = 16`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.InitPostgres(ctx, admin, store.TeamSetup{}); err != nil {
		t.Fatal(err)
	}
	conn := rawAs(t, admin, "ci")
	if _, err := conn.ExecContext(ctx, `INSERT INTO access_log_reads(source_id, format_name, lines, with_certificate, unparsed, covers_from, covers_until)
		SELECT min(id), 'mtls', 1, 1, 0, 1, 2 FROM sources`); err != nil {
		t.Fatalf("an importer writing the new table: %v", err)
	}
	if _, err := rawAs(t, admin, "audrey").ExecContext(ctx, `INSERT INTO usage_days(source_id, client_fingerprint, day, verified, count, first_seen, last_seen)
		SELECT min(id), 'ab', 1, 1, 1, 1, 1 FROM sources`); err == nil {
		t.Error("an auditor wrote usage")
	}
}
