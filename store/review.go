package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"certgov/model"
	"certgov/model/trust"
)

// Review links every certificate to the trust entries that admit it, the
// CRLs that revoke it and the inventories that name its owner, and
// computes findings, identity by identity.
type Review struct {
	s          *Store
	reviewer   map[string]Governance // owners and expirations reviewers set
	exceptions map[string]*model.Exception
	decisions  map[string]*model.CampaignDecision // by identity key
	governed   map[string]Governance
	revoked    map[string]Revocation
	entries    []StoredEntry
	// unmatched are the pins linking left out (loadLinkableEntries).
	unmatched unmatchedPins
	servers   []model.Server
	serverOf  map[string]*model.Server // by Server.Key
	// caIssuer maps each issuing CA's subject to its issuer (normalized
	// DNs), loaded when a server checks CRLs: OpenSSL then wants a CRL
	// from the issuer of every certificate of the chain.
	caIssuer   map[string]string
	index      *trust.Index
	chains     *Chains
	actingCAs  map[string]bool
	exposed    map[string][]model.KeyOnDisk
	shared     map[string][]string // public key -> the identities carrying it, when several
	lookalikes readAlikes
	// namesakes are the issuances of the identities that share their
	// names with another, by NameKey (unexpected-issuer).
	namesakes map[string][]model.Issuance
	// usage is what the servers' access logs say (nil: none imported).
	usage     *usageIndex
	admitted  []map[string]bool // per name rule: the identities it admits
	admitsAny []bool            // per entry: it admits some certificate

	// stored: the linked state kept by Reindex is current, so records
	// take their trust, chain and CA facts from it instead of linking.
	stored        bool
	trustChecked  bool
	entryFindings []model.Finding
	refTemplates  map[int64]model.TrustRef
	anchorNames   map[string]string
	anchorList    []string
	sourcePaths   map[int64]string
	// keepChains: chains verified while linking go into the cache
	// (Reindex); a read's review keeps nothing, so that reads never write.
	keepChains bool
}

// NewReview loads what linking needs: trust entries, verified chains,
// revocations, exposed keys and imported governance values.
func (s *Store) NewReview(ctx context.Context) (*Review, error) {
	rv := &Review{s: s}
	var err error
	if rv.exposed, err = s.ExposedKeys(ctx); err != nil {
		return nil, err
	}
	if err := rv.loadGovernance(ctx); err != nil {
		return nil, err
	}
	if _, rv.stored, err = s.loadLinkedSummary(ctx, rv); err != nil {
		return nil, err
	}
	if rv.shared == nil { // not kept with the stored state
		if rv.shared, err = s.SharedKeys(ctx); err != nil {
			return nil, err
		}
	}
	if rv.lookalikes, err = rv.loadLookalikes(ctx); err != nil {
		return nil, err
	}
	if rv.usage, err = s.loadUsage(ctx); err != nil {
		return nil, err
	}
	if rv.namesakes == nil { // not kept with the stored state
		if rv.namesakes, err = namesakeIssuances(ctx, s.db); err != nil {
			return nil, err
		}
	}
	if rv.stored {
		// Entries are loaded when records need them: all of them for a
		// walk of every certificate, a few for one page.
		return rv, rv.loadSourcePaths(ctx)
	}
	return rv, rv.prepareLinking(ctx)
}

