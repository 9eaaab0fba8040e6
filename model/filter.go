package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is a certificate with what governance knows about it: the row
// that `ls` prints and that filters select.
type Record struct {
	Certificate
	Owner string
	// ExpiresAt is the governance expiration: the date by which the
	// identity must be re-attested (zero when unset), independent of the
	// certificate's notAfter.
	ExpiresAt time.Time
	Sources   []string
	// Current: this is its identity's current certificate. Findings are
	// the codes of its findings (computed for current certificates).
	Current  bool
	Findings []string
	// Trust lists the entries that admit the certificate; TrustModel sums
	// them up (TrustModelOf).
	Trust      []TrustRef
	TrustModel string
	// Revoked: a CRL revokes it (RevokedBy names the CRL's file).
	Revoked   bool
	RevokedBy string
	// Exception is the latest decision on this certificate, if any.
	Exception *Exception
	// LastSeen is when a server's access log last shows it presented
	// (zero: never, or no log was imported). LogsFrom and LogsUntil are
	// the period the imported logs of the servers that admit it cover
	// (zero when none of them had its logs imported): the evidence that
	// it was not presented.
	LastSeen, LogsFrom, LogsUntil time.Time
	// Usage is what each server's access logs say of it: set by the
	// reads that show it per server (export), not by walks.
	Usage []ServerUsage
	// ActsAsCA: it issued another imported certificate, or declares
	// itself a CA the way CAs do (CA:TRUE with keyCertSign). CA:TRUE alone,
	// the `openssl req -x509` default, does not make a client certificate
	// a CA.
	ActsAsCA bool
	// MatchesWithoutChain describes the rules it matches without the chain
	// their server requires first (name rules; the pins of an Envoy
	// context with trusted_ca): reported, not admitted.
	MatchesWithoutChain []string
	// Mimics names the CA-signed identities whose subject DN or URI SAN it
	// carries without chaining to their CA.
	Mimics []string
	// PatternRulesUntried counts the pattern rules (SAN prefix, regex…)
	// not tried against it because its names used up the per-certificate
	// bound: a gateway may admit it by one of them (trust-incomplete).
	PatternRulesUntried int
	// Chain is what verifying its chain found (the reason, when none
	// verified).
	Chain Chain
	// Decision is the latest campaign decision on its identity, if any.
	Decision *CampaignDecision
}

// TrustedExplicitly reports whether an entry names the certificate itself
// (a pin, a registration, its own anchor): trust to govern as an exception.
func (r *Record) TrustedExplicitly() bool {
	_, ok := r.ExplicitRef()
	return ok
}

// ExplicitRef is the first entry that names the certificate itself.
func (r *Record) ExplicitRef() (TrustRef, bool) {
	for _, t := range r.Trust {
		if t.Explicit {
			return t, true
		}
	}
	return TrustRef{}, false
}

// TrustRef names one trust entry that admits a certificate.
type TrustRef struct {
	// Server names the server whose entry it is (Server.Name); empty for
	// an entry of a standalone trust store (a CA file or pin list that no
	// imported server names).
	Server   string    `json:"server,omitempty"`
	Source   string    `json:"source"`
	Kind     EntryKind `json:"kind"`
	Entry    string    `json:"entry"`
	Location string    `json:"location,omitempty"`
	// Anchor names the anchor a chain rule's chain ends at ("Example Root
	// CA (sha256:0a1b2c3d…)"); empty for pins.
	Anchor string `json:"anchor,omitempty"`
	// Explicit: the entry names the certificate itself (ExplicitTrust),
	// so trusting it is a self-signed exception to govern.
	Explicit bool `json:"explicit"`
	// RefusedNow says why the server refuses the certificate in a
	// handshake today although its configuration admits it (RefusedNow).
	RefusedNow string `json:"refused_now,omitempty"`
	// Reach says, at a database server (Server.Login), which roles the
	// certificate logs in as there and where, one Reach a line (read
	// time's, as RefusedNow).
	Reach string `json:"reach,omitempty"`
	// ServerKey identifies the server (Server.Key).
	ServerKey string `json:"-"`
}

