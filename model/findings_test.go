package model_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/model"
)

func codes(fs []model.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

func TestCertificateFindings(t *testing.T) {
	p := model.DefaultPolicy()
	base := func(mutate func(*model.CertificateSubject)) *model.CertificateSubject {
		s := &model.CertificateSubject{Record: model.Record{Owner: "team-a", Certificate: model.Certificate{
			FingerprintSHA256: strings.Repeat("a", 64), IdentityName: "svc", KeyAlgorithm: "ECDSA", KeySize: 256, KeyCurve: "P-256",
			SignatureAlgorithm: "ECDSA-SHA256", NotBefore: day.AddDate(0, 0, -30), NotAfter: day.AddDate(0, 0, 300),
		}}}
		mutate(s)
		return s
	}
	cases := []struct {
		name   string
		mutate func(*model.CertificateSubject)
		want   []string
	}{
		{"clean", func(*model.CertificateSubject) {}, nil},
		{"expired", func(s *model.CertificateSubject) { s.NotAfter = day.AddDate(0, 0, -1) }, []string{"expired"}},
		{"expiring", func(s *model.CertificateSubject) { s.NotAfter = day.AddDate(0, 0, 29) }, []string{"expiring"}},
		{"weak RSA", func(s *model.CertificateSubject) { s.KeyAlgorithm, s.KeySize, s.KeyCurve = "RSA", 1024, "" }, []string{"weak-key"}},
		{"weak EC", func(s *model.CertificateSubject) { s.KeySize, s.KeyCurve = 224, "P-224" }, []string{"weak-key"}},
		{"SHA-1", func(s *model.CertificateSubject) { s.SignatureAlgorithm = "SHA1-RSA" }, []string{"weak-signature"}},
		{"long", func(s *model.CertificateSubject) { s.NotBefore = day.AddDate(-2, 0, 0) }, []string{"long-lifetime", "rotation-overdue"}},
		{"long CA is fine", func(s *model.CertificateSubject) {
			s.NotBefore, s.IsCA, s.ActsAsCA, s.Owner = day.AddDate(-9, 0, 0), true, true, ""
		}, nil},
		// `openssl req -x509` writes CA:TRUE into client certificates:
		// that alone does not make one a CA.
		{"CA:TRUE client", func(s *model.CertificateSubject) { s.NotBefore, s.IsCA, s.Owner = day.AddDate(-9, 0, 0), true, "" }, []string{"long-lifetime", "no-owner", "rotation-overdue"}},
		{"key on disk", func(s *model.CertificateSubject) { s.KeysOnDisk = []model.KeyOnDisk{{Path: "/srv/a.key"}} }, []string{"private-key-exposed"}},
		{"key in a keystore", func(s *model.CertificateSubject) {
			s.KeysOnDisk = []model.KeyOnDisk{{Path: "/srv/a.p12", InKeystore: true}}
		}, []string{"private-key-on-disk"}},
		{"key reused", func(s *model.CertificateSubject) { s.SharesKeyWith = []string{"svc.staging"} }, []string{"key-reuse"}},
		{"no owner", func(s *model.CertificateSubject) { s.Owner = "" }, []string{"no-owner"}},
	}
	for _, tc := range cases {
		got := model.CertificateFindings(base(tc.mutate), p, day)
		if !slices.Equal(codes(got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, codes(got), tc.want)
		}
		for _, f := range got {
			if f.Severity == "" || len(f.Frameworks) == 0 || f.Message == "" || f.Identity != "svc" {
				t.Errorf("%s: incomplete finding %+v", tc.name, f)
			}
		}
	}
	exposed := model.CertificateFindings(base(func(s *model.CertificateSubject) { s.KeysOnDisk = []model.KeyOnDisk{{Path: "/srv/a.key"}} }), p, day)
	if exposed[0].Source != "/srv/a.key" || !strings.Contains(exposed[0].Message, "/srv/a.key") {
		t.Errorf("private-key-exposed must name the path: %+v", exposed[0])
	}
}

func TestPolicy(t *testing.T) {
	p, err := model.ParsePolicy([]byte(`{"expiring_within": "60d", "min_rsa_bits": 3072}`))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(p.ExpiringWithin) != 60*24*time.Hour || p.MinRSABits != 3072 || time.Duration(p.MaxLifetime) != 398*24*time.Hour {
		t.Errorf("policy %+v", p)
	}
	for _, bad := range []string{`{"expiring_witin": "60d"}`, `{"expiring_within": 60}`, `{"max_lifetime": "0d"}`, `not json`} {
		if _, err := model.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}

func TestSortFindingsByUrgency(t *testing.T) {
	fs := []model.Finding{{Code: "no-owner", Severity: "medium"}, {Code: "expired", Severity: "critical"}, {Code: "expiring", Severity: "high"}}
	model.SortFindings(fs)
	if got := codes(fs); fs[0].Code != "expired" || fs[2].Code != "no-owner" {
		t.Errorf("order %v", got)
	}
}

func TestAttestationSchemaCatchesMissingFields(t *testing.T) {
	good := `{"schema_version": 2, "kind": "inventory", "generated_at": "x", "generated_by": "y", "campaign": null,
		"items": [{"identity": "a", "fingerprint_sha256": "b", "decision": "", "comment": "", "reviewer": "", "state_at_export": {}, "findings_at_export": []}],
		"frameworks": {}, "audit_head": {"seq": 3, "hash": "h"}, "audit_log": {"file": "audit.jsonl", "first_seq": 1, "last_seq": 3, "prev_hash": "0"},
		"exception_decisions": [], "entry_findings": [], "completeness": {"complete": true, "undecided": 0}, "unverified": []}`
	if err := model.ValidateJSON(model.AttestationSchema, []byte(good)); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	for name, bad := range map[string]string{
		"missing items":      strings.Replace(good, `"items"`, `"itemz"`, 1),
		"wrong version":      strings.Replace(good, `"schema_version": 2`, `"schema_version": 1`, 1),
		"no audit log":       strings.Replace(good, `"audit_log"`, `"audit_lag"`, 1),
		"bad kind":           strings.Replace(good, `"inventory"`, `"other"`, 1),
		"item lacks a field": strings.Replace(good, `"reviewer": "", `, ``, 1),
		"seq not integer":    strings.Replace(good, `"seq": 3`, `"seq": "3"`, 1),
	} {
		if err := model.ValidateJSON(model.AttestationSchema, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A passed review date and a campaign decision not carried out are
// findings; a needs-change counts once the campaign's due date passed,
// and nothing is reported for a certificate no entry trusts any more.
func TestGovernanceConsequences(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	trusted := []model.TrustRef{{Source: "pins.txt", Kind: model.EntryFingerprint, Entry: "sha256:ab"}}
	codes := func(r model.Record) []string {
		r.NotBefore, r.NotAfter, r.Owner = now.AddDate(0, -1, 0), now.AddDate(0, 6, 0), "ops"
		s := &model.CertificateSubject{Record: r, TrustChecked: true}
		var out []string
		for _, f := range model.CertificateFindings(s, model.DefaultPolicy(), now) {
			if f.Code == model.FindingReviewOverdue || f.Code == model.FindingRevokePending {
				out = append(out, f.Code)
			}
		}
		return out
	}
	overdue := model.Record{ExpiresAt: now.AddDate(0, 0, -1), Trust: trusted}
	if got := codes(overdue); !slices.Equal(got, []string{model.FindingReviewOverdue}) {
		t.Errorf("review date passed: %v", got)
	}
	revoke := model.Record{Trust: trusted, Decision: &model.CampaignDecision{Campaign: "Q4", Decision: model.DecisionRevoke, Reviewer: "alice", DecidedAt: now}}
	if got := codes(revoke); !slices.Equal(got, []string{model.FindingRevokePending}) {
		t.Errorf("revoked and still trusted: %v", got)
	}
	revoke.Trust = nil
	if got := codes(revoke); len(got) != 0 {
		t.Errorf("revoked and trusted nowhere: %v", got)
	}
	change := model.Record{Trust: trusted, Decision: &model.CampaignDecision{Campaign: "Q4", Decision: model.DecisionNeedsChange, Due: now.AddDate(0, 0, 3)}}
	if got := codes(change); len(got) != 0 {
		t.Errorf("needs-change before the due date: %v", got)
	}
	change.Decision.Due = now.AddDate(0, 0, -3)
	if got := codes(change); !slices.Equal(got, []string{model.FindingRevokePending}) {
		t.Errorf("needs-change past the due date: %v", got)
	}
}

func TestPaces(t *testing.T) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var ds []model.Decided
	for i := range 50 { // a scripted run: one decision a second
		ds = append(ds, model.Decided{Reviewer: "bot", At: start.Add(time.Duration(i) * time.Second)})
	}
	for i := range 5 { // a person: one every two minutes
		ds = append(ds, model.Decided{Reviewer: "alice", At: start.Add(time.Duration(i) * 2 * time.Minute)})
	}
	p := model.Paces(ds)
	if len(p) != 2 || p[0].Reviewer != "bot" || p[0].MostInAMinute != 50 || p[1].MostInAMinute != 1 || p[1].Decisions != 5 {
		t.Errorf("paces %+v", p)
	}
	if got := model.SeriousFindings([]string{"no-owner", "expired", "weak-key", "untrusted"}); !slices.Equal(got, []string{"expired", "weak-key"}) {
		t.Errorf("serious findings %v", got)
	}
}

func TestSchemaConstIsTyped(t *testing.T) {
	schema := []byte(`{"type": "object", "properties": {"v": {"const": 2}, "k": {"enum": ["a", 1]}}}`)
	for doc, ok := range map[string]bool{`{"v": 2}`: true, `{"v": "2"}`: false, `{"k": 1}`: true, `{"k": "1"}`: false, `{"k": "a"}`: true} {
		if err := model.ValidateJSON(schema, []byte(doc)); (err == nil) != ok {
			t.Errorf("%s: %v, want valid %v", doc, err, ok)
		}
	}
}