// loadTemplatesFor makes sure the references the given stored states name
// have their templates, and keeps those the held states (records read
// before, not yet linked) name.
func (rv *Review) loadTemplatesFor(ctx context.Context, states, held []string) error {
	if rv.entries != nil {
		return nil // all loaded
	}
	if rv.refTemplates == nil {
		rv.refTemplates = map[int64]model.TrustRef{}
	}
	missing := rv.missingTemplates(states)
	if len(rv.refTemplates)+len(missing) > templatesKept {
		// A walk over a list of a million pins meets each pin once:
		// keeping every template would make a read's memory grow with
		// the list. The entries of CAs and rules, met again and again,
		// are read again once per templatesKept new ones. Only here are
		// the held states decoded: once per templatesKept new templates,
		// not once per batch.
		clear(rv.refTemplates)
		missing = rv.missingTemplates(append(slices.Clip(held), states...))
	}
	slices.Sort(missing)
	if len(missing) > 0 && rv.serverOf == nil {
		if err := rv.loadServers(ctx); err != nil {
			return err
		}
	}
	return rv.s.trustEntriesByID(ctx, slices.Compact(missing), func(e StoredEntry) { rv.refTemplates[e.ID] = e.ref(rv.serverOf) })
}

// templatesKept bounds how many entries' templates a walk keeps (a
// variable for the tests).
var templatesKept = 8192

// missingTemplates are the ids (as SQL text) of the entries the states
// name whose templates are not loaded.
func (rv *Review) missingTemplates(states []string) []string {
	var missing []string
	for _, state := range states {
		for _, ref := range decodeState(state, rv.anchorList).Refs {
			if _, ok := rv.refTemplates[ref.Entry]; !ok {
				missing = append(missing, strconv.FormatInt(ref.Entry, 10))
			}
		}
	}
	return missing
}

// linkTemplate is an entry's reference template while linking. Those of
// CAs and name rules, which admit many certificates, are kept; a pin's,
// which admits the one certificate it names, is made again if needed.
func (rv *Review) linkTemplate(e *StoredEntry) model.TrustRef {
	if ref, ok := rv.refTemplates[e.ID]; ok {
		return ref
	}
	ref := e.ref(rv.serverOf)
	switch e.Kind {
	case model.EntryFingerprint, model.EntrySPKI, model.EntryRegistered:
	default:
		rv.refTemplates[e.ID] = ref
	}
	return ref
}

// loadServers loads the servers, which name the entries they hold.
func (rv *Review) loadServers(ctx context.Context) error {
	var err error
	if rv.servers, err = rv.s.Servers(ctx); err != nil {
		return err
	}
	rv.serverOf = map[string]*model.Server{}
	checksCRLs := false
	for i := range rv.servers {
		rv.serverOf[rv.servers[i].Key()] = &rv.servers[i]
		checksCRLs = checksCRLs || len(rv.servers[i].CRLs) > 0
	}
	if !checksCRLs {
		return nil
	}
	rv.caIssuer = map[string]string{}
	return rv.s.eachRow(ctx, `SELECT DISTINCT subject_normalized, issuer_normalized FROM certificates
		WHERE subject_normalized IN (SELECT issuer_normalized FROM certificates)`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var subject, issuer string
			if err := rows.Scan(&subject, &issuer); err != nil {
				return err
			}
			rv.caIssuer[subject] = issuer
		}
		return rows.Err()
	})
}

// chainIssuers are the issuers of r's chain for the CRL rule: the leaf's
// issuer, its issuer, and so on up to a self-issued CA, which issues its
// own CRL (a self-signed leaf is its own issuer). Nil when no server
// checks CRLs.
func (rv *Review) chainIssuers(r *model.Record) []string {
	if rv.caIssuer == nil {
		return nil
	}
	issuer := r.IssuerNormalized
	out := []string{issuer}
	for range 16 { // a loop of CAs issuing each other ends here
		next, ok := rv.caIssuer[issuer]
		if !ok || next == issuer {
			break
		}
		out = append(out, next)
		issuer = next
	}
	return out
}

// loadEntries loads the trust entries, which stored references name by id.
func (rv *Review) loadEntries(ctx context.Context) error {
	var err error
	if rv.entries, err = rv.s.TrustEntries(ctx); err != nil {
		return err
	}
	return rv.loadServersAndTemplates(ctx)
}

