package model

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Trust entry kinds: the ways a server can come to trust a client
// certificate.
const (
	// EntryFingerprint pins one certificate by the hash of its DER.
	EntryFingerprint = "fingerprint"
	// EntrySPKI pins a public key: every certificate that carries it.
	EntrySPKI = "spki"
	// EntryCA trusts a CA: every certificate that chains to it
	// (RFC 8705 tls_client_auth).
	EntryCA = "ca"
	// EntrySubjectDN admits certificates by subject DN.
	EntrySubjectDN = "subject-dn"
	// EntrySAN admits certificates by a subject alternative name.
	EntrySAN = "san"
	// EntryRegistered is a certificate registered as it is (RFC 8705
	// self_signed_tls_client_auth, jwks x5c).
	EntryRegistered = "registered"
	// EntrySerial admits certificates by serial number (nginx maps on
	// $ssl_client_serial): lowercase hex without leading zeros.
	EntrySerial = "serial"
	// EntryJWKSURI records a jwks_uri registration: certgov never fetches
	// it, so it admits no certificate it can name.
	EntryJWKSURI = "jwks-uri"
)

// SAN matching modes, as Envoy's StringMatcher names them.
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchSuffix   = "suffix"
	MatchContains = "contains"
	MatchRegex    = "regex"
)

// TrustEntry is one server-side trust decision, as a trust configuration
// states it.
type TrustEntry struct {
	Kind string `json:"kind"`
	// Value is, by kind: the lowercase hex fingerprint (fingerprint,
	// registered, and ca: the CA certificate's SHA-256); the base64 SPKI
	// hash (spki); the DN or regular expression as written (subject-dn);
	// the name or pattern (san).
	Value string `json:"value"`
	// HashAlgorithm is sha256 or sha1, for fingerprint pins (nginx's
	// $ssl_client_fingerprint is SHA-1).
	HashAlgorithm string `json:"hash_algorithm,omitempty"`
	SANType       string `json:"san_type,omitempty"` // dns, uri, ip, email; empty matches any type
	Match         string `json:"match,omitempty"`    // exact (default), prefix, suffix, contains, regex
	Label         string `json:"label,omitempty"`    // what the source calls it: pin label, client_id, alias
	Location      string `json:"location,omitempty"` // where in the source: "line 12", "client partner-a"
}

// ParseFingerprintPin reads a certificate fingerprint as configurations
// write it: hex with or without colons, any case, optionally prefixed
// "sha256:" or "sha1:". A 40-digit value is SHA-1, a 64-digit one SHA-256.
func ParseFingerprintPin(s string) (value, algorithm string, err error) {
	v := strings.TrimSpace(s)
	if prefix, rest, ok := strings.Cut(v, ":"); ok && !isHexPair(prefix) {
		switch strings.ToLower(prefix) {
		case "sha256", "sha-256", "sha1", "sha-1":
			v = rest
		default:
			return "", "", fmt.Errorf("fingerprint %q: unknown prefix %q", s, prefix)
		}
	}
	v = strings.ToLower(strings.ReplaceAll(v, ":", ""))
	if _, err := hex.DecodeString(v); err != nil {
		return "", "", fmt.Errorf("fingerprint %q: not hex", s)
	}
	switch len(v) {
	case 64:
		return v, "sha256", nil
	case 40:
		return v, "sha1", nil
	}
	return "", "", fmt.Errorf("fingerprint %q: %d hex digits, want 64 (SHA-256) or 40 (SHA-1)", s, len(v))
}

func isHexPair(s string) bool { return len(s) == 2 && isHexDigit(s[0]) && isHexDigit(s[1]) }

