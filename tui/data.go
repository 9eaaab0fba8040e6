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

// Dataset is everything the screens show, loaded in one go off the UI
// goroutine.
type Dataset struct {
	Rows         []Row
	Certificates int
	Findings     []model.Finding
	Sources      []store.SourceInfo
	Events       []store.Event   // the audit trail, oldest first
	Campaign     *store.Campaign // the newest open campaign, if any
	Undecided    []string        // its undecided items' identity names
	LoadedAt     time.Time
	// FirstPage: only the first page of identities, while the rest loads.
	FirstPage bool
}

// Load reads and reviews the whole database.
func Load(ctx context.Context, s *store.Store, policy model.Policy, now time.Time) (*Dataset, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{LoadedAt: now}
	versions := map[string]int{}
	err = rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
		ds.Certificates++
		versions[r.IdentityKey]++
		if !r.Current {
			return nil
		}
		ds.Rows = append(ds.Rows, newRow(*r, findings))
		ds.Findings = append(ds.Findings, findings...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range ds.Rows {
		ds.Rows[i].Versions = versions[ds.Rows[i].IdentityKey]
	}
	ds.Findings = append(ds.Findings, rv.EntryFindings()...)
	model.SortFindings(ds.Findings)
	if ds.Sources, err = s.Sources(ctx); err != nil {
		return nil, err
	}
	if ds.Events, err = s.AuditEvents(ctx, ""); err != nil {
		return nil, err
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
		err = s.EachCampaignItem(ctx, ds.Campaign, func(it *store.CampaignItem) error {
			if it.Decision == "" {
				ds.Undecided = append(ds.Undecided, it.Identity)
			}
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
	severity string
	count    int
} {
	counts := map[string]int{}
	for _, f := range ds.Findings {
		counts[f.Severity]++
	}
	var out []struct {
		severity string
		count    int
	}
	for _, s := range []string{model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow} {
		out = append(out, struct {
			severity string
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
