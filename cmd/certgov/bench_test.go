package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crypto/x509"

	_ "modernc.org/sqlite"

	"certgov/importers"
	"certgov/store"
)

// The import benchmarks compare certgov's import with a bare loop that
// only walks, reads, parses and inserts one row per certificate, side by
// side on the same corpus. Run them with
//
//	go test -run '^$' -bench 'Import/10k' -benchtime 3x ./cmd/certgov
//
// and 100k for the large corpus (generated once, kept in the temp folder).

var corpusSizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}}

func benchCorpus(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-corpus-%d", n))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	writeCorpus(b, dir, n)
	os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	return dir
}

func BenchmarkImport(b *testing.B) {
	for _, size := range corpusSizes {
		b.Run(size.name+"/bare", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			b.ResetTimer()
			peak := trackPeakMemory()
			for range b.N {
				db := filepath.Join(b.TempDir(), "bare.db")
				if got := bareImport(b, dir, db); got < size.n {
					b.Fatalf("bare loop stored %d certificates", got)
				}
			}
			reportPerCert(b, size.n, peak())
		})
		b.Run(size.name+"/fresh", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			b.ResetTimer()
			peak := trackPeakMemory()
			for range b.N {
				importOnce(b, filepath.Join(b.TempDir(), "fresh.db"), dir, size.n)
			}
			reportPerCert(b, size.n, peak())
		})
		b.Run(size.name+"/reimport", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			db := filepath.Join(b.TempDir(), "re.db")
			importOnce(b, db, dir, size.n)
			b.ResetTimer()
			peak := trackPeakMemory()
			for range b.N {
				importOnce(b, db, dir, 0)
			}
			reportPerCert(b, size.n, peak())
		})
	}
}

func BenchmarkListJSON(b *testing.B) {
	for _, size := range corpusSizes {
		b.Run(size.name, func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			db := filepath.Join(b.TempDir(), "ls.db")
			importOnce(b, db, dir, size.n)
			s, err := store.Open(context.Background(), db)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ResetTimer()
			peak := trackPeakMemory()
			for range b.N {
				if err := listRecords(context.Background(), s, nil, "json", io.Discard, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			reportPerCert(b, size.n, peak())
		})
	}
}

func importOnce(b *testing.B, db, dir string, wantNew int) {
	s, err := store.Open(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sum, failures, _, err := importPaths(context.Background(), s, []string{dir}, importers.Options{}, false)
	if err != nil || len(failures) > 0 {
		b.Fatalf("import: %v %v", err, failures)
	}
	if sum.CertificatesNew < wantNew || (wantNew == 0 && sum.CertificatesNew != 0) {
		b.Fatalf("import stored %d new certificates, want %d", sum.CertificatesNew, wantNew)
	}
}

// bareImport is the yardstick: walk, read, parse each certificate, insert
// one row per certificate (WAL, a prepared statement, 1,000 rows per
// transaction), on one goroutine.
func bareImport(b *testing.B, dir, dbPath string) int {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE certs (fingerprint TEXT PRIMARY KEY, subject TEXT, not_after INTEGER, der BLOB)`); err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Begin()
	stmt, _ := tx.Prepare(`INSERT OR IGNORE INTO certs VALUES (?, ?, ?, ?)`)
	rows := 0
	insert := func(der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(der)
		if _, err := stmt.Exec(hex.EncodeToString(sum[:]), c.Subject.String(), c.NotAfter.Unix(), der); err != nil {
			b.Fatal(err)
		}
		rows++
		if rows%1000 == 0 {
			stmt.Close()
			tx.Commit()
			tx, _ = db.Begin()
			stmt, _ = tx.Prepare(`INSERT OR IGNORE INTO certs VALUES (?, ?, ?, ?)`)
		}
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(data, []byte("-----BEGIN")) {
			if len(data) > 0 {
				insert(data)
			}
			return nil
		}
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				return nil
			}
			insert(block.Bytes)
		}
	})
	stmt.Close()
	tx.Commit()
	return rows
}

// trackPeakMemory measures the process's peak resident memory (Linux
// VmHWM, reset at the start so earlier work such as corpus generation does
// not count; it includes SQLite's page cache, which lives outside the Go
// heap) until the returned function is called, which reports it in MiB.
// Elsewhere it samples the Go runtime's mapped memory.
func trackPeakMemory() func() float64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err == nil {
		return func() float64 { return vmHWM() / 1024 }
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	go func() {
		defer close(done)
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return float64(peak.Load()) / (1 << 20)
	}
}

// vmHWM reads the peak resident set size in KiB.
func vmHWM() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb
		}
	}
	return 0
}

func reportPerCert(b *testing.B, n int, peakMiB float64) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/cert")
	b.ReportMetric(peakMiB, "peak-MiB")
}
