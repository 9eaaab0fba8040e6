package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Severity is how urgent a finding is.
type Severity string

// Severities, most urgent first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// SeverityRank orders severities: 0 is the most urgent.
func SeverityRank(s Severity) int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityHigh:
		return 1
	case SeverityMedium:
		return 2
	}
	return 3
}

// Finding codes.
const (
	FindingExpired           = "expired"
	FindingExpiring          = "expiring"
	FindingWeakKey           = "weak-key"
	FindingWeakSignature     = "weak-signature"
	FindingLongLifetime      = "long-lifetime"
	FindingPrivateKeyExposed = "private-key-exposed"
	FindingPrivateKeyOnDisk  = "private-key-on-disk"
	FindingKeyReuse          = "key-reuse"
	FindingNoOwner           = "no-owner"
	// Findings about trust.
	FindingSelfSignedUnapproved = "self-signed-unapproved"
	FindingUntrusted            = "untrusted"
	FindingChainUnverified      = "chain-unverified"
	FindingPinWithoutCert       = "pin-without-certificate"
	FindingDNMatchAmbiguous     = "dn-match-ambiguous"
	FindingRevoked              = "revoked"
	FindingRevokedButTrusted    = "revoked-but-trusted"
	FindingExceptionExpired     = "exception-expired"
	FindingSubjectCollision     = "subject-collision"
	FindingLookalikeName        = "lookalike-name"
	FindingMatchWithoutChain    = "match-without-chain"
	FindingMalformed            = "malformed"
	FindingTrustIncomplete      = "trust-incomplete"
	// Findings about servers.
	FindingSpoofableNameGate = "spoofable-name-gate"
	FindingAdmitsAnyCert     = "admits-any-certificate"
	FindingServerUnknown     = "server-unknown"
	FindingCANamesDrift      = "ca-names-drift"
	FindingAnyRoleLogin      = "any-role-login"
	// Findings about governance that has run out.
	FindingReviewOverdue = "review-overdue"
	FindingRevokePending = "revoke-pending"
)

// FindingType is what a finding code means and which framework
// identifiers it maps to (OWASP Non-Human Identities Top 10 2025, NIST CSF
// 2.0).
type FindingType struct {
	Code       string
	Severity   Severity
	Title      string
	Frameworks []string
}