// ParseSPKIPin reads a base64 SHA-256 hash of a SubjectPublicKeyInfo
// (Envoy verify_certificate_spki, HPKP pin-sha256), standard or URL
// alphabet, padded or not, optionally prefixed "sha256/".
func ParseSPKIPin(s string) (string, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "sha256/")
	v = strings.TrimRight(strings.NewReplacer("-", "+", "_", "/").Replace(v), "=")
	raw, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("SPKI pin %q: want the base64 of a 32-byte SHA-256", s)
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// TrustIndex answers which entries admit a certificate with hash lookups
// (fingerprint, SPKI, normalised DN, exact SAN, CA fingerprint); only
// pattern entries (SAN prefix/suffix/contains/regex, DN regex) are tried
// one by one, and configurations hold few of those.
type TrustIndex struct {
	entries  []TrustEntry
	byKey    map[string][]int
	patterns []compiledPattern
}

type compiledPattern struct {
	entry int
	re    *regexp.Regexp // regex entries; nil for prefix/suffix/contains
}

// NewTrustIndex indexes entries. An entry that cannot be used (a bad
// regular expression, an unknown kind) is reported and left out.
func NewTrustIndex(entries []TrustEntry) (*TrustIndex, []error) {
	ix := &TrustIndex{entries: entries, byKey: map[string][]int{}}
	var errs []error
	for i, e := range entries {
		switch e.Kind {
		case EntryFingerprint, EntryRegistered:
			ix.add(fingerprintKey(e.HashAlgorithm, e.Value), i)
		case EntrySPKI:
			ix.add("spki:"+e.Value, i)
		case EntrySerial:
			ix.add("serial:"+strings.TrimLeft(e.Value, "0"), i)
		case EntryJWKSURI:
		case EntryCA:
			ix.add("ca:"+e.Value, i)
		case EntrySubjectDN:
			if e.Match == MatchRegex {
				re, err := regexp.Compile("^(?:" + e.Value + ")$")
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: subject DN pattern %q: %w", e.Location, e.Value, err))
					continue
				}
				ix.patterns = append(ix.patterns, compiledPattern{entry: i, re: re})
				continue
			}
			dn, err := ParseDNString(e.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.Location, err))
				continue
			}
			ix.add("dn:"+dn.Normalized(), i)
		case EntrySAN:
			switch e.Match {
			case "", MatchExact:
				ix.add(sanKey(e.SANType, e.Value), i)
			case MatchRegex:
				re, err := regexp.Compile("^(?:" + e.Value + ")$")
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: SAN pattern %q: %w", e.Location, e.Value, err))
					continue
				}
				ix.patterns = append(ix.patterns, compiledPattern{entry: i, re: re})
			case MatchPrefix, MatchSuffix, MatchContains:
				ix.patterns = append(ix.patterns, compiledPattern{entry: i})
			default:
				errs = append(errs, fmt.Errorf("%s: unknown SAN match %q", e.Location, e.Match))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: unknown trust entry kind %q", e.Location, e.Kind))
		}
	}
	return ix, errs
}

func (ix *TrustIndex) add(key string, entry int) { ix.byKey[key] = append(ix.byKey[key], entry) }

// Entries returns the indexed entries.
func (ix *TrustIndex) Entries() []TrustEntry { return ix.entries }

func fingerprintKey(algorithm, value string) string {
	if algorithm == "sha1" {
		return "sha1:" + value
	}
	return "sha256:" + value
}

// sanKey is the exact-match key of a SAN: DNS names and email domains
// compare case-insensitively, IP addresses in binary form (RFC 8705
// §2.1.2), URIs as written.
func sanKey(sanType, value string) string {
	switch sanType {
	case "dns":
		return "san:dns:" + strings.ToLower(strings.TrimSuffix(value, "."))
	case "email":
		local, domain, _ := strings.Cut(value, "@")
		return "san:email:" + local + "@" + strings.ToLower(domain)
	case "ip":
		if ip := net.ParseIP(value); ip != nil {
			return "san:ip:" + ip.String()
		}
	}
	return "san:" + sanType + ":" + value
}

