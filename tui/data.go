package tui

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"certgov/model"
	"certgov/store"
)

// Row is one identity as the dashboard holds it in memory: what its lists
// show, sort and filter on, packed, because a million are held (the whole
// record took 2 KB a row, 1.1 GiB at a million certificates). What many
// rows share (issuer, owner, key type, trust entries, finding codes) sits
// in one shared profile; the lists rows repeat (trust entries, source
// files) once, pointed at; the row's own strings sit end to end in one
// string. The detail screen reads what a row leaves out (serial, key hash,
// the findings' messages) from the database when it opens (fullRow).
type Row struct {
	*rowProfile
	// text holds the row's own strings: the fingerprint (up to subject),
	// the subject, the identity and common names where the subject does
	// not hold them, then its SANs, each behind a kind byte and ended by a
	// NUL (Printable strings hold no NUL).
	text                              string
	subject, identityName, commonName span
	lists                             uint32 // where the SANs start
	Versions                          int32
	// lastSeen, logsFrom and logsUntil are the usage evidence
	// (model.Record.LastSeen, LogsFrom, LogsUntil) in Unix seconds, 0 for
	// none: 32 bits last until 2106, and save 12 bytes a row.
	lastSeen, logsFrom, logsUntil uint32
	key                           identityKey
	notBefore, notAfter           int64 // Unix seconds: what certificates carry
	expiresAt                     int64 // the governance expiration; 0 when unset
	exception                     *model.Exception
	// trust is the row's, not its profile's: a self-signed certificate's
	// pin names it alone, and would make a profile of its own. The files
	// of a bundle's hundred certificates share one list of sources (a
	// path took 65 bytes of every row's text at a million certificates).
	trust   *[]model.TrustRef
	sources *[]string
}

// span is a part of Row.text.
type span struct{ from, to uint32 }

// identityKey stands for an identity's key (often over 100 bytes): the
// first 16 bytes of its SHA-256, as the store's key_hash.
type identityKey [16]byte

func keyOf(identityKey string) identityKey {
	sum := sha256.Sum256([]byte(identityKey))
	return [16]byte(sum[:16])
}

// The kinds of Row.text's list items.
const (
	listDNS   = 'd'
	listURI   = 'u'
	listIP    = 'i'
	listEmail = 'e'
)

// rowProfile is what rows share, one copy per distinct profile.
type rowProfile struct {
	profileKey
	findings            []string // codes, most urgent first
	matchesWithoutChain []string
	chainEnds           []model.ChainEnd
	worst               int // rank of the most urgent finding; 4 when none
}

// profileKey is a profile's identity: its strings are interned, its lists
// stand for themselves joined or by their interned first element.
type profileKey struct {
	// issuerDN is "" when it is the subject (issuerIsSubject): every
	// self-signed certificate would make a profile of its own.
	issuerDN, issuer, owner, keyAlgorithm, keyCurve, signatureAlgorithm string
	trustModel, revokedBy, chainProblem, malformed                      string
	findingsKey, matchesKey                                             string // the lists joined
	chainKey                                                            *model.ChainEnd
	keySize                                                             int
	issuerIsSubject                                                     bool
	selfSigned, selfIssued, isCA, actsAsCA, revoked                     bool
}