// FindingTypes are the findings certgov computes, by code.
var FindingTypes = map[string]FindingType{
	FindingExpired:           {FindingExpired, SeverityCritical, "certificate expired", []string{"NHI7:2025", "PR.AA-01", "ID.AM-08"}},
	FindingExpiring:          {FindingExpiring, SeverityHigh, "certificate expires soon", []string{"NHI7:2025", "PR.AA-01", "ID.AM-08"}},
	FindingWeakKey:           {FindingWeakKey, SeverityHigh, "key below 112-bit strength", []string{"NHI4:2025", "PR.AA-03"}},
	FindingWeakSignature:     {FindingWeakSignature, SeverityMedium, "signed with SHA-1 or MD5", []string{"NHI4:2025", "PR.AA-04"}},
	FindingLongLifetime:      {FindingLongLifetime, SeverityMedium, "validity longer than the policy allows", []string{"NHI7:2025", "PR.AA-01"}},
	FindingPrivateKeyExposed: {FindingPrivateKeyExposed, SeverityCritical, "private key found on disk", []string{"NHI2:2025", "PR.AA-01"}},
	FindingPrivateKeyOnDisk:  {FindingPrivateKeyOnDisk, SeverityLow, "private key kept in a password-protected keystore on disk", []string{"NHI2:2025", "PR.DS-01"}},
	FindingKeyReuse:          {FindingKeyReuse, SeverityMedium, "its public key is also the key of other identities (one key, several identities: prod and staging, or a copied key)", []string{"NHI4:2025", "NHI9:2025", "PR.AA-01"}},
	FindingNoOwner:           {FindingNoOwner, SeverityMedium, "identity has no owner", []string{"NHI1:2025", "GV.RR-02", "ID.AM-08"}},

	FindingSelfSignedUnapproved: {FindingSelfSignedUnapproved, SeverityHigh, "self-signed certificate trusted without an approved exception", []string{"NHI4:2025", "PR.AA-02", "PR.AA-05"}},
	FindingUntrusted:            {FindingUntrusted, SeverityLow, "trusted nowhere: a removal candidate", []string{"NHI1:2025", "ID.AM-08"}},
	FindingChainUnverified:      {FindingChainUnverified, SeverityMedium, "CA-signed, but its chain does not verify to an imported anchor", []string{"NHI4:2025", "PR.AA-03"}},
	FindingPinWithoutCert:       {FindingPinWithoutCert, SeverityMedium, "trust entry matches no known certificate", []string{"NHI1:2025", "PR.AA-05"}},
	FindingDNMatchAmbiguous:     {FindingDNMatchAmbiguous, SeverityHigh, "DN or SAN entry admits several identities", []string{"NHI9:2025", "PR.AA-02"}},
	FindingRevoked:              {FindingRevoked, SeverityHigh, "revoked by its CA", []string{"NHI1:2025", "PR.AA-01"}},
	FindingRevokedButTrusted:    {FindingRevokedButTrusted, SeverityCritical, "revoked, yet a trust entry still admits it", []string{"NHI1:2025", "PR.AA-01", "PR.AA-05"}},
	FindingExceptionExpired:     {FindingExceptionExpired, SeverityHigh, "the approved exception has ended", []string{"NHI7:2025", "PR.AA-05", "GV.PO-02"}},
	FindingSubjectCollision:     {FindingSubjectCollision, SeverityHigh, "carries the name of a CA-signed identity without its CA: a lookalike", []string{"NHI4:2025", "PR.AA-02", "PR.AA-03"}},
	FindingLookalikeName:        {FindingLookalikeName, SeverityHigh, "its name or its owner's reads like another's but differs by invisible or lookalike characters", []string{"NHI4:2025", "PR.AA-02", "GV.RR-02"}},
	FindingMatchWithoutChain:    {FindingMatchWithoutChain, SeverityMedium, "matches a DN or SAN rule (or a pin of a context that also requires a chain), but its chain does not verify to that server's anchors: not admitted", []string{"NHI4:2025", "PR.AA-03"}},
	FindingMalformed:            {FindingMalformed, SeverityMedium, "certificate that Go's crypto/x509 refuses to parse", []string{"ID.AM-08", "PR.AA-01"}},
	FindingReviewOverdue:        {FindingReviewOverdue, SeverityHigh, "its review-by date has passed: re-attest it or set a new date", []string{"NHI7:2025", "GV.RR-02", "ID.AM-08"}},
	FindingRevokePending:        {FindingRevokePending, SeverityHigh, "a campaign decided to revoke it (or asked for a change that is overdue), yet it is still trusted", []string{"NHI1:2025", "PR.AA-01", "GV.PO-02"}},
	FindingSpoofableNameGate:    {FindingSpoofableNameGate, SeverityCritical, "a server admits by subject DN or SAN without verifying a chain (nginx or Apache optional_no_ca with a name gate): anyone can present that name", []string{"NHI4:2025", "PR.AA-03", "PR.AA-05"}},
	FindingAdmitsAnyCert:        {FindingAdmitsAnyCert, SeverityCritical, "a server asks for a client certificate, verifies none and gates nothing: any certificate gets in", []string{"NHI4:2025", "PR.AA-03"}},
	FindingServerUnknown:        {FindingServerUnknown, SeverityMedium, "certgov cannot tell what a server admits (a file it names cannot be read, a gate it cannot model)", []string{"ID.AM-08", "PR.AA-05"}},
	FindingCANamesDrift:         {FindingCANamesDrift, SeverityHigh, "a scanned server asks clients for other CA names than its imported configuration lists (certgov scan): the configuration certgov evaluates is not what runs", []string{"ID.AM-08", "PR.AA-05", "PR.PS-01"}},
	FindingAnyRoleLogin:         {FindingAnyRoleLogin, SeverityCritical, "a database server lets every certificate its CA file verifies log in, without a password, as any role a line names, whatever the certificate's name (PostgreSQL clientcert=verify-ca with trust)", []string{"NHI4:2025", "NHI5:2025", "PR.AA-05"}},
	FindingTrustIncomplete:      {FindingTrustIncomplete, SeverityHigh, "so many names times pattern rules that certgov did not try every rule: a gateway may admit it", []string{"NHI4:2025", "PR.AA-03"}},
}

