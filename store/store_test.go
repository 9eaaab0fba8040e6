package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/model/demo"
	"certgov/store"
	"certgov/store/storetest"
)

var ctx = context.Background()

func openTemp(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(ctx, storetest.Location(t, filepath.Join(t.TempDir(), "sub", "certgov.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fileWith builds an importer result holding freshly issued certificates.
func fileWith(t testing.TB, path string, names ...string) model.FileResult {
	t.Helper()
	g := demo.NewGenerator(uint64(len(path)))
	now := time.Now()
	res := model.FileResult{Source: model.Source{Path: path, Kind: model.KindPEM, ContentSHA256: path + "-v1", Size: 1, ImportedAt: now}}
	for i, name := range names {
		issued, err := g.SelfSigned(demo.Template{CommonName: name, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Duration(i+1) * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := model.ParseCertificate(issued.Cert.Raw)
		if err != nil {
			t.Fatal(err)
		}
		res.Certificates = append(res.Certificates, model.FoundCertificate{Certificate: c, Location: "line 1"})
	}
	return res
}

func runImport(t testing.TB, s *store.Store, dryRun bool, files ...model.FileResult) store.ImportSummary {
	t.Helper()
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan model.FileResult, len(files))
	for _, f := range files {
		if imp.Known(f.Source.Path, f.Source.ContentSHA256) {
			f = model.FileResult{Source: f.Source, Unchanged: true}
		}
		ch <- f
	}
	close(ch)
	sum, err := imp.Run(ctx, ch, dryRun, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func counts(t *testing.T, s *store.Store) store.Counts {
	t.Helper()
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	storetest.SQLiteOnly(t, "file modes")
	dir := filepath.Join(t.TempDir(), "data", "certgov")
	path := filepath.Join(dir, "certgov.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runImport(t, s, false, fileWith(t, "a.pem", "svc-a"))
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700 | os.ModeDir, path + "-wal": 0o600} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode(), want)
		}
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestImportIsIdempotent(t *testing.T) {
	s := openTemp(t)
	a, b := fileWith(t, "a.pem", "svc-a", "svc-b"), fileWith(t, "bb.pem", "partner-c")
	first := runImport(t, s, false, a, b)
	if first.CertificatesNew != 3 || first.IdentitiesNew != 3 || first.SourcesNew != 2 {
		t.Fatalf("first import: %+v", first)
	}
	again := runImport(t, s, false, a, b)
	if again.CertificatesNew != 0 || again.SourcesNew != 0 || again.FilesUnchanged != 2 || again.CertificatesKnown != 3 {
		t.Fatalf("second import: %+v", again)
	}
	// The same content at another path is a copy: a new source, no new certificate.
	copyOfA := a
	copyOfA.Source.Path = "elsewhere/a.pem"
	copied := runImport(t, s, false, copyOfA)
	if copied.CertificatesNew != 0 || copied.CertificatesKnown != 2 || copied.SourcesNew != 1 {
		t.Fatalf("copy: %+v", copied)
	}
	occ, err := s.Occurrences(ctx, a.Certificates[0].FingerprintSHA256)
	if err != nil || len(occ) != 2 {
		t.Fatalf("occurrences %v %v, want both paths", occ, err)
	}
	if c := counts(t, s); c.Certificates != 3 || c.Identities != 3 || c.Sources != 3 {
		t.Fatalf("counts %+v", c)
	}
}

func TestChangedFileSupersedesItsOldContent(t *testing.T) {
	s := openTemp(t)
	v1 := fileWith(t, "gw.pem", "old-partner")
	runImport(t, s, false, v1)
	v2 := fileWith(t, "gw.pem", "new-partner")
	v2.Source.ContentSHA256 = "gw.pem-v2"
	runImport(t, s, false, v2)
	old, err := s.Occurrences(ctx, v1.Certificates[0].FingerprintSHA256)
	if err != nil || len(old) != 0 {
		t.Errorf("old certificate still found in the changed file: %v %v", old, err)
	}
	if c := counts(t, s); c.Sources != 1 || c.Certificates != 2 {
		t.Errorf("counts %+v: want 1 current source, both certificates kept", c)
	}
	// Changed back: the first content is current again.
	runImport(t, s, false, v1)
	if occ, _ := s.Occurrences(ctx, v1.Certificates[0].FingerprintSHA256); len(occ) != 1 {
		t.Errorf("restored content not current: %v", occ)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	s := openTemp(t)
	sum := runImport(t, s, true, fileWith(t, "a.pem", "svc-a", "svc-b"))
	if sum.CertificatesNew != 2 || sum.SourcesNew != 1 {
		t.Fatalf("dry run counts %+v", sum)
	}
	if c := counts(t, s); c != (store.Counts{}) {
		t.Fatalf("dry run wrote %+v", c)
	}
}

func TestFailedFilesStoreNothing(t *testing.T) {
	s := openTemp(t)
	failed := fileWith(t, "bad.pem", "should-not-appear")
	failed.Err = errors.New("bad.pem: truncated")
	failed.Certificates = nil
	skipped := model.FileResult{Source: model.Source{Path: "README"}, Skipped: "not certificate material"}
	sum := runImport(t, s, false, failed, skipped, fileWith(t, "good.pem", "svc-a"))
	if sum.FilesFailed != 1 || sum.FilesSkipped != 1 || sum.CertificatesNew != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if c := counts(t, s); c.Sources != 1 || c.Certificates != 1 {
		t.Fatalf("counts %+v", c)
	}
}

// A database error in the middle of a file leaves none of that file.
func TestFileIsStoredWholeOrNotAtAll(t *testing.T) {
	s := openTemp(t)
	broken := fileWith(t, "half.pem", "first-ok", "second-broken")
	broken.Certificates[1].DER = nil // violates NOT NULL on the second insert
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan model.FileResult, 1)
	ch <- broken
	close(ch)
	if _, err := imp.Run(ctx, ch, false, nil); err == nil {
		t.Fatal("want the database error")
	}
	if c := counts(t, s); c.Certificates != 0 || c.Sources != 0 || c.Identities != 0 {
		t.Fatalf("half a file stored: %+v", c)
	}
	runImport(t, s, false, fileWith(t, "next.pem", "svc"))
	if c := counts(t, s); c.Certificates != 1 {
		t.Fatalf("store unusable after a failed file: %+v", c)
	}
}

func TestResolve(t *testing.T) {
	s := openTemp(t)
	file := fileWith(t, "a.pem", "ledger", "refunds")
	runImport(t, s, false, file)
	fp := file.Certificates[0].FingerprintSHA256
	now := time.Now()
	for _, ref := range []string{fp, fp[:8], "sha256:" + fp[:12], "LEDGER"} {
		ident, index, err := s.Resolve(ctx, ref, now)
		if err != nil {
			t.Errorf("Resolve(%q): %v", ref, err)
			continue
		}
		if ident.Name != "ledger" || ident.Certificates[ident.Current].FingerprintSHA256 != fp {
			t.Errorf("Resolve(%q) = %s", ref, ident.Name)
		}
		if ref != "LEDGER" && index != 0 {
			t.Errorf("Resolve(%q) index %d", ref, index)
		}
	}
	if _, _, err := s.Resolve(ctx, "nobody", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown REF: %v", err)
	}
	if _, _, err := s.Resolve(ctx, fp[:7], now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("7-digit prefix must not match a fingerprint: %v", err)
	}
	// Two identities with one name (same CN, different organisations).
	other := fileWith(t, "b.pem", "ledger")
	other.Certificates[0].IdentityKey = "cn=ledger,o=elsewhere|"
	runImport(t, s, false, other)
	var amb *store.AmbiguousError
	if _, _, err := s.Resolve(ctx, "ledger", now); !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Fatalf("ambiguous name: %v", err)
	}
	// Each candidate names its certificate: that resolves it.
	otherFP := other.Certificates[0].FingerprintSHA256
	if !strings.Contains(amb.Error(), "sha256:"+fp[:16]) || !strings.Contains(amb.Error(), "sha256:"+otherFP[:16]) || !strings.Contains(amb.Error(), "self-signed") {
		t.Errorf("the ambiguity does not say how to name each: %v", amb)
	}
	if ident, _, err := s.Resolve(ctx, "sha256:"+otherFP[:16], now); err != nil || ident.Key != "cn=ledger,o=elsewhere|" {
		t.Errorf("the candidate's fingerprint: %v %v", ident, err)
	}
	// A unique prefix of a name, in any case; a shared one lists them.
	if ident, _, err := s.Resolve(ctx, "REF", now); err != nil || ident.Name != "refunds" {
		t.Errorf("a unique prefix: %v %v", ident, err)
	}
	if _, _, err := s.Resolve(ctx, "led", now); !errors.As(err, &amb) || len(amb.Candidates) != 2 {
		t.Errorf("a prefix of two identities' names: %v", err)
	}
	if _, _, err := s.Resolve(ctx, "ref%", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a prefix is no pattern: %v", err)
	}
}

func TestRecordsCarrySources(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "a.pem", "zeta", "alpha"))
	var names []string
	err := s.EachRecord(ctx, func(r *model.Record) error {
		names = append(names, r.IdentityName)
		if len(r.Sources) != 1 || r.Sources[0] != "a.pem" {
			t.Errorf("%s: sources %v", r.IdentityName, r.Sources)
		}
		return nil
	})
	if err != nil || len(names) != 2 || names[0] != "alpha" {
		t.Fatalf("records %v %v", names, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := storetest.Location(t, filepath.Join(t.TempDir(), "db"))
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "demo", "true"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForceSchemaVersion(ctx, 999); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := store.Open(ctx, path); err == nil {
		t.Fatal("opened a database from a newer certgov")
	}
}

// While an import waits for slow parsers, its transaction does not keep
// the write lock: a governance change in the meantime goes through at
// once instead of waiting out the busy timeout.
func TestImportWaitingForParsersDoesNotHoldTheLock(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "/first.pem", "first-svc"))
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan model.FileResult)
	done := make(chan error, 1)
	go func() {
		_, err := imp.Run(ctx, results, false, nil)
		done <- err
	}()
	results <- fileWith(t, "/second.pem", "second-svc") // the import's transaction is open
	time.Sleep(200 * time.Millisecond)                  // a parser is slow
	other, err := store.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	changed := make(chan error, 1)
	go func() {
		_, err := other.SetOwner(ctx, "first-svc", "ops@example.com", store.Change{Actor: "test", At: time.Now()})
		changed <- err
	}()
	select {
	case err := <-changed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second): // the busy timeout is 10 s
		t.Fatal("a governance change waited on an import that was waiting on its parsers")
	}
	close(results)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Names and paths from hostile files may hold NUL and bytes that are not
// UTF-8; the database keeps them exactly, on PostgreSQL too (whose text
// can hold neither), and a value that looks like the escape does not
// change.
func TestHostileTextIsKeptExactly(t *testing.T) {
	s := openTemp(t)
	path := "/evil/\xff\xfe-\x01x41-\x00.pem"
	name := "evil\x00svc\x01\x010"
	runImport(t, s, false, fileWith(t, path, name, "plain-svc"))
	var names, sources []string
	err := s.EachRecord(ctx, func(r *model.Record) error {
		names = append(names, r.IdentityName)
		sources = append(sources, r.Sources...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, name) || !slices.Contains(names, "plain-svc") {
		t.Errorf("names %q, want %q kept", names, name)
	}
	if len(sources) != 2 || sources[0] != path {
		t.Errorf("sources %q, want %q", sources, path)
	}
	// The stored linked state (written by COPY on PostgreSQL) keeps the
	// name exactly too.
	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	err = rv.Each(ctx, model.DefaultPolicy(), time.Now(), func(r *model.Record, _ []model.Finding) error {
		names = append(names, r.IdentityName)
		return nil
	})
	if err != nil || !slices.Contains(names, name) {
		t.Errorf("linked names %q (%v), want %q kept", names, err, name)
	}
	if _, err := s.SetOwner(ctx, "plain-svc", "ops\x01team", store.Change{Actor: "erin", At: time.Now()}); err == nil {
		t.Error("a typed owner with a control character was accepted")
	}
	if n, _, err := s.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("audit: %d %v", n, err)
	}
	// A second import of the same file knows it.
	if sum := runImport(t, s, false, fileWith(t, path, name, "plain-svc")); sum.FilesUnchanged != 1 {
		t.Errorf("re-import: %+v", sum)
	}
}
