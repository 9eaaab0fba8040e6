package main

import (
	"bytes"
	"certgov/store/storetest"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	_ "modernc.org/sqlite"
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
	storetest.SQLiteOnly(b, "a synthetic corpus; BenchmarkEstate measures PostgreSQL")
	for _, size := range corpusSizes {
		b.Run(size.name+"/bare", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			b.ResetTimer()
			for range b.N {
				db := filepath.Join(b.TempDir(), "bare.db")
				if got := bareImport(b, dir, db); got < size.n {
					b.Fatalf("bare loop stored %d certificates", got)
				}
			}
			reportPerCert(b, size.n, 0)
		})
		b.Run(size.name+"/fresh", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			var peak float64
			for range b.N {
				peak = max(peak, certgovProcess(b, "--db", filepath.Join(b.TempDir(), "fresh.db"), "import", dir))
			}
			reportPerCert(b, size.n, peak)
		})
		b.Run(size.name+"/reimport", func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			db := filepath.Join(b.TempDir(), "re.db")
			certgovProcess(b, "--db", db, "import", dir)
			b.ResetTimer()
			var peak float64
			for range b.N {
				peak = max(peak, certgovProcess(b, "--db", db, "import", dir))
			}
			reportPerCert(b, size.n, peak)
		})
	}
}

// certgovProcess runs certgov in a child process, as a user would, and
// returns its peak resident memory in MiB (all of it: Go heap, SQLite's
// page cache, the binary).
func certgovProcess(b *testing.B, args ...string) float64 {
	b.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTGOV_MAIN_ARGS="+string(argv))
	// Straight to /dev/null: through a pipe, this process would copy
	// every byte the command writes, on the same cores.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	cmd.Stdout = devNull
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("certgov %v: %v\n%s", args, err, stderr.String())
	}
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(usage.Maxrss) / 1024
	}
	return 0
}

func BenchmarkListJSON(b *testing.B) {
	storetest.SQLiteOnly(b, "a synthetic corpus; BenchmarkEstate measures PostgreSQL")
	for _, size := range corpusSizes {
		b.Run(size.name, func(b *testing.B) {
			dir := benchCorpus(b, size.n)
			db := filepath.Join(b.TempDir(), "ls.db")
			certgovProcess(b, "--db", db, "import", dir)
			b.ResetTimer()
			var peak float64
			for range b.N {
				peak = max(peak, certgovProcess(b, "--db", db, "ls", "-o", "json"))
			}
			reportPerCert(b, size.n, peak)
		})
	}
}

// bareImport is the yardstick: walk, read, parse each certificate, insert
// one row per certificate (WAL, a prepared statement, 1,000 rows per
// transaction), on one goroutine.
func bareImport(b *testing.B, dir, dbPath string) int {
	return bareImportOf(b, dir, dbPath, false)
}

// bareImportOf is bareImport; lenient skips what is not a certificate
// (a realistic estate also holds configs, keys and keystores) instead of
// failing.
func bareImportOf(b *testing.B, dir, dbPath string, lenient bool) int {
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
		if err != nil && lenient {
			return
		}
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
			if block.Type == "CERTIFICATE" || !lenient {
				insert(block.Bytes)
			}
		}
	})
	stmt.Close()
	tx.Commit()
	return rows
}

func reportPerCert(b *testing.B, n int, peakMiB float64) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/cert")
	if peakMiB > 0 {
		b.ReportMetric(peakMiB, "peak-RSS-MiB")
	}
}