// FindingCodes lists the finding codes in order.
func FindingCodes() []string {
	codes := make([]string, 0, len(FindingTypes))
	for code := range FindingTypes {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return codes
}

// Policy holds the thresholds findings are computed with.
type Policy struct {
	// ExpiringWithin is the window in which a certificate counts as
	// expiring.
	ExpiringWithin Duration `json:"expiring_within"`
	// MaxLifetime is the longest acceptable validity period of a client
	// certificate (private mTLS certificates fall outside the CA/B Forum
	// rules; 398 days matches their last public limit).
	MaxLifetime Duration `json:"max_lifetime"`
	// MinRSABits and MinECBits are the smallest acceptable key sizes
	// (NIST SP 800-131A: 112-bit strength).
	MinRSABits int `json:"min_rsa_bits"`
	MinECBits  int `json:"min_ec_bits"`
	// ExceptionMaxDuration is the longest a self-signed exception may be
	// approved for.
	ExceptionMaxDuration Duration `json:"exception_max"`
	// FourEyes forbids the owner of an identity to approve its exception
	// or certify it in a campaign: someone else must.
	FourEyes bool `json:"four_eyes"`
	// SeparationOfDuties says what happens when one person does what a
	// campaign needs two for.
	SeparationOfDuties SeparationOfDuties `json:"separation_of_duties"`
	// MaxAge is how old an identity's current certificate may grow before
	// it counts as not rotated (rotation-overdue); zero turns the rule off.
	MaxAge Duration `json:"max_age"`
	// MaxValidCertificates is how many certificates of one identity may
	// be valid at once (certificate-sprawl): the current one and the one
	// it replaces during a rollover; zero turns the rule off.
	MaxValidCertificates int `json:"max_valid_certificates"`
	// UnusedAfter is how long a server's access logs must cover without
	// a certificate it admits being presented there (unused-trust); zero
	// turns the rule off.
	UnusedAfter Duration `json:"unused_after"`
}

// FourEyesError is an approval or certification by the identity's own
// owner under the four_eyes policy.
type FourEyesError struct {
	Identity, Owner, Decider, Decision string
}

func (e *FourEyesError) Error() string {
	return fmt.Sprintf("%s is owned by %s, who may not %s it (policy four_eyes): someone else decides", e.Identity, e.Owner, e.Decision)
}

// CheckFourEyes refuses a decision (approve, certify) on an identity by
// its owner when the policy asks for four eyes. deciders are every name
// the decider goes by (the database login, the name acted for, the OS
// user); names are compared by CanonicalName, so that case, invisible
// characters, lookalike letters or an address's domain do not make the
// owner someone else.
func CheckFourEyes(p Policy, identity, owner, decision string, deciders ...string) error {
	if !p.FourEyes || strings.TrimSpace(owner) == "" {
		return nil
	}
	o := CanonicalName(owner)
	for _, d := range deciders {
		if d == "" {
			continue
		}
		// "аlice" (Cyrillic а), "ALICE", "alice@example.com" are alice.
		c := CanonicalName(d)
		if c == o || localPart(c) == o || localPart(o) == c {
			return &FourEyesError{Identity: identity, Owner: owner, Decider: d, Decision: decision}
		}
	}
	return nil
}

// localPart is an address's part before its @ (the whole name without one).
func localPart(name string) string {
	local, _, _ := strings.Cut(name, "@")
	return local
}

// DefaultPolicy is the policy when no policy file says otherwise.
func DefaultPolicy() Policy {
	return Policy{
		ExpiringWithin:       Duration(30 * 24 * time.Hour),
		MaxLifetime:          Duration(398 * 24 * time.Hour),
		MinRSABits:           2048,
		MinECBits:            256,
		ExceptionMaxDuration: Duration(90 * 24 * time.Hour),
		SeparationOfDuties:   SeparationOfDuties{SoleCloser: Observe, DecisionsPerMinute: FastRun, FastWithoutComment: Observe},
		MaxAge:               Duration(90 * 24 * time.Hour),
		MaxValidCertificates: 2,
		UnusedAfter:          Duration(90 * 24 * time.Hour),
	}
}

// ParsePolicy reads a policy file (JSON); fields it leaves out keep their
// defaults, and unknown fields are an error, so a typo cannot silently
// loosen the policy.
func ParsePolicy(data []byte) (Policy, error) {
	p := DefaultPolicy()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	if p.ExpiringWithin < 0 || p.MaxLifetime <= 0 || p.MinRSABits < 0 || p.MinECBits < 0 || p.ExceptionMaxDuration <= 0 || p.MaxAge < 0 || p.MaxValidCertificates < 0 || p.UnusedAfter < 0 {
		return Policy{}, fmt.Errorf("policy: durations and sizes must be positive")
	}
	sod := p.SeparationOfDuties
	for _, e := range []Enforcement{sod.SoleCloser, sod.FastWithoutComment} {
		if e != Refuse && e != Observe {
			return Policy{}, fmt.Errorf("policy: separation_of_duties: %q: want \"refuse\" or \"observe\"", Printable(string(e)))
		}
	}
	if sod.DecisionsPerMinute < 1 {
		return Policy{}, fmt.Errorf("policy: separation_of_duties: decisions_per_minute must be at least 1")
	}
	return p, nil
}

// Duration is a time.Duration written in policy files as "30d", "12w",
// "1y" or "72h".
type Duration time.Duration

// ParseDuration reads a duration as policies and flags write it: "30d",
// "12w", "1y", "72h".
func ParseDuration(s string) (Duration, error) {
	v, err := parseDuration(s)
	return Duration(v), err
}

// UnmarshalJSON reads "30d"-style durations.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"30d\"")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration in days when it is whole days.
func (d Duration) MarshalJSON() ([]byte, error) {
	v := time.Duration(d)
	if v%(24*time.Hour) == 0 {
		return json.Marshal(fmt.Sprintf("%dd", v/(24*time.Hour)))
	}
	return json.Marshal(fmt.Sprintf("%dh", v/time.Hour))
}

// Finding is one thing a reviewer must act on.
type Finding struct {
	Code              string   `json:"code"`
	Severity          Severity `json:"severity"`
	FingerprintSHA256 string   `json:"fingerprint_sha256,omitempty"`
	Identity          string   `json:"identity,omitempty"`
	// Owner is the identity's owner when the finding was computed: who
	// to call, without opening the identity.
	Owner  string `json:"owner"`
	Source string `json:"source,omitempty"`
	// Location is where in Source, for findings about a server or a trust
	// entry: "sites-enabled/api.conf:12", "line 4".
	Location   string   `json:"location,omitempty"`
	Message    string   `json:"message"`
	Frameworks []string `json:"frameworks"`
}

// KeyOnDisk is an imported file that holds a certificate's private key.
// InKeystore: a PKCS#12 or JKS keystore, which protects it with a
// password; anything else (a PEM or DER key file) leaves it readable.
type KeyOnDisk struct {
	Path       string
	InKeystore bool
}

// CertificateSubject is what certificate findings look at: the record and
// the private keys found for its public key.
type CertificateSubject struct {
	Record
	// KeysOnDisk are the imported files holding its private key.
	KeysOnDisk []KeyOnDisk
	// SharesKeyWith names the other identities whose certificates carry
	// its public key.
	SharesKeyWith []string
	// LooksLike names the other identities whose names differ from its
	// own only by invisible or lookalike characters (Lookalikes);
	// OwnerLooksLike, the other owners that do from its owner.
	LooksLike, OwnerLooksLike []string
	// TrustChecked says trust entries were linked, so Trust and Chain
	// are meaningful.
	TrustChecked bool
	// History is every certificate of its identity, itself included:
	// the rotation findings read it (none: they look at its age alone).
	History []*Certificate
	// Namesakes are the issuances of the identities bearing its names,
	// when several do (unexpected-issuer).
	Namesakes []Issuance
	// Usage is what the access logs of the servers that have them say of
	// it; RevokedAt, when a CRL revoked it (zero: unknown, or not).
	Usage     []ServerUsage
	RevokedAt time.Time
}

// CertificateFindings computes the findings of one certificate at now.
func CertificateFindings(s *CertificateSubject, p Policy, now time.Time) []Finding {
	var out []Finding
	add := func(code, message string, source string) {
		t := FindingTypes[code]
		out = append(out, Finding{
			Code: code, Severity: t.Severity, FingerprintSHA256: s.FingerprintSHA256,
			Identity: s.IdentityName, Owner: s.Owner, Source: source, Message: message, Frameworks: t.Frameworks,
		})
	}
	switch {
	case s.ExpiredAt(now):
		add(FindingExpired, fmt.Sprintf("expired %s (%s)", s.NotAfter.Format("2006-01-02"), Relative(s.NotAfter, now)), "")
	case s.NotAfter.Before(now.Add(time.Duration(p.ExpiringWithin))):
		add(FindingExpiring, fmt.Sprintf("expires %s (%s)", s.NotAfter.Format("2006-01-02"), Relative(s.NotAfter, now)), "")
	}
	if weak, why := weakKey(&s.Certificate, p); weak {
		add(FindingWeakKey, why, "")
	}
	if alg := s.SignatureAlgorithm; strings.Contains(alg, "SHA1") || strings.Contains(alg, "MD5") || strings.Contains(alg, "MD2") {
		add(FindingWeakSignature, "signature algorithm "+alg, "")
	}
	if lifetime := s.NotAfter.Sub(s.NotBefore); !s.ActsAsCA && lifetime > time.Duration(p.MaxLifetime) {
		add(FindingLongLifetime, fmt.Sprintf("valid for %d days, policy allows %d", int(lifetime.Hours()/24), int(time.Duration(p.MaxLifetime).Hours()/24)), "")
	}
	for _, k := range s.KeysOnDisk {
		if k.InKeystore {
			add(FindingPrivateKeyOnDisk, "its private key lies in the password-protected keystore "+k.Path, k.Path)
		} else {
			add(FindingPrivateKeyExposed, "its private key lies in "+k.Path, k.Path)
		}
	}
	if n := len(s.SharesKeyWith); n > 0 {
		names := s.SharesKeyWith[:min(n, 3)]
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
		}
		add(FindingKeyReuse, "its public key is also the key of "+strings.Join(names, ", ")+more, "")
	}
	if len(s.LooksLike) > 0 {
		add(FindingLookalikeName, fmt.Sprintf("its name %s reads like %s, which differs only by invisible or lookalike characters: which is real?",
			quotedNames([]string{s.IdentityName}), quotedNames(s.LooksLike)), "")
	}
	if len(s.OwnerLooksLike) > 0 {
		add(FindingLookalikeName, fmt.Sprintf("its owner %s reads like the owner %s, which differs only by invisible or lookalike characters: four eyes and reviewers may take one for the other",
			quotedNames([]string{s.Owner}), quotedNames(s.OwnerLooksLike)), "")
	}
	if s.Malformed != "" {
		add(FindingMalformed, "Go's crypto/x509 refuses it ("+s.Malformed+"); OpenSSL and most gateways may still accept it", "")
	}
	if s.Owner == "" && !s.ActsAsCA {
		add(FindingNoOwner, "no owner is recorded for "+s.IdentityName, "")
	}
	if !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt) {
		add(FindingReviewOverdue, fmt.Sprintf("review by %s passed (%s)", s.ExpiresAt.UTC().Format("2006-01-02"), Relative(s.ExpiresAt, now)), "")
	}
	if s.Revoked {
		add(FindingRevoked, "revoked by the CRL in "+s.RevokedBy, s.RevokedBy)
		if t, ok := admittingRef(s.Trust); ok {
			add(FindingRevokedButTrusted, fmt.Sprintf("revoked, yet still admitted by %s", t.Where()), t.Source)
		}
	}
	if s.TrustChecked {
		trustFindings(s, now, add)
	}
	rotationFindings(s, p, now, add)
	usageFindings(s, p, add)
	return out
}

