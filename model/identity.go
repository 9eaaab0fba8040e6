package model

import (
	"math"
	"slices"
	"strings"
	"time"
)

// IdentityKey groups certificates that are versions of one non-human
// identity: the normalised subject DN plus the first URI SAN (a SPIFFE ID,
// say), from the same issuer, or, for self-signed certificates, with the
// same key. A rotation that keeps these keeps the identity, its owner and
// its history. A lookalike (the same names from another issuer, or
// self-signed with another key) is an identity of its own, so it never
// takes over the owner or the current certificate of the one it mimics.
// A certificate with neither name is an identity of its own.
func IdentityKey(c Certificate) string {
	uri := first(c.SANs.URI)
	if c.SubjectNormalized == "" && uri == "" {
		return "sha256:" + c.FingerprintSHA256
	}
	if c.SelfIssued {
		return c.SubjectNormalized + "|" + uri + "|key:" + c.SPKISHA256
	}
	return c.SubjectNormalized + "|" + uri + "|issuer:" + c.IssuerNormalized
}

// NameKeyOf is the NameKey inside an IdentityKey: the names the
// identity bears, whoever issued it ("" for an identity of no name).
func NameKeyOf(identityKey string) string {
	for _, sep := range []string{"|issuer:", "|key:"} {
		if i := strings.LastIndex(identityKey, sep); i >= 0 {
			return identityKey[:i]
		}
	}
	return ""
}

// NameKey is what lookalikes share: the subject DN and the first URI SAN.
func NameKey(subjectNormalized, firstURI string) string {
	if subjectNormalized == "" && firstURI == "" {
		return ""
	}
	return subjectNormalized + "|" + firstURI
}

// IdentityName is how people refer to the identity: its common name, else
// its first URI, DNS or email SAN, else the subject, else a fingerprint.
func IdentityName(c Certificate) string {
	for _, name := range []string{c.CommonName, first(c.SANs.URI), first(c.SANs.DNS), first(c.SANs.Email), c.Subject} {
		if name != "" {
			return name
		}
	}
	return "sha256:" + c.FingerprintSHA256[:16]
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// CurrentIndex picks an identity's current certificate among its versions:
// the newest one valid at now (latest notBefore), or, when none is valid,
// the one that expires last. It returns -1 for an empty slice.
func CurrentIndex(certs []Certificate, now time.Time) int {
	return CurrentIndexFunc(len(certs), func(i int) *Certificate { return &certs[i] }, now)
}

// CurrentIndexFunc is CurrentIndex over n certificates given by at.
func CurrentIndexFunc(n int, at func(int) *Certificate, now time.Time) int {
	best := -1
	for i := range n {
		if best == -1 || newerVersion(at(i), at(best), now) {
			best = i
		}
	}
	return best
}

func newerVersion(c, than *Certificate, now time.Time) bool {
	valid, thanValid := c.ValidAt(now), than.ValidAt(now)
	if valid != thanValid {
		return valid
	}
	if valid {
		return c.NotBefore.After(than.NotBefore)
	}
	return c.NotAfter.After(than.NotAfter)
}

// CurrentPeriod is a stretch of time during which one certificate is its
// identity's current one: from From up to, not including, Until (Unix
// seconds; math.MinInt64 and math.MaxInt64 stand for no bound).
type CurrentPeriod struct {
	Fingerprint string
	From, Until int64
}

// CurrentPeriods lays out over all time which of an identity's
// certificates CurrentIndex picks. The pick only changes where a
// certificate becomes valid (its notBefore) or stops being valid (the
// second after its notAfter), so it is taken once per stretch between
// those boundaries. A store can then find the current certificates at any
// moment with a range query, the clock moving on without a rebuild.
// Certificate times are whole seconds, as certificates carry them; certs
// are in the order reads give them (expiry, then fingerprint), which
// decides ties as CurrentIndex does.
func CurrentPeriods(certs []Certificate) []CurrentPeriod {
	if len(certs) == 0 {
		return nil
	}
	var bounds []int64
	for i := range certs {
		bounds = append(bounds, certs[i].NotBefore.Unix(), certs[i].NotAfter.Unix()+1)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	pick := func(at int64) string { return certs[CurrentIndex(certs, time.Unix(at, 0))].FingerprintSHA256 }
	periods := []CurrentPeriod{{Fingerprint: pick(bounds[0] - 1), From: math.MinInt64, Until: bounds[0]}}
	for i, from := range bounds {
		until := int64(math.MaxInt64)
		if i+1 < len(bounds) {
			until = bounds[i+1]
		}
		fp := pick(from)
		if last := &periods[len(periods)-1]; last.Fingerprint == fp {
			last.Until = until
			continue
		}
		periods = append(periods, CurrentPeriod{Fingerprint: fp, From: from, Until: until})
	}
	return periods
}
