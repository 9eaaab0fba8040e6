package metrics

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
	"certgov/store/storetest/demostore"
)

func TestMain(m *testing.M) { os.Exit(storetest.RunBoth(m)) }

// The metrics say what check says: the findings by code, severity and
// owner add up to AllFindings; every identity expiring within the window
// has a not-after series with its owner; a scrape reads the database
// again only once the audit trail moved.
func TestMetricsAgreeWithFindings(t *testing.T) {
	ctx := context.Background()
	s := demostore.Open(t)
	now := time.Now()
	policy := model.DefaultPolicy()
	e := NewExporter(s, Options{Policy: policy, Within: 30 * 24 * time.Hour})
	e.Now = func() time.Time { return now }

	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := func(*model.Record, model.Finding) bool { return true }
	findings, err := rv.AllFindings(ctx, policy, now, all, func(model.Finding) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	want := map[findingKey]int{}
	for _, f := range findings {
		want[findingKey{f.Code, string(f.Severity), model.Printable(f.Owner)}]++
	}
	snap, err := e.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.findings) != len(want) {
		t.Errorf("%d finding series, check's findings make %d", len(snap.findings), len(want))
	}
	for k, n := range want {
		if snap.findings[k] != n {
			t.Errorf("findings %v: %d, check counts %d", k, snap.findings[k], n)
		}
	}
	// Every expiring finding's identity has a series, with its owner.
	series := map[string]expiry{}
	for _, x := range snap.expiries {
		series[x.identity] = x
	}
	expiring := 0
	for _, f := range findings {
		if f.Code != model.FindingExpiring {
			continue
		}
		expiring++
		if x, ok := series[f.Identity]; !ok || x.owner != f.Owner {
			t.Errorf("expiring %s (owner %q) has no series with its owner: %+v", f.Identity, f.Owner, x)
		}
	}
	if expiring == 0 {
		t.Fatal("the demo has no expiring identity: the test checks nothing")
	}

	// The exposition, as Prometheus reads it.
	if n := testutil.CollectAndCount(e, "certgov_identity_not_after_timestamp_seconds"); n != len(snap.expiries) {
		t.Errorf("%d not-after series exposed, %d in the snapshot", n, len(snap.expiries))
	}
	if problems, err := testutil.CollectAndLint(e); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}

	// Cached while nothing moves; read again after a change.
	again, _ := e.Snapshot(ctx)
	if again != snap {
		t.Error("a second scrape with nothing changed read the database again")
	}
	if _, err := s.SetOwner(ctx, snap.expiries[0].identity, "new-owner@example.com", store.Change{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	changed, _ := e.Snapshot(ctx)
	if changed == snap || changed.auditSeq == snap.auditSeq {
		t.Error("after an owner was set, the scrape still answers from the old snapshot")
	}
	e.Now = func() time.Time { return now.Add(e.MaxAge) }
	if later, _ := e.Snapshot(ctx); later == changed {
		t.Error("a snapshot older than MaxAge is still served")
	}
}

// promtool accepts the rules and their tests pass: each alert fires on
// the series certgov exports, and stays quiet when it should.
func TestRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CERTGOV_CI") != "" {
			t.Fatal("promtool is missing on CI (.ci/run installs Debian's prometheus)")
		}
		t.Skip("no promtool here")
	}
	if out, err := exec.Command(promtool, "check", "rules", "certgov.rules.yml").CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS: 5 rules found") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	test := exec.Command(promtool, "test", "rules", "certgov.rules.test.yml")
	test.Dir = "testdata"
	if out, err := test.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
