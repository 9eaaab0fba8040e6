package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"certgov/model"
	"certgov/store"
)

// The dashboard's scale targets at 100,000 identities: a navigation
// keystroke handled and rendered in under 16 ms, a filter keystroke in
// under 50 ms, memory under 300 MB; and the first screen soon after
// start. Run:  go test -run '^$' -bench . -benchtime 20x ./tui

const benchIdentities = 100_000

// syntheticDataset is 100,000 identities in memory, shaped like the demo.
func syntheticDataset(n int, now time.Time) *Dataset {
	ds := &Dataset{Certificates: n, LoadedAt: now}
	ds.Rows = make([]Row, 0, n)
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
		ds.Rows = append(ds.Rows, newRow(r, findings))
		ds.Findings = append(ds.Findings, findings...)
	}
	return ds
}

func benchModel(b *testing.B) Model {
	now := time.Now()
	m := New(Options{Store: &store.Store{}, Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 35})
	m = next.(Model)
	next, _ = m.Update(loadedMsg{seq: m.loadSeq, ds: syntheticDataset(benchIdentities, now)})
	m = next.(Model)
	next, _ = m.Update(keyMsg("2"))
	return next.(Model)
}

func BenchmarkNavigateKeystroke(b *testing.B) {
	m := benchModel(b)
	keys := []tea.KeyPressMsg{keyMsg("down"), keyMsg("down"), keyMsg("up")}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(keys[i%len(keys)])
		m = next.(Model)
		_ = m.View()
	}
}

func BenchmarkFilterKeystroke(b *testing.B) {
	m := benchModel(b)
	next, _ := m.Update(keyMsg("/"))
	m = next.(Model)
	// Type "team-0", then erase it, over and over: each keystroke filters
	// all 100,000 identities and renders the frame.
	keys := []tea.KeyPressMsg{keyMsg("t"), keyMsg("e"), keyMsg("a"), keyMsg("m"), keyMsg("-"), keyMsg("0"),
		keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace")}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(keys[i%len(keys)])
		m = next.(Model)
		_ = m.View()
	}
}

func BenchmarkSortKeystroke(b *testing.B) {
	m := benchModel(b)
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(keyMsg("s"))
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkMemory reports the heap that 100,000 loaded identities hold.
func BenchmarkMemory(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := benchModel(b)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		runtime.KeepAlive(m)
	}
}

// BenchmarkLoad measures Load against a real database of 100,000
// identities (built once, kept in the temp folder): the time before the
// dashboard can show the full data.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(os.TempDir(), "certgov-tui-bench-100k.db")
	if _, err := os.Stat(path); err != nil {
		buildSyntheticDB(b, path, benchIdentities)
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		ds, err := Load(context.Background(), s, model.DefaultPolicy(), time.Now())
		if err != nil || len(ds.Rows) != benchIdentities {
			b.Fatalf("%v, %d rows", err, len(ds.Rows))
		}
	}
}

// buildSyntheticDB imports n synthetic certificates (facts without real
// signatures: the store does not verify them) through the real writer.
func buildSyntheticDB(b *testing.B, path string, n int) {
	s, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	imp, err := s.NewImport(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan model.FileResult, 16)
	go func() {
		defer close(ch)
		now := time.Now()
		ds := syntheticDataset(n, now)
		for f := 0; f*100 < n; f++ {
			res := model.FileResult{Source: model.Source{Path: fmt.Sprintf("/synthetic/%d.pem", f), Kind: model.KindPEM, ContentSHA256: fmt.Sprint(f), ImportedAt: now}}
			for i := f * 100; i < min(n, f*100+100); i++ {
				c := ds.Rows[i].Certificate
				c.DER = []byte(c.FingerprintSHA256)
				c.SubjectNormalized = c.Subject
				c.FingerprintSHA1 = c.FingerprintSHA256[:40]
				res.Certificates = append(res.Certificates, model.FoundCertificate{Certificate: c, Location: "line 1"})
			}
			ch <- res
		}
	}()
	if _, err := imp.Run(context.Background(), ch, false, nil); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFirstFrame is start to first frame with numbers: open the
// database of 100,000 identities, count, render.
func BenchmarkFirstFrame(b *testing.B) {
	path := filepath.Join(os.TempDir(), "certgov-tui-bench-100k.db")
	if _, err := os.Stat(path); err != nil {
		buildSyntheticDB(b, path, benchIdentities)
	}
	b.ResetTimer()
	for range b.N {
		s, err := store.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		m := New(Options{Store: s})
		next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 35})
		next, _ = next.Update(next.(Model).countsCmd()())
		if !strings.Contains(next.(Model).View().Content, "100000  identities") {
			b.Fatal(next.(Model).View().Content)
		}
		s.Close()
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
		ds.Undecided = append(ds.Undecided, ds.Rows[i].IdentityName)
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
	path := filepath.Join(os.TempDir(), "certgov-tui-bench-100k.db")
	if _, err := os.Stat(path); err != nil {
		buildSyntheticDB(b, path, benchIdentities)
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	if _, err := s.StartCampaign(context.Background(), name, time.Time{}, nil, model.DefaultPolicy(), store.Change{Actor: "bench", At: time.Now()}); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	stop := make(chan struct{})
	go func() {
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
		if _, err := s.Export(context.Background(), store.ExportOptions{Dir: b.TempDir(), Campaign: name, Policy: model.DefaultPolicy(), Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