// loadLinkableEntries loads the entries that may admit an imported
// certificate, and the first and the number of the pins that cannot,
// for the findings about entries.
func (rv *Review) loadLinkableEntries(ctx context.Context) error {
	var err error
	if rv.entries, err = rv.s.linkableEntries(ctx); err != nil {
		return err
	}
	if rv.unmatched, err = rv.s.unmatchedPins(ctx); err != nil {
		return err
	}
	// Linking makes each entry's template when it first admits a
	// certificate (linkTemplate): made here for all, a million pins'
	// templates were 25 MB of a first import's peak.
	rv.refTemplates = map[int64]model.TrustRef{}
	return rv.loadServers(ctx)
}

func (rv *Review) loadServersAndTemplates(ctx context.Context) error {
	if err := rv.loadServers(ctx); err != nil {
		return err
	}
	rv.refTemplates = make(map[int64]model.TrustRef, len(rv.entries))
	for i := range rv.entries {
		rv.refTemplates[rv.entries[i].ID] = rv.entries[i].ref(rv.serverOf)
	}
	return nil
}

// prepareLinking loads what linking from the raw facts needs.
func (rv *Review) prepareLinking(ctx context.Context) error {
	return rv.prepareLinkingOf(ctx, nil)
}

// prepareLinkingOf is prepareLinking for the certificates in only (nil:
// all): only their chains are loaded or verified.
func (rv *Review) prepareLinkingOf(ctx context.Context, only map[string]bool) error {
	s := rv.s
	if err := rv.loadLinkableEntries(ctx); err != nil {
		return err
	}
	var err error
	rv.index = indexOf(rv.entries, rv.servers)
	rv.admitted = make([]map[string]bool, len(rv.entries))
	rv.admitsAny = make([]bool, len(rv.entries))
	rv.trustChecked = len(rv.entries) > 0 || len(rv.unmatched.count) > 0
	if rv.chains, err = s.chainsOf(ctx, rv.entries, only, rv.keepChains); err != nil {
		return err
	}
	if rv.actingCAs == nil {
		if rv.actingCAs, err = s.ActingCAs(ctx); err != nil {
			return err
		}
	}
	rv.revoked, err = s.Revocations(ctx)
	return err
}

// loadGovernance loads owners, review dates and exceptions: they change
// with every decision, so they are applied at read time.
func (rv *Review) loadGovernance(ctx context.Context) error {
	var err error
	if rv.governed, err = rv.s.ImportedGovernance(ctx); err != nil {
		return err
	}
	if rv.reviewer, err = rv.s.reviewerGovernance(ctx); err != nil {
		return err
	}
	if rv.exceptions, err = rv.s.exceptionsByFingerprint(ctx); err != nil {
		return err
	}
	rv.decisions, err = rv.s.latestDecisions(ctx)
	return err
}

// Each walks every certificate: it links each to its trust entries, marks
// the current ones and computes their findings.
func (rv *Review) Each(ctx context.Context, policy model.Policy, now time.Time, fn func(r *model.Record, findings []model.Finding) error) error {
	// The stored states name the entries that admit each certificate. A
	// few thousand are read at once; more (a list of a million pins) a
	// batch of states at a time, so that a walk costs only the entries
	// that admit something.
	var prepare func(batch, held []string) error
	if rv.stored && rv.entries == nil {
		var stored int
		if err := rv.s.db.QueryRowContext(ctx, `SELECT count(*) FROM trust_entries`).Scan(&stored); err != nil {
			return err
		}
		if stored <= entriesReadAtOnce {
			if err := rv.loadEntries(ctx); err != nil {
				return err
			}
		} else {
			prepare = func(batch, held []string) error { return rv.loadTemplatesFor(ctx, batch, held) }
		}
	}
	return rv.s.eachIdentity(ctx, now, !rv.stored, prepare, func(records []model.Record, linked []string, current int) error {
		for i := range records {
			r := &records[i]
			rv.linkAt(r, linked[i], now)
			var findings []model.Finding
			if i == current {
				r.Current = true
				findings = rv.Findings(r, historyOf(records), policy, now)
			}
			if err := fn(r, findings); err != nil {
				return err
			}
		}
		return nil
	})
}

