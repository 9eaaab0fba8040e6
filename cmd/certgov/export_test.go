package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeKey(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return path
}

func TestEvidenceBundle(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	certgov(t, "campaign", "start", "2026-Q4", "--filter", "selfsigned !ca")
	var status struct {
		Items []struct{ Identity string } `json:"items"`
	}
	json.Unmarshal([]byte(certgov(t, "campaign", "status", "2026-Q4", "-o", "json").stdout), &status)
	certgov(t, "review", status.Items[0].Identity, "--campaign", "2026-Q4", "--decision", "certify")
	certgov(t, "review", status.Items[1].Identity, "--campaign", "2026-Q4", "--decision", "revoke", "--comment", "partner left")
	if r := certgov(t, "campaign", "close", "2026-Q4", "--force"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	openssl, haveOpenSSL := exec.LookPath("openssl")
	sha256sum, haveSha256sum := exec.LookPath("sha256sum")
	for name, key := range map[string]crypto.Signer{"ecdsa": ecKey, "rsa": rsaKey, "ed25519": edKey} {
		dir := filepath.Join(t.TempDir(), name)
		if r := certgov(t, "export", "--campaign", "2026-Q4", "--out", dir, "--sign-key", writeKey(t, key)); r.code != 0 {
			t.Fatalf("%s export: %s", name, r.stderr)
		}
		if r := certgov(t, "verify", dir); r.code != 0 || !strings.Contains(r.stdout, "bundle verified") {
			t.Fatalf("%s verify: %+v", name, r)
		}
		// It names every identity and owner: private until handed over.
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if info, _ := f.Info(); info.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %04o, want 0600", name, f.Name(), info.Mode().Perm())
			}
		}
		if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
			t.Errorf("%s: bundle folder mode %04o, want 0700", name, info.Mode().Perm())
		}
		doc, _ := os.ReadFile(filepath.Join(dir, "attestation.json"))
		var att map[string]any
		if err := json.Unmarshal(doc, &att); err != nil || att["kind"] != "campaign" || len(att["items"].([]any)) != len(status.Items) {
			t.Fatalf("%s attestation.json: %v", name, err)
		}
		for _, it := range att["items"].([]any) {
			item := it.(map[string]any)
			if item["state_at_export"] == nil || item["snapshot_at_launch"] == nil {
				t.Fatalf("%s: item without its state at export or snapshot at launch: %v", name, item["identity"])
			}
		}
		csvData, _ := os.ReadFile(filepath.Join(dir, "attestation.csv"))
		if !strings.Contains(string(csvData), "partner left") || strings.Count(string(csvData), "\n") != len(status.Items)+1 {
			t.Errorf("%s CSV:\n%.300s", name, csvData)
		}
		// The auditor's own tools, where the machine has them.
		if haveOpenSSL == nil {
			args := []string{"dgst", "-sha256", "-verify", "signer.pub.pem", "-signature", "SHA256SUMS.sig", "SHA256SUMS"}
			if name == "ed25519" {
				args = []string{"pkeyutl", "-verify", "-pubin", "-inkey", "signer.pub.pem", "-rawin", "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"}
			}
			cmd := exec.Command(openssl, args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: openssl %v: %v\n%s", name, args, err, out)
			}
		}
		if haveSha256sum == nil {
			cmd := exec.Command(sha256sum, "-c", "SHA256SUMS")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: sha256sum -c: %v\n%s", name, err, out)
			}
		}
		// One byte of the CSV changed: both checks fail.
		csvData[10] ^= 1
		os.WriteFile(filepath.Join(dir, "attestation.csv"), csvData, 0o644)
		if r := certgov(t, "verify", dir); r.code != 1 || !strings.Contains(r.stderr, "attestation.csv") {
			t.Errorf("%s: verify after tampering: %+v", name, r)
		}
		if haveSha256sum == nil {
			cmd := exec.Command(sha256sum, "-c", "SHA256SUMS")
			cmd.Dir = dir
			if err := cmd.Run(); err == nil {
				t.Errorf("%s: sha256sum -c passed a changed file", name)
			}
		}
	}
	// A signature made by another key fails against the published key.
	dir := filepath.Join(t.TempDir(), "other")
	certgov(t, "export", "--inventory", "--out", dir, "--sign-key", writeKey(t, ecKey))
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(otherKey.Public())
	pubPath := filepath.Join(t.TempDir(), "published.pem")
	os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	if r := certgov(t, "verify", dir, "--pubkey", pubPath); r.code != 1 || !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("verify with another signer's key: %+v", r)
	}
	if r := certgov(t, "export", "--out", dir); r.code != 2 {
		t.Errorf("export without --campaign or --inventory: %+v", r)
	}
}