// newRow packs a reviewed record and its findings. in shares what rows
// repeat.
func newRow(r model.Record, findings []model.Finding, in interner) Row {
	// The dashboard draws what files and people wrote: printable only.
	r = model.PrintableRecord(r)
	c := &r.Certificate
	codes := make([]string, 0, len(findings))
	sorted := printableFindings(findings)
	model.SortFindings(sorted)
	worst := 4
	for _, f := range sorted {
		codes = append(codes, f.Code)
		worst = min(worst, model.SeverityRank(f.Severity))
	}
	issuer := "(self)"
	if !r.SelfSigned {
		issuer = r.Issuer
		if dn, err := model.ParseDNString(r.Issuer); err == nil && dn.First("CN") != "" {
			issuer = dn.First("CN")
		}
	}
	// Only whether some chain verified is shown (Chain.Verified): one
	// shared end says it.
	var ends []model.ChainEnd
	switch {
	case r.Chain.Verified():
		ends = verifiedEnd
	case len(r.Chain.Ends) > 0:
		ends = weakEnd
	}
	key := profileKey{issuerIsSubject: c.Issuer == c.Subject,
		issuer: in.get(issuer), owner: in.get(r.Owner), keyAlgorithm: in.get(c.KeyAlgorithm),
		keyCurve: in.get(c.KeyCurve), signatureAlgorithm: in.get(c.SignatureAlgorithm), trustModel: in.get(r.TrustModel),
		revokedBy: in.get(r.RevokedBy), chainProblem: in.get(r.Chain.Problem), malformed: in.get(c.Malformed),
		findingsKey: in.get(strings.Join(codes, "\x00")), matchesKey: in.get(strings.Join(r.MatchesWithoutChain, "\x00")),
		keySize: c.KeySize, selfSigned: c.SelfSigned, selfIssued: c.SelfIssued, isCA: c.IsCA, actsAsCA: r.ActsAsCA, revoked: r.Revoked,
	}
	if len(ends) > 0 {
		key.chainKey = &ends[0]
	}
	if !key.issuerIsSubject {
		key.issuerDN = in.get(c.Issuer)
	}
	profile := in.profiles[key]
	if profile == nil {
		profile = &rowProfile{profileKey: key, chainEnds: ends, worst: worst}
		for _, code := range codes {
			profile.findings = append(profile.findings, in.get(code))
		}
		for _, m := range r.MatchesWithoutChain {
			profile.matchesWithoutChain = append(profile.matchesWithoutChain, in.get(m))
		}
		in.profiles[key] = profile
	}
	row := Row{rowProfile: profile, trust: in.trust(r.Trust), sources: in.list(r.Sources), key: keyOf(c.IdentityKey), notBefore: c.NotBefore.Unix(), notAfter: c.NotAfter.Unix(), exception: r.Exception}
	if !r.ExpiresAt.IsZero() {
		row.expiresAt = r.ExpiresAt.Unix()
	}
	row.lastSeen, row.logsFrom, row.logsUntil = unix32(r.LastSeen), unix32(r.LogsFrom), unix32(r.LogsUntil)
	row.pack(c)
	return row
}

// unix32 is t in Unix seconds, 0 for the zero time (or one before 1970).
func unix32(t time.Time) uint32 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return uint32(min(t.Unix(), 1<<32-1))
}

// time32 is unix32's inverse: the zero time for 0.
func time32(v uint32) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// pack writes the row's own strings into its text, in one allocation.
func (row *Row) pack(c *model.Certificate) {
	var b strings.Builder
	size := len(c.FingerprintSHA256) + len(c.Subject) + len(c.IdentityName) + len(c.CommonName)
	for _, list := range [][]string{c.SANs.DNS, c.SANs.URI, c.SANs.IP, c.SANs.Email} {
		for _, v := range list {
			size += len(v) + 2
		}
	}
	b.Grow(size)
	put := func(v string) span {
		from := b.Len()
		b.WriteString(v)
		return span{uint32(from), uint32(b.Len())}
	}
	b.WriteString(c.FingerprintSHA256)
	row.subject = put(c.Subject)
	// The names are most often in the subject already (CN=name,…).
	within := func(v string) (span, bool) {
		if i := strings.Index(c.Subject, v); i >= 0 && v != "" {
			return span{row.subject.from + uint32(i), row.subject.from + uint32(i+len(v))}, true
		}
		return span{}, v == ""
	}
	var ok bool
	if row.identityName, ok = within(c.IdentityName); !ok {
		row.identityName = put(c.IdentityName)
	}
	if row.commonName, ok = within(c.CommonName); !ok {
		row.commonName = put(c.CommonName)
	}
	row.lists = uint32(b.Len())
	for _, list := range []struct {
		kind   byte
		values []string
	}{{listDNS, c.SANs.DNS}, {listURI, c.SANs.URI}, {listIP, c.SANs.IP}, {listEmail, c.SANs.Email}} {
		for _, v := range list.values {
			b.WriteByte(list.kind)
			b.WriteString(v)
			b.WriteByte(0)
		}
	}
	row.text = b.String()
}

func (row *Row) part(s span) string { return row.text[s.from:s.to] }

// FingerprintSHA256 is the row's current certificate's fingerprint.
func (row *Row) FingerprintSHA256() string { return row.text[:row.subject.from] }

// IdentityName is the row's identity's name.
func (row *Row) IdentityName() string { return row.part(row.identityName) }

// Owner is the identity's owner, or "".
func (row *Row) Owner() string { return row.owner }

// NotAfter is when the row's certificate expires.
func (row *Row) NotAfter() time.Time { return time.Unix(row.notAfter, 0).UTC() }