// entriesReadAtOnce is how many stored trust entries a walk reads in one
// query rather than as the states it reads name them: one query is
// faster (0.25 s less at 100,000 certificates and 11,820 entries) while
// the entries are few (a variable for the tests).
var entriesReadAtOnce = 50_000

// Link fills in r's owner, trust entries, trust model, revocation and
// usage.
func (rv *Review) Link(ctx context.Context, r *model.Record) error {
	state := ""
	if rv.stored {
		var err error
		if state, err = rv.s.linkedStateOf(ctx, r.FingerprintSHA256); err != nil {
			return err
		}
		if err := rv.loadTemplatesFor(ctx, []string{state}, nil); err != nil {
			return err
		}
	}
	rv.linkAt(r, state, time.Now())
	return nil
}

// linkAt links r to what admits it as its stored state says (link), notes
// which servers refuse it at now (refusals), and what the access logs say
// of it: every read that shows a record goes through it.
func (rv *Review) linkAt(r *model.Record, state string, now time.Time) {
	rv.link(r, state)
	rv.refusals(r, now)
	rv.usage.setUsage(r)
}

// refusals notes, on each reference to a server, why that server refuses
// r in a handshake now although it is configured to admit it. It is read
// time's, never stored: time moves.
func (rv *Review) refusals(r *model.Record, now time.Time) {
	var issuers []string
	for i := range r.Trust {
		if t := &r.Trust[i]; t.ServerKey != "" {
			if issuers == nil {
				issuers = rv.chainIssuers(r)
			}
			srv := rv.serverOf[t.ServerKey]
			t.RefusedNow = trust.RefusedNow(&r.Certificate, srv, now, r.RevokedBy, issuers)
			if srv != nil && srv.Login != nil {
				t.Reach = reachText(srv.Login.ReachOf(&r.Certificate))
			}
		}
	}
}

// reachText says a certificate's reach through one line, a line of text
// for each role; "" when it logs in as none (a name no row maps).
func reachText(reach []model.Reach) string {
	lines := make([]string, len(reach))
	for i, r := range reach {
		lines[i] = r.String()
	}
	if len(lines) == 0 {
		return "logs in as no role: its name is no role the line takes in"
	}
	return strings.Join(lines, "\n")
}

