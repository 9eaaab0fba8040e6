package tui

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"certgov/model"
	"certgov/store"
)

// Row is one identity as the dashboard lists it: its current certificate,
// linked and reviewed.
type Row struct {
	model.Record
	Findings []model.Finding
	Versions int
	worst    int    // rank of the most urgent finding; 4 when none
	issuer   string // the issuer's common name, or "(self)"
}

// newRow prepares a row: what sorting and filtering need is computed
// once here, not per comparison or keystroke. in shares the strings many
// rows repeat (issuers, owners, sources, trust entries, finding codes).
func newRow(r model.Record, findings []model.Finding, in interner) Row {
	// The dashboard draws what files and people wrote: printable only.
	r = model.PrintableRecord(r)
	slimRecord(&r, in)
	findings = printableFindings(findings)
	for i := range findings {
		f := &findings[i]
		f.Code, f.Owner, f.Source, f.Location = in.get(f.Code), in.get(f.Owner), in.get(f.Source), in.get(f.Location)
		if f.FingerprintSHA256 == r.FingerprintSHA256 {
			f.FingerprintSHA256 = r.FingerprintSHA256 // the row's copy
		}
		if f.Identity == r.IdentityName {
			f.Identity = r.IdentityName
		}
	}
	model.SortFindings(findings)
	row := Row{Record: r, Findings: findings, worst: 4}
	for _, f := range findings {
		row.worst = min(row.worst, model.SeverityRank(f.Severity))
	}
	row.SearchText = model.SearchText(&row.Record)
	row.issuer = "(self)"
	if !r.SelfSigned {
		row.issuer = r.Issuer
		if dn, err := model.ParseDNString(r.Issuer); err == nil && dn.First("CN") != "" {
			row.issuer = in.get(dn.First("CN"))
		}
	}
	return row
}

// slimRecord drops what no screen shows and no filter term reads (the
// DER, normalized names, key identifiers, key usages), and shares the
// strings rows repeat: a million identities are held in memory.
func slimRecord(r *model.Record, in interner) {
	c := &r.Certificate
	c.DER, c.SubjectNormalized, c.IssuerNormalized, c.SubjectKeyID, c.AuthorityKeyID, c.FingerprintSHA1 = nil, "", "", "", "", ""
	c.KeyUsage, c.ExtKeyUsage, r.Mimics = nil, nil, nil
	for _, s := range []*string{&c.Issuer, &c.KeyAlgorithm, &c.KeyCurve, &c.SignatureAlgorithm, &r.Owner, &r.TrustModel, &r.RevokedBy, &r.Chain.Problem} {
		*s = in.get(*s)
	}
	for _, list := range [][]string{r.Sources, r.MatchesWithoutChain, r.Findings} {
		for i := range list {
			list[i] = in.get(list[i])
		}
	}
	// Only whether some chain verified is shown (Chain.Verified): one
	// shared end says it.
	switch {
	case r.Chain.Verified():
		r.Chain.Ends = verifiedEnd
	case len(r.Chain.Ends) > 0:
		r.Chain.Ends = weakEnd
	}
	r.Trust = in.trust(r.Trust)
	// What is the row's own is copied out of the stored record it was
	// decoded from, which it would otherwise keep whole (DER included).
	for _, s := range []*string{&c.FingerprintSHA256, &c.SPKISHA256, &c.Subject, &c.CommonName, &c.Serial, &c.IdentityKey, &c.IdentityName, &c.Malformed} {
		*s = strings.Clone(*s)
	}
	for _, list := range [][]string{c.SANs.DNS, c.SANs.URI, c.SANs.IP, c.SANs.Email} {
		for i := range list {
			list[i] = strings.Clone(list[i])
		}
	}
}

// verifiedEnd and weakEnd stand for a row's chain ends: one verified, or
// only chains that need a SHA-1 signature.
var (
	verifiedEnd = []model.ChainEnd{{}}
	weakEnd     = []model.ChainEnd{{Weak: true}}
)

// interner hands out one copy of each string, and of each list of trust
// references, it is given: the certificates of one CA share their list.
type interner struct {
	strings map[string]string
	trusts  map[string][]model.TrustRef
}

