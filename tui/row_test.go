package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
)

// reviewedDemo is the demo estate's current records, each with its
// findings, after some governance: owners and an approved exception.
func reviewedDemo(t *testing.T, now time.Time) ([]model.Record, [][]model.Finding) {
	t.Helper()
	ctx := context.Background()
	s := buildDemo(t)
	var records []model.Record
	var findings [][]model.Finding
	each := func() {
		records, findings = nil, nil
		rv, err := s.NewReview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = rv.Each(ctx, model.DefaultPolicy(), now, func(r *model.Record, fs []model.Finding) error {
			if r.Current {
				records, findings = append(records, *r), append(findings, fs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	each()
	ch := store.Change{Actor: "carol@example.com", At: now, Reason: "test"}
	owned, approved := 0, false
	for _, r := range records {
		switch {
		case !approved && r.SelfSigned && r.TrustedExplicitly() && r.NotAfter.After(now.AddDate(0, 0, 40)):
			if _, _, err := s.DecideException(ctx, r.FingerprintSHA256, model.ExceptionApproved, now.AddDate(0, 0, 20), ch, model.DefaultPolicy()); err != nil {
				t.Fatal(err)
			}
			approved = true
		case owned < 5 && !r.ActsAsCA:
			if _, err := s.SetOwner(ctx, r.FingerprintSHA256, fmt.Sprintf("Team-%d@Example.com", owned%2), ch); err != nil {
				t.Fatal(err)
			}
			owned++
		}
	}
	if !approved || owned < 5 {
		t.Fatalf("the demo estate lacks what the test needs: approved %v, owned %d", approved, owned)
	}
	each()
	return records, findings
}

// A row packs its record: what the lists, the filters and a preview read
// of it comes back the same, and every filter term selects the same rows
// from the packed rows as from the records.
func TestPackedRowsAreTheirRecords(t *testing.T) {
	now := time.Now()
	records, findings := reviewedDemo(t, now)
	in := newInterner()
	rows := make([]Row, len(records))
	for i := range records {
		rows[i] = newRow(records[i], findings[i], in)
	}
	// What a row keeps, as text (nil and empty lists alike).
	kept := func(r *model.Record) string {
		c := &r.Certificate
		return fmt.Sprintf("%q %q %q %q %q %v %v %q %d %q %q %v %v %v %v %q %q %v %v %q %v %q %v %v %v %q",
			c.FingerprintSHA256, c.Subject, c.Issuer, c.CommonName, c.IdentityName, c.NotBefore, c.NotAfter,
			c.KeyAlgorithm, c.KeySize, c.KeyCurve, c.SignatureAlgorithm, c.SANs, c.IsCA, c.SelfIssued, c.SelfSigned,
			r.Owner, r.ExpiresAt, r.Sources, r.Trust, r.TrustModel, r.Revoked, r.RevokedBy, r.Exception, r.ActsAsCA,
			r.MatchesWithoutChain, r.Chain.Problem)
	}
	for i := range rows {
		want := model.PrintableRecord(records[i])
		got := rows[i].record()
		if a, b := kept(&got), kept(&want); a != b {
			t.Fatalf("row %d:\n got %s\nwant %s", i, a, b)
		}
		if got.Chain.Verified() != want.Chain.Verified() {
			t.Fatalf("row %d: chain verified %v, record %v", i, got.Chain.Verified(), want.Chain.Verified())
		}
		if rows[i].Versions != 0 || rows[i].FingerprintSHA256() != want.FingerprintSHA256 {
			t.Fatalf("row %d: %s", i, rows[i].FingerprintSHA256())
		}
	}
	exprs := []string{"svc", "PARTNER", "Corp", "!svc", "\"o=\"", "expired", "expires<30d", "expires>1y", "selfsigned", "ca",
		"issuer:CA", "subject:OU=", "san:spiffe", "san:.svc", "key:rsa", "key:ecdsa", "key:ed25519", "fp:0", "fp:a",
		"owner:none", "owner:team-1", "owner:EXAMPLE", "finding:any", "finding:no-owner", "finding:expired",
		"finding:self-signed-unapproved", "trusted", "untrusted", "trust:tls_client_auth", "trust:self_signed_tls_client_auth",
		"trust:mixed", "trust:untrusted", "exception:pending", "exception:approved", "exception:none", "exception-ends<30d",
		"source:.pem", "source:nginx", "server:e", "server:envoy", "current", "revoked", "!revoked selfsigned trusted"}
	var rec model.Record
	for _, expr := range exprs {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		matched := 0
		for i := range rows {
			want := model.PrintableRecord(records[i])
			got := f.Match(rows[i].fill(&rec), now)
			if got != f.Match(&want, now) {
				t.Fatalf("%q: row %s matches %v, its record %v", expr, want.IdentityName, got, !got)
			}
			if got {
				matched++
			}
		}
		t.Logf("%-40s %d of %d", expr, matched, len(rows))
	}
}

// A filter pass over the packed rows allocates nothing: a keystroke over a
// million identities makes no garbage.
//
// testing.AllocsPerRun counts the whole process's allocations, and goroutines
// earlier tests left behind (a dashboard's timers, a database pool) may
// allocate a few times while it measures: CI once saw 21 over three passes.
// An allocation per row costs at least one per matching row (100 here) or per
// row (2,000), so the test allows fewer than 10 a pass over 20 passes.
func TestFilterPassAllocatesNothing(t *testing.T) {
	now := time.Now()
	ds := syntheticDataset(2000, now)
	for _, expr := range []string{"svc-0001", "TEAM-1", "san:spiffe", "subject:ou=team", "owner:team-a", "finding:any expires<30d", "source:x"} {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		var rec model.Record
		matched := 0
		allocs := testing.AllocsPerRun(20, func() {
			matched = 0
			for i := range ds.Rows {
				if f.Match(ds.Rows[i].fill(&rec), now) {
					matched++
				}
			}
		})
		if allocs >= 10 {
			t.Fatalf("%q: %.0f allocations a pass", expr, allocs)
		}
		if expr == "svc-0001" && matched != 100 { // svc-000100 to svc-000199
			t.Fatalf("%q matched %d rows", expr, matched)
		}
	}
}
