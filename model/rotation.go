package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Rotation: how an identity's certificates follow one another. A
// workload identity is healthiest short-lived and renewed with a new key
// from the CA it always used; these rules flag the ways it drifts from
// that (rotation-overdue, key-not-rotated, unexpected-issuer,
// certificate-sprawl), and Timeline draws the history.

// Finding codes about rotation.
const (
	FindingRotationOverdue   = "rotation-overdue"
	FindingKeyNotRotated     = "key-not-rotated"
	FindingUnexpectedIssuer  = "unexpected-issuer"
	FindingCertificateSprawl = "certificate-sprawl"
)

func init() {
	for _, t := range []FindingType{
		{FindingRotationOverdue, SeverityMedium, "the current certificate is older than the policy's max_age: not rotated in time", []string{"NHI7:2025", "PR.AA-01", "ID.AM-08"}},
		{FindingKeyNotRotated, SeverityMedium, "a renewal kept the previous certificate's public key: the private key was never rotated", []string{"NHI7:2025", "NHI2:2025", "PR.AA-01"}},
		{FindingUnexpectedIssuer, SeverityHigh, "the identity's new certificate comes from an issuer its history never used: unexpected issuance", []string{"NHI4:2025", "PR.AA-02", "DE.CM-09"}},
		{FindingCertificateSprawl, SeverityMedium, "more certificates valid at once for one identity than the policy allows", []string{"NHI7:2025", "NHI1:2025", "ID.AM-08"}},
	} {
		FindingTypes[t.Code] = t
	}
}

// HistoryOf is an identity's certificates as rotation rules and
// Timeline take them.
func HistoryOf(certs []Certificate) []*Certificate {
	out := make([]*Certificate, len(certs))
	for i := range certs {
		out[i] = &certs[i]
	}
	return out
}

