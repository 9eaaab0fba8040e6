package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pemFingerprint is the SHA-256 of the first certificate in a PEM file.
func pemFingerprint(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}

// Sources are real places: one file reached by a relative path, an
// absolute one or a symlink is one source; a gateway named with --host
// can be asked what it admits; a pin file deleted from a re-imported
// folder stops admitting; and a host's sources can be forgotten.
func TestSourcesAreRealPlaces(t *testing.T) {
	isolate(t)
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(t.TempDir(), "certgov.db")))
	estate := t.TempDir()
	gw := filepath.Join(estate, "gw1")
	os.MkdirAll(gw, 0o700)
	client := filepath.Join(interopDir(t), "client.pem")
	data, _ := os.ReadFile(client)
	os.WriteFile(filepath.Join(estate, "partner.pem"), data, 0o600)
	fp := pemFingerprint(t, client)
	pins := filepath.Join(gw, "pinned-clients.txt")
	os.WriteFile(pins, []byte("sha256:"+fp+" partner\n"), 0o600)
	os.Symlink(gw, filepath.Join(estate, "gw-link"))

	certgov(t, "import", filepath.Join(estate, "partner.pem"))
	if r := certgov(t, "import", "--host", "gw-eu-1", gw); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// The same folder by a symlink and by a path with "..": nothing new.
	for _, same := range []string{filepath.Join(estate, "gw-link"), filepath.Join(gw, "..", "gw1")} {
		if r := certgov(t, "import", "--host", "gw-eu-1", same); !strings.Contains(r.stdout, "Nothing new") {
			t.Errorf("import of %s again: %s", same, r.stdout)
		}
	}
	sources := certgov(t, "sources", "-o", "json").stdout
	if strings.Count(sources, "pinned-clients.txt") != 1 || !strings.Contains(sources, "gw-eu-1:"+filepath.Join(mustCanonical(t, gw), "pinned-clients.txt")) {
		t.Errorf("sources after three imports of one folder:\n%s", sources)
	}
	if r := certgov(t, "ls", "--filter", "source:gw-eu-1:"); !strings.Contains(r.stdout, fp[:16]) {
		t.Errorf("what gw-eu-1 admits:\n%s", r.stdout)
	}

	// The pin file deleted, the folder imported again: the pin is gone.
	os.Remove(pins)
	r := certgov(t, "import", "--host", "gw-eu-1", gw)
	if !strings.Contains(r.stdout, "removed:      1 files gone") {
		t.Errorf("import after deleting the pin file: %s", r.stdout)
	}
	if r := certgov(t, "ls", "--filter", "trusted fp:"+fp[:16]); strings.Contains(r.stdout, fp[:16]) {
		t.Errorf("still trusted after its pin file was deleted:\n%s", r.stdout)
	}
	if r := certgov(t, "audit", "log", "--filter", "source.removed", "-o", "json"); !strings.Contains(r.stdout, "pinned-clients.txt") {
		t.Errorf("the removal is not in the audit trail:\n%s", r.stdout)
	}

	// Forgetting a host.
	os.WriteFile(pins, []byte("sha256:"+fp+" partner\n"), 0o600)
	certgov(t, "import", "--host", "gw-eu-1", gw)
	if r := certgov(t, "ls", "--filter", "trusted fp:"+fp[:16]); !strings.Contains(r.stdout, fp[:16]) {
		t.Fatalf("not trusted after the pin file came back:\n%s", r.stdout)
	}
	if r := certgov(t, "sources", "rm", "--host", "gw-eu-1", "--reason", "gateway decommissioned"); r.code != 0 || !strings.Contains(r.stdout, "forgot 1 sources") {
		t.Errorf("sources rm --host: %+v", r)
	}
	if r := certgov(t, "ls", "--filter", "trusted fp:"+fp[:16]); strings.Contains(r.stdout, fp[:16]) {
		t.Errorf("still trusted after its gateway was forgotten:\n%s", r.stdout)
	}
	if r := certgov(t, "sources", "rm", "--host", "gw-eu-1"); r.code != 1 {
		t.Errorf("forgetting a host with no sources: %+v", r)
	}
	if r := certgov(t, "import", "--host", "bad/host", gw); r.code != 2 {
		t.Errorf("--host with a slash: %+v", r)
	}
}

func mustCanonical(t *testing.T, path string) string {
	t.Helper()
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return real
}