// Admitting lists the entries that admit c. chainsTo holds the SHA-256
// fingerprints of the CA certificates that c's chain verifies to (see
// VerifiedAnchors); a CA entry admits c when its CA is among them.
func (ix *TrustIndex) Admitting(c *Certificate, chainsTo []string) []int {
	var out []int
	take := func(key string) {
		for _, i := range ix.byKey[key] {
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	take("sha256:" + c.FingerprintSHA256)
	take("sha1:" + c.FingerprintSHA1)
	take("spki:" + c.SPKISHA256)
	take("serial:" + strings.TrimLeft(c.Serial, "0"))
	for _, ca := range chainsTo {
		take("ca:" + ca)
	}
	take("dn:" + c.SubjectNormalized)
	sans := typedSANs(c)
	for _, san := range sans {
		take(sanKey(san.kind, san.value))
		take(sanKey("", san.value))
	}
	for _, p := range ix.patterns {
		if !slices.Contains(out, p.entry) && ix.patternMatches(p, c, sans) {
			out = append(out, p.entry)
		}
	}
	return out
}

func (ix *TrustIndex) patternMatches(p compiledPattern, c *Certificate, sans []typedSAN) bool {
	e := &ix.entries[p.entry]
	if e.Kind == EntrySubjectDN {
		return p.re.MatchString(c.Subject)
	}
	for _, san := range sans {
		if e.SANType != "" && e.SANType != san.kind {
			continue
		}
		var hit bool
		switch e.Match {
		case MatchRegex:
			hit = p.re.MatchString(san.value)
		case MatchPrefix:
			hit = strings.HasPrefix(san.value, e.Value)
		case MatchSuffix:
			hit = strings.HasSuffix(san.value, e.Value)
		case MatchContains:
			hit = strings.Contains(san.value, e.Value)
		}
		if hit {
			return true
		}
	}
	return false
}

type typedSAN struct{ kind, value string }

func typedSANs(c *Certificate) []typedSAN {
	var out []typedSAN
	for _, g := range []struct {
		kind   string
		values []string
	}{{"dns", c.SANs.DNS}, {"uri", c.SANs.URI}, {"ip", c.SANs.IP}, {"email", c.SANs.Email}} {
		for _, v := range g.values {
			out = append(out, typedSAN{g.kind, v})
		}
	}
	return out
}

// VerifiedAnchors returns the SHA-256 fingerprints of the anchors that
// leaf's chain verifies to for client authentication, through the given
// intermediates. It checks at moments within the leaf's validity (its
// start, then its end), so an expired certificate still shows which CA it
// belongs to; whether it is expired is a finding of its own.
func VerifiedAnchors(leaf *x509.Certificate, anchors, intermediates []*x509.Certificate) []string {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	var chains [][]*x509.Certificate
	var err error
	for _, at := range []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)} {
		chains, err = leaf.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, chain := range chains {
		anchor := chain[len(chain)-1]
		fp := fingerprintHex(anchor.Raw)
		if !seen[fp] {
			seen[fp] = true
			out = append(out, fp)
		}
	}
	return out
}

// Trust models of an identity (RFC 8705 names where they apply).
const (
	TrustModelSelfSigned = "self_signed_tls_client_auth"
	TrustModelCA         = "tls_client_auth"
	TrustModelUntrusted  = "untrusted"
	TrustModelMixed      = "mixed"
)

// TrustModelOf says how a certificate is trusted, given the kinds of the
// entries that admit it: by explicit registration (a pin, an SPKI hash, a
// registered certificate), through a CA (CA trust, DN or SAN matching), by
// both, or not at all.
func TrustModelOf(kinds []string) string {
	explicit, viaCA := false, false
	for _, k := range kinds {
		switch k {
		case EntryFingerprint, EntrySPKI, EntryRegistered, EntrySerial:
			explicit = true
		case EntryCA, EntrySubjectDN, EntrySAN:
			viaCA = true
		}
	}
	switch {
	case explicit && viaCA:
		return TrustModelMixed
	case explicit:
		return TrustModelSelfSigned
	case viaCA:
		return TrustModelCA
	}
	return TrustModelUntrusted
}