// predecessors are the certificates of history issued before c, oldest
// first: what c renewed.
func predecessors(c *Certificate, history []*Certificate) []*Certificate {
	var out []*Certificate
	for _, h := range history {
		if h.FingerprintSHA256 != c.FingerprintSHA256 && h.NotBefore.Before(c.NotBefore) {
			out = append(out, h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NotBefore.Before(out[j].NotBefore) })
	return out
}

// rotationFindings adds the rotation findings of s, its identity's
// current certificate, from s.History (every certificate of the identity).
// CAs are left out: they are long-lived by design.
func rotationFindings(s *CertificateSubject, p Policy, now time.Time, add func(code, message, source string)) {
	if s.ActsAsCA {
		return
	}
	where := ""
	if t, ok := admittingRef(s.Trust); ok {
		where = "; admitted by " + t.Where()
	}
	maxAge := time.Duration(p.MaxAge)
	if age := now.Sub(s.NotBefore); maxAge > 0 && age > maxAge && !s.ExpiredAt(now) {
		add(FindingRotationOverdue, fmt.Sprintf("issued %s, %d days ago: the policy rotates every %d days%s",
			s.NotBefore.UTC().Format("2006-01-02"), int(age.Hours()/24), int(maxAge.Hours()/24), where), "")
	}
	before := predecessors(&s.Certificate, s.History)
	if n := len(before); n > 0 {
		prev := before[n-1]
		if prev.SPKISHA256 != "" && prev.SPKISHA256 == s.SPKISHA256 {
			add(FindingKeyNotRotated, fmt.Sprintf("renewed on %s with the public key of its certificate %s of %s: the private key was not rotated%s",
				s.NotBefore.UTC().Format("2006-01-02"), ShortFingerprint(prev.FingerprintSHA256), prev.NotBefore.UTC().Format("2006-01-02"), where), "")
		}
	}
	if earlier, unexpected := unexpectedIssuer(s); unexpected {
		var issuers []string
		since := earlier[0].First
		for _, e := range earlier {
			if !slices.Contains(issuers, e.Issuer) {
				issuers = append(issuers, e.Issuer)
			}
			if e.First.Before(since) {
				since = e.First
			}
		}
		add(FindingUnexpectedIssuer, fmt.Sprintf("issued by %s, while the certificates bearing its names since %s came from %s: unexpected issuance, or a new identity nobody announced%s",
			s.Issuer, since.UTC().Format("2006-01-02"), strings.Join(issuers, "; "), where), "")
	}
	var valid []string
	for _, h := range s.History {
		if h.ValidAt(now) {
			valid = append(valid, ShortFingerprint(h.FingerprintSHA256))
		}
	}
	if p.MaxValidCertificates > 0 && len(valid) > p.MaxValidCertificates {
		add(FindingCertificateSprawl, fmt.Sprintf("%d certificates valid at once (%s): the policy allows %d",
			len(valid), strings.Join(valid, ", "), p.MaxValidCertificates), "")
	}
}

// Issuance is one issuer's certificates for an identity: who issued them
// and when the first was. An identity's Namesakes are the issuances of
// every identity bearing its names (itself included): a certificate from
// a new issuer is an identity of its own (IdentityKey), and only beside
// its namesakes does it show as unexpected.
type Issuance struct {
	IdentityKey, Issuer string
	SelfSigned          bool
	First               time.Time
}

// unexpectedIssuer: s's identity began with an issuer none of the
// certificates bearing its names before had (earlier). Moving from
// self-signed certificates to a CA's is what the policy asks for, not a
// surprise; a self-signed certificate with a CA-signed identity's names
// is subject-collision's.
func unexpectedIssuer(s *CertificateSubject) (earlier []Issuance, unexpected bool) {
	if s.SelfSigned {
		return nil, false
	}
	first := s.NotBefore
	for _, h := range s.History {
		if h.NotBefore.Before(first) {
			first = h.NotBefore
		}
	}
	allSelfSigned := true
	for _, n := range s.Namesakes {
		if n.IdentityKey == s.IdentityKey || !n.First.Before(first) {
			continue
		}
		if n.Issuer == s.Issuer {
			return nil, false
		}
		earlier = append(earlier, n)
		allSelfSigned = allSelfSigned && n.SelfSigned
	}
	return earlier, len(earlier) > 0 && !(allSelfSigned && !s.SelfSigned)
}

// Timeline draws an identity's certificates as bars on a time axis,
// oldest first, with now marked: a header line, then one line per
// certificate (current marked *), its bar width columns wide, its
// validity, and what changed at its renewal (a new issuer, a kept key).
func Timeline(history []*Certificate, current *Certificate, now time.Time, width int) []string {
	if len(history) == 0 {
		return nil
	}
	certs := append([]*Certificate(nil), history...)
	sort.SliceStable(certs, func(i, j int) bool { return certs[i].NotBefore.Before(certs[j].NotBefore) })
	from, until := certs[0].NotBefore, now
	for _, c := range certs {
		if c.NotAfter.After(until) {
			until = c.NotAfter
		}
		if c.NotBefore.Before(from) {
			from = c.NotBefore
		}
	}
	if now.Before(from) {
		from = now
	}
	width = max(width, 12)
	span := until.Sub(from)
	col := func(t time.Time) int {
		if span <= 0 {
			return 0
		}
		return min(width-1, int(float64(width-1)*float64(t.Sub(from))/float64(span)))
	}
	nowCol := col(now)
	axis := []rune(strings.Repeat(" ", width))
	axis[nowCol] = '▼'
	header := fmt.Sprintf("%-10s %s %s   (▼ now, %s)", "", string(axis), "", now.UTC().Format("2006-01-02"))
	lines := []string{strings.TrimRight(header, " "),
		fmt.Sprintf("%-10s %s", "", from.UTC().Format("2006-01")+strings.Repeat(" ", max(1, width-14))+until.UTC().Format("2006-01"))}
	for i, c := range certs {
		bar := []rune(strings.Repeat("·", width))
		for x := col(c.NotBefore); x <= col(c.NotAfter); x++ {
			bar[x] = '█'
		}
		if bar[nowCol] == '█' {
			bar[nowCol] = '▓'
		} else {
			bar[nowCol] = '│'
		}
		mark := " "
		if current != nil && c.FingerprintSHA256 == current.FingerprintSHA256 {
			mark = "*"
		}
		var notes []string
		if i > 0 {
			prev := certs[i-1]
			if c.Issuer != prev.Issuer {
				notes = append(notes, "new issuer "+c.Issuer)
			}
			if c.SPKISHA256 != "" && c.SPKISHA256 == prev.SPKISHA256 {
				notes = append(notes, "same key as before")
			}
		}
		line := fmt.Sprintf("%s%-9s %s %s to %s", mark, ShortFingerprint(c.FingerprintSHA256)[:8], string(bar),
			c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
		if len(notes) > 0 {
			line += "  " + strings.Join(notes, "; ")
		}
		lines = append(lines, line)
	}
	return lines
}
