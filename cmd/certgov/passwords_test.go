package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Two PKCS#12 keystores made by OpenSSL 3 with its defaults, each with a
// password of its own: one --password-file opens one of them; a
// --password-map naming a password file per glob opens both.
func TestPasswordMapOpensEachKeystore(t *testing.T) {
	isolate(t)
	openssl := interopTool(t, "openssl", "")
	src := filepath.Join("..", "..", "importers", "testdata", "interop")
	dir := t.TempDir()
	secrets := t.TempDir()
	for name, password := range map[string]string{"payments.p12": "pay-Secret-1", "partners.p12": "partner-Secret-2"} {
		out, err := exec.Command(openssl, "pkcs12", "-export", "-in", filepath.Join(src, "client.pem"), "-inkey", filepath.Join(src, "client.key.pem"),
			"-out", filepath.Join(dir, name), "-passout", "pass:"+password).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl pkcs12 -export: %v\n%s", err, out)
		}
		os.WriteFile(filepath.Join(secrets, strings.TrimSuffix(name, ".p12")+".pw"), []byte(password+"\n"), 0o600)
	}
	one := certgov(t, "import", "--dry-run", "--password-file", filepath.Join(secrets, "payments.pw"), dir)
	if one.code == 0 || !strings.Contains(one.stderr, "partners.p12") {
		t.Fatalf("one password for two keystores: %d\n%s\n%s", one.code, one.stdout, one.stderr)
	}
	passwordMap := filepath.Join(secrets, "keystores.map")
	os.WriteFile(passwordMap, []byte("# keystore glob, password file (relative to this file)\n*/payments.p12 payments.pw\npartner*.p12 partners.pw\n"), 0o600)
	r := certgov(t, "import", "--password-map", passwordMap, dir)
	if r.code != 0 || !strings.Contains(r.stdout, "private keys: 2 found") {
		t.Fatalf("with the map: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, secret := range []string{"pay-Secret-1", "partner-Secret-2"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("a password was printed")
		}
	}
	os.WriteFile(passwordMap, []byte("*.p12\n"), 0o600)
	if r := certgov(t, "import", "--password-map", passwordMap, dir); r.code != 2 || !strings.Contains(r.stderr, "keystores.map:1") {
		t.Errorf("a bad map line: %d %s", r.code, r.stderr)
	}
}
