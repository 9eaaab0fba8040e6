package tui

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"certgov/model"
	"certgov/store"
)

// After governance changes, Refresh reads again only the rows the audit
// trail names, and its dataset is what a whole load gives; after any other
// change (a campaign started) it loads the whole database.
func TestRefreshIsAWholeLoad(t *testing.T) {
	s := buildDemo(t)
	ctx, now, policy := context.Background(), time.Now(), model.DefaultPolicy()
	ds, err := Load(ctx, s, policy, now)
	if err != nil {
		t.Fatal(err)
	}
	var unowned, selfSigned string
	for i := range ds.Rows {
		r := &ds.Rows[i]
		switch {
		case unowned == "" && r.Owner() == "" && !r.selfSigned && !r.ExpiredAt(now):
			unowned = r.FingerprintSHA256()
		case selfSigned == "" && r.selfSigned && r.exception == nil && !r.ExpiredAt(now.AddDate(0, 2, 0)):
			selfSigned = r.FingerprintSHA256()
		}
	}
	if unowned == "" || selfSigned == "" {
		t.Fatal("the demo has no unowned or self-signed identity")
	}
	ch := store.Change{Actor: "erin", At: now, Reason: "quarterly review"}
	steps := []struct {
		name   string
		change func() error
		whole  bool // a change the refresh must load the whole database for
	}{
		{"owner", func() error { _, err := s.SetOwner(ctx, unowned, "payments@example.com", ch); return err }, false},
		{"expiration", func() error { _, _, err := s.SetExpiry(ctx, unowned, now.AddDate(0, 1, 0), ch); return err }, false},
		{"exception", func() error {
			_, _, err := s.DecideException(ctx, selfSigned, model.ExceptionApproved, now.AddDate(0, 0, 30), ch, policy)
			return err
		}, false},
		{"campaign start", func() error {
			f, _ := model.ParseFilter("")
			_, err := s.StartCampaign(ctx, "Q4", now.AddDate(0, 1, 0), f, model.Assignment{}, policy, ch)
			return err
		}, true},
		{"decision", func() error {
			_, err := s.Decide(ctx, "Q4", unowned, store.DecisionRevoke, "no longer needed", ch, policy)
			return err
		}, false},
	}
	for _, step := range steps {
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := Refresh(ctx, s, policy, now, ds)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Load(ctx, s, policy, now)
		if err != nil {
			t.Fatal(err)
		}
		// A refresh keeps the rows it did not read again.
		kept := 0
		for i := range got.Rows {
			if unsafe.StringData(got.Rows[i].text) == unsafe.StringData(ds.Rows[i].text) {
				kept++
			}
		}
		if whole := kept == 0; whole != step.whole {
			t.Errorf("%s: %d of %d rows kept, want a whole load %v", step.name, kept, len(got.Rows), step.whole)
		}
		sameDataset(t, step.name, got, want)
		// The server views read the refreshed rows, not the old ones
		// (which they would keep alive).
		for _, v := range got.Servers {
			if len(v.rows) > 0 && &v.rows[0] != &got.Rows[0] {
				t.Errorf("%s: server %s reads another dataset's rows", step.name, v.name)
			}
		}
		ds = got
	}
}

// sameDataset compares what the screens show of two datasets.
func sameDataset(t *testing.T, name string, got, want *Dataset) {
	t.Helper()
	if len(got.Rows) != len(want.Rows) {
		t.Fatalf("%s: %d rows, want %d", name, len(got.Rows), len(want.Rows))
	}
	for i := range got.Rows {
		g, w := got.Rows[i].full(), want.Rows[i].full()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: row %d:\n got %+v\nwant %+v", name, i, g, w)
		}
	}
	counts := func(ds *Dataset) map[string]int {
		out := map[string]int{}
		for _, g := range ds.FindingGroups {
			out[g.code] = g.count
		}
		return out
	}
	if g, w := counts(got), counts(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: findings by code %v, want %v", name, g, w)
	}
	seqs := func(ds *Dataset) (out []int64) {
		for _, e := range ds.Events {
			out = append(out, e.Seq)
		}
		return out
	}
	if g, w := seqs(got), seqs(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: events %v, want %v", name, g, w)
	}
	admitted := func(ds *Dataset) map[string][]string {
		out := map[string][]string{}
		for _, v := range ds.Servers {
			for i := range v.admits {
				out[v.name] = append(out[v.name], v.admitted(i))
			}
		}
		return out
	}
	if g, w := admitted(got), admitted(want); !reflect.DeepEqual(g, w) || len(g) == 0 {
		t.Errorf("%s: servers admit %v, want %v", name, g, w)
	}
	if !reflect.DeepEqual(got.Undecided, want.Undecided) || !reflect.DeepEqual(got.Decisions, want.Decisions) {
		t.Errorf("%s: campaign %v %v, want %v %v", name, got.Undecided, got.Decisions, want.Undecided, want.Decisions)
	}
}
