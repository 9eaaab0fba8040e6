package tui

import (
	"context"
	"sort"
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
// once here, not per comparison or keystroke.
func newRow(r model.Record, findings []model.Finding) Row {
	// The dashboard draws what files and people wrote: printable only.
	r = model.PrintableRecord(r)
	findings = printableFindings(findings)
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
			row.issuer = dn.First("CN")
		}
	}
	return row
}

func printableFindings(findings []model.Finding) []model.Finding {
	out := make([]model.Finding, len(findings))
	for i, f := range findings {
		out[i] = model.PrintableFinding(f)
	}
	return out
}

// Dataset is everything the screens show, loaded in one go off the UI
// goroutine.
type Dataset struct {
	Rows         []Row
	Certificates int
	Findings     []model.Finding
	Sources      []store.SourceInfo
	Servers      []serverView
	Events       []store.Event                 // the audit trail, oldest first
	Campaign     *store.Campaign               // the newest open campaign, if any
	Undecided    []string                      // its undecided items' identity names
	Decisions    map[string]store.CampaignItem // its decided items, by identity name
	LoadedAt     time.Time
	// FirstPage: only the first page of identities, while the rest loads.
	FirstPage bool
	// Unverified counts the governance values the audit trail does not
	// explain (store.VerifyState): the dashboard says so while they last.
	Unverified int
}

// Load reads and reviews the whole database.
func Load(ctx context.Context, s *store.Store, policy model.Policy, now time.Time) (*Dataset, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{LoadedAt: now}
	// Rows are large: sized once, they are not copied as the slice grows
	// (a third of a load's time at 100,000 certificates went to that).
	if c, err := s.Counts(ctx); err == nil {
		ds.Rows = make([]Row, 0, c.Identities)
	}
	diffs, err := s.VerifyState(ctx)
	if err != nil {
		return nil, err
	}
	ds.Unverified = len(diffs)
	versions := map[string]int{}
	err = rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
		ds.Certificates++
		versions[r.IdentityKey]++
		if !r.Current {
			return nil
		}
		row := newRow(*r, findings)
		row.Versions = versions[r.IdentityKey]
		ds.Rows = append(ds.Rows, row)
		ds.Findings = append(ds.Findings, row.Findings...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ds.Findings = append(ds.Findings, printableFindings(rv.EntryFindings())...)
	servers, err := s.Servers(ctx)
	if err != nil {
		return nil, err
	}
	ds.Servers = serverViews(servers, ds.Rows)
	model.SortFindings(ds.Findings)
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

// firstPageSize is how many identities the first page holds: several
// screens' worth, so that scrolling works before the rest arrives.
const firstPageSize = 300

// LoadFirstPage reads the identities whose current certificate expires
// soonest, the identities table's first sort, from the stored linked
// state: at 100,000 certificates it takes milliseconds where Load takes
// a second or more. It returns store.ErrStale while an import updates that
// state; Load is the truth either way.
func LoadFirstPage(ctx context.Context, s *store.Store, policy model.Policy, now time.Time) (*Dataset, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{LoadedAt: now, FirstPage: true}
	err = rv.EachSoonestExpiring(ctx, policy, now, firstPageSize, func(r *model.Record, findings []model.Finding, versions int) error {
		row := newRow(*r, findings)
		row.Versions = versions
		ds.Rows = append(ds.Rows, row)
		return nil
	})
	return ds, err
}

// severityCounts counts findings by severity, most urgent first.
func (ds *Dataset) severityCounts() []struct {
	severity model.Severity
	count    int
} {
	counts := map[model.Severity]int{}
	for _, f := range ds.Findings {
		counts[f.Severity]++
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
