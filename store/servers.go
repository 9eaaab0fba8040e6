package store

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// ServerReport is a server with what it admits: the identities whose
// current certificate it admits and lets in today, and those it is
// configured to admit but refuses now.
type ServerReport struct {
	model.Server
	Name       string   `json:"name"`
	Admits     []string `json:"admits"`
	RefusedNow []string `json:"refused_now,omitempty"`
}

// TrustStore is an anchor list or pin list that no imported server names:
// a standalone trust store, with how many identities it lists.
type TrustStore struct {
	Source string `json:"source"`
	Kind   string `json:"kind"`
	Admits int    `json:"admits"`
}

// ServersReport lists every server with the identities it admits, then
// the standalone trust stores.
func (s *Store) ServersReport(ctx context.Context, now time.Time) ([]ServerReport, []TrustStore, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, nil, err
	}
	if rv.serverOf == nil { // a review that links afresh loaded them already
		if err := rv.loadServers(ctx); err != nil {
			return nil, nil, err
		}
	}
	reports := make([]ServerReport, len(rv.servers))
	index := map[string]int{}
	named := map[string]bool{} // anchor files that some server names
	for i, srv := range rv.servers {
		reports[i] = ServerReport{Server: srv, Name: srv.Name()}
		index[srv.Key()] = i
		for _, f := range srv.AnchorFiles {
			named[f] = true
		}
	}
	stores := map[string]*TrustStore{}
	var storeOrder []string
	err = rv.Each(ctx, model.DefaultPolicy(), now, func(r *model.Record, _ []model.Finding) error {
		if !r.Current {
			return nil
		}
		seen := map[string]bool{}
		for _, t := range r.Trust {
			switch {
			case t.ServerKey != "" && !seen[t.ServerKey]:
				seen[t.ServerKey] = true
				rep := &reports[index[t.ServerKey]]
				if t.RefusedNow != "" {
					rep.RefusedNow = append(rep.RefusedNow, r.IdentityName)
				} else {
					rep.Admits = append(rep.Admits, r.IdentityName)
				}
			case t.ServerKey == "" && !named[t.Source] && !seen[t.Source]:
				seen[t.Source] = true
				st := stores[t.Source]
				if st == nil {
					st = &TrustStore{Source: t.Source, Kind: string(t.Kind)}
					stores[t.Source] = st
					storeOrder = append(storeOrder, t.Source)
				}
				st.Admits++
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []TrustStore
	slices.Sort(storeOrder)
	for _, path := range storeOrder {
		out = append(out, *stores[path])
	}
	for i := range reports {
		slices.Sort(reports[i].Admits)
		slices.Sort(reports[i].RefusedNow)
	}
	return reports, out, nil
}

// Removal is what a what-if takes away: a server (by name), an anchor (by
// SHA-256 fingerprint), a source (by path) or a trust entry (by its label
// or value), as the person named it.
type Removal struct {
	Ref string
}

// WhatIfIdentity is an identity a removal changes: the servers it loses,
// and those that still admit it.
type WhatIfIdentity struct {
	Identity    string   `json:"identity"`
	Fingerprint string   `json:"fingerprint_sha256"`
	Loses       []string `json:"loses"`
	Keeps       []string `json:"keeps,omitempty"`
}

// WhatIfResult is the answer to "what breaks if REF goes".
type WhatIfResult struct {
	Removed []string `json:"removed"` // the entries taken away, described
	// LoseAll: identities that would lose their last admitting server;
	// KeepSome: those that lose one but keep another.
	LoseAll  []WhatIfIdentity `json:"lose_access"`
	KeepSome []WhatIfIdentity `json:"keep_access_elsewhere"`
}

// WhatIf evaluates every current certificate without the entries ref
// names, with the chains already verified, and compares the servers that
// admit it today with those that would.
func (s *Store) WhatIf(ctx context.Context, ref string, now time.Time) (*WhatIfResult, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	if rv.entries == nil {
		if err := rv.loadEntries(ctx); err != nil {
			return nil, err
		}
	}
	if rv.serverOf == nil {
		if err := rv.loadServers(ctx); err != nil {
			return nil, err
		}
	}
	removes, err := rv.removal(ref)
	if err != nil {
		return nil, err
	}
	out := &WhatIfResult{}
	var kept []StoredEntry
	for _, e := range rv.entries {
		if removes(&e) {
			what := string(e.Kind) + " " + cmp.Or(e.Label, e.Value)
			if e.Kind == model.EntryCA {
				what += " " + cmp.Or(rv.anchorName(e.Value), "sha256:"+e.Value[:min(16, len(e.Value))]+"…")
			}
			out.Removed = append(out.Removed, withLocation(e.Source, e.Location)+": "+what)
			continue
		}
		kept = append(kept, e)
	}
	if len(out.Removed) == 0 {
		return nil, fmt.Errorf("%q: %w: no server, anchor fingerprint, source or trust entry matches", ref, ErrNotFound)
	}
	index := indexOf(kept, rv.servers)
	err = rv.Each(ctx, model.DefaultPolicy(), now, func(r *model.Record, _ []model.Finding) error {
		if !r.Current {
			return nil
		}
		before := map[string]string{}
		for _, t := range r.Trust {
			if t.ServerKey != "" && t.RefusedNow == "" {
				before[t.ServerKey] = t.Server
			}
		}
		if len(before) == 0 {
			return nil
		}
		after := map[string]bool{}
		for _, a := range index.Evaluate(&r.Certificate, r.Chain).Admitted {
			key := kept[a.Entry].Source + "\x00" + kept[a.Entry].Scope
			after[key] = true
		}
		change := WhatIfIdentity{Identity: r.IdentityName, Fingerprint: r.FingerprintSHA256}
		for key, name := range before {
			if after[key] {
				change.Keeps = append(change.Keeps, name)
			} else {
				change.Loses = append(change.Loses, name)
			}
		}
		if len(change.Loses) == 0 {
			return nil
		}
		slices.Sort(change.Loses)
		slices.Sort(change.Keeps)
		if len(change.Keeps) == 0 {
			out.LoseAll = append(out.LoseAll, change)
		} else {
			out.KeepSome = append(out.KeepSome, change)
		}
		return nil
	})
	return out, err
}

// removal says which entries ref names: a server's (its name, its name
// without the port, or a part only one server's name has), an anchor's (a
// SHA-256 fingerprint or a prefix of at least 8 hex digits), a source's
// (its path), or entries whose label or value is ref.
func (rv *Review) removal(ref string) (func(*StoredEntry) bool, error) {
	var exact, partial []string
	names := map[string]string{}
	for _, srv := range rv.servers {
		name := srv.Name()
		names[srv.Key()] = name
		withoutPort := name
		if i := strings.LastIndex(name, ":"); i > 0 {
			withoutPort = name[:i]
		}
		switch {
		case name == ref || withoutPort == ref:
			exact = append(exact, srv.Key())
		case strings.Contains(name, ref):
			partial = append(partial, srv.Key())
		}
	}
	matches := exact
	if len(matches) == 0 {
		matches = partial
	}
	if len(matches) > 1 {
		var list []string
		for _, key := range matches {
			list = append(list, names[key])
		}
		return nil, fmt.Errorf("%q names %d servers (%s): name one", ref, len(matches), strings.Join(list, ", "))
	}
	if len(matches) == 1 {
		key := matches[0]
		return func(e *StoredEntry) bool { return e.Source+"\x00"+e.Scope == key }, nil
	}
	fp := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(ref, ":", ""), "sha256"))
	if len(fp) >= 8 && strings.Trim(fp, "0123456789abcdef") == "" {
		return func(e *StoredEntry) bool { return e.Kind == model.EntryCA && strings.HasPrefix(e.Value, fp) }, nil
	}
	return func(e *StoredEntry) bool {
		// A CA file a server names is named by its entries' labels
		// ("ssl_client_certificate clients.pem").
		return e.Source == ref || strings.HasSuffix(e.Source, "/"+ref) || e.Label == ref || e.Value == ref ||
			(e.Kind == model.EntryCA && strings.HasSuffix(e.Label, " "+filepath.Base(ref)))
	}, nil
}

// NamedAnchorFiles are the anchor files that some imported server names
// (by source key): their entries are that server's, not a trust store's
// of their own.
func (rv *Review) NamedAnchorFiles(ctx context.Context) (map[string]bool, error) {
	if rv.serverOf == nil {
		if err := rv.loadServers(ctx); err != nil {
			return nil, err
		}
	}
	named := map[string]bool{}
	for _, srv := range rv.servers {
		for _, f := range srv.AnchorFiles {
			named[f] = true
		}
	}
	return named, nil
}

// anchorName names an anchor for people, from the stored summary or the
// chains verified for this review.
func (rv *Review) anchorName(fingerprint string) string {
	if name, ok := rv.anchorNames[fingerprint]; ok {
		return name
	}
	if rv.chains != nil {
		return rv.chains.AnchorNames[fingerprint]
	}
	return ""
}