// ExpiredAt reports whether the certificate is past its notAfter at now.
func (row *Row) ExpiredAt(now time.Time) bool { return now.After(row.NotAfter()) }

// Trust lists the entries that admit the certificate.
func (row *Row) Trust() []model.TrustRef { return shared(row.trust) }

// Sources lists the files the certificate was found in.
func (row *Row) Sources() []string { return shared(row.sources) }

// shared is the list an interned pointer stands for; nil for none.
func shared[T any](list *[]T) []T {
	if list == nil {
		return nil
	}
	return *list
}

// trustShort names how it is trusted (model.TrustShort).
func (row *Row) trustShort() string { return model.TrustShort(row.trustModel, row.selfSigned) }

// trustedExplicitly reports whether an entry names the certificate
// itself (model.Record.TrustedExplicitly).
func (row *Row) trustedExplicitly() bool {
	for _, t := range row.Trust() {
		if t.Explicit {
			return true
		}
	}
	return false
}

// fill makes rec the row's record, reusing rec's lists: a filter pass
// over a million rows allocates nothing. rec must be zero or filled
// before: fill sets the fields it knows and leaves the rest, which no row
// has (serial, key hash, SHA-1 fingerprint, key usages), as they are. Its
// Trust and Sources are the rows' shared lists: not to be written.
func (row *Row) fill(rec *model.Record) *model.Record {
	p := row.rowProfile
	sans := &rec.SANs
	sans.DNS, sans.URI, sans.IP, sans.Email = sans.DNS[:0], sans.URI[:0], sans.IP[:0], sans.Email[:0]
	for rest := row.text[row.lists:]; rest != ""; {
		kind := rest[0]
		end := strings.IndexByte(rest, 0)
		v := rest[1:end]
		rest = rest[end+1:]
		switch kind {
		case listDNS:
			sans.DNS = append(sans.DNS, v)
		case listURI:
			sans.URI = append(sans.URI, v)
		case listIP:
			sans.IP = append(sans.IP, v)
		case listEmail:
			sans.Email = append(sans.Email, v)
		}
	}
	// Field by field: writing the whole record anew cost a third of a
	// filter pass.
	c := &rec.Certificate
	c.FingerprintSHA256, c.Subject, c.Issuer = row.FingerprintSHA256(), row.part(row.subject), p.issuerDN
	if p.issuerIsSubject {
		c.Issuer = c.Subject
	}
	c.CommonName, c.IdentityName, c.Malformed = row.part(row.commonName), row.IdentityName(), p.malformed
	c.NotBefore, c.NotAfter = time.Unix(row.notBefore, 0).UTC(), row.NotAfter()
	c.KeyAlgorithm, c.KeySize, c.KeyCurve, c.SignatureAlgorithm = p.keyAlgorithm, p.keySize, p.keyCurve, p.signatureAlgorithm
	c.IsCA, c.SelfIssued, c.SelfSigned = p.isCA, p.selfIssued, p.selfSigned
	rec.Owner, rec.Sources, rec.Current, rec.Findings = p.owner, row.Sources(), true, p.findings
	rec.Trust, rec.TrustModel, rec.Revoked, rec.RevokedBy = row.Trust(), p.trustModel, p.revoked, p.revokedBy
	rec.Exception, rec.ActsAsCA, rec.MatchesWithoutChain = row.exception, p.actsAsCA, p.matchesWithoutChain
	rec.Chain = model.Chain{Ends: p.chainEnds, Problem: p.chainProblem}
	rec.LastSeen, rec.LogsFrom, rec.LogsUntil = time32(row.lastSeen), time32(row.logsFrom), time32(row.logsUntil)
	rec.ExpiresAt = time.Time{}
	if row.expiresAt != 0 {
		rec.ExpiresAt = time.Unix(row.expiresAt, 0).UTC()
	}
	return rec
}

// record is the row's record in lists of its own, to keep.
func (row *Row) record() model.Record {
	var rec model.Record
	row.fill(&rec)
	return rec
}

// fullRow is one identity as the detail screen shows it: its record and
// findings whole, and how many certificates it has had.
type fullRow struct {
	model.Record
	Findings []model.Finding
	Versions int
}

