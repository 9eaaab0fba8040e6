package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"certgov/model/demo"
	"certgov/store"
	"certgov/store/storetest"
)

// The estate benchmarks run certgov as a user would (a child process per
// command) on a realistic estate from demo.GenerateScale: CAs under two
// roots, several certificates per identity, 40% self-signed partners, pin
// lists, CA bundles, DN and SAN rules. Run them with
//
//	go test -run '^$' -bench 'Estate/10k' -benchtime 5x ./cmd/certgov
//
// and Estate/100k for the large one (generated once, kept in the temp
// folder, like the import corpus). Under .ci/with-postgres they run on
// SQLite, then again on PostgreSQL (the bare yardsticks on SQLite only).

var estateSizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}}

func benchEstate(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-estate-%d-g%d", n, demo.ScaleGeneration))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	// In a child process: a child inherits its parent's peak resident
	// memory across exec, so generating 100,000 certificates here would
	// inflate every measured command's peak.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("CERTGOV_WRITE_ESTATE=%d:%s", n, dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("estate: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	return dir
}

// writeScaledEstate writes the scaled estate named by "N:DIR".
func writeScaledEstate(spec string) int {
	var n int
	var dir string
	if _, err := fmt.Sscanf(spec, "%d:%s", &n, &dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	e, err := demo.GenerateScale(time.Now(), n, 7)
	if err == nil {
		err = writeEstate(e, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// importedEstate imports the estate into a database once per size and
// returns a copy of that database file, never read before.
func importedEstate(b *testing.B, n int) (fresh func() string) {
	b.Helper()
	dir := benchEstate(b, n)
	if storetest.Postgres() {
		// One PostgreSQL database per size for the pass: a read changes
		// nothing there, so every read may use it.
		master, ok := teamEstates[n]
		if !ok {
			master = storetest.SharedLocation(b, "")
			certgovProcess(b, "--db", master, "import", dir)
			teamEstates[n] = master
		}
		return func() string { return master }
	}
	// Per schema version, so that a fresh import is what is measured,
	// never a migration.
	master := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-estate-%d-g%d-v%d.db", n, demo.ScaleGeneration, store.SchemaVersion()))
	if _, err := os.Stat(master + ".complete"); err != nil {
		os.Remove(master)
		certgovProcess(b, "--db", master, "import", dir)
		os.WriteFile(master+".complete", nil, 0o644)
	}
	upToDate(b, master)
	return func() string {
		copyPath := filepath.Join(b.TempDir(), "estate.db")
		src, err := os.Open(master)
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(copyPath, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer dst.Close()
		if _, err := io.Copy(dst, src); err != nil {
			b.Fatal(err)
		}
		return copyPath
	}
}

// teamEstates are the PostgreSQL databases importedEstate filled, by size.
var teamEstates = map[int]string{}

// freshDatabase is a new, empty database for one import: a SQLite file,
// or (PostgreSQL pass) a new database, made with the timer stopped.
func freshDatabase(b *testing.B, name string) string {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	return storetest.Location(b, filepath.Join(b.TempDir(), name))
}

// upToDate opens a kept database once, so that state an older certgov
// linked is relinked here and not in what a benchmark measures.
func upToDate(b *testing.B, db string) {
	b.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
}

func BenchmarkEstate(b *testing.B) {
	for _, size := range estateSizes {
		b.Run(size.name+"/import", func(b *testing.B) {
			dir := benchEstate(b, size.n)
			b.ResetTimer()
			var peak float64
			for range b.N {
				peak = max(peak, certgovProcess(b, "--db", freshDatabase(b, "fresh.db"), "import", dir))
			}
			reportPerCert(b, size.n, peak)
		})
		b.Run(size.name+"/bare-import", func(b *testing.B) {
			storetest.SQLiteOnly(b, "the yardstick is SQLite's bare loop")
			dir := benchEstate(b, size.n)
			b.ResetTimer()
			for range b.N {
				bareImportOf(b, dir, filepath.Join(b.TempDir(), "bare.db"), true)
			}
			reportPerCert(b, size.n, 0)
		})
		b.Run(size.name+"/first-read", func(b *testing.B) {
			fresh := importedEstate(b, size.n)
			var peak float64
			for range b.N {
				b.StopTimer()
				db := fresh()
				b.StartTimer()
				peak = max(peak, certgovProcess(b, "--db", db, "ls", "-o", "json"))
			}
			reportPerCert(b, size.n, peak)
		})
		b.Run(size.name+"/bare-ls", func(b *testing.B) {
			storetest.SQLiteOnly(b, "the yardstick reads the SQLite file")
			db := importedEstate(b, size.n)()
			b.ResetTimer()
			for range b.N {
				bareList(b, db)
			}
			reportPerCert(b, size.n, 0)
		})
		for _, read := range []struct {
			name string
			args []string
		}{
			{"ls-json", []string{"ls", "-o", "json"}},
			{"ls-sorted-json", []string{"ls", "--sort", "owner,-severity,expires", "-o", "json"}},
			{"ls-nothing", []string{"ls", "--filter", "fp:0000000000", "-o", "json"}},
			{"findings-json", []string{"findings", "-o", "json"}},
			{"check", []string{"check", "--fail-on", "weak-key"}},
			// servers walks every current certificate per server; what-if
			// evaluates every one again without a gateway.
			{"servers", []string{"servers", "-o", "json"}},
			{"what-if", []string{"servers", "what-if", "--remove", "gw-03.example:443"}},
			// doctor relinks every certificate in memory to check the
			// derived tables (VerifyDerived), and replays the trail.
			{"doctor", []string{"doctor"}},
		} {
			b.Run(size.name+"/"+read.name, func(b *testing.B) {
				db := importedEstate(b, size.n)()
				certgovProcess(b, "--db", db, "ls", "--filter", "fp:00000000") // warm the chain cache
				b.ResetTimer()
				var peak float64
				for range b.N {
					peak = max(peak, certgovProcess(b, append([]string{"--db", db}, read.args...)...))
				}
				reportPerCert(b, size.n, peak)
			})
		}
	}
}

// bareList is the yardstick for ls -o json: read every certificate row once
// (its facts, as the certificates table holds them) and print it as JSON.
func bareList(b *testing.B, dbPath string) {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT fingerprint_sha256, fingerprint_sha1, spki_sha256, subject, issuer, common_name, serial,
		not_before, not_after, key_algorithm, key_size, signature_algorithm, sans, key_usage, ext_key_usage, is_ca, self_signed FROM certificates`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := bufio.NewWriterSize(io.Discard, 64<<10)
	enc := json.NewEncoder(out)
	for rows.Next() {
		var r struct {
			FP, FP1, SPKI, Subject, Issuer, CN, Serial string
			NotBefore, NotAfter                        int64
			Key                                        string
			Size                                       int
			Sig, SANs, KU, EKU                         string
			CA, SelfSigned                             bool
		}
		if err := rows.Scan(&r.FP, &r.FP1, &r.SPKI, &r.Subject, &r.Issuer, &r.CN, &r.Serial, &r.NotBefore, &r.NotAfter,
			&r.Key, &r.Size, &r.Sig, &r.SANs, &r.KU, &r.EKU, &r.CA, &r.SelfSigned); err != nil {
			b.Fatal(err)
		}
		enc.Encode(&r)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	out.Flush()
}
