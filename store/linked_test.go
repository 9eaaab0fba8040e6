package store

import (
	"certgov/store/storetest"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
)

// The stored linked state must always equal what linking from the raw
// facts gives. Property: after any sequence of imports (files in random
// subsets and orders, a trust file changed so that entries go away, CA
// files arriving after the certificates they admit) and governance
// changes, every record, finding and trust-entry finding read from the
// stored state equals the one computed afresh.
func TestStoredStateEqualsRelinking(t *testing.T) {
	ctx := context.Background()
	estate, err := demo.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			dir := t.TempDir()
			if err := storetest.WriteEstate(estate, dir); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, storetest.Location(t, filepath.Join(t.TempDir(), "p.db")))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			paths := estate.Paths()
			rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
			partly := 0 // rounds that relinked only what their files touched
			for round := range 7 {
				var batch []string
				for _, p := range paths {
					// Odd rounds bring certificate files only, which
					// relink only what they hold and its lookalikes.
					certificatesOnly := round%2 == 1 && round < 4
					if certificatesOnly && !strings.HasPrefix(p, "services/") && !strings.HasPrefix(p, "partners/") && !strings.HasPrefix(p, "downloads/") {
						continue
					}
					if rng.IntN(3) == 0 || round == 4 {
						batch = append(batch, filepath.Join(dir, filepath.FromSlash(p)))
					}
				}
				switch round {
				case 5:
					// A certificate file loses a certificate: its source is
					// superseded, and what it held relinked.
					batch = []string{dropOneCertificate(t, dir, paths, rng)}
				case 6:
					// The lookalike turns up at another path too.
					copyPath := filepath.Join(dir, "downloads", "copy-of-fx-rates.pem")
					data, err := os.ReadFile(filepath.Join(dir, "downloads", "fx-rates-test-client.pem"))
					if err != nil {
						t.Fatal(err)
					}
					os.WriteFile(copyPath, data, 0o600)
					batch = []string{copyPath}
				}
				if round == 2 {
					// The pin list loses its first pins: those entries go.
					pins := filepath.Join(dir, "gateways", "legacy-edge", "pinned-clients.txt")
					data, _ := os.ReadFile(pins)
					lines := slices.DeleteFunc(splitLines(data), func(string) bool { return rng.IntN(2) == 0 })
					os.WriteFile(pins, joinLines(lines), 0o600)
					batch = append(batch, pins)
				}
				importAll(t, s, batch)
				if round == 3 {
					// Decisions change nothing linked, but what is read.
					if ident, _, err := s.Resolve(ctx, "partner-acme-logistics", time.Now()); err == nil {
						if _, err := s.SetOwner(ctx, ident.Certificates[ident.Current].FingerprintSHA256, "ops@example.com", Change{Actor: "test", At: time.Now()}); err != nil {
							t.Fatal(err)
						}
					}
				}
				t.Logf("round %d: %+v", round, s.lastRelink)
				if !s.lastRelink.all {
					partly++
				}
				stored, computed := reviewOutput(t, s, false), reviewOutput(t, s, true)
				if stored != computed {
					t.Fatalf("round %d: stored state differs from relinking:\n%s", round, firstDifference(stored, computed))
				}
				// The first page by expiry, now and as the clock moves on.
				for _, days := range []int{0, 45, 400} {
					checkSoonestExpiring(t, s, time.Now().Truncate(time.Second).AddDate(0, 0, days))
				}
				if round == 6 && partly == 0 {
					t.Error("no import relinked only what it touched")
				}
				// One certificate at a time, as `show` links it.
				for _, fp := range someFingerprints(t, s, rng, 5) {
					if a, b := linkOne(t, s, fp, false), linkOne(t, s, fp, true); a != b {
						t.Fatalf("round %d: %s linked alone: stored %s, relinked %s", round, fp, a, b)
					}
				}
			}
		})
	}
}