// full is what the row says of its identity, with each finding described
// by its type until the database gives its message.
func (row *Row) full() fullRow {
	f := fullRow{Record: row.record(), Versions: int(row.Versions)}
	for _, code := range row.findings {
		t := model.FindingTypes[code]
		f.Findings = append(f.Findings, model.Finding{Code: code, Severity: t.Severity, FingerprintSHA256: f.FingerprintSHA256,
			Identity: f.IdentityName, Owner: f.Owner, Message: t.Title, Frameworks: t.Frameworks})
	}
	return f
}

// verifiedEnd and weakEnd stand for a row's chain ends: one verified, or
// only chains that need a SHA-1 signature.
var (
	verifiedEnd = []model.ChainEnd{{}}
	weakEnd     = []model.ChainEnd{{Weak: true}}
)

// interner hands out one copy of each string, list of trust references
// and row profile it is given: the certificates of one CA share theirs.
type interner struct {
	strings  map[string]string
	trusts   map[string]*[]model.TrustRef
	lists    map[string]*[]string
	profiles map[profileKey]*rowProfile
	*slabs
}

// slabs hand out the trust lists and strings an interner keeps from a few
// large arrays: made one by one, they sat among a load's garbage of the
// same size, and the heap kept every span that held one.
type slabs struct {
	refs  []model.TrustRef
	lists [][]model.TrustRef
	texts strings.Builder
}

// slabSize is how many references, and lists, one array holds.
const slabSize = 1024

func newInterner() interner {
	return interner{strings: map[string]string{}, trusts: map[string]*[]model.TrustRef{},
		lists: map[string]*[]string{}, profiles: map[profileKey]*rowProfile{}, slabs: &slabs{}}
}

// trustList returns a list of n references, and where it is kept.
func (s *slabs) trustList(n int) *[]model.TrustRef {
	if len(s.lists) == 0 {
		s.lists = make([][]model.TrustRef, slabSize)
	}
	if n > len(s.refs) {
		s.refs = make([]model.TrustRef, max(n, slabSize))
	}
	list := &s.lists[0]
	*list, s.refs, s.lists = s.refs[:n:n], s.refs[n:], s.lists[1:]
	return list
}

// list returns the one copy of a list of strings equal to values.
func (in interner) list(values []string) *[]string {
	if len(values) == 0 {
		return nil
	}
	key := strings.Join(values, "\x00") // Printable strings hold no NUL
	if shared, ok := in.lists[key]; ok {
		return shared
	}
	shared := make([]string, len(values))
	for i, v := range values {
		shared[i] = in.get(v)
	}
	in.lists[key] = &shared
	return &shared
}

// trust returns the one copy of a list equal to refs.
func (in interner) trust(refs []model.TrustRef) *[]model.TrustRef {
	if len(refs) == 0 {
		return nil
	}
	var key strings.Builder
	for _, t := range refs {
		for _, s := range []string{t.Server, t.Source, string(t.Kind), t.Entry, t.Location, t.Anchor, t.RefusedNow, t.Reach, t.ServerKey} {
			key.WriteString(s)
			key.WriteByte(0)
		}
		if t.Explicit {
			key.WriteByte(1)
		}
		key.WriteByte(0)
	}
	if shared, ok := in.trusts[key.String()]; ok {
		return shared
	}
	list := in.trustList(len(refs))
	shared := *list
	for i, t := range refs {
		shared[i] = model.TrustRef{Server: in.get(t.Server), Source: in.get(t.Source), Kind: model.EntryKind(in.get(string(t.Kind))),
			Entry: in.get(t.Entry), Location: in.get(t.Location), Anchor: in.get(t.Anchor), Explicit: t.Explicit,
			RefusedNow: in.get(t.RefusedNow), Reach: in.get(t.Reach), ServerKey: in.get(t.ServerKey)}
	}
	in.trusts[key.String()] = list
	return list
}

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if shared, ok := in.strings[s]; ok {
		return shared
	}
	s = in.text(s) // not a part of a larger string it would keep
	in.strings[s] = s
	return s
}

// text returns a copy of s from the slabs' text: a strings.Builder never
// changes what it has written, so each copy stays as it was.
func (s *slabs) text(v string) string {
	if s.texts.Cap()-s.texts.Len() < len(v) {
		s.texts = strings.Builder{}
		s.texts.Grow(max(len(v), slabSize*64))
	}
	from := s.texts.Len()
	s.texts.WriteString(v)
	return s.texts.String()[from:]
}

func printableFindings(findings []model.Finding) []model.Finding {
	out := make([]model.Finding, len(findings))
	for i, f := range findings {
		out[i] = model.PrintableFinding(f)
	}
	return out
}

