package tui

import (
	"certgov/store/storetest"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
	"certgov/store"
	"certgov/store/evidence"
)

// The dashboard's scale targets at 100,000 certificates: counts within
// 50 ms of start, the identities table's first page within 150 ms, a
// navigation keystroke handled and rendered in under 16 ms, a filter
// keystroke in under 50 ms, one governance change with its audit event
// within 50 ms. The Estate benchmarks run on the realistic estate of
// demo.GenerateScale (CAs under two roots, several certificates per
// identity, self-signed partners, pins, CA bundles, DN and SAN rules),
// imported once and kept in the temp folder, shared with the command's
// benchmarks. Run:  go test -run '^$' -bench Estate -benchtime 20x ./tui

const benchIdentities = 100_000

// estateCertificates is the estate's size: CERTGOV_BENCH_CERTIFICATES
// (1000000 for the million-certificate figures), 100,000 unless set.
var estateCertificates = func() int {
	if n, err := strconv.Atoi(os.Getenv("CERTGOV_BENCH_CERTIFICATES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}()

// estateDB returns the imported realistic estate's database, building it
// the first time (a few minutes).
//
// In the PostgreSQL pass it is one database on the server for the pass.
func estateDB(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-estate-%d-g%d", estateCertificates, demo.ScaleGeneration))
	db := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-estate-%d-g%d-v%d.db", estateCertificates, demo.ScaleGeneration, store.SchemaVersion()))
	if storetest.Postgres() {
		if teamEstate != "" {
			return teamEstate
		}
		db = storetest.SharedLocation(b, "")
		teamEstate = db
	} else if _, err := os.Stat(db + ".complete"); err == nil {
		// State an older certgov linked is relinked by this first open,
		// not in a measured one.
		s, err := store.Open(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		return db
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		os.RemoveAll(dir)
		e, err := demo.GenerateScale(time.Now(), estateCertificates, 7)
		if err == nil {
			err = storetest.WriteEstate(e, dir)
		}
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	}
	if !storetest.Postgres() {
		os.Remove(db)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	imp, err := s.NewImport(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	opts := importers.Options{Known: imp.Known, Password: []byte(demo.KeystorePassword)}
	if _, err := imp.Run(context.Background(), importers.Walk(context.Background(), []string{dir}, opts), false, nil); err != nil {
		b.Fatal(err)
	}
	if !storetest.Postgres() {
		os.WriteFile(db+".complete", nil, 0o644)
	}
	return db
}

// teamEstate is the PostgreSQL pass's estate database.
var teamEstate string

// copyOf copies a database file for a benchmark that writes.
func copyOf(b *testing.B, path string) string {
	b.Helper()
	if store.IsPostgres(path) {
		return path // the pass's own database: what it writes goes with it
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "copy.db")
	if err := os.WriteFile(out, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkEstateCounts is start to the first frame: open the database,
// count, render the overview's numbers.
func BenchmarkEstateCounts(b *testing.B) {
	benchStart(b, "identities", func(m Model) tea.Msg { return m.countsCmd()() })
}

// BenchmarkEstateFirstPage is start to the identities table's first page:
// open the database, read the soonest-expiring identities (the first
// dataset the load hands on; the rest of the load is cancelled), render.
func BenchmarkEstateFirstPage(b *testing.B) {
	benchStart(b, "soonest-expiring", func(m Model) tea.Msg { return m.countsCmd()() },
		func(m Model) tea.Msg {
			ctx, cancel := context.WithCancel(context.Background())
			var first *Dataset
			LoadProgressively(ctx, m.opts.Store, m.opts.Policy, m.opts.Now(), func(p *Dataset) {
				if first == nil {
					first = p
				}
				cancel()
			})
			return partialMsg{seq: m.loadSeq, ds: first}
		}, func(Model) tea.Msg { return keyMsg("2") })
}

// benchStart opens the estate's database and a dashboard, applies each
// step's message in turn and checks the frame shows want.
func benchStart(b *testing.B, want string, steps ...func(Model) tea.Msg) {
	db := estateDB(b)
	b.ResetTimer()
	for range b.N {
		s, err := store.Open(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		var m tea.Model = New(Options{Store: s, Policy: model.DefaultPolicy()})
		m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 35})
		for _, step := range steps {
			m, _ = m.Update(step(m.(Model)))
		}
		if frame := m.(Model).View().Content; !strings.Contains(frame, want) {
			b.Fatal(frame)
		}
		// Closing waits for the check at open, which runs beside the
		// first reads: not part of the start.
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkEstateLoad is the full load behind the first page.
func BenchmarkEstateLoad(b *testing.B) {
	s, err := store.Open(context.Background(), estateDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		if _, err := Load(context.Background(), s, model.DefaultPolicy(), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

var estateDataset *Dataset

// estateModel is the dashboard on the identities screen with the estate
// loaded.
func estateModel(b *testing.B) Model {
	b.Helper()
	if estateDataset == nil {
		s, err := store.Open(context.Background(), estateDB(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if estateDataset, err = Load(context.Background(), s, model.DefaultPolicy(), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	m := New(Options{Store: &store.Store{}, Policy: model.DefaultPolicy()})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 35})
	next, _ = next.Update(loadedMsg{seq: next.(Model).loadSeq, ds: estateDataset})
	next, _ = next.Update(keyMsg("2"))
	return next.(Model)
}

func BenchmarkEstateNavigate(b *testing.B) {
	m := estateModel(b)
	keys := []tea.KeyPressMsg{keyMsg("down"), keyMsg("down"), keyMsg("up")}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(keys[i%len(keys)])
		m = next.(Model)
		_ = m.View()
	}
}

func BenchmarkEstateFilterKeystroke(b *testing.B) {
	m := estateModel(b)
	next, _ := m.Update(keyMsg("/"))
	m = next.(Model)
	keys := []tea.KeyPressMsg{keyMsg("t"), keyMsg("e"), keyMsg("a"), keyMsg("m"), keyMsg("-"), keyMsg("0"),
		keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace")}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(keys[i%len(keys)])
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkEstateGovernanceChange sets an identity's owner, with its audit
// event, as the dashboard's action does.
func BenchmarkEstateGovernanceChange(b *testing.B) {
	s, err := store.Open(context.Background(), copyOf(b, estateDB(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var fingerprints []string
	rv, err := s.NewReview(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	err = rv.EachSoonestExpiring(context.Background(), model.DefaultPolicy(), time.Now(), 200, func(r *model.Record, _ []model.Finding, _ int) error {
		fingerprints = append(fingerprints, r.FingerprintSHA256)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		ch := store.Change{Actor: "bench", At: time.Now(), Reason: "benchmark"}
		if _, err := s.SetOwner(context.Background(), fingerprints[i%len(fingerprints)], fmt.Sprintf("team-%d@example.com", i), ch); err != nil {
			b.Fatal(err)
		}
	}
}

// syntheticDataset is 100,000 identities in memory, shaped like the demo.
func syntheticDataset(n int, now time.Time) *Dataset {
	ds := &Dataset{Certificates: n, LoadedAt: now, Identities: n}
	ds.Rows = make([]Row, 0, n)
	tally, in := newFindingTally(), newInterner()
	for i := range n {
		r := model.Record{Certificate: model.Certificate{
			FingerprintSHA256: fmt.Sprintf("%064x", i*2654435761), CommonName: fmt.Sprintf("svc-%06d.team-%02d.svc", i, i%50),
			Subject: fmt.Sprintf("CN=svc-%06d.team-%02d.svc,OU=team-%02d,O=Example", i, i%50, i%50), Issuer: "CN=Example Workload CA,O=Example",
			IdentityName: fmt.Sprintf("svc-%06d.team-%02d.svc", i, i%50), IdentityKey: fmt.Sprint(i),
			KeyAlgorithm: "ECDSA", KeySize: 256, KeyCurve: "P-256", SelfSigned: i%7 == 0, SelfIssued: i%7 == 0,
			NotBefore: now.AddDate(0, 0, -100), NotAfter: now.AddDate(0, 0, i%400-30),
			SANs: model.SANs{URI: []string{fmt.Sprintf("spiffe://corp.example/ns/team-%02d/sa/svc-%06d", i%50, i)}},
		}, Owner: []string{"", "team-a@example.com", "team-b@example.com"}[i%3], TrustModel: model.TrustModelCA}
		var findings []model.Finding
		if r.NotAfter.Before(now) {
			findings = append(findings, model.Finding{Code: model.FindingExpired, Severity: model.SeverityCritical})
			r.Findings = []string{model.FindingExpired}
		}
		ds.Rows = append(ds.Rows, newRow(r, findings, in))
		tally.add(findings)
	}
	ds.FindingGroups = tally.groups()
	return ds
}

func BenchmarkEstateSortKeystroke(b *testing.B) {
	m := estateModel(b)
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(keyMsg("s"))
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkEstateMemory reports the heap the loaded estate holds.
func BenchmarkEstateMemory(b *testing.B) {
	for range b.N {
		estateDataset = nil
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := estateModel(b)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		runtime.KeepAlive(m)
	}
}

// BenchmarkCampaignDecide: deciding an item from a 100,000-item queue and
// drawing the next (the write itself runs in a command, off this path).
func BenchmarkCampaignDecide(b *testing.B) {
	now := time.Now()
	ds := syntheticDataset(benchIdentities, now)
	due := now.AddDate(0, 1, 0)
	ds.Campaign = &store.Campaign{Name: "bench", Items: benchIdentities, Due: &due}
	for i := range ds.Rows {
		ds.Undecided = append(ds.Undecided, ds.Rows[i].key)
	}
	m := New(Options{Store: &store.Store{}, Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 35})
	next, _ = next.Update(loadedMsg{seq: next.(Model).loadSeq, ds: ds})
	next, _ = next.Update(keyMsg("7"))
	m = next.(Model)
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(keyMsg("c"))
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkExportCampaign exports a 100,000-item campaign; peak-heap-MiB
// shows that the export streams.
func BenchmarkExportCampaign(b *testing.B) {
	s, err := store.Open(context.Background(), copyOf(b, estateDB(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	if _, err := s.StartCampaign(context.Background(), name, time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "bench", At: time.Now()}); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled) // peak is read only after the sampler stopped
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	for range b.N {
		if _, err := evidence.Export(context.Background(), s, evidence.Options{Dir: b.TempDir(), Campaign: name, Policy: model.DefaultPolicy(), Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
