package model

import (
	"strings"
	"testing"
	"time"
)

func TestRotationFindings(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cert := func(fp, issuer, key string, from time.Time, days int) *Certificate {
		c := &Certificate{FingerprintSHA256: strings.Repeat(fp, 64/len(fp)), Issuer: issuer, SPKISHA256: key, NotBefore: from, NotAfter: from.Add(time.Duration(days) * day)}
		c.IdentityName, c.Subject = "ledger", "CN=ledger"
		return c
	}
	codes := func(current *Certificate, history ...*Certificate) map[string]string {
		return codesOf(&CertificateSubject{Record: Record{Certificate: *current, Owner: "payments"}, History: append(history, current)}, now)
	}
	ca, other := "CN=Workload CA", "CN=Rogue CA"
	fresh := cert("a1", ca, "k2", now.Add(-10*day), 90)

	// Renewed on time with a new key by its CA: nothing.
	got := codes(fresh, cert("b2", ca, "k1", now.Add(-100*day), 120))
	for _, code := range []string{FindingRotationOverdue, FindingKeyNotRotated, FindingUnexpectedIssuer, FindingCertificateSprawl} {
		if msg, ok := got[code]; ok {
			t.Errorf("a timely renewal is flagged %s: %s", code, msg)
		}
	}
	// Too old, three valid at once; the key is the same as an older
	// certificate's, not the one it renewed.
	old := cert("c3", ca, "k1", now.Add(-200*day), 400)
	got = codes(old, cert("d4", ca, "k1", now.Add(-300*day), 400), cert("e5", ca, "k0", now.Add(-250*day), 400))
	if msg := got[FindingRotationOverdue]; !strings.Contains(msg, "200 days ago") || !strings.Contains(msg, "every 90 days") {
		t.Errorf("rotation-overdue: %q", msg)
	}
	if _, ok := got[FindingKeyNotRotated]; ok {
		t.Error("key-not-rotated compares the key with an older certificate than the one renewed")
	}
	if msg := got[FindingCertificateSprawl]; !strings.Contains(msg, "3 certificates valid at once") {
		t.Errorf("certificate-sprawl: %q", msg)
	}
	// A certificate with the names of an identity another CA always
	// issued: an identity of its own, unexpected beside its namesake.
	rogue := cert("aa", other, "k5", now.Add(-3*day), 90)
	rogue.IdentityKey = "cn=ledger|spiffe://x|issuer:cn=rogue ca"
	namesakes := []Issuance{
		{IdentityKey: "cn=ledger|spiffe://x|issuer:cn=workload ca", Issuer: ca, First: now.Add(-400 * day)},
		{IdentityKey: rogue.IdentityKey, Issuer: other, First: rogue.NotBefore},
	}
	got = codesOf(&CertificateSubject{Record: Record{Certificate: *rogue}, History: []*Certificate{rogue}, Namesakes: namesakes}, now)
	if msg := got[FindingUnexpectedIssuer]; !strings.Contains(msg, "issued by CN=Rogue CA") || !strings.Contains(msg, "came from CN=Workload CA") {
		t.Errorf("unexpected-issuer: %q", msg)
	}
	// The namesake that came first is not the unexpected one.
	established := cert("bb", ca, "k6", now.Add(-20*day), 90)
	established.IdentityKey = namesakes[0].IdentityKey
	if _, ok := codesOf(&CertificateSubject{Record: Record{Certificate: *established}, History: []*Certificate{established}, Namesakes: namesakes}, now)[FindingUnexpectedIssuer]; ok {
		t.Error("the identity the CA always issued is flagged")
	}
	got = codes(cert("f6", ca, "k1", now.Add(-5*day), 90), cert("a7", ca, "k1", now.Add(-95*day), 120))
	if msg := got[FindingKeyNotRotated]; !strings.Contains(msg, "the private key was not rotated") {
		t.Errorf("key-not-rotated: %q", msg)
	}
	// Leaving self-signed certificates for a CA's is no surprise.
	fresh.IdentityKey = namesakes[0].IdentityKey
	selfSigned := []Issuance{{IdentityKey: "cn=ledger|spiffe://x|key:k0", Issuer: "CN=ledger", SelfSigned: true, First: now.Add(-300 * day)}, namesakes[0]}
	if _, ok := codesOf(&CertificateSubject{Record: Record{Certificate: *fresh}, History: []*Certificate{fresh}, Namesakes: selfSigned}, now)[FindingUnexpectedIssuer]; ok {
		t.Error("moving to a CA is flagged as an unexpected issuer")
	}
	// A CA is long-lived by design.
	ca1 := cert("c9", ca, "k9", now.Add(-900*day), 3650)
	if _, ok := codesOf(&CertificateSubject{Record: Record{Certificate: *ca1, ActsAsCA: true}, History: []*Certificate{ca1}}, now)[FindingRotationOverdue]; ok {
		t.Error("a CA is flagged for its age")
	}
	if FindingTypes[FindingUnexpectedIssuer].Severity != SeverityHigh {
		t.Error("unexpected-issuer is not high")
	}
}

func codesOf(s *CertificateSubject, now time.Time) map[string]string {
	out := map[string]string{}
	for _, f := range CertificateFindings(s, DefaultPolicy(), now) {
		out[f.Code] = f.Message
	}
	return out
}

func TestTimeline(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a := &Certificate{FingerprintSHA256: strings.Repeat("a", 64), Issuer: "CN=CA", SPKISHA256: "k1", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, -3, 0)}
	b := &Certificate{FingerprintSHA256: strings.Repeat("b", 64), Issuer: "CN=Other", SPKISHA256: "k1", NotBefore: now.AddDate(0, -4, 0), NotAfter: now.AddDate(0, 8, 0)}
	lines := Timeline([]*Certificate{b, a}, b, now, 24)
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"▼ now, 2026-12-01", "2025-12", "2027-08", " aaaaaaaa ", "*bbbbbbbb ", "new issuer CN=Other", "same key as before", "▓"} {
		if !strings.Contains(text, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, text)
		}
	}
	// The older one comes first, and ends before now: its bar stops short
	// of the now mark.
	if !strings.HasPrefix(lines[2], " aaaaaaaa") || strings.Contains(lines[2], "▓") || !strings.Contains(lines[2], "│") {
		t.Errorf("the first certificate's line:\n%s", text)
	}
}