// FilterTerm is one term of the filter language and what it matches. The
// table is the language's one description: `ls --help` prints it, the
// README's table is checked against it, and every term in it parses.
type FilterTerm struct {
	Term, Meaning string
}

// FilterTerms lists the filter language's terms.
var FilterTerms = []FilterTerm{
	{"TEXT", `CN, subject, identity or a SAN contains TEXT ("quote it" for spaces or a colon)`},
	{"expired", "past notAfter"},
	{"expires<30d", "expires within 30 days, expired included (h, d, w, y)"},
	{"expires>1y", "expires more than a year from now"},
	{"selfsigned", "self-signed (its signature verifies with its own key)"},
	{"ca", "acts as a CA (issued an imported certificate, or CA:TRUE with keyCertSign)"},
	{"issuer:TEXT", "issuer DN contains TEXT"},
	{"subject:TEXT", "subject DN contains TEXT"},
	{"san:TEXT", "a SAN contains TEXT"},
	{"key:rsa", "key algorithm: rsa, ecdsa, ed25519, dsa"},
	{"fp:HEX", "SHA-256 fingerprint starts with HEX"},
	{"owner:none", "no owner"},
	{"owner:NAME", "owner contains NAME"},
	{"finding:CODE", "has that finding (finding:any: any finding)"},
	{"trusted", "admitted by some trust entry"},
	{"untrusted", "admitted by none"},
	{"trust:MODEL", "exactly that trust model: tls_client_auth, self_signed_tls_client_auth, mixed, untrusted"},
	{"exception:STATE", "its exception: approved, ended, rejected, revoked, pending (self-signed, trusted by name, undecided), none"},
	{"exception-ends<30d", "an approved exception ends within 30 days"},
	{"source:TEXT", "a file holding it or an entry admitting it: path or host contains TEXT"},
	{"server:TEXT", "a server whose name contains TEXT lets it in today (certgov servers names them)"},
	{"current", "its identity's current certificate"},
	{"revoked", "revoked by an imported CRL"},
	{"seen<90d", "a server's access log shows it presented within the last 90 days"},
	{"unseen>90d", "the access logs of the servers admitting it cover 90 days or more, and it was not presented in their last 90 days"},
}

// FilterHelp is FilterTerms as help text, one term a line.
func FilterHelp(indent string) string {
	var b strings.Builder
	for _, t := range FilterTerms {
		fmt.Fprintf(&b, "%s%-20s %s\n", indent, t.Term, t.Meaning)
	}
	return b.String()
}

// Filter is a parsed filter expression: terms combined with AND, each
// possibly negated with a leading "!" (FilterTerms lists the terms).
type Filter struct {
	source string
	terms  []term
}

type term struct {
	raw    string // the token it was read from: equal tokens, equal terms
	text   string // what it says, unquoted, without its "!"
	free   bool   // free text
	negate bool
	match  func(r *Record, now time.Time) bool
	// timed: what it matches depends on the time (expired, expires<…):
	// a list filtered a moment ago may differ from one filtered now.
	timed bool
	// needle is the lower-cased text of a free-text term, not negated: a
	// term whose needle contains it matches fewer records.
	needle string
	// onFinding: a finding:CODE term, which also selects findings about
	// trust entries (they have no certificate to match the rest against).
	onFinding bool
}

// FilterError points at the term of an expression that could not be read.
type FilterError struct {
	Term   string
	Column int // 1-based position of the term in the expression
	Reason string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter: %q at column %d: %s", e.Term, e.Column, e.Reason)
}

