package model

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Trust entry kinds: the ways a server can come to trust a client
// certificate.
// EntryKind is the kind of a trust entry: what it matches on.
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

// TrustIndex answers which entries admit a certificate with hash lookups
// (fingerprint, SPKI, normalised DN, exact SAN, anchor fingerprint); only
// pattern entries (SAN prefix/suffix/contains/regex, DN regex) are tried
// one by one, and configurations hold few of those.
type TrustIndex struct {
	entries  []TrustEntry
	byKey    map[string][]int
	patterns []compiledPattern
	// nameAnchors maps a name rule (subject DN, SAN) to the anchor entries
	// a certificate must chain to before the rule is even looked at, as a
	// server validates the chain first (RFC 8705 §2.1).
	nameAnchors map[int][]int
	// anyAnchor: the name rule's source has no anchors of its own (an
	// OAuth or Keycloak registration file), so every imported anchor
	// counts.
	anyAnchor map[int]bool
	// allOf groups the entries of all-of scopes (TrustEntry.AllOf).
	allOf map[string][]int
	// any are the entries that admit every certificate (EntryAny).
	any []int
	// depth bounds, by place, the CA certificates a chain may have between
	// leaf and anchor (Server.Depth); places without a bound are absent.
	depth map[string]int
	// serverNames names the server of each place that is one.
	serverNames map[string]string
	// acceptsSHA1 are the places whose server takes a chain that needs a
	// SHA-1 signature (Java's PKIX).
	acceptsSHA1 map[string]bool
}

func placeKey(e *TrustEntry) string { return e.Source + "\x00" + e.Scope }

type compiledPattern struct {
	entry int
	re    *regexp.Regexp // regex entries; nil for prefix/suffix/contains
}

