package model

import (
	"strings"
	"testing"
	"time"
)

func TestUsageFindings(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	c := Certificate{FingerprintSHA256: strings.Repeat("a", 64), NotBefore: now.Add(-30 * day), NotAfter: now.Add(-2 * day)}
	c.IdentityName = "partner-acme"
	s := &CertificateSubject{Record: Record{Certificate: c, Owner: "partners@example.com",
		Trust: []TrustRef{{ServerKey: "gw\x00a", Source: "nginx.conf"}, {ServerKey: "gw\x00b", Source: "nginx.conf"}}}}
	s.Usage = []ServerUsage{
		// Logs of 180 days at a, where it was last presented 150 days ago.
		{Server: "a.example:443", ServerKey: "gw\x00a", From: now.Add(-180 * day), Until: now, LastSeen: at(-150 * day), LastAccepted: at(-150 * day), Count: 4},
		// b accepted it yesterday, a day after it expired.
		{Server: "b.example:443", ServerKey: "gw\x00b", From: now.Add(-10 * day), Until: now, LastSeen: at(-day), LastAccepted: at(-day), Count: 9},
		// c has logs of a year, does not admit it, never saw it.
		{Server: "c.example:443", ServerKey: "gw\x00c", From: now.Add(-365 * day), Until: now},
	}
	got := map[string]string{}
	for _, f := range CertificateFindings(s, DefaultPolicy(), now) {
		got[f.Code] += f.Message + "|" + f.Owner + "\n"
	}
	if msg := got[FindingUnusedTrust]; !strings.Contains(msg, "a.example:443 admits it, yet its access logs show it last on 2026-07-04, 150 days before they end") || strings.Contains(msg, "b.example") || strings.Contains(msg, "c.example") || !strings.Contains(msg, "|partners@example.com") {
		t.Errorf("unused-trust: %q", msg)
	}
	if msg := got[FindingUsedWhileExpired]; !strings.Contains(msg, "b.example:443 accepted it on 2026-11-30, 1 day after it expired on 2026-11-29") || strings.Contains(msg, "a.example") {
		t.Errorf("used-while-expired: %q", msg)
	}
	// Never seen in logs long enough: unused; logs too short: nothing.
	s.Usage = []ServerUsage{{Server: "a.example:443", ServerKey: "gw\x00a", From: now.Add(-100 * day), Until: now}, {Server: "b.example:443", ServerKey: "gw\x00b", From: now.Add(-20 * day), Until: now}}
	got = map[string]string{}
	for _, f := range CertificateFindings(s, DefaultPolicy(), now) {
		got[f.Code] += f.Message + "\n"
	}
	if msg := got[FindingUnusedTrust]; !strings.Contains(msg, "never show it") || strings.Contains(msg, "b.example") {
		t.Errorf("never seen: %q", msg)
	}
	// Revoked, then accepted.
	s.Usage = []ServerUsage{{Server: "b.example:443", ServerKey: "gw\x00b", From: now.Add(-10 * day), Until: now, LastSeen: at(-day), LastAccepted: at(-day)}}
	s.Revoked, s.RevokedBy, s.RevokedAt = true, "crl.pem", now.Add(-3*day)
	if msg := codesOf(s, now)[FindingUsedAfterRevocation]; !strings.Contains(msg, "b.example:443 accepted it on 2026-11-30 00:00, after its CA revoked it on 2026-11-28") {
		t.Errorf("used-after-revocation: %q", msg)
	}
}
