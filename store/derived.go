package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"certgov/model"
)

// The derived tables (linked, linked_summary, current_periods) are what
// linking computes from the raw facts; reads take every record, its trust
// and its findings from them. A row deleted or altered there (an importer
// login on a team database may write them) would make an identity vanish
// from ls, findings, check and exports, or read otherwise, with no event.
// VerifyDerived recomputes them in memory and names every difference.

// DerivedDifference is a certificate whose stored linked state is not
// what linking its facts gives.
type DerivedDifference struct {
	Identity, Fingerprint string
	What                  string // missing, unexpected, altered
}

func (d DerivedDifference) String() string {
	switch d.What {
	case "missing":
		return fmt.Sprintf("linked state: no row for %s (%s): it is missing from ls, findings, check and exports", d.Identity, model.ShortFingerprint(d.Fingerprint))
	case "unexpected":
		return fmt.Sprintf("linked state: a row for %s (%s), which the facts do not hold", d.Identity, model.ShortFingerprint(d.Fingerprint))
	case "entry findings":
		return "linked state: the findings about trust entries are not what linking the facts gives"
	}
	return fmt.Sprintf("linked state of %s (%s) is not what linking its facts gives", d.Identity, model.ShortFingerprint(d.Fingerprint))
}

// AsState is d as the state checks list it, beside the values the trail
// does not explain (export, db copy).
func (d DerivedDifference) AsState() StateDifference {
	subject := "trust entries"
	if d.Fingerprint != "" {
		subject = d.Identity + " (" + d.Fingerprint + ")"
	}
	return StateDifference{What: "linked state", Subject: subject, InTable: d.What, InTrail: "what linking the facts gives (certgov reindex rebuilds it)"}
}

// VerifyDerived compares the stored linked state with linking every
// certificate afresh, in memory (it writes nothing, so an auditor may
// run it). A stored state that is not current yet (a relink pending) is
// not compared: reads then link in memory themselves.
func (s *Store) VerifyDerived(ctx context.Context) ([]DerivedDifference, error) {
	stored, err := s.NewReview(ctx)
	if err != nil || !stored.stored {
		return nil, err
	}
	now := time.Now()
	type seen struct {
		identity string
		sum      [32]byte
	}
	walk := func(rv *Review) (map[string]seen, [32]byte, error) {
		out := map[string]seen{}
		err := rv.Each(ctx, model.DefaultPolicy(), now, func(r *model.Record, findings []model.Finding) error {
			line, err := json.Marshal(struct {
				R model.RecordJSON
				F []model.Finding
			}{r.JSON(), findings})
			// Cloned: a record's strings may share a larger buffer.
			out[strings.Clone(r.FingerprintSHA256)] = seen{strings.Clone(r.IdentityName), sha256.Sum256(line)}
			return err
		})
		entries, _ := json.Marshal(rv.linkedEntryFindings())
		return out, sha256.Sum256(entries), err
	}
	// The stored walk runs beside linking afresh: they read the same
	// database and share nothing.
	var have map[string]seen
	var haveEntries [32]byte
	storedDone := make(chan error, 1)
	go func() {
		var err error
		have, haveEntries, err = walk(stored)
		storedDone <- err
	}()
	want, wantEntries, err := func() (map[string]seen, [32]byte, error) {
		fresh, err := s.NewReview(ctx)
		if err != nil {
			return nil, [32]byte{}, err
		}
		fresh.stored = false
		if err := fresh.prepareLinking(ctx); err != nil {
			return nil, [32]byte{}, err
		}
		// Compared afresh too, not taken from the stored summary.
		fresh.lookalikes.identities = nil
		if fresh.lookalikes, err = fresh.loadLookalikes(ctx); err != nil {
			return nil, [32]byte{}, err
		}
		if fresh.namesakes, err = namesakeIssuances(ctx, s.db); err != nil {
			return nil, [32]byte{}, err
		}
		return walk(fresh)
	}()
	if storedErr := <-storedDone; err == nil {
		err = storedErr
	}
	if err != nil {
		return nil, err
	}
	var diffs []DerivedDifference
	for fp, w := range want {
		switch h, ok := have[fp]; {
		case !ok:
			diffs = append(diffs, DerivedDifference{w.identity, fp, "missing"})
		case h != w:
			diffs = append(diffs, DerivedDifference{w.identity, fp, "altered"})
		}
	}
	for fp, h := range have {
		if _, ok := want[fp]; !ok {
			diffs = append(diffs, DerivedDifference{h.identity, fp, "unexpected"})
		}
	}
	if haveEntries != wantEntries {
		diffs = append(diffs, DerivedDifference{What: "entry findings"})
	}
	sort.Slice(diffs, func(i, j int) bool {
		return diffs[i].Identity+diffs[i].Fingerprint < diffs[j].Identity+diffs[j].Fingerprint
	})
	return diffs, nil
}