// dropOneCertificate rewrites a PEM file of several certificates without
// its last one and returns its path.
func dropOneCertificate(t *testing.T, dir string, paths []string, rng *rand.Rand) string {
	t.Helper()
	var bundles []string
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(full)
		if err == nil && strings.HasPrefix(p, "services/") && strings.Count(string(data), "-----BEGIN CERTIFICATE-----") > 1 {
			bundles = append(bundles, full)
		}
	}
	if len(bundles) == 0 {
		t.Fatal("the demo estate has no PEM file with several certificates")
	}
	path := bundles[rng.IntN(len(bundles))]
	data, _ := os.ReadFile(path)
	cut := strings.LastIndex(string(data), "-----BEGIN CERTIFICATE-----")
	os.WriteFile(path, data[:cut], 0o600)
	return path
}

func importAll(t *testing.T, s *Store, paths []string) {
	t.Helper()
	ctx := context.Background()
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := importers.Options{Known: imp.Known, Password: []byte(demo.KeystorePassword)}
	if _, err := imp.Run(ctx, importers.Walk(ctx, paths, opts), false, nil); err != nil {
		t.Fatal(err)
	}
}

// reviewOutput renders every record with its findings, and the trust
// entries' findings, as JSON lines: from the stored state, or linked from
// the raw facts.
// reviewNow is the one moment the stored and the relinked reviews are
// read at: messages such as "expires in 3m" depend on it, and two reads a
// moment apart straddle a minute now and then.
var reviewNow = time.Now()