// admittingRef is the reference to name when saying what still admits a
// certificate: the first server that lets it in today, else the first
// standalone trust store that lists it. None when every server refuses it
// now (a CRL they check revokes it) and no trust store lists it.
func admittingRef(refs []TrustRef) (TrustRef, bool) {
	for _, t := range refs {
		if t.ServerKey != "" && t.RefusedNow == "" {
			return t, true
		}
	}
	for _, t := range refs {
		if t.ServerKey == "" {
			return t, true
		}
	}
	return TrustRef{}, false
}

// AboutConfiguration reports the finding codes about trust entries and
// servers, which concern no certificate.
func AboutConfiguration(code string) bool {
	switch code {
	case FindingPinWithoutCert, FindingDNMatchAmbiguous, FindingSpoofableNameGate, FindingAdmitsAnyCert, FindingServerUnknown, FindingCANamesDrift, FindingAnyRoleLogin:
		return true
	}
	return false
}

// ServerFindings are the findings about servers themselves.
func ServerFindings(servers []Server) []Finding {
	var out []Finding
	add := func(code string, srv *Server, message string) {
		t := FindingTypes[code]
		out = append(out, Finding{Code: t.Code, Severity: t.Severity, Source: srv.Source, Location: srv.Location, Identity: srv.Name(), Message: message, Frameworks: t.Frameworks})
	}
	for i := range servers {
		srv := &servers[i]
		switch {
		case srv.Unknown != "":
			add(FindingServerUnknown, srv, fmt.Sprintf("server %s (%s): what it admits is unknown: %s", srv.Name(), srv.Location, srv.Unknown))
		case srv.AdmitsAny:
			add(FindingAdmitsAnyCert, srv, fmt.Sprintf("server %s (%s) asks for a client certificate under %s and verifies none, with no gate: any certificate gets in", srv.Name(), srv.Location, srv.Mode))
		case srv.Login != nil && srv.Login.AnyName && !srv.Login.Password && srv.Mode != VerifyOff:
			add(FindingAnyRoleLogin, srv, fmt.Sprintf("server %s lets every certificate that verifies log in as %s to %s without a password, whatever its name",
				srv.Name(), orAnyRole(srv.Login.Roles), databaseText(srv.Login.Databases)))
		case len(srv.SpoofableNames) > 0:
			add(FindingSpoofableNameGate, srv, fmt.Sprintf("server %s (%s) admits by name under %s without verifying a chain: anyone can present %s", srv.Name(), srv.Location, srv.Mode, quotedNames(srv.SpoofableNames)))
		case srv.Kind == ScannedEndpoint:
			if configured := ConfigurationOf(srv, servers); configured != nil {
				if message := CANamesDrift(srv, configured); message != "" {
					add(FindingCANamesDrift, srv, message)
				}
			}
		}
	}
	return out
}

