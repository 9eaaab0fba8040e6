package store_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
)

// A pin list of many pins naming no imported certificate: the pins that
// do name one still admit it, the others are one finding for the file
// (more than model.MaxUnusedEntryFindings) or one each (fewer).
func TestLongPinListAdmitsWhatItNamesAndCountsTheRest(t *testing.T) {
	s := openTemp(t)
	certs := fileWith(t, "/certs/clients.pem", "alpha", "beta", "gamma")
	alpha, beta := certs.Certificates[0].Certificate, certs.Certificates[1].Certificate
	pins := func(path string, stale int, named ...model.TrustEntry) model.FileResult {
		res := model.FileResult{Source: model.Source{Path: path, Kind: model.KindPinList, ContentSHA256: path, Size: 1, ImportedAt: time.Now()}}
		line := 0
		add := func(e model.TrustEntry) {
			line++
			e.Location = fmt.Sprintf("line %d", line)
			res.TrustEntries = append(res.TrustEntries, e)
		}
		for _, e := range named {
			add(e)
		}
		for i := range stale {
			add(model.TrustEntry{Kind: model.EntryFingerprint, HashAlgorithm: "sha256", Value: fmt.Sprintf("%x", sha256.Sum256([]byte(path+fmt.Sprint(i))))})
		}
		return res
	}
	long := pins("/trust/pins-long.txt", model.MaxUnusedEntryFindings+50,
		model.TrustEntry{Kind: model.EntryFingerprint, HashAlgorithm: "sha256", Value: alpha.FingerprintSHA256, Label: "alpha pin"},
		model.TrustEntry{Kind: model.EntrySPKI, HashAlgorithm: "sha256", Value: beta.SPKISHA256, Label: "beta key"})
	short := pins("/trust/pins-short.txt", 3,
		model.TrustEntry{Kind: model.EntryFingerprint, HashAlgorithm: "sha1", Value: alpha.FingerprintSHA1, Label: "alpha sha1"})
	runImport(t, s, false, certs, long, short)

	admittedBy := map[string][]string{}
	entryFindings, err := s.EachExportRecord(ctx, model.DefaultPolicy(), time.Now(), nil, func(r *model.Record, _ []model.Finding, _ *store.CampaignItem) error {
		for _, ref := range r.Trust {
			admittedBy[r.IdentityName] = append(admittedBy[r.IdentityName], ref.Entry)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(admittedBy["alpha"], ", "); got != "alpha pin, alpha sha1" {
		t.Errorf("alpha admitted by %q, want the SHA-256 and the SHA-1 pin", got)
	}
	if got := strings.Join(admittedBy["beta"], ", "); got != "beta key" {
		t.Errorf("beta admitted by %q, want its SPKI pin", got)
	}
	if len(admittedBy["gamma"]) != 0 {
		t.Errorf("gamma admitted by %v, named by no pin", admittedBy["gamma"])
	}
	perSource := map[string][]model.Finding{}
	for _, f := range entryFindings {
		if f.Code == model.FindingPinWithoutCert {
			perSource[f.Source] = append(perSource[f.Source], f)
		}
	}
	if got := perSource["/trust/pins-short.txt"]; len(got) != 3 || got[0].Location != "line 2" {
		t.Errorf("short list: %d findings (%v), want one per stale pin, from line 2", len(got), got)
	}
	got := perSource["/trust/pins-long.txt"]
	want := fmt.Sprintf("%d trust entries of this file admit no known certificate (line 3, line 4, line 5, line 6, line 7 and %d more)",
		model.MaxUnusedEntryFindings+50, model.MaxUnusedEntryFindings+45)
	if len(got) != 1 || !strings.HasPrefix(got[0].Message, want) || got[0].Location != "line 3" {
		t.Errorf("long list: %v, want one finding: %s", got, want)
	}
}

// A walk that reads the entries as the stored states name them, keeping
// only a few templates at once (as over a list of a million pins), gives
// every certificate the references a walk with every entry loaded gives.
func TestWalkWithFewTemplatesKeptGivesTheSameReferences(t *testing.T) {
	s := openTemp(t)
	// More certificates than a walk reads in one batch (256), so that
	// later batches meet templates an earlier one loaded.
	names := make([]string, 300)
	for i := range names {
		names[i] = fmt.Sprintf("client-%03d", i)
	}
	certs := fileWith(t, "/certs/clients.pem", names...)
	pins := model.FileResult{Source: model.Source{Path: "/trust/pins.txt", Kind: model.KindPinList, ContentSHA256: "pins", Size: 1, ImportedAt: time.Now()}}
	for i, c := range certs.Certificates {
		for _, e := range []model.TrustEntry{
			{Kind: model.EntryFingerprint, HashAlgorithm: "sha256", Value: c.Certificate.FingerprintSHA256, Label: c.Certificate.CommonName + " pin"},
			{Kind: model.EntrySPKI, HashAlgorithm: "sha256", Value: c.Certificate.SPKISHA256, Label: c.Certificate.CommonName + " key"},
		} {
			e.Location = fmt.Sprintf("line %d", len(pins.TrustEntries)+1)
			if i%2 == 0 || e.Kind == model.EntrySPKI {
				pins.TrustEntries = append(pins.TrustEntries, e)
			}
		}
	}
	runImport(t, s, false, certs, pins)
	walk := func() (refs map[string]string, findings string) {
		refs = map[string]string{}
		entryFindings, err := s.EachExportRecord(ctx, model.DefaultPolicy(), time.Now(), nil, func(r *model.Record, _ []model.Finding, _ *store.CampaignItem) error {
			for _, ref := range r.Trust {
				refs[r.IdentityName] += fmt.Sprintf("%s|%s|%s|%s|%v;", ref.Source, ref.Kind, ref.Entry, ref.Location, ref.Explicit)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return refs, fmt.Sprint(entryFindings)
	}
	wantRefs, wantFindings := walk()
	if len(wantRefs) != len(certs.Certificates) {
		t.Fatalf("%d certificates admitted, want all %d: %v", len(wantRefs), len(certs.Certificates), wantRefs)
	}
	defer store.SetEntryWindows(0, 2)()
	gotRefs, gotFindings := walk()
	for name, want := range wantRefs {
		if gotRefs[name] != want {
			t.Errorf("%s with two templates kept: %q, want %q", name, gotRefs[name], want)
		}
	}
	if gotFindings != wantFindings {
		t.Errorf("entry findings with two templates kept:\n%s\nwant\n%s", gotFindings, wantFindings)
	}
}

// A pin list's entries are listed, not held (FileResult.ListedEntries):
// the store writes what the listing yields, and refuses the file when the
// listing yields fewer than the parse counted (its context ended), rather
// than store part of it.
func TestListedEntriesAreStoredWhole(t *testing.T) {
	s := openTemp(t)
	listed := func(path string, count, yields int) model.FileResult {
		res := model.FileResult{Source: model.Source{Path: path, Kind: model.KindPinList, ContentSHA256: path, Size: 1, ImportedAt: time.Now()},
			ListedCount: count}
		res.ListedEntries = func(yield func(model.TrustEntry) bool) {
			for i := range yields {
				e := model.TrustEntry{Kind: model.EntryFingerprint, HashAlgorithm: "sha256",
					Value: fmt.Sprintf("%x", sha256.Sum256([]byte(path+fmt.Sprint(i)))), Location: fmt.Sprintf("line %d", i+1)}
				if !yield(e) {
					return
				}
			}
		}
		return res
	}
	if sum := runImport(t, s, false, listed("/trust/whole.txt", 5000, 5000)); sum.TrustEntries != 5000 {
		t.Errorf("%d entries stored of the 5,000 listed", sum.TrustEntries)
	}
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan model.FileResult, 1)
	ch <- listed("/trust/cut.txt", 5000, 1200)
	close(ch)
	if _, err := imp.Run(ctx, ch, false, nil); err == nil || !strings.Contains(err.Error(), "1200 of its 5000 trust entries") {
		t.Errorf("a listing cut short: %v, want the file refused", err)
	}
	sources, err := s.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		if strings.HasSuffix(src.Path, "cut.txt") {
			t.Errorf("the file cut short was stored: %+v", src)
		}
	}
}