// findingGroup is one finding code's findings, summed up.
type findingGroup struct {
	code     string
	severity model.Severity
	count    int
	// examples are the first two in model.SortFindings order.
	examples []model.Finding
}

// findingTally sums findings up by code as a load reads them.
type findingTally map[string]*findingGroup

func newFindingTally() findingTally { return findingTally{} }

func (t findingTally) add(findings []model.Finding) {
	for _, f := range findings {
		g := t[f.Code]
		if g == nil {
			g = &findingGroup{code: f.Code, severity: f.Severity}
			t[f.Code] = g
		}
		g.count++
		g.examples = append(g.examples, f)
		if len(g.examples) > 2 {
			model.SortFindings(g.examples)
			g.examples = g.examples[:2]
		}
	}
}

// tallyOf is a tally holding groups, to change: its groups and their
// examples are copies.
func tallyOf(groups []findingGroup) findingTally {
	t := findingTally{}
	for _, g := range groups {
		g.examples = slices.Clone(g.examples)
		t[g.code] = &g
	}
	return t
}

// remove takes back one certificate's findings, by code, and its
// examples. Examples then may no longer be the first two of all (those
// after them are not kept): they stay examples.
func (t findingTally) remove(codes []string, fingerprint string) {
	for _, code := range codes {
		g := t[code]
		if g == nil {
			continue
		}
		g.count--
		g.examples = slices.DeleteFunc(g.examples, func(f model.Finding) bool { return f.FingerprintSHA256 == fingerprint })
		if g.count <= 0 {
			delete(t, code)
		}
	}
}

// groups are the tally's groups, most urgent first.
func (t findingTally) groups() []findingGroup {
	out := make([]findingGroup, 0, len(t))
	for _, g := range t {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := model.SeverityRank(out[i].severity), model.SeverityRank(out[j].severity); ri != rj {
			return ri < rj
		}
		return out[i].code < out[j].code
	})
	return out
}

// Dataset is everything the screens show, loaded in one go off the UI
// goroutine.
type Dataset struct {
	Rows         []Row
	Certificates int
	// Identities is how many identities the database holds: len(Rows)
	// once loaded, the total to come while Partial.
	Identities int
	// FindingGroups sums every finding up by code, most urgent first: the
	// findings screen and the overview's counts need no finding twice.
	FindingGroups []findingGroup
	Sources       []store.SourceInfo
	Servers       []serverView
	Events        []store.Event    // the audit trail, oldest first
	Campaigns     []store.Campaign // every campaign, newest first
	Campaign      *store.Campaign  // the one the Campaign screen shows: the one chosen, else the newest open
	// Its items go by identity key: two identities may share a name (a
	// look-alike beside the real one), each an item of its own.
	Undecided []identityKey                      // its undecided items
	Decisions map[identityKey]store.CampaignItem // its decided items
	Assigned  map[identityKey]string             // its items' reviewers (none: anyone's)
	Login     string                             // the database login on a team database
	LoadedAt  time.Time
	// Partial: the identities read so far while the rest loads, the
	// soonest-expiring first; only the identities table shows it.
	Partial bool
	// Unverified counts the governance values the audit trail does not
	// explain (store.VerifyState): the dashboard says so while they last.
	Unverified int
	// run identifies the load that made it. The datasets one load hands on
	// share their rows' order: each later one only adds rows after those
	// of the one before, so a table merges them in instead of sorting
	// every row again (zero: a dataset made by hand).
	run uint64
}

// loadRuns numbers loads (Dataset.run).
var loadRuns atomic.Uint64

// partialEvery is how often a progressive load hands on what it has read:
// often enough that a filter soon covers more, seldom enough that merging
// the new rows in costs the screen little.
var partialEvery = 500 * time.Millisecond

// partialRows: the load looks at the clock once per this many rows.
var partialRows = 512

// Load reads and reviews the whole database.
func Load(ctx context.Context, s *store.Store, policy model.Policy, now time.Time) (*Dataset, error) {
	return LoadProgressively(ctx, s, policy, now, nil)
}

// refreshLimit and refreshMaxAge bound Refresh: more changed identities
// than this are read faster by a whole load, and rows reviewed longer
// ago than this may hold findings that time changed (expiring, expired).
const (
	refreshLimit  = 1000
	refreshMaxAge = 10 * time.Minute
)

