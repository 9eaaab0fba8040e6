// Package trust decides which servers admit a certificate, as each
// server decides it: an index of the trust entries (pins, anchors, name
// rules, gates) with the policy of the servers that state them (depth,
// SHA-1 acceptance, all-of conditions), chain verification for client
// authentication, and why a server configured to admit a certificate
// refuses it now. It works on plain values: no database, no files; the
// store persists what it returns.
package trust

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	"certgov/model"
)

// Index answers which entries admit a certificate with hash lookups
// (fingerprint, SPKI, normalised DN, exact SAN, anchor fingerprint); only
// pattern entries (SAN prefix/suffix/contains/regex, DN regex) are tried
// one by one, and configurations hold few of those.
type Index struct {
	// entry is the i-th indexed entry, of count: a view of the caller's
	// entries, not a copy (a relink of a million certificates holds
	// 118,000 entries).
	entry    func(i int) *model.TrustEntry
	count    int
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
	// allOfStates says, for each all-of scope (model.TrustEntry.AllOf),
	// which kinds of condition it states (conditionKind).
	allOfStates map[string][3]bool
	// any are the entries that admit every certificate (model.EntryAny).
	any []int
	// depth bounds, by place, the CA certificates a chain may have between
	// leaf and anchor (model.Server.Depth); places without a bound are absent.
	depth map[string]int
	// serverNames names the server of each place that is one.
	serverNames map[string]string
	// acceptsSHA1 are the places whose server takes a chain that needs a
	// SHA-1 signature (Java's PKIX).
	acceptsSHA1 map[string]bool
}

func placeKey(e *model.TrustEntry) string { return e.Source + "\x00" + e.Scope }

type compiledPattern struct {
	entry int
	re    *regexp.Regexp // regex entries; nil for prefix/suffix/contains
}

// NewIndex indexes entries, with the servers they belong to (an
// entry belongs to the server of its source and scope). An entry that
// cannot be used (a bad regular expression, an unknown kind) is reported
// and left out.
func NewIndex(entries []model.TrustEntry, servers []model.Server) (*Index, []error) {
	return NewIndexOf(len(entries), func(i int) *model.TrustEntry { return &entries[i] }, servers)
}

// NewIndexOf is NewIndex over the count entries that entry returns, which
// must not change while the index is used.
func NewIndexOf(count int, entry func(i int) *model.TrustEntry, servers []model.Server) (*Index, []error) {
	ix := &Index{entry: entry, count: count, byKey: map[string][]int{}, nameAnchors: map[int][]int{}, anyAnchor: map[int]bool{},
		allOfStates: map[string][3]bool{}, depth: map[string]int{}, serverNames: map[string]string{}, acceptsSHA1: map[string]bool{}}
	for _, s := range servers {
		if s.Depth >= 0 {
			ix.depth[s.Key()] = s.Depth
		}
		ix.serverNames[s.Key()] = s.Name()
		ix.acceptsSHA1[s.Key()] = s.AcceptsSHA1
	}
	var errs []error
	var names []int
	for i := range count {
		e := *entry(i)
		if e.AllOf {
			stated := ix.allOfStates[placeKey(&e)]
			stated[conditionKind(e.Kind)] = true
			ix.allOfStates[placeKey(&e)] = stated
		}
		switch e.Kind {
		case model.EntryFingerprint, model.EntryRegistered:
			ix.add(fingerprintKey(e.HashAlgorithm, e.Value), i)
		case model.EntrySPKI:
			ix.add("spki:"+e.Value, i)
		case model.EntrySerial:
			ix.add("serial:"+strings.TrimLeft(e.Value, "0"), i)
		case model.EntryJWKSURI:
		case model.EntryAny:
			ix.any = append(ix.any, i)
		case model.EntryCA:
			ix.add("anchor:"+e.Value, i)
		case model.EntrySubjectDN:
			if !e.AllOf {
				names = append(names, i)
			}
			if e.Match == model.MatchRegex || e.Match == model.MatchSearch || e.Match == model.MatchCommonName || e.Match == model.MatchIssuer {
				re, err := compileRule(e)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: subject DN pattern %q: %w", e.Location, e.Value, err))
					continue
				}
				ix.patterns = append(ix.patterns, compiledPattern{entry: i, re: re})
				continue
			}
			dn, err := model.ParseDNString(e.Value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.Location, err))
				continue
			}
			ix.add("dn:"+dn.Normalized(), i)
		case model.EntrySAN:
			if !e.AllOf {
				names = append(names, i)
			}
			switch e.Match {
			case "", model.MatchExact:
				ix.add(sanKey(e.SANType, e.Value), i)
			case model.MatchRegex, model.MatchSearch:
				re, err := compileRule(e)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: SAN pattern %q: %w", e.Location, e.Value, err))
					continue
				}
				ix.patterns = append(ix.patterns, compiledPattern{entry: i, re: re})
			case model.MatchPrefix, model.MatchSuffix, model.MatchContains, model.MatchFirst:
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