// ScannedEndpoint is the kind of the server certgov scan records.
const ScannedEndpoint = "scanned endpoint"

// ConfigurationOf finds the imported server a scanned endpoint runs: of
// the configured servers of the same host (import --host, scan --host)
// listening on the scanned port, the one with the scanned server name
// when any has it; nil when there is not exactly one.
func ConfigurationOf(scanned *Server, servers []Server) *Server {
	port := ""
	if len(scanned.Listen) > 0 {
		port = scanned.Listen[0]
	}
	var candidates []*Server
	for i := range servers {
		s := &servers[i]
		if s.Kind == ScannedEndpoint || s.Host != scanned.Host || s.Unknown != "" {
			continue
		}
		for _, l := range s.Listen {
			if listenPort(l) == port {
				candidates = append(candidates, s)
				break
			}
		}
	}
	if len(scanned.Names) > 0 {
		var named []*Server
		for _, s := range candidates {
			if slices.Contains(s.Names, scanned.Names[0]) {
				named = append(named, s)
			}
		}
		if len(named) > 0 {
			candidates = named
		}
	}
	if len(candidates) == 0 || !oneEndpoint(candidates) {
		return nil
	}
	return candidates[0]
}

// oneEndpoint reports whether servers are one TLS endpoint seen several
// times: the lines of one PostgreSQL pg_hba.conf share their server's
// handshake, so they come from one source and ask alike.
func oneEndpoint(servers []*Server) bool {
	for _, s := range servers[1:] {
		if s.Source != servers[0].Source || (s.Mode == VerifyOff) != (servers[0].Mode == VerifyOff) || !slices.Equal(s.CANames, servers[0].CANames) {
			return false
		}
	}
	return len(servers) == 1 || servers[0].Login != nil || strings.HasPrefix(servers[0].Kind, "postgresql")
}

