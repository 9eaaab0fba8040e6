package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Renewals made by OpenSSL 3 with its defaults: ledger renewed with the
// same key (key-not-rotated), then issued by another CA (an identity of
// its own: unexpected-issuer); billing renewed twice without the old
// certificates going (certificate-sprawl). Each finding names the owner,
// and show draws the timeline.
func TestRotationOfOpenSSLCertificates(t *testing.T) {
	isolate(t)
	openssl := interopTool(t, "openssl", "")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	for _, ca := range []string{"workload", "rogue"} {
		run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(ca+"-ca.key"), "-out", path(ca+"-ca.pem"), "-subj", "/CN="+ca+" CA/O=Example", "-days", "3650")
	}
	for _, key := range []string{"ledger", "billing-1", "billing-2", "billing-3"} {
		run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(key+".key"))
	}
	// issue signs a certificate for key with ca, a second after the one
	// before: validity starts at whole seconds.
	issue := func(out, key, subject, ca string) {
		t.Helper()
		time.Sleep(1100 * time.Millisecond)
		run("req", "-new", "-key", path(key+".key"), "-subj", subject, "-out", path(out+".csr"))
		run("x509", "-req", "-in", path(out+".csr"), "-CA", path(ca+"-ca.pem"), "-CAkey", path(ca+"-ca.key"), "-days", "90", "-out", path(out+".pem"))
		os.Remove(path(out + ".csr"))
	}
	issue("ledger-v1", "ledger", "/CN=ledger/O=Example", "workload")
	issue("ledger-v2", "ledger", "/CN=ledger/O=Example", "workload")
	issue("ledger-rogue", "billing-3", "/CN=ledger/O=Example", "rogue")
	for i := 1; i <= 3; i++ {
		issue("billing-v"+string(rune('0'+i)), "billing-"+string(rune('0'+i)), "/CN=billing/O=Example", "workload")
	}
	for _, f := range []string{"workload-ca.key", "rogue-ca.key", "ledger.key", "billing-1.key", "billing-2.key", "billing-3.key"} {
		os.Remove(path(f)) // certificates only: keys on disk are findings of their own
	}
	if r := certgov(t, "import", dir); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	certgov(t, "owner", "set", "billing", "billing-team@example.com", "--reason", "test")

	var findings []struct {
		Code, Identity, Message string
		Owner                   *string
	}
	if err := json.Unmarshal([]byte(certgov(t, "findings", "-o", "json").stdout), &findings); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range findings {
		owner := "none"
		if f.Owner != nil {
			owner = *f.Owner
		}
		got[f.Code+" "+f.Identity] = owner + ": " + f.Message
	}
	for key, want := range map[string]string{
		"key-not-rotated ledger":     "the private key was not rotated",
		"unexpected-issuer ledger":   "CN=rogue CA, while the certificates bearing its names since",
		"certificate-sprawl billing": "billing-team@example.com: 3 certificates valid at once",
	} {
		if !strings.Contains(got[key], want) {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
	if msg, ok := got["key-not-rotated billing"]; ok {
		t.Errorf("billing renewed with new keys is flagged: %s", msg)
	}

	data, err := os.ReadFile(path("ledger-v2.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ledgerV2 := fingerprintOfPEM(t, data)[:16]
	r := certgov(t, "show", ledgerV2)
	if !strings.Contains(r.stdout, "Rotation") || !strings.Contains(r.stdout, "▼") || !strings.Contains(r.stdout, "same key as before") {
		t.Errorf("show lacks the timeline:\n%s", r.stdout)
	}
	var shown struct {
		Versions []struct {
			SPKI   string `json:"spki_sha256"`
			Issuer string `json:"issuer"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(certgov(t, "show", ledgerV2, "-o", "json").stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.Versions) != 2 || shown.Versions[0].SPKI != shown.Versions[1].SPKI || !strings.Contains(shown.Versions[0].Issuer, "workload CA") {
		t.Errorf("show -o json versions: %+v", shown.Versions)
	}
	if r := certgov(t, "check"); r.code == 0 || !strings.Contains(r.stdout, "unexpected-issuer") {
		t.Errorf("check does not fail on the unexpected issuer: %d\n%s", r.code, r.stdout)
	}
}
