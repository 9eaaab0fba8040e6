package model

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// EntryKind is the kind of a trust entry: what it matches on, one of the
// ways a server can come to trust a client certificate.
type EntryKind string

const (
	// EntryFingerprint pins one certificate by the hash of its DER.
	EntryFingerprint EntryKind = "fingerprint"
	// EntrySPKI pins a public key: every certificate that carries it.
	EntrySPKI EntryKind = "spki"
	// EntryCA is one certificate of an anchor list (a CA file or bundle,
	// nginx ssl_client_certificate, Envoy trusted_ca, a Kubernetes ca.crt,
	// a Java truststore): it admits every certificate whose chain verifies
	// to it for client authentication, itself included when it is
	// self-signed (RFC 8705 tls_client_auth, or explicit trust of a
	// self-signed certificate listed as its own anchor).
	EntryCA EntryKind = "ca"
	// EntrySubjectDN admits certificates by subject DN.
	EntrySubjectDN EntryKind = "subject-dn"
	// EntrySAN admits certificates by a subject alternative name.
	EntrySAN EntryKind = "san"
	// EntryRegistered is a certificate registered as it is (RFC 8705
	// self_signed_tls_client_auth, jwks x5c).
	EntryRegistered EntryKind = "registered"
	// EntrySerial admits certificates by serial number (nginx maps on
	// $ssl_client_serial): lowercase hex without leading zeros.
	EntrySerial EntryKind = "serial"
	// EntryJWKSURI records a jwks_uri registration: certgov never fetches
	// it, so it admits no certificate it can name.
	EntryJWKSURI EntryKind = "jwks-uri"
	// EntryAny is a server that admits every certificate: it asks for one
	// and neither verifies nor gates it (nginx optional_no_ca alone).
	EntryAny EntryKind = "any"
)

// SAN matching modes, as Envoy's StringMatcher names them.
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchSuffix   = "suffix"
	MatchContains = "contains"
	MatchRegex    = "regex"
	// MatchSearch is a regular expression searched for anywhere in the
	// value, as nginx's map searches its "~" keys (PCRE, unanchored);
	// MatchRegex must match the whole value.
	MatchSearch = "search"
	// MatchPartialChain marks an anchor entry of a list whose every
	// certificate is a trust anchor, as Java's PKIX treats a truststore.
	// Without it an anchor list behaves as OpenSSL's CAfile: a chain must
	// end at a self-signed certificate of the list, and the list's other
	// certificates only help to build it.
	MatchPartialChain = "partial-chain"
	// MatchCommonName marks a subject-DN rule whose Value is a regular
	// expression searched in the certificate's common name, not in its
	// whole DN: PostgreSQL compares the CN with a role (cert
	// authentication) or searches a pg_ident.conf regex in it.
	MatchCommonName = "common-name"
	// MatchIssuer marks a subject-DN rule whose Value is a regular
	// expression searched in the certificate's issuer DN (Apache's
	// SSL_CLIENT_I_DN tests).
	MatchIssuer = "issuer"
	// MatchFirst marks a SAN rule that holds when the certificate's first
	// SAN of its type is the Value (Apache's SSL_CLIENT_SAN_DNS_0).
	MatchFirst = "first"
)

