package store

import (
	"context"
	"sort"
	"time"

	"certgov/model"
)

// Review links every certificate to the trust entries that admit it, the
// CRLs that revoke it and the inventories that name its owner, and
// computes findings, identity by identity.
type Review struct {
	s          *Store
	reviewer   map[string]Governance // owners and expirations reviewers set
	exceptions map[string]*model.Exception
	governed   map[string]Governance
	revoked    map[string]Revocation
	entries    []StoredEntry
	index      *model.TrustIndex
	anchors    map[string][]string
	exposed    map[string][]string
	admitted   []map[string]bool // per entry: the identities it admits
}

// NewReview loads what linking needs: trust entries, verified chains,
// revocations, exposed keys and imported governance values.
func (s *Store) NewReview(ctx context.Context) (*Review, error) {
	rv := &Review{s: s}
	var err error
	if rv.exposed, err = s.ExposedKeys(ctx); err != nil {
		return nil, err
	}
	if rv.entries, err = s.TrustEntries(ctx); err != nil {
		return nil, err
	}
	plain := make([]model.TrustEntry, len(rv.entries))
	for i, e := range rv.entries {
		plain[i] = e.TrustEntry
	}
	// Entries that cannot be used were reported when they were imported.
	rv.index, _ = model.NewTrustIndex(plain)
	rv.admitted = make([]map[string]bool, len(plain))
	if rv.anchors, err = s.ChainAnchors(ctx, rv.entries); err != nil {
		return nil, err
	}
	if rv.revoked, err = s.Revocations(ctx); err != nil {
		return nil, err
	}
	if rv.governed, err = s.ImportedGovernance(ctx); err != nil {
		return nil, err
	}
	if rv.reviewer, err = s.reviewerGovernance(ctx); err != nil {
		return nil, err
	}
	if rv.exceptions, err = s.exceptionsByFingerprint(ctx); err != nil {
		return nil, err
	}
	return rv, nil
}

// Each walks every certificate: it links each to its trust entries, marks
// the current ones and computes their findings.
func (rv *Review) Each(ctx context.Context, policy model.Policy, now time.Time, fn func(r *model.Record, findings []model.Finding) error) error {
	return rv.s.EachIdentity(ctx, now, func(records []model.Record, current int) error {
		for i := range records {
			r := &records[i]
			rv.Link(r)
			var findings []model.Finding
			if i == current {
				r.Current = true
				findings = rv.Findings(r, policy, now)
			}
			if err := fn(r, findings); err != nil {
				return err
			}
		}
		return nil
	})
}

// Link fills in r's owner, trust entries, trust model and revocation.
func (rv *Review) Link(r *model.Record) {
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
	var kinds []string
	var admitting []int
	if len(rv.entries) > 0 {
		admitting = rv.index.Admitting(&r.Certificate, rv.anchors[r.FingerprintSHA256])
	}
	for _, i := range admitting {
		e := rv.entries[i]
		entry := e.Label
		if entry == "" {
			entry = e.Value
		}
		r.Trust = append(r.Trust, model.TrustRef{Source: e.Source, Kind: e.Kind, Entry: entry, Location: e.Location})
		kinds = append(kinds, e.Kind)
		if rv.admitted[i] == nil {
			rv.admitted[i] = map[string]bool{}
		}
		rv.admitted[i][r.IdentityName] = true
	}
	r.TrustModel = model.TrustModelOf(kinds)
	if rev, ok := rv.revoked[RevocationKey(r.IssuerNormalized, r.Serial)]; ok {
		r.Revoked, r.RevokedBy = true, rev.CRL
	}
}

// EntryFindings are the findings about the entries themselves, once every
// certificate was linked.
func (rv *Review) EntryFindings() []model.Finding {
	uses := make([]model.EntryUse, len(rv.entries))
	for i, e := range rv.entries {
		uses[i] = model.EntryUse{Entry: e.TrustEntry, Source: e.Source}
		for name := range rv.admitted[i] {
			uses[i].Identities = append(uses[i].Identities, name)
		}
		sort.Strings(uses[i].Identities)
	}
	return model.EntryFindings(uses)
}

// Findings computes the findings of a linked record and notes their codes
// on it.
func (rv *Review) Findings(r *model.Record, policy model.Policy, now time.Time) []model.Finding {
	subject := &model.CertificateSubject{Record: *r, ExposedKeyPaths: rv.exposed[r.SPKISHA256],
		TrustChecked: len(rv.entries) > 0, ChainsTo: rv.anchors[r.FingerprintSHA256]}
	findings := model.CertificateFindings(subject, policy, now)
	r.Findings = r.Findings[:0]
	for _, f := range findings {
		r.Findings = append(r.Findings, f.Code)
	}
	return findings
}