// compileRule compiles a pattern rule: anchored for model.MatchRegex, searched
// for model.MatchSearch, model.MatchCommonName and model.MatchIssuer.
func compileRule(e model.TrustEntry) (*regexp.Regexp, error) {
	if e.Match == model.MatchSearch || e.Match == model.MatchCommonName || e.Match == model.MatchIssuer {
		return regexp.Compile(e.Value)
	}
	return regexp.Compile("^(?:" + e.Value + ")$")
}

// scopeNameRules finds, for each name rule, the anchors of the server it
// belongs to: those of its own scope and of the file's top level (nginx
// servers inherit http-level CA files); for a rule at the top level, every
// anchor of its file; for a file without anchors, every imported anchor.
func (ix *Index) scopeNameRules(names []int) {
	type place struct{ source, scope string }
	byScope := map[place][]int{}
	bySource := map[string][]int{}
	for i := range ix.count {
		if e := ix.entry(i); e.Kind == model.EntryCA {
			byScope[place{e.Source, e.Scope}] = append(byScope[place{e.Source, e.Scope}], i)
			bySource[e.Source] = append(bySource[e.Source], i)
		}
	}
	for _, i := range names {
		e := ix.entry(i)
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

func (ix *Index) add(key string, entry int) { ix.byKey[key] = append(ix.byKey[key], entry) }

// Entry returns the i-th indexed entry.
func (ix *Index) Entry(i int) *model.TrustEntry { return ix.entry(i) }

// RequiredChain says which chain a rule requires before it counts, for
// people: one to any imported anchor for a registration file without
// anchors of its own, else one to an anchor of its scope or file.
func (ix *Index) RequiredChain(entry int) string {
	e := ix.entry(entry)
	switch {
	case ix.anyAnchor[entry]:
		return "a chain to any imported CA anchor"
	case ix.serverNames[placeKey(e)] != "":
		return "a chain to an anchor of server " + ix.serverNames[placeKey(e)]
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
func (ix *Index) Evaluate(c *model.Certificate, chain model.Chain) Evaluation {
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
		if !ix.entry(i).AllOf {
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
// pins it met are reported (the server would not look at them). It reads
// only the conditions met, not every entry of their scopes: a scope may
// hold a pin list of thousands, and each certificate it pins went through
// all of them.
func (ix *Index) decideAllOf(conditions map[int]string, admit func(int, string), ev *Evaluation) {
	if len(conditions) == 0 {
		return
	}
	// By scope, in entry order: the admissions come in the same order on
	// every run, and a scope's first anchor is the first in its context.
	var places []string
	byPlace := map[string][]int{}
	for _, i := range slices.Sorted(maps.Keys(conditions)) {
		place := placeKey(ix.entry(i))
		if byPlace[place] == nil {
			places = append(places, place)
		}
		byPlace[place] = append(byPlace[place], i)
	}
	for _, place := range places {
		stated, met := ix.allOfStates[place], byPlace[place]
		var held [3]bool
		anchor := ""
		for _, j := range met {
			kind := conditionKind(ix.entry(j).Kind)
			held[kind] = true
			if kind == anchorCondition && anchor == "" {
				anchor = conditions[j]
			}
		}
		admitted := true
		for kind := range stated {
			admitted = admitted && (!stated[kind] || held[kind])
		}
		for _, j := range met {
			switch kind := conditionKind(ix.entry(j).Kind); {
			case admitted && kind == nameCondition:
				admit(j, anchor)
			case admitted:
				admit(j, conditions[j])
			case stated[anchorCondition] && !held[anchorCondition]:
				ev.Unverified = append(ev.Unverified, j)
			}
		}
	}
	slices.Sort(ev.Unverified)
}

// The kinds of condition an all-of scope states.
const (
	anchorCondition = iota
	nameCondition
	pinCondition
)

func conditionKind(kind model.EntryKind) int {
	switch kind {
	case model.EntryCA:
		return anchorCondition
	case model.EntrySubjectDN, model.EntrySAN:
		return nameCondition
	}
	return pinCondition
}

// anchorAccepts: an anchor entry accepts a chain that ends at its
// certificate when that certificate is self-signed, or when its list
// accepts partial chains, and the chain is no deeper than its server
// allows.
func (ix *Index) anchorAccepts(entry int, end model.ChainEnd) bool {
	e := ix.entry(entry)
	if depth, bounded := ix.depth[placeKey(e)]; bounded && end.Depth > depth {
		return false
	}
	if end.Weak && !ix.acceptsSHA1[placeKey(e)] {
		return false
	}
	return e.Value == end.Anchor && (end.Root || e.Match == model.MatchPartialChain)
}

// TooDeep reports whether chain reaches one of the entry's anchor only
// through more CA certificates than its server allows: why a certificate
// of that CA is refused there.
func (ix *Index) TooDeep(entry int, chain model.Chain) (depth, limit int, ok bool) {
	e := ix.entry(entry)
	limit, bounded := ix.depth[placeKey(e)]
	if !bounded || e.Kind != model.EntryCA {
		return 0, 0, false
	}
	for _, end := range chain.Ends {
		if end.Anchor == e.Value && (end.Root || e.Match == model.MatchPartialChain) && end.Depth > limit {
			return end.Depth, limit, true
		}
	}
	return 0, 0, false
}

// chainForNameRule returns the anchor through which c's chain satisfies
// the name rule's server, if it does.
func (ix *Index) chainForNameRule(entry int, chain model.Chain) (string, bool) {
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
func (ix *Index) patternMatches(p compiledPattern, c *model.Certificate, sans []typedSAN, work *int) (hit, decided bool) {
	charge := func(value string) bool {
		*work += 1 + len(value)/64
		return *work <= maxPatternWork
	}
	e := ix.entry(p.entry)
	if e.Kind == model.EntrySubjectDN {
		subject := c.Subject
		switch e.Match {
		case model.MatchCommonName:
			subject = c.CommonName
		case model.MatchIssuer:
			subject = c.Issuer
		}
		if !charge(subject) {
			return false, false
		}
		return p.re.MatchString(subject), true
	}
	if e.Match == model.MatchFirst {
		for _, san := range sans {
			if san.kind == e.SANType {
				return san.value == e.Value, charge(san.value)
			}
		}
		return false, true
	}
	for _, san := range sans {
		if e.SANType != "" && e.SANType != san.kind {
			continue
		}
		if !charge(san.value) {
			return false, false
		}
		switch e.Match {
		case model.MatchRegex, model.MatchSearch:
			hit = p.re.MatchString(san.value)
		case model.MatchPrefix:
			hit = strings.HasPrefix(san.value, e.Value)
		case model.MatchSuffix:
			hit = strings.HasSuffix(san.value, e.Value)
		case model.MatchContains:
			hit = strings.Contains(san.value, e.Value)
		}
		if hit {
			return true, true
		}
	}
	return false, true
}

type typedSAN struct{ kind, value string }

func typedSANs(c *model.Certificate) []typedSAN {
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
