package model

import "time"

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
