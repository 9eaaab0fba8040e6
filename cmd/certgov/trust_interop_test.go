package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/model"
)

// trustRecord is the part of `ls -o json` these tests read.
type trustRecord struct {
	Fingerprint string           `json:"fingerprint_sha256"`
	Identity    string           `json:"identity"`
	IdentityKey string           `json:"identity_key"`
	Subject     string           `json:"subject"`
	CA          bool             `json:"ca"`
	BasicCA     bool             `json:"basic_constraints_ca"`
	TrustModel  string           `json:"trust_model"`
	Trust       []model.TrustRef `json:"trust"`
	Findings    []string         `json:"findings"`
	Current     bool             `json:"current"`
}

// TestTrustAgreesWithOpenSSL imports the fixtures of
// importers/testdata/interop/trust (made by generate.sh with OpenSSL 3 and
// keytool defaults) and checks certgov's admit/deny for every certificate
// and anchor list against what `openssl verify -purpose sslclient` said
// (trust/openssl-verify.txt); where openssl is installed it is asked again,
// so the recorded answers cannot drift from the reference.
func TestTrustAgreesWithOpenSSL(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "trust")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "importers", "testdata", "interop", "trust"))); err != nil {
		t.Fatal(err)
	}
	anchors := filepath.Join(dir, "anchors")
	if r := certgov(t, "import", filepath.Join(dir, "certs")); r.code != 0 {
		t.Fatalf("import certs: %d %s", r.code, r.stderr)
	}
	// The PEM anchor lists are what a gateway's CA file directive names:
	// imported as CA bundles (a file of self-signed client certificates
	// does not look like one by itself).
	for _, name := range []string{"partner-clients.pem", "ku-signer-only.pem", "root.pem", "issuing-only.pem"} {
		if r := certgov(t, "import", "--kind", "ca-bundle", filepath.Join(anchors, name)); r.code != 0 {
			t.Fatalf("import %s: %d %s", name, r.code, r.stderr)
		}
	}
	for _, name := range []string{"issuing-truststore.jks", "oauth-clients.json"} {
		if r := certgov(t, "import", filepath.Join(anchors, name)); r.code != 0 {
			t.Fatalf("import %s: %d %s", name, r.code, r.stderr)
		}
	}
	r := certgov(t, "ls", "-o", "json")
	var records []trustRecord
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatalf("ls: %v\n%s", err, r.stderr)
	}
	byFile := map[string]trustRecord{}
	for _, name := range []string{"partner-a", "partner-b", "stranger", "ku-signer", "ledger", "ledger-lookalike", "web-server", "issuing-ca", "odd-crldp"} {
		data, err := os.ReadFile(filepath.Join(dir, "certs", name+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		fp := fingerprintOfPEM(t, data)
		for _, rec := range records {
			if rec.Fingerprint == fp {
				byFile[name] = rec
			}
		}
	}
	admittedBy := func(rec trustRecord, list string) bool {
		for _, ref := range rec.Trust {
			if strings.HasSuffix(ref.Source, string(filepath.Separator)+list) {
				return true
			}
		}
		return false
	}

	f, err := os.Open(filepath.Join(dir, "openssl-verify.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, opensslErr := exec.LookPath("openssl")
	pairs := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Fields(sc.Text())
		cert, list, want := fields[0], fields[1], fields[2] == "OK"
		pairs++
		if opensslErr == nil {
			err := exec.Command("openssl", "verify", "-purpose", "sslclient", "-no_check_time", "-CAfile", filepath.Join(anchors, list+".pem"),
				"-untrusted", filepath.Join(dir, "certs", "issuing-ca.pem"), filepath.Join(dir, "certs", cert+".pem")).Run()
			if (err == nil) != want {
				t.Errorf("openssl now says %v for %s with %s; regenerate the fixtures", err == nil, cert, list)
			}
		}
		rec, ok := byFile[cert]
		if !ok {
			t.Errorf("%s was not imported", cert)
			continue
		}
		if got := admittedBy(rec, list+".pem"); got != want {
			t.Errorf("%s with CA file %s: certgov admits=%v, openssl verify -purpose sslclient says %v; trust %+v", cert, list, got, want, rec.Trust)
		}
	}
	if pairs < 9 {
		t.Fatalf("only %d pairs in openssl-verify.txt", pairs)
	}

	// A self-signed certificate listed in a CA file is its own anchor:
	// explicit trust, governed like a pin.
	for _, name := range []string{"partner-a", "partner-b"} {
		if rec := byFile[name]; rec.TrustModel != model.TrustModelSelfSigned || !slices.Contains(rec.Findings, model.FindingSelfSignedUnapproved) {
			t.Errorf("%s: trust model %q, findings %v; want explicit trust needing an exception", name, rec.TrustModel, rec.Findings)
		}
	}
	// `openssl req -x509` writes CA:TRUE; that does not make a client a CA.
	if rec := byFile["partner-a"]; rec.CA || !rec.BasicCA || !slices.Contains(rec.Findings, model.FindingNoOwner) {
		t.Errorf("partner-a: ca=%v basic_constraints_ca=%v findings %v", rec.CA, rec.BasicCA, rec.Findings)
	}
	if rec := byFile["issuing-ca"]; !rec.CA {
		t.Errorf("the issuing CA, which issued the ledger certificate, is not a CA")
	}
	// Java's PKIX takes every truststore entry as an anchor: the issuing
	// CA alone admits the ledger there (OpenSSL would want the root).
	if !admittedBy(byFile["ledger"], "issuing-truststore.jks") {
		t.Errorf("ledger not admitted by the keytool truststore: %+v", byFile["ledger"].Trust)
	}
	// RFC 8705 §2.1 with RFC 4517 matching: other case and spacing match,
	// the reversed RDN order does not.
	var dnClients []string
	for _, ref := range byFile["ledger"].Trust {
		if ref.Kind == model.EntrySubjectDN {
			dnClients = append(dnClients, ref.Entry)
		}
	}
	if !slices.Equal(dnClients, []string{"ledger-spaced"}) {
		t.Errorf("ledger admitted by DN rules %v, want [ledger-spaced]", dnClients)
	}
	// The lookalike carries the ledger's DN but never gets past chain
	// validation: not admitted, flagged, and an identity of its own.
	look, real := byFile["ledger-lookalike"], byFile["ledger"]
	if len(look.Trust) != 0 || look.TrustModel != model.TrustModelUntrusted {
		t.Errorf("lookalike admitted: %+v", look.Trust)
	}
	for _, code := range []string{model.FindingSubjectCollision, model.FindingMatchWithoutChain} {
		if !slices.Contains(look.Findings, code) {
			t.Errorf("lookalike findings %v lack %s", look.Findings, code)
		}
	}
	if look.IdentityKey == real.IdentityKey || !real.Current || slices.Contains(real.Findings, model.FindingSubjectCollision) {
		t.Errorf("the lookalike shares or displaces the ledger identity: %q / %q, ledger current=%v findings %v", look.IdentityKey, real.IdentityKey, real.Current, real.Findings)
	}
	// A certificate Go refuses is inventoried, with the reason.
	if rec := byFile["odd-crldp"]; !slices.Contains(rec.Findings, model.FindingMalformed) {
		t.Errorf("odd-crldp: findings %v, want malformed", rec.Findings)
	}
	// A serverAuth-only certificate is not unverified for want of a CA:
	// the finding says what is wrong.
	r = certgov(t, "findings", "-o", "json", "--filter", "finding:chain-unverified")
	if !strings.Contains(r.stdout, "extended key usage (serverAuth) does not allow TLS client authentication") {
		t.Errorf("chain-unverified does not name the key usage:\n%s", r.stdout)
	}
}

func fingerprintOfPEM(t *testing.T, data []byte) string {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}