// link applies governance, then the stored linked state when the review
// reads it (state), else links r from the raw facts; then it returns the
// references in their stored form.
func (rv *Review) link(r *model.Record, state string) []storedRef {
	// A reviewer's decision wins over what an inventory file says.
	if g, ok := rv.governed[r.IdentityKey]; ok {
		r.Owner, r.ExpiresAt = g.Owner, g.ExpiresAt
	}
	if g, ok := rv.reviewer[r.IdentityKey]; ok {
		if g.Owner != "" {
			r.Owner = g.Owner
		}
		if !g.ExpiresAt.IsZero() {
			r.ExpiresAt = g.ExpiresAt
		}
	}
	r.Exception = rv.exceptions[r.FingerprintSHA256]
	r.Decision = rv.decisions[r.IdentityKey]
	if rv.stored {
		rv.decodeLinkedState(state, r)
		return nil
	}
	r.ActsAsCA = rv.actingCAs[r.FingerprintSHA256]
	r.Trust, r.MatchesWithoutChain, r.Mimics, r.PatternRulesUntried = r.Trust[:0], nil, nil, 0
	var refs []storedRef
	if len(rv.entries) > 0 {
		ev := rv.index.Evaluate(&r.Certificate, rv.chains.Of(r.FingerprintSHA256))
		places := map[string]bool{}
		for _, a := range ev.Admitted {
			e := rv.entries[a.Entry]
			// One reference per place: a CA file lists several
			// certificates, and a chain may end at more than one of them.
			if e.Kind == model.EntryCA {
				place := e.Source + "\x00" + e.Scope + "\x00" + e.Location + "\x00" + e.Label
				if places[place] {
					continue
				}
				places[place] = true
			}
			ref := rv.linkTemplate(&e)
			ref.Anchor = rv.chains.AnchorNames[a.Anchor]
			ref.Explicit = model.ExplicitTrust(e.Kind, a.Anchor, r.FingerprintSHA256, r.ActsAsCA)
			r.Trust = append(r.Trust, ref)
			refs = append(refs, storedRef{Entry: e.ID, Anchor: a.Anchor, Explicit: ref.Explicit})
			rv.noteAdmission(a.Entry, r.IdentityName)
		}
		for _, i := range ev.Unverified {
			e := rv.entries[i]
			r.MatchesWithoutChain = append(r.MatchesWithoutChain, fmt.Sprintf("matches %s %q in %s, which admits only after %s",
				e.Kind, e.Value, withLocation(e.Source, e.Location), rv.index.RequiredChain(i)))
		}
		r.Mimics = rv.chains.Mimics(r)
		r.PatternRulesUntried = ev.Untried
	}
	r.Chain = rv.chains.Of(r.FingerprintSHA256)
	r.TrustModel = model.TrustModelOf(r.Trust)
	if rev, ok := rv.revoked[RevocationKey(r.IssuerNormalized, r.Serial)]; ok {
		r.Revoked, r.RevokedBy = true, rev.CRL
	}
	return refs
}

// noteAdmission notes that entry i admits a certificate of the named
// identity, for the findings about entries.
func (rv *Review) noteAdmission(i int, identity string) {
	rv.admitsAny[i] = true
	if model.NamesAdmitted(rv.entries[i].Kind) {
		if rv.admitted[i] == nil {
			rv.admitted[i] = map[string]bool{}
		}
		rv.admitted[i][identity] = true
	}
}

// EntryFindings are the findings about the entries and servers
// themselves, once every certificate was linked: linking's, and the
// clients the servers' access logs show that no imported certificate is.
func (rv *Review) EntryFindings() []model.Finding {
	return append(slices.Clip(rv.linkedEntryFindings()), rv.usage.unknownClientFindings()...)
}

// linkedEntryFindings are the findings linking makes about the entries and
// servers (stored with the linked state).
func (rv *Review) linkedEntryFindings() []model.Finding {
	if rv.stored {
		return rv.entryFindings
	}
	uses := make([]model.EntryUse, len(rv.entries))
	for i, e := range rv.entries {
		uses[i] = model.EntryUse{Entry: e.TrustEntry, Source: e.Source, AdmitsAny: rv.admitsAny[i]}
		for name := range rv.admitted[i] {
			uses[i].Identities = append(uses[i].Identities, name)
		}
		sort.Strings(uses[i].Identities)
	}
	unlisted := map[string]int{}
	for _, source := range slices.Sorted(maps.Keys(rv.unmatched.first)) {
		for _, e := range rv.unmatched.first[source] {
			uses = append(uses, model.EntryUse{Entry: e.TrustEntry, Source: e.Source})
		}
		unlisted[source] = rv.unmatched.count[source] - len(rv.unmatched.first[source])
	}
	return append(model.EntryFindings(uses, unlisted), model.ServerFindings(rv.servers)...)
}

// readAlikes are the identity names and the owners that read like
// another's (model.Lookalikes).
type readAlikes struct {
	identities, owners map[string][]string
}