// TrustEntry is one server-side trust decision, as a trust configuration
// states it.
type TrustEntry struct {
	Kind EntryKind `json:"kind"`
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
	// Scope names the server inside the source that the entry belongs to
	// ("server line 12", "validation context line 30"); empty when the
	// entry applies to the whole file. Name rules (subject DN, SAN) admit
	// only certificates that chain to an anchor of their own scope.
	Scope string `json:"scope,omitempty"`
	// AllOf: the entry is one condition of its scope, and a certificate is
	// admitted there only when every kind of condition the scope states
	// holds: a chain to one of its anchors, one of its name rules, one of
	// its pins. Envoy's CertificateValidationContext works so: trusted_ca,
	// then the SAN matchers, then the hash and SPKI lists.
	AllOf bool `json:"all_of,omitempty"`
	// Source is the file the entry was imported from (set by the store).
	Source string `json:"-"`
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

// ChainEnd is a trusted certificate that a verified chain ends at.
type ChainEnd struct {
	Anchor string `json:"a"` // its SHA-256 fingerprint
	// Root: it is self-signed, so the chain is complete as OpenSSL (and so
	// nginx, HAProxy, Envoy) requires; other ends count only for anchor
	// lists that accept partial chains (MatchPartialChain).
	Root bool `json:"r,omitempty"`
	// Depth counts the CA certificates between the leaf and the anchor
	// on the shortest chain found, as OpenSSL's verify depth counts them:
	// 0 for a leaf the anchor issued (or a leaf that is its own anchor).
	Depth int `json:"d,omitempty"`
	// Weak: the chain holds only with the leaf's SHA-1 signature, which
	// OpenSSL 3 and Go refuse and Java accepts (Server.AcceptsSHA1).
	Weak bool `json:"w,omitempty"`
}

// Chain is what chain verification found for one certificate.
type Chain struct {
	Ends []ChainEnd `json:"ends,omitempty"`
	// Problem says why no chain verified as OpenSSL verifies it, when none
	// did and the reason is worth telling (an expired CA, a key usage that
	// forbids client authentication, a SHA-1 signature); empty otherwise.
	Problem string `json:"problem,omitempty"`
}

// Verified reports whether some chain verified as OpenSSL verifies it
// (a chain that needs a SHA-1 signature does not).
func (ch Chain) Verified() bool {
	for _, e := range ch.Ends {
		if !e.Weak {
			return true
		}
	}
	return false
}

// ClientAuthPurpose checks a leaf certificate for TLS client use as
// `openssl verify -purpose sslclient` does: an extended key usage, when
// present, must name clientAuth (OpenSSL does not take
// anyExtendedKeyUsage for it); a key usage, when present, must allow
// digitalSignature or keyAgreement. It returns why not, or "".
func ClientAuthPurpose(c *x509.Certificate) string {
	if len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0 {
		if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
			return "its extended key usage (" + strings.Join(extKeyUsageNames(c), ", ") + ") does not allow TLS client authentication"
		}
	}
	if c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement) == 0 {
		return "its key usage (" + strings.Join(keyUsageNames(c.KeyUsage), ", ") + ") allows neither digitalSignature nor keyAgreement"
	}
	return ""
}

// AddEnd adds a chain end, keeping for each anchor its shortest chain
// (and a chain that holds without SHA-1 over one that needs it).
func (ch *Chain) AddEnd(end ChainEnd) {
	for i, e := range ch.Ends {
		if e.Anchor == end.Anchor {
			ch.Ends[i].Depth = min(e.Depth, end.Depth)
			ch.Ends[i].Weak = e.Weak && end.Weak
			return
		}
	}
	ch.Ends = append(ch.Ends, end)
}

// Trust models of an identity (RFC 8705 names where they apply).
const (
	TrustModelSelfSigned = "self_signed_tls_client_auth"
	TrustModelCA         = "tls_client_auth"
	TrustModelUntrusted  = "untrusted"
	TrustModelMixed      = "mixed"
)

// TrustModels lists the trust models, for the filter language.
var TrustModels = []string{TrustModelSelfSigned, TrustModelCA, TrustModelMixed, TrustModelUntrusted}

// ExplicitTrust reports whether an admission names the certificate itself
// (a pin, an SPKI hash, a registration, a serial, or a self-signed
// certificate listed in an anchor list as its own anchor) rather than
// trusting it through a CA. This is the one rule behind the trust model,
// the self-signed exception findings and the exceptions queue.
func ExplicitTrust(kind EntryKind, anchor, fingerprint string, actsAsCA bool) bool {
	switch kind {
	case EntryFingerprint, EntrySPKI, EntryRegistered, EntrySerial:
		return true
	case EntryCA:
		return anchor == fingerprint && !actsAsCA
	}
	return false
}

// TrustModelOf says how a certificate is trusted, given the entries that
// admit it: by explicit registration only, through a CA only, by both, or
// not at all.
func TrustModelOf(refs []TrustRef) string {
	explicit, viaCA := false, false
	for _, t := range refs {
		if t.Kind == EntryAny {
			continue // a server that admits anyone states no trust in it
		}
		if t.Explicit {
			explicit = true
		} else {
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