// ParseFilter reads a filter expression. The empty expression matches all.
func ParseFilter(expr string) (*Filter, error) {
	f := &Filter{source: expr}
	tokens, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	for _, tok := range tokens {
		t, err := parseTerm(tok)
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

// String returns the expression the filter was parsed from.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.source
}

// Describe says in words what the filter selects, for readers who do
// not know the filter language (an auditor reading a campaign's scope):
// the meaning of each term from FilterTerms, the term's value in place of
// its placeholder.
func (f *Filter) Describe() string {
	if f.Empty() {
		return "every identity"
	}
	parts := make([]string, len(f.terms))
	for i, t := range f.terms {
		words := describeTerm(t)
		if t.negate {
			words = "not: " + words
		}
		parts[i] = words
	}
	return strings.Join(parts, "; and ")
}

// describeTerm is one term's meaning, its value quoted where the table
// has a placeholder (TEXT, NAME, …) and its remarks in parentheses left
// out.
func describeTerm(t term) string {
	if t.free {
		return meaningOf("TEXT", strconv.Quote(t.text))
	}
	lower := strings.ToLower(t.text)
	for _, sep := range []string{":", "<", ">"} {
		i := strings.Index(lower, sep)
		if i <= 0 || lower == "owner:none" {
			continue
		}
		field, value := lower[:i], t.text[i+1:]
		switch field {
		case "seen":
			return "presented within the last " + value
		case "unseen":
			return "not presented in the last " + value + " of its servers' logs"
		}
		switch sep {
		case ":":
			if m := meaningOf(field+":", strconv.Quote(value)); m != "" {
				return m
			}
		case "<":
			return fmt.Sprintf("%s within %s", strings.ReplaceAll(field, "-", " "), value)
		case ">":
			return fmt.Sprintf("%s more than %s from now", strings.ReplaceAll(field, "-", " "), value)
		}
	}
	if m := meaningOf(lower, ""); m != "" {
		return m
	}
	return t.text
}

// meaningOf is the meaning of the FilterTerms entry whose term is key, or
// starts with it when key ends in ":" or is TEXT, with value in place of
// its placeholder.
func meaningOf(key, value string) string {
	// A field's entry with a placeholder (owner:NAME) before one with a
	// value of its own (owner:none, key:rsa and its list of others).
	for _, placeholders := range []bool{true, false} {
		for _, ft := range FilterTerms {
			term := strings.ToLower(ft.Term)
			if term != strings.ToLower(key) && !(strings.HasSuffix(key, ":") && strings.HasPrefix(term, key)) {
				continue
			}
			_, placeholder, hasValue := strings.Cut(ft.Term, ":")
			if key == "TEXT" {
				placeholder, hasValue = "TEXT", true
			}
			upper := hasValue && placeholder == strings.ToUpper(placeholder)
			if strings.HasSuffix(key, ":") && upper != placeholders {
				continue
			}
			meaning := ft.Meaning
			if i := strings.Index(meaning, " ("); i >= 0 {
				meaning = meaning[:i]
			}
			switch {
			case value == "" || !hasValue:
				return meaning
			case upper && strings.Contains(meaning, placeholder):
				return strings.Replace(meaning, placeholder, value, 1)
			case upper:
				return meaning + ": " + value
			}
			label, _, _ := strings.Cut(meaning, ":")
			return label + ": " + value
		}
	}
	return ""
}

// Empty reports whether the filter matches everything.
func (f *Filter) Empty() bool { return f == nil || len(f.terms) == 0 }

// MatchEntryFinding reports whether a finding about a trust entry itself
// (no certificate: pin-without-certificate, dn-match-ambiguous) passes the
// filter: the empty filter passes all, a filter of finding:CODE terms
// those codes, any other term none.
func (f *Filter) MatchEntryFinding(code string, now time.Time) bool {
	if f.Empty() {
		return true
	}
	r := &Record{Findings: []string{code}}
	for _, t := range f.terms {
		if !t.onFinding || t.match(r, now) == t.negate {
			return false
		}
	}
	return true
}

// Narrows reports whether every record f matches, prev matches too, at
// whatever times each is asked: f repeats prev's terms, free text
// possibly lengthened ("team" to "team-0"), and may add more. A list
// filtered by prev can then be filtered by f alone, as a dashboard does
// while a filter is typed. prev's terms must not depend on the time: the
// list was filtered a moment ago.
func (f *Filter) Narrows(prev *Filter) bool {
	if f.Empty() || prev.Empty() || len(f.terms) < len(prev.terms) {
		return false
	}
	for i, p := range prev.terms {
		t := f.terms[i]
		switch {
		case p.timed:
			return false
		case t.raw == p.raw:
		case p.needle == "" || t.needle == "" || !strings.Contains(t.needle, p.needle):
			return false
		}
	}
	return true
}

// Timed reports whether what f matches depends on the time.
func (f *Filter) Timed() bool {
	if f == nil {
		return false
	}
	for _, t := range f.terms {
		if t.timed {
			return true
		}
	}
	return false
}

// Match reports whether r satisfies every term at time now.
func (f *Filter) Match(r *Record, now time.Time) bool {
	if f == nil {
		return true
	}
	for _, t := range f.terms {
		if t.match(r, now) == t.negate {
			return false
		}
	}
	return true
}

type token struct {
	text   string
	raw    string
	column int
}

func tokenize(expr string) ([]token, error) {
	var tokens []token
	i := 0
	for i < len(expr) {
		if expr[i] == ' ' || expr[i] == '\t' {
			i++
			continue
		}
		start := i
		var b strings.Builder
		for i < len(expr) && expr[i] != ' ' && expr[i] != '\t' {
			if expr[i] != '"' {
				b.WriteByte(expr[i])
				i++
				continue
			}
			end := strings.IndexByte(expr[i+1:], '"')
			if end < 0 {
				return nil, &FilterError{Term: expr[start:], Column: start + 1, Reason: "unclosed quote"}
			}
			b.WriteString(expr[i+1 : i+1+end])
			i += end + 2
		}
		tokens = append(tokens, token{text: b.String(), raw: expr[start:i], column: start + 1})
	}
	return tokens, nil
}

func parseTerm(tok token) (term, error) {
	text := tok.text
	t := term{raw: tok.raw}
	if strings.HasPrefix(tok.raw, "!") {
		t.negate = true
		text = text[1:]
	}
	bad := func(reason string) (term, error) {
		return term{}, &FilterError{Term: tok.raw, Column: tok.column, Reason: reason}
	}
	if text == "" {
		return bad("nothing after !")
	}
	t.text = text
	if strings.HasPrefix(strings.TrimPrefix(tok.raw, "!"), "\"") {
		return t.freeText(text), nil
	}
	lower := strings.ToLower(text)
	switch lower {
	case "expired":
		t.match, t.timed = func(r *Record, now time.Time) bool { return r.ExpiredAt(now) }, true
		return t, nil
	case "selfsigned", "self-signed":
		t.match = func(r *Record, _ time.Time) bool { return r.SelfSigned }
		return t, nil
	case "ca":
		t.match = func(r *Record, _ time.Time) bool { return r.ActsAsCA }
		return t, nil
	case "current":
		t.match = func(r *Record, _ time.Time) bool { return r.Current }
		return t, nil
	case "revoked":
		t.match = func(r *Record, _ time.Time) bool { return r.Revoked }
		return t, nil
	case "trusted":
		t.match = func(r *Record, _ time.Time) bool { return len(r.Trust) > 0 }
		return t, nil
	case "untrusted":
		t.match = func(r *Record, _ time.Time) bool { return len(r.Trust) == 0 }
		return t, nil
	}
	if strings.HasPrefix(lower, "expires") {
		return parseExpires(t, tok, lower[len("expires"):])
	}
	if rest, ok := strings.CutPrefix(lower, "seen"); ok {
		return parseSeen(t, tok, rest, false)
	}
	if rest, ok := strings.CutPrefix(lower, "unseen"); ok {
		return parseSeen(t, tok, rest, true)
	}
	if rest, ok := strings.CutPrefix(lower, "exception-ends"); ok {
		if len(rest) < 2 || rest[0] != '<' {
			return bad("write exception-ends<DURATION, e.g. exception-ends<30d")
		}
		d, err := parseDuration(rest[1:])
		if err != nil {
			return bad(err.Error())
		}
		t.match = func(r *Record, now time.Time) bool {
			return r.Exception.ActiveAt(now) && r.Exception.Until.Before(now.Add(d))
		}
		t.timed = true
		return t, nil
	}
	field, value, hasField := strings.Cut(text, ":")
	if !hasField || strings.HasPrefix(value, "//") {
		return t.freeText(text), nil
	}
	if value == "" {
		return bad("missing value after " + field + ":")
	}
	needle := strings.ToLower(value)
	switch strings.ToLower(field) {
	case "issuer":
		t.match = func(r *Record, _ time.Time) bool { return containsFold(r.Issuer, needle) }
	case "subject":
		t.match = func(r *Record, _ time.Time) bool { return containsFold(r.Subject, needle) }
	case "san":
		t.match = func(r *Record, _ time.Time) bool { return sansContainFold(&r.SANs, needle) }
	case "fp":
		needle = strings.ReplaceAll(strings.TrimPrefix(needle, "sha256:"), ":", "")
		t.match = func(r *Record, _ time.Time) bool { return strings.HasPrefix(r.FingerprintSHA256, needle) }
	case "key":
		algorithm, ok := map[string]string{"rsa": "RSA", "ecdsa": "ECDSA", "ec": "ECDSA", "ed25519": "Ed25519", "dsa": "DSA"}[needle]
		if !ok {
			return bad("unknown key algorithm " + strconv.Quote(value) + " (rsa, ecdsa, ed25519, dsa)")
		}
		t.match = func(r *Record, _ time.Time) bool { return r.KeyAlgorithm == algorithm }
	case "owner":
		if needle == "none" {
			t.match = func(r *Record, _ time.Time) bool { return r.Owner == "" }
		} else {
			t.match = func(r *Record, _ time.Time) bool { return containsFold(r.Owner, needle) }
		}
	case "trust":
		// Exact: tls_client_auth is a suffix of self_signed_tls_client_auth.
		if !slices.Contains(TrustModels, needle) {
			return bad("unknown trust model " + strconv.Quote(value) + " (" + strings.Join(TrustModels, ", ") + ")")
		}
		t.match = func(r *Record, _ time.Time) bool { return r.TrustModel == needle }
	case "source":
		t.match = func(r *Record, _ time.Time) bool {
			if anyContainsFold(r.Sources, needle) {
				return true
			}
			for _, ref := range r.Trust {
				if containsFold(ref.Source, needle) {
					return true
				}
			}
			return false
		}
	case "server":
		t.match = func(r *Record, _ time.Time) bool {
			for _, ref := range r.Trust {
				if ref.Server != "" && ref.RefusedNow == "" && containsFold(ref.Server, needle) {
					return true
				}
			}
			return false
		}
	case "exception":
		state := ExceptionState(needle)
		if !slices.Contains(ExceptionStatuses, state) {
			names := make([]string, len(ExceptionStatuses))
			for i, st := range ExceptionStatuses {
				names[i] = string(st)
			}
			return bad("unknown exception state " + strconv.Quote(value) + " (" + strings.Join(names, ", ") + ")")
		}
		t.match, t.timed = func(r *Record, now time.Time) bool { return ExceptionStatus(r, now) == state }, true
	case "finding":
		t.onFinding = true
		if needle == "any" {
			t.match = func(r *Record, _ time.Time) bool { return len(r.Findings) > 0 }
		} else if _, ok := FindingTypes[needle]; ok {
			t.match = func(r *Record, _ time.Time) bool { return slices.Contains(r.Findings, needle) }
		} else {
			return bad("unknown finding " + strconv.Quote(value) + " (" + strings.Join(FindingCodes(), ", ") + ", any)")
		}
	default:
		return bad("unknown field " + strconv.Quote(field) + " (issuer, subject, san, fp, key, owner, finding, trust, exception, source; quote free text that contains a colon)")
	}
	return t, nil
}

func parseExpires(t term, tok token, rest string) (term, error) {
	bad := func(reason string) (term, error) {
		return term{}, &FilterError{Term: tok.raw, Column: tok.column, Reason: reason}
	}
	if len(rest) < 2 || (rest[0] != '<' && rest[0] != '>') {
		return bad("write expires<DURATION or expires>DURATION, e.g. expires<30d")
	}
	d, err := parseDuration(rest[1:])
	if err != nil {
		return bad(err.Error())
	}
	if rest[0] == '<' {
		t.match = func(r *Record, now time.Time) bool { return r.NotAfter.Before(now.Add(d)) }
	} else {
		t.match = func(r *Record, now time.Time) bool { return r.NotAfter.After(now.Add(d)) }
	}
	t.timed = true
	return t, nil
}

// parseSeen reads seen<DURATION and unseen>DURATION: usage evidence
// from the servers' access logs. Unseen asks for evidence of absence:
// logs long enough to have shown it, as the unused-trust finding does.
func parseSeen(t term, tok token, rest string, unseen bool) (term, error) {
	want := map[bool]string{false: "seen<DURATION, e.g. seen<90d", true: "unseen>DURATION, e.g. unseen>90d"}[unseen]
	if len(rest) < 2 || (rest[0] != '<' && rest[0] != '>') || (rest[0] == '>') != unseen {
		return term{}, &FilterError{Term: tok.raw, Column: tok.column, Reason: "write " + want}
	}
	d, err := parseDuration(rest[1:])
	if err != nil {
		return term{}, &FilterError{Term: tok.raw, Column: tok.column, Reason: err.Error()}
	}
	if unseen {
		t.match = func(r *Record, _ time.Time) bool {
			since := r.LogsUntil.Add(-d)
			return !r.LogsFrom.IsZero() && !r.LogsFrom.After(since) && r.LastSeen.Before(since)
		}
	} else {
		t.match = func(r *Record, now time.Time) bool { return !r.LastSeen.IsZero() && r.LastSeen.After(now.Add(-d)) }
		t.timed = true
	}
	return t, nil
}

// parseDuration reads durations such as 12h, 30d, 12w, 1y.
func parseDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if len(s) < 2 {
		return 0, fmt.Errorf("bad duration %q (use e.g. 12h, 30d, 12w, 1y)", s)
	}
	unit, ok := units[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("bad duration %q (use e.g. 12h, 30d, 12w, 1y)", s)
	}
	return time.Duration(n) * unit, nil
}