// Refresh is Load for a database that changed since old was loaded: when
// every change since is a governance change the audit trail names (an
// owner, an expiration, an exception, a campaign decision), only the rows
// of the identities it names are read again, into a copy of old; any
// other change (an import, a change the trail does not name) loads the
// whole database. At a million certificates a whole load takes 15 s and
// holds a second set of rows meanwhile; reading a few rows again takes
// a third of a second.
func Refresh(ctx context.Context, s *store.Store, policy model.Policy, now time.Time, old *Dataset) (*Dataset, error) {
	if old == nil || old.Partial || now.Sub(old.LoadedAt) > refreshMaxAge {
		return Load(ctx, s, policy, now)
	}
	var last int64
	if n := len(old.Events); n > 0 {
		last = old.Events[n-1].Seq
	}
	events, err := s.AuditEventsAfter(ctx, last)
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{} // the certificates the events name
	decided := false
	for _, e := range events {
		if !store.ChangesOnlyItsIdentity(e.Action) {
			return Load(ctx, s, policy, now)
		}
		changed[e.Fingerprint] = true
		decided = decided || e.Action == "campaign.decide"
	}
	if len(events) == 0 || len(changed) > refreshLimit {
		return Load(ctx, s, policy, now)
	}
	ds := *old
	ds.Rows, ds.run = slices.Clone(old.Rows), loadRuns.Add(1)
	var at []int // the changed rows, in the order of refs
	var refs []string
	for i := range ds.Rows {
		if fp := ds.Rows[i].FingerprintSHA256(); changed[fp] {
			at, refs = append(at, i), append(refs, fp)
			delete(changed, fp)
		}
	}
	if len(changed) > 0 {
		// An event names a certificate no row shows as current: a newer
		// one came meanwhile.
		return Load(ctx, s, policy, now)
	}
	reviewed, err := s.ReviewCertificates(ctx, refs, policy, now)
	if err != nil {
		return nil, err
	}
	tally := tallyOf(old.FindingGroups)
	in := newInterner()
	for k, i := range at {
		r := reviewed[k]
		if !r.Record.Current {
			return Load(ctx, s, policy, now)
		}
		tally.remove(ds.Rows[i].findings, refs[k])
		tally.add(printableFindings(r.Findings))
		row := newRow(r.Record, r.Findings, in)
		row.Versions = ds.Rows[i].Versions
		ds.Rows[i] = row
	}
	ds.FindingGroups = tally.groups()
	// The server views name identities by their places in the rows, which
	// a governance change keeps: they now read the new rows, and the old
	// ones can go.
	ds.Servers = slices.Clone(old.Servers)
	for i := range ds.Servers {
		ds.Servers[i].rows = ds.Rows
	}
	ds.Events = slices.Clip(old.Events)
	for _, e := range events {
		ds.Events = append(ds.Events, printableEvent(e))
	}
	if decided {
		if err := ds.loadCampaign(ctx, s, shownCampaign(old)); err != nil {
			return nil, err
		}
	}
	return &ds, nil
}