// CANamesDrift compares the CA names a scanned endpoint asked for with
// those its configuration sends (nginx: the subjects of
// ssl_client_certificate); "" when they agree.
func CANamesDrift(scanned, configured *Server) string {
	want, got := map[string]bool{}, map[string]bool{}
	for _, n := range configured.CANames {
		want[strings.ToLower(n)] = true
	}
	for _, n := range scanned.CANames {
		got[strings.ToLower(n)] = true
	}
	var extra, missing []string
	for _, n := range scanned.CANames {
		if !want[strings.ToLower(n)] {
			extra = append(extra, n)
		}
	}
	for _, n := range configured.CANames {
		if !got[strings.ToLower(n)] {
			missing = append(missing, n)
		}
	}
	asks := scanned.Mode != VerifyOff
	wants := configured.Mode != VerifyOff
	switch {
	case asks && !wants:
		return fmt.Sprintf("%s asks clients for a certificate, but its imported configuration (%s %s) says ssl_verify_client off", scanned.Location, configured.Name(), configured.Location)
	case !asks && wants:
		return fmt.Sprintf("%s asks clients for no certificate, but its imported configuration (%s %s) verifies them (%s)", scanned.Location, configured.Name(), configured.Location, configured.Mode)
	case len(extra) == 0 && len(missing) == 0:
		return ""
	}
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, "asks for CA names its imported configuration does not list: "+quotedNames(extra))
	}
	if len(missing) > 0 {
		parts = append(parts, "does not ask for CA names its imported configuration lists: "+quotedNames(missing))
	}
	return fmt.Sprintf("%s %s (configuration: %s %s)", scanned.Location, strings.Join(parts, "; "), configured.Name(), configured.Location)
}