// loadLookalikes compares every identity's name with the others (unless
// the stored summary gave them: relinks keep them), and every owner (set
// by reviewers or imported) with the others.
func (rv *Review) loadLookalikes(ctx context.Context) (readAlikes, error) {
	out := readAlikes{identities: rv.lookalikes.identities}
	if out.identities == nil {
		var err error
		if out.identities, err = identityLookalikes(ctx, rv.s.db); err != nil {
			return out, err
		}
	}
	var owners []string
	seen := map[string]bool{}
	for _, m := range []map[string]Governance{rv.reviewer, rv.governed} {
		for _, g := range m {
			if g.Owner != "" && !seen[g.Owner] {
				seen[g.Owner] = true
				owners = append(owners, g.Owner)
			}
		}
	}
	out.owners = model.Lookalikes(owners)
	return out, nil
}

// identityLookalikes compares every identity's name with the others. It
// reads the names twice instead of holding them: first the hash of each
// name's canonical form, then only the names whose hash another name
// shares. At a million certificates, the names and their groups held at
// once were 150 MB at the end of an import's relink.
func identityLookalikes(ctx context.Context, q queryer) (map[string][]string, error) {
	seed := maphash.MakeSeed()
	hashOf := func(name string) uint64 { return maphash.String(seed, model.CanonicalName(name)) }
	eachName := func(fn func(name string)) error {
		return eachRowOf(ctx, q, `SELECT DISTINCT name FROM identities`, nil, func(rows *sql.Rows) error {
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					return err
				}
				fn(name)
			}
			return rows.Err()
		})
	}
	var hashes []uint64
	if err := eachName(func(name string) { hashes = append(hashes, hashOf(name)) }); err != nil {
		return nil, err
	}
	slices.Sort(hashes)
	shared := map[uint64]bool{}
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			shared[hashes[i]] = true
		}
	}
	hashes = nil
	if len(shared) == 0 {
		return map[string][]string{}, nil
	}
	// Every name of a group of two or more shares its hash; a name
	// whose hash collides with another's is in a group of its own, which
	// Lookalikes leaves out.
	var names []string
	err := eachName(func(name string) {
		if shared[hashOf(name)] {
			names = append(names, name)
		}
	})
	return model.Lookalikes(names), err
}

// namesakeIssuances reads, for every name several identities bear, each
// such identity's issuers and their first certificates, by NameKey.
func namesakeIssuances(ctx context.Context, q queryer) (map[string][]model.Issuance, error) {
	out := map[string][]model.Issuance{}
	err := eachRowOf(ctx, q, `SELECT i.identity_key, c.issuer, c.self_signed, min(c.not_before)
		FROM identities i JOIN certificates c ON c.identity_id = i.id
		WHERE i.name IN (SELECT name FROM identities GROUP BY name HAVING count(*) > 1)
		GROUP BY i.identity_key, c.issuer, c.self_signed`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var is model.Issuance
			var first int64
			if err := rows.Scan(&is.IdentityKey, &is.Issuer, &is.SelfSigned, &first); err != nil {
				return err
			}
			is.First = time.Unix(first, 0).UTC()
			if key := model.NameKeyOf(is.IdentityKey); key != "" {
				out[key] = append(out[key], is)
			}
		}
		return rows.Err()
	})
	for key, list := range out {
		if len(list) < 2 {
			delete(out, key) // namesakes by name, not by the names they bear
		}
	}
	return out, err
}

// Findings computes the findings of a linked record and notes their codes
// on it; history is every certificate of its identity (the rotation
// findings read it).
func (rv *Review) Findings(r *model.Record, history []*model.Certificate, policy model.Policy, now time.Time) []model.Finding {
	subject := &model.CertificateSubject{Record: *r, KeysOnDisk: rv.exposed[r.SPKISHA256],
		SharesKeyWith: others(rv.shared[r.SPKISHA256], r.IdentityName), TrustChecked: rv.trustChecked,
		LooksLike: rv.lookalikes.identities[r.IdentityName], History: history,
		Namesakes: rv.namesakes[model.NameKeyOf(r.IdentityKey)], Usage: rv.usage.of(r.FingerprintSHA1), RevokedAt: rv.usage.revokedSince(r.FingerprintSHA1)}
	if r.Owner != "" {
		subject.OwnerLooksLike = rv.lookalikes.owners[r.Owner]
	}
	findings := model.CertificateFindings(subject, policy, now)
	r.Findings = r.Findings[:0]
	for _, f := range findings {
		r.Findings = append(r.Findings, f.Code)
	}
	return findings
}

