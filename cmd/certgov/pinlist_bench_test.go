package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"certgov/model/demo"
	"certgov/store/storetest"
)

// BenchmarkPinList measures what a long pin list costs: the 10k estate
// with a list of 800,000 pins beside it (63 MB, as a reviewer's gateway
// had), none naming an imported certificate. Run it with
//
//	go test -run '^$' -bench PinList -benchtime 3x ./cmd/certgov
//
// The reads should cost what they cost without the list (Estate/10k).
func BenchmarkPinList(b *testing.B) {
	estate := benchEstate(b, 10_000)
	pins := benchPinList(b, 800_000)
	parent := b
	var master string
	b.Run("import", func(b *testing.B) {
		var peak float64
		for i := range b.N {
			// Made by the parent, so that the reads below find the last.
			b.StopTimer()
			master = storetest.Location(parent, filepath.Join(parent.TempDir(), fmt.Sprintf("pins-%d.db", i)))
			b.StartTimer()
			peak = max(peak, certgovProcess(b, "--db", master, "import", estate, pins))
		}
		reportPerCert(b, 10_000, peak)
	})
	for _, read := range []struct {
		name string
		args []string
	}{
		{"ls-json", []string{"ls", "-o", "json"}},
		{"findings-json", []string{"findings", "-o", "json"}},
		{"check", []string{"check", "--fail-on", "weak-key"}},
	} {
		b.Run(read.name, func(b *testing.B) {
			if master == "" {
				b.Skip("run with the import")
			}
			var peak float64
			for range b.N {
				peak = max(peak, certgovProcess(b, append([]string{"--db", master}, read.args...)...))
			}
			reportPerCert(b, 10_000, peak)
		})
	}
}

// benchPinList writes (once, kept in the temp folder) a folder holding a
// pin list of n SHA-256 fingerprints that name no certificate.
func benchPinList(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-pins-%d-g%d", n, demo.ScaleGeneration))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return filepath.Join(dir, "pins")
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "pins"), 0o700); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "pins", "pinned-partners.txt"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, "%x  partner %d\n", sha256.Sum256(fmt.Append(nil, i)), i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	return filepath.Join(dir, "pins")
}