func newInterner() interner {
	return interner{strings: map[string]string{}, trusts: map[string][]model.TrustRef{}}
}

// trust returns the one copy of a list equal to refs.
func (in interner) trust(refs []model.TrustRef) []model.TrustRef {
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
	shared := make([]model.TrustRef, len(refs))
	for i, t := range refs {
		shared[i] = model.TrustRef{Server: in.get(t.Server), Source: in.get(t.Source), Kind: model.EntryKind(in.get(string(t.Kind))),
			Entry: in.get(t.Entry), Location: in.get(t.Location), Anchor: in.get(t.Anchor), Explicit: t.Explicit,
			RefusedNow: in.get(t.RefusedNow), Reach: in.get(t.Reach), ServerKey: in.get(t.ServerKey)}
	}
	in.trusts[key.String()] = shared
	return shared
}

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if shared, ok := in.strings[s]; ok {
		return shared
	}
	s = strings.Clone(s) // not a part of a larger string it would keep
	in.strings[s] = s
	return s
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
	Events        []store.Event                 // the audit trail, oldest first
	Campaign      *store.Campaign               // the newest open campaign, if any
	Undecided     []string                      // its undecided items' identity names
	Decisions     map[string]store.CampaignItem // its decided items, by identity name
	LoadedAt      time.Time
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
	var soonest map[string]bool // identity keys already read with the first page
	if progress != nil {
		soonest = map[string]bool{}
		err := rv.EachSoonestExpiring(ctx, policy, now, firstPageSize, func(r *model.Record, fs []model.Finding, versions int) error {
			row := newRow(*r, fs, intern)
			row.Versions = versions
			ds.Rows = append(ds.Rows, row)
			findings.add(row.Findings)
			soonest[r.IdentityKey] = true
			return nil
		})
		switch {
		case errors.Is(err, store.ErrStale):
			// An import is relinking: the walk below is the only truth.
			ds.Rows, soonest, findings = ds.Rows[:0], nil, newFindingTally()
		case err != nil:
			return nil, err
		default:
			progress(ds.partial())
		}
	}
	diffs, err := s.VerifyState(ctx)
	if err != nil {
		return nil, err
	}
	ds.Unverified = len(diffs)
	versions := map[string]int{}
	handedOn := time.Now()
	err = rv.Each(ctx, policy, now, func(r *model.Record, fs []model.Finding) error {
		ds.Certificates++
		versions[r.IdentityKey]++
		if !r.Current || soonest[r.IdentityKey] {
			return nil
		}
		row := newRow(*r, fs, intern)
		row.Versions = versions[r.IdentityKey]
		ds.Rows = append(ds.Rows, row)
		findings.add(row.Findings)
		if progress != nil && len(ds.Rows)%partialRows == 0 && time.Since(handedOn) >= partialEvery {
			progress(ds.partial())
			handedOn = time.Now()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
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
	for i := range ds.Events {
		e := &ds.Events[i]
		for _, v := range []*string{&e.Actor, &e.OnBehalfOf, &e.OSUser, &e.Host, &e.Action, &e.Identity, &e.Campaign, &e.Before, &e.After, &e.Reason} {
			*v = model.Printable(*v)
		}
	}
	campaigns, err := s.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	for i := range campaigns {
		if campaigns[i].ClosedAt == nil {
			ds.Campaign = &campaigns[i]
			break
		}
	}
	if ds.Campaign != nil {
		ds.Decisions = map[string]store.CampaignItem{}
		err = s.EachCampaignItem(ctx, ds.Campaign, func(it *store.CampaignItem) error {
			name := model.Printable(it.Identity)
			if it.Decision == "" {
				ds.Undecided = append(ds.Undecided, name)
				return nil
			}
			d := *it
			d.Reviewer, d.Comment = model.Printable(d.Reviewer), model.Printable(d.Comment)
			ds.Decisions[name] = d
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ds, nil
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
		if r.ActsAsCA {
			continue
		}
		if r.Owner == "" {
			unowned++
			continue
		}
		counts[r.Owner]++
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
