package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
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
	benchBesideEstate(b, benchPinList(b, 800_000))
}

// BenchmarkCRL measures what a long CRL costs: the 10k estate with a CRL
// of 1,000,000 serials (`openssl ca -gencrl` with its defaults, 30 MB of
// PEM) beside it, which an nginx server checks, naming none of the
// imported certificates. Run it with
//
//	go test -run '^$' -bench CRL -benchtime 3x ./cmd/certgov
func BenchmarkCRL(b *testing.B) {
	benchBesideEstate(b, benchCRL(b, 1_000_000))
}

// benchBesideEstate imports the 10k estate with the folder beside, then
// reads it.
func benchBesideEstate(b *testing.B, beside string) {
	estate := benchEstate(b, 10_000)
	parent := b
	var master string
	b.Run("import", func(b *testing.B) {
		var peak float64
		for i := range b.N {
			// Made by the parent, so that the reads below find the last.
			b.StopTimer()
			master = storetest.Location(parent, filepath.Join(parent.TempDir(), fmt.Sprintf("beside-%d.db", i)))
			b.StartTimer()
			peak = max(peak, certgovProcess(b, "--db", master, "import", estate, beside))
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

// benchCRL writes (once, kept in the temp folder) a folder holding a CA,
// a CRL of n serials it signed with `openssl ca -gencrl`, and an nginx
// configuration that checks client certificates against both.
func benchCRL(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("certgov-bench-crl-%d", n))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return filepath.Join(dir, "crl")
	}
	os.RemoveAll(dir)
	work := filepath.Join(dir, "crl")
	if err := os.MkdirAll(work, 0o700); err != nil {
		b.Fatal(err)
	}
	index, err := os.Create(filepath.Join(dir, "index.txt"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(index)
	for i := range n { // revoked, serials no imported certificate has
		fmt.Fprintf(w, "R\t300101000000Z\t251201000000Z\t%08X\tunknown\t/CN=client-%d\n", 0x7000000+7*i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	index.Close()
	files := map[string]string{
		"ca.cnf":    "[ca]\ndefault_ca = CA_default\n[CA_default]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = default\ndefault_crl_days = 30\n",
		"crlnumber": "1000\n",
		"crl/nginx.conf": `events {}
http {
  server {
    listen 443 ssl;
    server_name partners.example;
    ssl_client_certificate ca.pem;
    ssl_verify_client on;
    ssl_crl revoked.crl.pem;
  }
}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
			"-subj", "/CN=Partner Revoking CA/O=Example Corp", "-out", "crl/ca.pem"},
		{"ca", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "crl/ca.pem", "-gencrl", "-out", "crl/revoked.crl.pem"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("openssl %s: %v\n%s", args[0], err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
	return work
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