// freeText makes t a free-text search for text.
func (t term) freeText(text string) term {
	t.match, t.free = freeText(text), true
	if !t.negate {
		t.needle = strings.ToLower(text)
	}
	return t
}

func freeText(text string) func(r *Record, _ time.Time) bool {
	needle := strings.ToLower(text)
	return func(r *Record, _ time.Time) bool {
		return containsFold(r.CommonName, needle) || containsFold(r.Subject, needle) ||
			containsFold(r.IdentityName, needle) || sansContainFold(&r.SANs, needle)
	}
}

// containsFold reports whether s contains the lower-case needle, ignoring
// case. It allocates nothing for ASCII text (what the printable strings a
// dashboard holds are): a filter keystroke over a million rows makes no
// garbage.
func containsFold(s, needle string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), needle)
		}
	}
	if len(needle) == 0 {
		return true
	}
	first, firstUpper := needle[0], needle[0]
	if 'a' <= first && first <= 'z' {
		firstUpper -= 'a' - 'A'
	}
	for i := 0; i+len(needle) <= len(s); i++ {
		if c := s[i]; (c == first || c == firstUpper) && hasLowerPrefixASCII(s[i+1:], needle[1:]) {
			return true
		}
	}
	return false
}

// hasLowerPrefixASCII reports whether the ASCII s begins with the
// lower-case prefix, ignoring case.
func hasLowerPrefixASCII(s, prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// sansContainFold reports whether a SAN of any kind contains the needle.
func sansContainFold(s *SANs, needle string) bool {
	return anyContainsFold(s.DNS, needle) || anyContainsFold(s.URI, needle) || anyContainsFold(s.IP, needle) || anyContainsFold(s.Email, needle)
}

func anyContainsFold(values []string, needle string) bool {
	for _, v := range values {
		if containsFold(v, needle) {
			return true
		}
	}
	return false
}