func reviewOutput(t *testing.T, s *Store, relink bool) string {
	t.Helper()
	ctx := context.Background()
	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rv.stored && !relink {
		t.Fatal("the stored state is not current after an import")
	}
	if relink {
		rv.stored = false
		if err := rv.prepareLinking(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var out []byte
	err = rv.Each(ctx, model.DefaultPolicy(), reviewNow, func(r *model.Record, findings []model.Finding) error {
		line, _ := json.Marshal(struct {
			R model.RecordJSON
			F []model.Finding
		}{r.JSON(), findings})
		out = append(append(out, line...), '\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := json.Marshal(rv.EntryFindings())
	return string(append(out, entries...))
}

func splitLines(data []byte) []string { return bytesSplit(data) }

func bytesSplit(data []byte) []string {
	var out []string
	start := 0
	for i, b := range data {
		if b == '\n' {
			out = append(out, string(data[start:i+1]))
			start = i + 1
		}
	}
	return out
}

func joinLines(lines []string) []byte {
	var out []byte
	for _, l := range lines {
		out = append(out, l...)
	}
	return out
}

func firstDifference(a, b string) string {
	al, bl := bytesSplit([]byte(a+"\n")), bytesSplit([]byte(b+"\n"))
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "stored:   " + al[i] + "computed: " + bl[i]
		}
	}
	return fmt.Sprintf("%d lines vs %d", len(al), len(bl))
}

// The stored state reads back as written, and bytes that are not a state
// read as an empty one rather than panicking.
func TestStateEncoding(t *testing.T) {
	anchors := []string{"aa", "bb"}
	index := map[string]int{"aa": 1, "bb": 2}
	st := linkedState{
		Refs:     []storedRef{{Entry: 7, Anchor: "bb", Explicit: true}, {Entry: -1}, {Entry: 1 << 40, Anchor: "aa"}},
		ActsAsCA: true, Revoked: "crl.pem", Problem: "why",
		Ends:       []model.ChainEnd{{Anchor: "aa", Root: true}, {Anchor: "bb"}},
		Unverified: []string{"x", ""}, Mimics: []string{"ledger"},
	}
	if got := decodeState(string(encodeState(st, index)), anchors); !reflect.DeepEqual(got, st) {
		t.Errorf("round trip:\n%+v\n%+v", got, st)
	}
	full := encodeState(st, index)
	for i := range full {
		decodeState(string(full[:i]), anchors) // must not panic
	}
	if got := decodeState(string([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}), anchors); !reflect.DeepEqual(got, linkedState{}) {
		t.Errorf("a huge count read as %+v", got)
	}
}

func someFingerprints(t *testing.T, s *Store, rng *rand.Rand, n int) []string {
	t.Helper()
	var all []string
	if err := s.EachRecord(context.Background(), func(r *model.Record) error {
		all = append(all, r.FingerprintSHA256)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for range min(n, len(all)) {
		out = append(out, all[rng.IntN(len(all))])
	}
	return out
}

func linkOne(t *testing.T, s *Store, fp string, relink bool) string {
	t.Helper()
	ctx := context.Background()
	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if relink {
		rv.stored = false
		if err := rv.prepareLinking(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var record model.Record
	if err := s.EachRecord(ctx, func(r *model.Record) error {
		if r.FingerprintSHA256 == fp {
			record = *r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	record.Sources = nil // show lists occurrences itself
	if err := rv.Link(ctx, &record); err != nil {
		t.Fatal(err)
	}
	record.Sources = nil
	findings := rv.Findings(&record, []*model.Certificate{&record.Certificate}, model.DefaultPolicy(), reviewNow)
	out, _ := json.Marshal(struct {
		R model.RecordJSON
		F []model.Finding
	}{record.JSON(), findings})
	return string(out)
}

// The hand-split SAN reader gives what encoding/json gives.
func TestDecodeSANs(t *testing.T) {
	for _, sans := range []model.SANs{
		{},
		{DNS: []string{"a.example", "b.example"}, URI: []string{"spiffe://x/y"}, IP: []string{"10.0.0.1"}, Email: []string{"a@b"}},
		{DNS: []string{`x,"uri":["y"]`}, Email: []string{"<tag> & \\ \"q\""}},
		{URI: []string{"with space", ""}},
	} {
		text := mustJSON(sans)
		var want model.SANs
		json.Unmarshal([]byte(text), &want)
		got, err := decodeSANs(text)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %+v %v, want %+v", text, got, err, want)
		}
	}
}

// A CA that arrives under a name nothing else chains through changes no
// other certificate's chain: only what it issued is verified and relinked,
// also when a CA file then makes it an anchor.
func TestUnrelatedCAVerifiesOnlyItsOwn(t *testing.T) {
	now := time.Now()
	s, dir := demoStore(t)

	g := demo.NewGenerator(5)
	ca, err := g.SelfSigned(demo.Template{CommonName: "Unrelated Partner CA", CA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := g.Issue(demo.Template{CommonName: "unrelated-client", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}, ca)
	if err != nil {
		t.Fatal(err)
	}
	chain := filepath.Join(dir, "unrelated-chain.pem")
	os.WriteFile(chain, append(leaf.PEM(), ca.PEM()...), 0o600)
	importAll(t, s, []string{chain})
	t.Logf("chain: %+v", s.lastRelink)
	if got := s.lastRelink; got.all || got.certificates > 2 || got.chainsChecked > 1 {
		t.Errorf("a new CA with its leaf: relinked %+v, want only those two and one chain verified", got)
	}
	if stored, computed := reviewOutput(t, s, false), reviewOutput(t, s, true); stored != computed {
		t.Fatalf("stored state differs from relinking:\n%s", firstDifference(stored, computed))
	}

	bundle := filepath.Join(dir, "unrelated-ca-bundle.pem")
	os.WriteFile(bundle, ca.PEM(), 0o600)
	importAll(t, s, []string{bundle})
	t.Logf("bundle: %+v", s.lastRelink)
	if got := s.lastRelink; got.chainsChecked > 2 {
		t.Errorf("the CA listed in a CA file: %d chains verified, want only those under it", got.chainsChecked)
	}
	if stored, computed := reviewOutput(t, s, false), reviewOutput(t, s, true); stored != computed {
		t.Fatalf("stored state differs from relinking:\n%s", firstDifference(stored, computed))
	}
}

// checkSoonestExpiring compares the dashboard's first page, read from the
// stored periods, with the full review sorted the way the dashboard sorts
// it (stable, by expiry, after name order).
func checkSoonestExpiring(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		json     string
		notAfter time.Time
	}
	var all []row
	versions := map[string]int{}
	var keys []string
	err = rv.Each(ctx, model.DefaultPolicy(), now, func(r *model.Record, findings []model.Finding) error {
		versions[r.IdentityKey]++
		if r.Current {
			line, _ := json.Marshal(struct {
				R model.RecordJSON
				F []model.Finding
			}{r.JSON(), findings})
			all = append(all, row{string(line), r.NotAfter})
			keys = append(keys, r.IdentityKey)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		all[i].json += fmt.Sprint(" versions ", versions[keys[i]])
	}
	slices.SortStableFunc(all, func(a, b row) int { return a.notAfter.Compare(b.notAfter) })
	const limit = 40
	var page []string
	err = rv.EachSoonestExpiring(ctx, model.DefaultPolicy(), now, limit, func(r *model.Record, findings []model.Finding, n int) error {
		line, _ := json.Marshal(struct {
			R model.RecordJSON
			F []model.Finding
		}{r.JSON(), findings})
		page = append(page, string(line)+fmt.Sprint(" versions ", n))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != min(limit, len(all)) {
		t.Fatalf("at %s: first page has %d rows, want %d", now, len(page), min(limit, len(all)))
	}
	for i := range page {
		if page[i] != all[i].json {
			t.Fatalf("at %s: first page row %d:\n got %s\nwant %s", now, i, page[i], all[i].json)
		}
	}
}

// No read writes: with the stored state out of date and the chain cache
// empty (an interrupted import), a review links in memory while another
// connection holds the write lock, and leaves the database as it was.
func TestReadsDoNotWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := demoStore(t)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM chain_anchors; DELETE FROM linked_summary`); err != nil {
		t.Fatal(err)
	}
	holdWriteLock(t, s)
	readCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rv, err := s.NewReview(readCtx)
	if err != nil {
		t.Fatal(err)
	}
	if rv.stored {
		t.Fatal("the stored state should be out of date")
	}
	n := 0
	if err := rv.Each(readCtx, model.DefaultPolicy(), time.Now(), func(*model.Record, []model.Finding) error { n++; return nil }); err != nil {
		t.Fatalf("a read while another process writes: %v", err)
	}
	var cached int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM chain_anchors`).Scan(&cached); err != nil || cached != 0 || n == 0 {
		t.Errorf("after reading %d records the chain cache holds %d rows (%v); a read must not write", n, cached, err)
	}
}

// demoEstate writes the demo estate below a temporary folder it returns.
func demoEstate(t *testing.T) string {
	t.Helper()
	estate, err := demo.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := storetest.WriteEstate(estate, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// demoStore imports the demo estate, written below a temporary folder
// it returns, into a new database.
func demoStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := demoEstate(t)
	s, err := Open(context.Background(), storetest.Location(t, filepath.Join(t.TempDir(), "demo.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	importAll(t, s, []string{dir})
	return s, dir
}

// The keys several identities share are kept with the stored state and
// equal what grouping every certificate's key gives.
func TestSharedKeysKeptWithTheState(t *testing.T) {
	s, _ := demoStore(t)
	ctx := context.Background()
	rv := &Review{s: s}
	if _, current, err := s.loadLinkedSummary(ctx, rv); err != nil || !current {
		t.Fatalf("summary: current %v, %v", current, err)
	}
	computed, err := s.SharedKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rv.shared == nil || !reflect.DeepEqual(rv.shared, computed) {
		t.Errorf("stored shared keys %v, computed %v", rv.shared, computed)
	}
	if len(computed) == 0 {
		t.Error("the demo shares keys between partners, yet none were found")
	}
}

// A full relink of a SQLite database builds the derived tables' random-key
// indexes at its end rather than row by row: they are there after it, and
// after a relink that was stopped halfway.
func TestFullRelinkKeepsItsIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "PostgreSQL relinks with its indexes in place")
	ctx := context.Background()
	s, _ := demoStore(t)
	want := []string{"current_periods_identity", "linked_fingerprint"}
	indexes := func() []string {
		return tableRows(t, s.db, `SELECT name FROM sqlite_schema WHERE type = 'index' AND name IN ('linked_fingerprint', 'current_periods_identity') ORDER BY 1`)
	}
	if err := s.Reindex(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := indexes(); !slices.Equal(got, want) {
		t.Fatalf("after a full relink the indexes are %v, want %v", got, want)
	}
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Reindex(stopped, true); err == nil {
		t.Fatal("a relink with its context cancelled went through")
	}
	if got := indexes(); !slices.Equal(got, want) {
		t.Fatalf("after a stopped relink the indexes are %v, want %v", got, want)
	}
	if diffs, err := s.VerifyDerived(ctx); err != nil || len(diffs) > 0 {
		t.Fatalf("derived state after the relinks: %v %v", diffs, err)
	}
}

// Chains verified a few at a time, as an import's first relink verifies
// a million, are those verified all at once: the same cache, the same
// records.
func TestChainsVerifiedInChunksAreThoseVerifiedAtOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := demoStore(t)
	const cache = `SELECT a.fingerprint_sha256, r.ca_set, r.chain FROM chain_anchors a JOIN chain_results r ON r.id = a.result ORDER BY 1`
	atOnce, output := tableRows(t, s.db, cache), reviewOutput(t, s, false)
	defer func(n int) { verifyChunk = n }(verifyChunk)
	verifyChunk = 3
	for _, table := range []string{"chain_anchors", "chain_results"} {
		if _, err := s.db.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Reindex(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := s.lastRelink.chainsChecked; got != len(atOnce) || got <= 2*verifyChunk {
		t.Errorf("%d chains verified, want the %d cached by the import (more than two chunks)", got, len(atOnce))
	}
	if got := tableRows(t, s.db, cache); !slices.Equal(got, atOnce) {
		t.Errorf("the cache verified in chunks:\n%v\nwant\n%v", got, atOnce)
	}
	if got := reviewOutput(t, s, false); got != output {
		t.Errorf("records after verifying in chunks:\n%s", firstDifference(got, output))
	}
}

// Of the names of certificates with a verified chain, only those that a
// certificate without one carries too are kept: a lookalike is among
// those, and the demo's is still found.
func TestChainedNamesAreThoseALookalikeCouldCarry(t *testing.T) {
	s, _ := demoStore(t)
	ctx := context.Background()
	rv := &Review{s: s}
	if err := rv.prepareLinkingOf(ctx, nil); err != nil {
		t.Fatal(err)
	}
	chains := rv.chains
	carried := map[nameKey]bool{} // the names of certificates without a verified CA-signed chain
	chained := map[nameKey]bool{}
	var mimics []string
	err := s.EachRecord(ctx, func(r *model.Record) error {
		keys := []nameKey{nameKeyOf("dn:" + r.SubjectNormalized)}
		if len(r.SANs.URI) > 0 {
			keys = append(keys, nameKeyOf("uri:"+r.SANs.URI[0]))
		}
		for _, key := range keys {
			if r.SelfIssued || !chains.Of(r.FingerprintSHA256).Verified() {
				carried[key] = true
			} else {
				chained[key] = true
			}
		}
		if m := chains.Mimics(r); len(m) > 0 {
			mimics = append(mimics, r.IdentityName+" mimics "+strings.Join(m, ", "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range chains.chainedNames {
		if !carried[key] || !chained[key] {
			t.Errorf("kept the chained name %x, carried without a chain: %v, with one: %v", key, carried[key], chained[key])
		}
	}
	if len(chains.chainedNames) == 0 || len(chains.chainedNames) >= len(chained) {
		t.Errorf("%d chained names kept of %d", len(chains.chainedNames), len(chained))
	}
	if want := []string{"fx-rates.payments.svc mimics fx-rates.payments.svc"}; !slices.Equal(mimics, want) {
		t.Errorf("lookalikes %q, want %q", mimics, want)
	}
}