// quotedNames quotes names so that what Printable escapes in them shows:
// "ledger.payments.svc\u00ad".
func quotedNames(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// trustFindings are the findings about how the certificate is trusted;
// they are computed once trust entries were linked (TrustChecked).
func trustFindings(s *CertificateSubject, now time.Time, add func(code, message, source string)) {
	explicit, how := "", ""
	if t, ok := s.ExplicitRef(); ok {
		explicit, how = t.Source, "pinned or registered at "+t.Where()
		if t.Kind == EntryCA {
			how = "listed as its own trust anchor at " + t.Where()
		}
	}
	switch {
	case len(s.Trust) == 0 && !s.ActsAsCA:
		add(FindingUntrusted, "no trust entry admits it", "")
	case s.SelfSigned && explicit != "" && s.Exception.ExpiredAt(now):
		add(FindingExceptionExpired, fmt.Sprintf("the exception approved by %s ended %s; still %s", s.Exception.DecidedBy, s.Exception.Until.Format("2006-01-02"), how), explicit)
	case s.SelfSigned && explicit != "" && !s.Exception.ActiveAt(now):
		why := "with no approved exception"
		if s.Exception != nil && s.Exception.State == ExceptionRejected {
			why = "although its exception was rejected by " + s.Exception.DecidedBy
		}
		add(FindingSelfSignedUnapproved, "self-signed and "+how+", "+why, explicit)
	}
	if !s.SelfIssued && !s.ActsAsCA && !s.Chain.Verified() {
		why := s.Chain.Problem
		if why == "" {
			why = "no imported anchor list verifies its issuer"
		}
		add(FindingChainUnverified, "issued by "+s.Issuer+": "+why, "")
	}
	for _, rule := range s.MatchesWithoutChain {
		add(FindingMatchWithoutChain, rule, "")
	}
	if t, ok := admittingRef(s.Trust); ok && s.Decision != nil {
		switch d := s.Decision; {
		case d.Decision == DecisionRevoke:
			add(FindingRevokePending, fmt.Sprintf("%s decided revoke in campaign %s on %s (%s), yet %s still admits it",
				d.Reviewer, d.Campaign, d.DecidedAt.UTC().Format("2006-01-02"), d.Comment, t.Where()), t.Source)
		case d.Decision == DecisionNeedsChange && !d.Due.IsZero() && now.After(d.Due):
			add(FindingRevokePending, fmt.Sprintf("%s asked for a change in campaign %s (%s), due %s and not made; %s still admits it",
				d.Reviewer, d.Campaign, d.Comment, d.Due.UTC().Format("2006-01-02"), t.Where()), t.Source)
		}
	}
	if n := s.PatternRulesUntried; n > 0 {
		add(FindingTrustIncomplete, fmt.Sprintf("its %d names times the pattern rules exceed what certgov tries for one certificate; %d pattern rules were not tried, and a gateway may admit it by one of them", len(s.SANs.All()), n), "")
	}
	for _, name := range s.Mimics {
		add(FindingSubjectCollision, "carries the subject DN or URI SAN of the CA-signed identity "+name+" but does not chain to its CA", "")
	}
}

// EntryUse is a trust entry with what it admitted.
type EntryUse struct {
	Entry     TrustEntry
	Source    string
	AdmitsAny bool
	// Identities names the identities it admits, each once; kept only for
	// the entries whose findings name them (NamesAdmitted): an anchor
	// admits tens of thousands.
	Identities []string
}

// NamesAdmitted reports whether the findings about an entry of this kind
// name the identities it admits (a DN or SAN rule admitting several).
func NamesAdmitted(kind EntryKind) bool { return kind == EntrySubjectDN || kind == EntrySAN }

// EntryFindings are the findings about trust entries themselves: an entry
// that admits no known certificate is drift (a pin left behind, or a
// certificate never inventoried); a DN or SAN entry that admits several
// identities lets them stand in for one another.
//
// A file with more than MaxUnusedEntryFindings entries that admit nothing
// gets one finding that counts them instead of one each: a pin list of a
// million stale pins is one problem to fix (prune the file), and one
// finding a read pays for, not a million. unlisted counts, by source, the
// entries that admit nothing and are not among uses.
func EntryFindings(uses []EntryUse, unlisted map[string]int) []Finding {
	unused := map[string][]int{} // by source: the entries admitting nothing
	for i, u := range uses {
		if unusedEntry(u) {
			unused[u.Source] = append(unused[u.Source], i)
		}
	}
	var out []Finding
	for i, u := range uses {
		if indexes := unused[u.Source]; len(indexes)+unlisted[u.Source] > MaxUnusedEntryFindings && unusedEntry(u) {
			if indexes[0] == i {
				out = append(out, unusedEntries(uses, indexes, len(indexes)+unlisted[u.Source]))
			}
			continue
		}
		what := describeEntry(u.Entry)
		switch {
		case unusedEntry(u):
			t := FindingTypes[FindingPinWithoutCert]
			out = append(out, Finding{Code: t.Code, Severity: t.Severity, Source: u.Source, Location: u.Entry.Location, Identity: u.Entry.Label,
				Message: fmt.Sprintf("%s (%s) admits no known certificate", what, u.Entry.Location), Frameworks: t.Frameworks})
		case len(u.Identities) > 1 && NamesAdmitted(u.Entry.Kind):
			t := FindingTypes[FindingDNMatchAmbiguous]
			out = append(out, Finding{Code: t.Code, Severity: t.Severity, Source: u.Source, Location: u.Entry.Location, Identity: u.Entry.Label,
				Message: fmt.Sprintf("%s (%s) admits %d identities: %s", what, u.Entry.Location, len(u.Identities), strings.Join(u.Identities, ", ")), Frameworks: t.Frameworks})
		}
	}
	return out
}

// MaxUnusedEntryFindings is how many entries of one file that admit no
// known certificate get a finding each; above it, the file gets one.
const MaxUnusedEntryFindings = 100

// unusedEntry: the entry admits no known certificate, and should.
func unusedEntry(u EntryUse) bool {
	switch u.Entry.Kind {
	case EntryJWKSURI, EntryAny:
		return false
	case EntryCA:
		// A trusted CA names its own, known certificate; that it issued
		// no client certificate here is common (a system bundle), not
		// drift.
		return false
	}
	return !u.AdmitsAny
}

// unusedEntries is the one finding for a file's many (total) unused
// entries, of which indexes (into uses) are listed: how many, and where
// the first are.
func unusedEntries(uses []EntryUse, indexes []int, total int) Finding {
	var where []string
	for _, i := range indexes[:min(5, len(indexes))] {
		where = append(where, uses[i].Entry.Location)
	}
	first := uses[indexes[0]]
	t := FindingTypes[FindingPinWithoutCert]
	return Finding{Code: t.Code, Severity: t.Severity, Source: first.Source, Location: where[0],
		Identity: fmt.Sprintf("%d entries", total),
		Message: fmt.Sprintf("%d trust entries of this file admit no known certificate (%s and %d more): prune them, or import what they name",
			total, strings.Join(where, ", "), total-len(where)),
		Frameworks: t.Frameworks}
}

func describeEntry(e TrustEntry) string {
	switch e.Kind {
	case EntryFingerprint, EntryRegistered:
		return fmt.Sprintf("%s %s:%s", e.Kind, e.HashAlgorithm, e.Value[:min(16, len(e.Value))])
	case EntrySAN:
		return fmt.Sprintf("SAN %s %s %q", e.SANType, e.Match, e.Value)
	}
	return fmt.Sprintf("%s %q", e.Kind, e.Value)
}

func weakKey(c *Certificate, p Policy) (bool, string) {
	if c.KeySize == 0 {
		return false, "" // not known: the key could not be parsed (malformed)
	}
	switch c.KeyAlgorithm {
	case "RSA", "DSA":
		if c.KeySize < p.MinRSABits {
			return true, fmt.Sprintf("%s key of %d bits, policy minimum %d", c.KeyAlgorithm, c.KeySize, p.MinRSABits)
		}
	case "ECDSA":
		if c.KeySize < p.MinECBits {
			return true, fmt.Sprintf("EC key on %s, policy minimum %d bits", c.KeyCurve, p.MinECBits)
		}
	}
	return false, ""
}

// SortFindings orders findings by severity, then code, identity and
// fingerprint, so that output is stable.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra < rb
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Identity != b.Identity {
			return a.Identity < b.Identity
		}
		return a.FingerprintSHA256 < b.FingerprintSHA256
	})
}