// NewTrustIndex indexes entries, with the servers they belong to (an
// entry belongs to the server of its source and scope). An entry that
// cannot be used (a bad regular expression, an unknown kind) is reported
// and left out.
func NewTrustIndex(entries []TrustEntry, servers []Server) (*TrustIndex, []error) {
	ix := &TrustIndex{entries: entries, byKey: map[string][]int{}, nameAnchors: map[int][]int{}, anyAnchor: map[int]bool{},
		allOf: map[string][]int{}, depth: map[string]int{}, serverNames: map[string]string{}, acceptsSHA1: map[string]bool{}}
	for _, s := range servers {
		if s.Depth >= 0 {
			ix.depth[s.Key()] = s.Depth
		}
		ix.serverNames[s.Key()] = s.Name()
		ix.acceptsSHA1[s.Key()] = s.AcceptsSHA1
	}
	var errs []error
	var names []int
	for i, e := range entries {
		if e.AllOf {
			ix.allOf[placeKey(&e)] = append(ix.allOf[placeKey(&e)], i)
		}
		switch e.Kind {
		case EntryFingerprint, EntryRegistered:
			ix.add(fingerprintKey(e.HashAlgorithm, e.Value), i)
		case EntrySPKI:
			ix.add("spki:"+e.Value, i)
		case EntrySerial:
			ix.add("serial:"+strings.TrimLeft(e.Value, "0"), i)
		case EntryJWKSURI:
		case EntryAny:
			ix.any = append(ix.any, i)
		case EntryCA:
			ix.add("anchor:"+e.Value, i)
		case EntrySubjectDN:
			if !e.AllOf {
				names = append(names, i)
			}
			if e.Match == MatchRegex || e.Match == MatchSearch {
				re, err := compileRule(e)
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
			if !e.AllOf {
				names = append(names, i)
			}
			switch e.Match {
			case "", MatchExact:
				ix.add(sanKey(e.SANType, e.Value), i)
			case MatchRegex, MatchSearch:
				re, err := compileRule(e)
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
	ix.scopeNameRules(names)
	return ix, errs
}

// compileRule compiles a pattern rule: anchored for MatchRegex, searched
// for MatchSearch.
func compileRule(e TrustEntry) (*regexp.Regexp, error) {
	if e.Match == MatchSearch {
		return regexp.Compile(e.Value)
	}
	return regexp.Compile("^(?:" + e.Value + ")$")
}

// scopeNameRules finds, for each name rule, the anchors of the server it
// belongs to: those of its own scope and of the file's top level (nginx
// servers inherit http-level CA files); for a rule at the top level, every
// anchor of its file; for a file without anchors, every imported anchor.
func (ix *TrustIndex) scopeNameRules(names []int) {
	type place struct{ source, scope string }
	byScope := map[place][]int{}
	bySource := map[string][]int{}
	for i, e := range ix.entries {
		if e.Kind == EntryCA {
			byScope[place{e.Source, e.Scope}] = append(byScope[place{e.Source, e.Scope}], i)
			bySource[e.Source] = append(bySource[e.Source], i)
		}
	}
	for _, i := range names {
		e := ix.entries[i]
		var anchors []int
		if e.Scope != "" {
			anchors = append(slices.Clone(byScope[place{e.Source, e.Scope}]), byScope[place{e.Source, ""}]...)
		} else {
			anchors = bySource[e.Source]
		}
		if len(anchors) == 0 && len(bySource[e.Source]) == 0 {
			ix.anyAnchor[i] = true
			continue
		}
		ix.nameAnchors[i] = anchors
	}
}

func (ix *TrustIndex) add(key string, entry int) { ix.byKey[key] = append(ix.byKey[key], entry) }

// Entries returns the indexed entries.
func (ix *TrustIndex) Entries() []TrustEntry { return ix.entries }

// RequiredChain says which chain a rule requires before it counts, for
// people: one to any imported anchor for a registration file without
// anchors of its own, else one to an anchor of its scope or file.
func (ix *TrustIndex) RequiredChain(entry int) string {
	e := ix.entries[entry]
	switch {
	case ix.anyAnchor[entry]:
		return "a chain to any imported CA anchor"
	case ix.serverNames[placeKey(&e)] != "":
		return "a chain to an anchor of server " + ix.serverNames[placeKey(&e)]
	case e.Scope != "":
		return "a chain to an anchor of " + e.Scope
	}
	return "a chain to an anchor of " + e.Source
}

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

// Admission is one entry that admits a certificate; Anchor is the anchor
// a chain rule's chain ends at (empty for pins).
type Admission struct {
	Entry  int
	Anchor string
}

// Evaluation is how a certificate fares against every trust entry: the
// entries that admit it, and the name rules it matches without the chain
// that the server would first require (reported, never admitted).
type Evaluation struct {
	Admitted   []Admission
	Unverified []int
	// Untried counts the pattern rules left untried when the
	// certificate's names used up maxPatternWork: its trust is then not
	// fully known.
	Untried int
}

// maxPatternWork bounds the pattern matching of one certificate. Every
// pattern rule is tried against every name of its type, so a file of
// thousands of regular expressions and a certificate of thousands of
// SANs would multiply into minutes per certificate. Real configurations
// hold a handful of patterns and certificates a handful of names (tens to
// a few thousand units); past the bound the rules already tried stand and
// the rest are reported (trust-incomplete), never silently skipped.
const maxPatternWork = 50_000

// Evaluate decides which entries admit c, as the servers that state them
// would: pins by hash; anchor lists by a chain that verified for client
// authentication to one of their certificates; name rules (subject DN,
// SAN) only after such a chain to an anchor of the same server.
func (ix *TrustIndex) Evaluate(c *Certificate, chain Chain) Evaluation {
	var ev Evaluation
	seen := map[int]bool{}
	admit := func(i int, anchor string) {
		if !seen[i] {
			seen[i] = true
			ev.Admitted = append(ev.Admitted, Admission{Entry: i, Anchor: anchor})
		}
	}
	// Conditions met in all-of scopes, decided per scope at the end.
	var conditions map[int]string
	met := func(i int, anchor string) bool {
		if !ix.entries[i].AllOf {
			return false
		}
		if conditions == nil {
			conditions = map[int]string{}
		}
		conditions[i] = anchor
		return true
	}
	for _, i := range ix.any {
		admit(i, "")
	}
	for _, key := range []string{"sha256:" + c.FingerprintSHA256, "sha1:" + c.FingerprintSHA1, "spki:" + c.SPKISHA256, "serial:" + strings.TrimLeft(c.Serial, "0")} {
		for _, i := range ix.byKey[key] {
			if !met(i, "") {
				admit(i, "")
			}
		}
	}
	for _, end := range chain.Ends {
		for _, i := range ix.byKey["anchor:"+end.Anchor] {
			if ix.anchorAccepts(i, end) && !met(i, end.Anchor) {
				admit(i, end.Anchor)
			}
		}
	}
	nameRule := func(i int) {
		if seen[i] || slices.Contains(ev.Unverified, i) || met(i, "") {
			return
		}
		if anchor, ok := ix.chainForNameRule(i, chain); ok {
			admit(i, anchor)
		} else {
			ev.Unverified = append(ev.Unverified, i)
		}
	}
	for _, i := range ix.byKey["dn:"+c.SubjectNormalized] {
		nameRule(i)
	}
	sans := typedSANs(c)
	for _, san := range sans {
		for _, i := range ix.byKey[sanKey(san.kind, san.value)] {
			nameRule(i)
		}
		for _, i := range ix.byKey[sanKey("", san.value)] {
			nameRule(i)
		}
	}
	work := 0
	for k, p := range ix.patterns {
		if seen[p.entry] {
			continue
		}
		hit, decided := ix.patternMatches(p, c, sans, &work)
		if !decided {
			ev.Untried = len(ix.patterns) - k
			break
		}
		if hit {
			nameRule(p.entry)
		}
	}
	ix.decideAllOf(conditions, admit, &ev)
	return ev
}

// decideAllOf admits a certificate in an all-of scope when every kind of
// condition the scope states is met: then each met condition is an
// admitting entry. When what is missing is the chain, the name rules and
// pins it met are reported (the server would not look at them).
func (ix *TrustIndex) decideAllOf(conditions map[int]string, admit func(int, string), ev *Evaluation) {
	if len(conditions) == 0 {
		return
	}
	decided := map[string]bool{}
	// In entry order, so that the admissions come in the same order on
	// every run.
	for _, i := range slices.Sorted(maps.Keys(conditions)) {
		place := placeKey(&ix.entries[i])
		if decided[place] {
			continue
		}
		decided[place] = true
		const anchors, names, pins = 0, 1, 2
		var stated, held [3]bool
		anchor := ""
		for _, j := range ix.allOf[place] {
			kind := pins
			switch ix.entries[j].Kind {
			case EntryCA:
				kind = anchors
			case EntrySubjectDN, EntrySAN:
				kind = names
			}
			stated[kind] = true
			if a, ok := conditions[j]; ok {
				held[kind] = true
				if kind == anchors && anchor == "" {
					anchor = a // the first in the context's order, as its anchor reference names
				}
			}
		}
		admitted := (!stated[anchors] || held[anchors]) && (!stated[names] || held[names]) && (!stated[pins] || held[pins])
		for _, j := range ix.allOf[place] {
			a, ok := conditions[j]
			switch {
			case !ok:
			case admitted && ix.entries[j].Kind == EntrySubjectDN, admitted && ix.entries[j].Kind == EntrySAN:
				admit(j, anchor)
			case admitted:
				admit(j, a)
			case stated[anchors] && !held[anchors]:
				ev.Unverified = append(ev.Unverified, j)
			}
		}
	}
	slices.Sort(ev.Unverified)
}

// anchorAccepts: an anchor entry accepts a chain that ends at its
// certificate when that certificate is self-signed, or when its list
// accepts partial chains, and the chain is no deeper than its server
// allows.
func (ix *TrustIndex) anchorAccepts(entry int, end ChainEnd) bool {
	e := &ix.entries[entry]
	if depth, bounded := ix.depth[placeKey(e)]; bounded && end.Depth > depth {
		return false
	}
	if end.Weak && !ix.acceptsSHA1[placeKey(e)] {
		return false
	}
	return e.Value == end.Anchor && (end.Root || e.Match == MatchPartialChain)
}

// TooDeep reports whether chain reaches one of the entry's anchor only
// through more CA certificates than its server allows: why a certificate
// of that CA is refused there.
func (ix *TrustIndex) TooDeep(entry int, chain Chain) (depth, limit int, ok bool) {
	e := &ix.entries[entry]
	limit, bounded := ix.depth[placeKey(e)]
	if !bounded || e.Kind != EntryCA {
		return 0, 0, false
	}
	for _, end := range chain.Ends {
		if end.Anchor == e.Value && (end.Root || e.Match == MatchPartialChain) && end.Depth > limit {
			return end.Depth, limit, true
		}
	}
	return 0, 0, false
}

// chainForNameRule returns the anchor through which c's chain satisfies
// the name rule's server, if it does.
func (ix *TrustIndex) chainForNameRule(entry int, chain Chain) (string, bool) {
	for _, end := range chain.Ends {
		if ix.anyAnchor[entry] {
			for _, a := range ix.byKey["anchor:"+end.Anchor] {
				if ix.anchorAccepts(a, end) {
					return end.Anchor, true
				}
			}
			continue
		}
		for _, a := range ix.nameAnchors[entry] {
			if ix.anchorAccepts(a, end) {
				return end.Anchor, true
			}
		}
	}
	return "", false
}

// patternMatches tries a pattern rule against c's subject or names,
// charging *work one unit per try plus one per 64 bytes tried (a regular
// expression's cost grows with its input). decided is false when the
// budget ran out before an answer.
func (ix *TrustIndex) patternMatches(p compiledPattern, c *Certificate, sans []typedSAN, work *int) (hit, decided bool) {
	charge := func(value string) bool {
		*work += 1 + len(value)/64
		return *work <= maxPatternWork
	}
	e := &ix.entries[p.entry]
	if e.Kind == EntrySubjectDN {
		if !charge(c.Subject) {
			return false, false
		}
		return p.re.MatchString(c.Subject), true
	}
	for _, san := range sans {
		if e.SANType != "" && e.SANType != san.kind {
			continue
		}
		if !charge(san.value) {
			return false, false
		}
		switch e.Match {
		case MatchRegex, MatchSearch:
			hit = p.re.MatchString(san.value)
		case MatchPrefix:
			hit = strings.HasPrefix(san.value, e.Value)
		case MatchSuffix:
			hit = strings.HasSuffix(san.value, e.Value)
		case MatchContains:
			hit = strings.Contains(san.value, e.Value)
		}
		if hit {
			return true, true
		}
	}
	return false, true
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

// VerifyChain finds the trusted certificates that leaf's chain verifies
// to for client authentication. anchors holds the certificates a chain may
// end at: the self-signed certificates of anchor lists, and every
// certificate of lists that accept partial chains; roots names (by
// SHA-256 fingerprint) those of them that are self-signed. intermediates
// are the other CA certificates known (a client sends its chain). A
// self-signed leaf listed as an anchor is its own chain. Chains are
// checked at moments within the leaf's validity (its start, then its end),
// so an expired certificate still shows which CA it belongs to; whether it
// is expired is a finding of its own.
func VerifyChain(leaf *x509.Certificate, anchors, intermediates *x509.CertPool, roots map[string]bool) Chain {
	if why := ClientAuthPurpose(leaf); why != "" {
		return Chain{Problem: why}
	}
	var chains [][]*x509.Certificate
	var err error
	for _, at := range []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)} {
		chains, err = leaf.Verify(x509.VerifyOptions{
			Roots: anchors, Intermediates: intermediates, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		return Chain{Problem: chainProblem(err)}
	}
	var out Chain
	for _, chain := range chains {
		fp := fingerprintHex(chain[len(chain)-1].Raw)
		out.addEnd(ChainEnd{Anchor: fp, Root: roots[fp], Depth: max(len(chain)-2, 0)})
	}
	return out
}

// addEnd adds a chain end, keeping for each anchor its shortest chain.
func (ch *Chain) addEnd(end ChainEnd) {
	for i, e := range ch.Ends {
		if e.Anchor == end.Anchor {
			ch.Ends[i].Depth = min(e.Depth, end.Depth)
			ch.Ends[i].Weak = e.Weak && end.Weak
			return
		}
	}
	ch.Ends = append(ch.Ends, end)
}

// chainProblem says in a reviewer's words why no chain verified.
func chainProblem(err error) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "a CA certificate of its chain is not valid while it is"
		case x509.IncompatibleUsage:
			return "the extended key usage of its chain does not allow TLS client authentication"
		case x509.NotAuthorizedToSign:
			return "its issuer is not allowed to sign certificates (no CA basic constraint)"
		case x509.CANotAuthorizedForThisName:
			return "a name constraint of its chain excludes it"
		case x509.TooManyIntermediates:
			return "its chain is longer than a path length constraint allows"
		}
		return invalid.Error()
	case errors.As(err, &unknown):
		if strings.Contains(unknown.Error(), "insecure algorithm") {
			// Go keeps the reason unexported: its message names it.
			return "a signature of its chain uses " + insecureAlgorithm(unknown.Error()) + ", which OpenSSL 3 (at its default security level) and Go refuse as too weak; Java still accepts SHA-1 from a private CA"
		}
		return "no imported trust anchor verifies its issuer"
	}
	return err.Error()
}

// insecureAlgorithm picks the algorithm's name out of Go's message
// ("… insecure algorithm SHA1-RSA …").
func insecureAlgorithm(message string) string {
	_, rest, _ := strings.Cut(message, "insecure algorithm ")
	name, _, _ := strings.Cut(rest, " ")
	name = strings.Trim(name, `"()\`)
	if name == "" {
		return "SHA-1 or MD5"
	}
	return name
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