// historyOf is the certificates of an identity's records.
func historyOf(records []model.Record) []*model.Certificate {
	out := make([]*model.Certificate, len(records))
	for i := range records {
		out[i] = &records[i].Certificate
	}
	return out
}

func withLocation(path, location string) string {
	if location == "" {
		return path
	}
	return path + " (" + location + ")"
}

// others is names without name.
func others(names []string, name string) []string {
	var out []string
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

// AllFindings is EachFinding's findings in a list: for the commands that
// send them on (notify, digest), not for the ones that print them.
func (rv *Review) AllFindings(ctx context.Context, policy model.Policy, now time.Time,
	keep func(r *model.Record, f model.Finding) bool, keepEntry func(f model.Finding) bool) ([]model.Finding, error) {
	var all []model.Finding
	err := rv.EachFinding(ctx, policy, now, keep, keepEntry, func(f FoundFinding) error {
		all = append(all, f.Finding)
		return nil
	})
	return all, err
}

// ReviewedCertificate is one certificate reviewed on its own: what `certgov
// show` prints and the dashboard's detail screen shows.
type ReviewedCertificate struct {
	Identity *Identity
	Index    int // the certificate's index in Identity.Certificates
	Record   model.Record
	Findings []model.Finding // most urgent first
	// Occurrences are the files that hold it (Record.Sources, in full).
	Occurrences []Occurrence
	// Usage is what the servers' access logs say of it, per server that
	// has some.
	Usage  []model.ServerUsage
	Review *Review
}

// ReviewCertificate resolves ref (Resolve: a fingerprint or an identity
// name; a name means its current certificate), links that certificate and
// computes its findings.
func (s *Store) ReviewCertificate(ctx context.Context, ref string, policy model.Policy, now time.Time) (*ReviewedCertificate, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	return s.reviewCertificateIn(ctx, rv, ref, policy, now)
}

// ReviewCertificates is ReviewCertificate for each of refs in one
// review (making a review reads the servers and trust entries: 0.3 s at
// a million certificates): what the dashboard reads again after
// governance changes.
func (s *Store) ReviewCertificates(ctx context.Context, refs []string, policy model.Policy, now time.Time) ([]*ReviewedCertificate, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ReviewedCertificate, len(refs))
	for i, ref := range refs {
		if out[i], err = s.reviewCertificateIn(ctx, rv, ref, policy, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) reviewCertificateIn(ctx context.Context, rv *Review, ref string, policy model.Policy, now time.Time) (*ReviewedCertificate, error) {
	ident, index, err := s.Resolve(ctx, ref, now)
	if err != nil {
		return nil, err
	}
	if index < 0 {
		index = ident.Current
	}
	out := &ReviewedCertificate{Identity: ident, Index: index, Review: rv}
	out.Record = model.Record{Certificate: ident.Certificates[index], Current: index == ident.Current}
	if out.Occurrences, err = s.Occurrences(ctx, out.Record.FingerprintSHA256); err != nil {
		return nil, err
	}
	for _, o := range out.Occurrences {
		out.Record.Sources = append(out.Record.Sources, o.Path)
	}
	if err := rv.Link(ctx, &out.Record); err != nil {
		return nil, err
	}
	out.Findings = rv.Findings(&out.Record, model.HistoryOf(ident.Certificates), policy, now)
	out.Usage = rv.usage.of(out.Record.FingerprintSHA1)
	model.SortFindings(out.Findings)
	return out, nil
}