// LoadProgressively is Load handing on what it has read as it goes:
// first the identities whose current certificate expires soonest (the
// identities table's first sort, from an index: milliseconds at any
// size), then every partialEvery the identities read so far, each a
// Partial dataset whose rows the later ones keep in place. progress runs
// on the loading goroutine; the rows it is handed are never written again.
func LoadProgressively(ctx context.Context, s *store.Store, policy model.Policy, now time.Time, progress func(*Dataset)) (*Dataset, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{LoadedAt: now, run: loadRuns.Add(1)}
	c, err := s.Counts(ctx)
	if err != nil {
		return nil, err
	}
	// Rows are large: sized once, they are not copied as the slice grows
	// (a third of a load's time at 100,000 certificates went to that).
	ds.Rows, ds.Identities = make([]Row, 0, c.Identities), c.Identities
	findings := newFindingTally()
	intern := newInterner()
	var texts textChunks
	var soonest map[identityKey]bool // identities already read with the first page
	if progress != nil {
		soonest = map[identityKey]bool{}
		err := rv.EachSoonestExpiring(ctx, policy, now, firstPageSize, func(r *model.Record, fs []model.Finding, versions int) error {
			row := newRow(*r, fs, intern)
			row.Versions = int32(versions)
			ds.Rows = append(ds.Rows, row)
			findings.add(printableFindings(fs))
			soonest[row.key] = true
			return nil
		})
		switch {
		case errors.Is(err, store.ErrStale):
			// An import is relinking: the walk below is the only truth.
			ds.Rows, soonest, findings = ds.Rows[:0], nil, newFindingTally()
		case err != nil:
			return nil, err
		default:
			texts.seal(ds.Rows)
			progress(ds.partial())
		}
	}
	diffs, err := s.VerifyState(ctx)
	if err != nil {
		return nil, err
	}
	ds.Unverified = len(diffs)
	// The walk hands on an identity's certificates one after another: its
	// row is added once the last is counted (rows handed on are never
	// written again), and counting needs no map of a million keys.
	var identity string
	var pending *Row
	versions := 0
	handedOn := time.Now()
	addPending := func() {
		if pending == nil {
			return
		}
		pending.Versions = int32(versions)
		ds.Rows = append(ds.Rows, *pending)
		pending = nil
		if len(ds.Rows)-texts.sealed >= textChunkRows {
			texts.seal(ds.Rows)
		}
		if progress != nil && len(ds.Rows)%partialRows == 0 && time.Since(handedOn) >= partialEvery {
			texts.seal(ds.Rows)
			progress(ds.partial())
			handedOn = time.Now()
		}
	}
	err = rv.Each(ctx, policy, now, func(r *model.Record, fs []model.Finding) error {
		ds.Certificates++
		if r.IdentityKey != identity {
			addPending()
			identity, versions = strings.Clone(r.IdentityKey), 0
		}
		versions++
		if r.Current && !soonest[keyOf(r.IdentityKey)] {
			row := newRow(*r, fs, intern)
			pending = &row
			findings.add(printableFindings(fs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	addPending()
	texts.seal(ds.Rows)
	ds.Identities = len(ds.Rows)
	findings.add(printableFindings(rv.EntryFindings()))
	ds.FindingGroups = findings.groups()
	servers, err := s.Servers(ctx)
	if err != nil {
		return nil, err
	}
	ds.Servers = serverViews(servers, ds.Rows)
	if ds.Sources, err = s.Sources(ctx); err != nil {
		return nil, err
	}
	for i := range ds.Sources {
		src := &ds.Sources[i]
		src.Path = model.Printable(src.Path)
		for j := range src.Removed {
			rm := &src.Removed[j]
			rm.Kind, rm.Label, rm.Value, rm.Location = model.EntryKind(model.Printable(string(rm.Kind))), model.Printable(rm.Label), model.Printable(rm.Value), model.Printable(rm.Location)
		}
	}
	if ds.Events, err = s.AuditEvents(ctx, ""); err != nil {
		return nil, err
	}
	for i, e := range ds.Events {
		ds.Events[i] = printableEvent(e)
	}
	if err := ds.loadCampaign(ctx, s, ""); err != nil {
		return nil, err
	}
	return ds, nil
}

// textChunkRows is how many rows' texts a load copies into one string.
const textChunkRows = 4096

// textChunks moves the texts of the rows a load adds into a few large
// strings. Made one by one, each row's text sat among the load's garbage
// of the same size, and the heap kept every span that held one: at a
// million identities 280 MiB in use for 208 MiB live. Rows are handed on
// only sealed: no screen reads a text that is later replaced.
type textChunks struct{ sealed int } // rows before it are sealed

func (c *textChunks) seal(rows []Row) {
	fresh := rows[c.sealed:]
	size := 0
	for i := range fresh {
		size += len(fresh[i].text)
	}
	var b strings.Builder
	b.Grow(size)
	for i := range fresh {
		b.WriteString(fresh[i].text)
	}
	chunk, at := b.String(), 0
	for i := range fresh {
		n := len(fresh[i].text)
		fresh[i].text = chunk[at : at+n]
		at += n
	}
	c.sealed = len(rows)
}

// printableEvent is e with every string it shows made printable.
func printableEvent(e store.Event) store.Event {
	for _, v := range []*string{&e.Actor, &e.OnBehalfOf, &e.OSUser, &e.Host, &e.Action, &e.Identity, &e.Campaign, &e.Before, &e.After, &e.Reason} {
		*v = model.Printable(*v)
	}
	return e
}

// shownCampaign is the name of the campaign ds shows, "" for none.
func shownCampaign(ds *Dataset) string {
	if ds == nil || ds.Campaign == nil {
		return ""
	}
	return ds.Campaign.Name
}

// ShowCampaign is ds showing the named campaign ("": the newest open
// one) with its items; ds itself is left as it is.
func ShowCampaign(ctx context.Context, s *store.Store, ds *Dataset, name string) (*Dataset, error) {
	shown := *ds
	if err := shown.loadCampaign(ctx, s, name); err != nil {
		return nil, err
	}
	return &shown, nil
}

// withCampaignOf is ds with the campaigns of other, which was made from
// an earlier ds: a reload may have come between.
func (ds *Dataset) withCampaignOf(other *Dataset) *Dataset {
	out := *ds
	out.Campaigns, out.Campaign, out.Undecided, out.Decisions, out.Assigned, out.Login = other.Campaigns, other.Campaign, other.Undecided, other.Decisions, other.Assigned, other.Login
	return &out
}

// hasCampaign reports whether a campaign of that name exists.
func (ds *Dataset) hasCampaign(name string) bool {
	return slices.ContainsFunc(ds.Campaigns, func(c store.Campaign) bool { return c.Name == name })
}

// loadCampaign reads every campaign, and the items of the named one
// (when it is gone or "", of the newest open one).
func (ds *Dataset) loadCampaign(ctx context.Context, s *store.Store, name string) error {
	ds.Campaign, ds.Undecided, ds.Decisions, ds.Assigned, ds.Login = nil, nil, nil, nil, s.Login()
	campaigns, err := s.Campaigns(ctx)
	if err != nil {
		return err
	}
	for i := range campaigns {
		c := &campaigns[i]
		if c.Name == name {
			ds.Campaign = c
		}
		// The name stays as stored: decisions name the campaign by it.
		c.Scope, c.StartedBy, c.ClosedBy, c.Statement = model.Printable(c.Scope), model.Printable(c.StartedBy), model.Printable(c.ClosedBy), model.Printable(c.Statement)
	}
	for i := range campaigns {
		if ds.Campaign == nil && campaigns[i].ClosedAt == nil {
			ds.Campaign = &campaigns[i]
		}
	}
	ds.Campaigns = campaigns
	if ds.Campaign == nil {
		return nil
	}
	ds.Decisions, ds.Assigned = map[identityKey]store.CampaignItem{}, map[identityKey]string{}
	return s.EachCampaignItem(ctx, ds.Campaign, func(it *store.CampaignItem) error {
		k := keyOf(it.IdentityKey)
		if it.Assignee != "" {
			ds.Assigned[k] = it.Assignee
		}
		if it.Decision == "" {
			ds.Undecided = append(ds.Undecided, k)
			return nil
		}
		d := *it
		d.Reviewer, d.Comment = model.Printable(d.Reviewer), model.Printable(d.Comment)
		ds.Decisions[k] = d
		return nil
	})
}

// partial is what the load has read so far, for the identities table.
// Its rows are capped at their length: the load appends after them, into
// memory the table never reads.
func (ds *Dataset) partial() *Dataset {
	n := len(ds.Rows)
	return &Dataset{Rows: ds.Rows[:n:n], Identities: max(ds.Identities, n), LoadedAt: ds.LoadedAt, Partial: true, run: ds.run}
}

// firstPageSize is how many identities the first page holds: several
// screens' worth, so that scrolling works before the rest arrives (a
// variable for the tests' small estates).
var firstPageSize = 300

// severityCounts counts findings by severity, most urgent first.
func (ds *Dataset) severityCounts() []struct {
	severity model.Severity
	count    int
} {
	counts := map[model.Severity]int{}
	for _, g := range ds.FindingGroups {
		counts[g.severity] += g.count
	}
	var out []struct {
		severity model.Severity
		count    int
	}
	for _, s := range []model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow} {
		out = append(out, struct {
			severity model.Severity
			count    int
		}{s, counts[s]})
	}
	return out
}

type ownerCount struct {
	owner string
	count int
}

// topOwners lists the owners with the most identities.
func (ds *Dataset) topOwners(n int) (top []ownerCount, unowned int) {
	counts := map[string]int{}
	for _, r := range ds.Rows {
		if r.actsAsCA {
			continue
		}
		if r.owner == "" {
			unowned++
			continue
		}
		counts[r.owner]++
	}
	for o, c := range counts {
		top = append(top, ownerCount{o, c})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].count != top[j].count {
			return top[i].count > top[j].count
		}
		return top[i].owner < top[j].owner
	})
	if len(top) > n {
		top = top[:n]
	}
	return top, unowned
}
