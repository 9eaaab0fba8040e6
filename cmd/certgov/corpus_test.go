package main

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"certgov/model/demo"
)

// writeCorpus writes about n certificates below dir in the shapes real
// estates have: single PEM files, DER files, bundles of ten (half of them
// with CRLF line endings), leaf-plus-chain files; RSA, ECDSA and Ed25519
// keys; self-signed and CA-signed. RSA keys come from a small pool so that
// generation stays fast.
func writeCorpus(tb testing.TB, dir string, n int) {
	tb.Helper()
	now := time.Now()
	g := demo.NewGenerator(42)
	rsaPool := make([]crypto.Signer, 4)
	for i := range rsaPool {
		k, err := demo.RSAKey(2048)
		if err != nil {
			tb.Fatal(err)
		}
		rsaPool[i] = k
	}
	ca, err := g.SelfSigned(demo.Template{CommonName: "Corpus CA", CA: true, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0)})
	if err != nil {
		tb.Fatal(err)
	}
	const perFile = 10
	files := (n + perFile - 1) / perFile
	workers := 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := demo.NewGenerator(uint64(w + 1))
			for f := w; f < files; f += workers {
				if err := writeCorpusFile(gen, dir, f, perFile, ca, rsaPool, now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
}

// writeCorpusFile writes the certificates numbered f*perFile… as one
// bundle, or as perFile separate files, by the file number.
func writeCorpusFile(g *demo.Generator, dir string, f, perFile int, ca *demo.Issued, rsaPool []crypto.Signer, now time.Time) error {
	sub := filepath.Join(dir, fmt.Sprintf("team-%02d", f%50), fmt.Sprintf("batch-%04d", f/50))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return err
	}
	certs := make([]*x509.Certificate, perFile)
	for i := range certs {
		id := f*perFile + i
		t := demo.Template{
			CommonName: fmt.Sprintf("svc-%06d", id), OrgUnit: fmt.Sprintf("team-%02d", f%50), Org: "Corpus",
			URIs:      []string{fmt.Sprintf("spiffe://corpus.example/svc/%d", id)},
			NotBefore: now.AddDate(0, 0, -(id % 300)), NotAfter: now.AddDate(0, 0, id%400-30),
		}
		switch id % 20 {
		case 0, 1, 2:
			t.Key = rsaPool[id%len(rsaPool)]
		case 3, 4, 5:
			t.Key = demo.Ed25519Key()
		}
		parent := ca
		if id%3 == 0 {
			parent = nil
		}
		issued, err := g.Issue(t, parent)
		if err != nil {
			return err
		}
		certs[i] = issued.Cert
	}
	pemOf := func(c *x509.Certificate) []byte { return (&demo.Issued{Cert: c}).PEM() }
	switch f % 4 {
	case 0, 1: // one file per certificate, every fifth as DER
		for i, c := range certs {
			name := filepath.Join(sub, fmt.Sprintf("cert-%d.pem", f*perFile+i))
			data := pemOf(c)
			if i%5 == 0 {
				name, data = name[:len(name)-4]+".cer", c.Raw
			}
			if err := os.WriteFile(name, data, 0o644); err != nil {
				return err
			}
		}
		return nil
	default: // a bundle, with the CA appended; CRLF for half
		var b bytes.Buffer
		for _, c := range certs {
			b.Write(pemOf(c))
		}
		b.Write(pemOf(ca.Cert))
		data := b.Bytes()
		if f%4 == 3 {
			data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
		}
		return os.WriteFile(filepath.Join(sub, fmt.Sprintf("bundle-%d.pem", f)), data, 0o644)
	}
}
