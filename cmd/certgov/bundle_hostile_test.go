package main

import (
	"certgov/store/storetest"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Export never writes through a symlink nor over a folder that is not a
// bundle, and a new export replaces the old one whole (no stale
// signature). Verify reads only the folder's own regular files, checks
// the signature when one is required, and refuses files the sums do not
// cover and sums that leave files out.
func TestBundleFolderIsHostile(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyFile := writeKey(t, key)

	// A folder holding a symlink to a file outside it.
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	trap := filepath.Join(t.TempDir(), "bundle")
	os.Mkdir(trap, 0o700)
	os.Symlink(victim, filepath.Join(trap, "report.md"))
	if r := certgov(t, "export", "--inventory", "--out", trap); r.code == 0 {
		t.Error("export wrote into a folder holding a symlink")
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious" {
		t.Fatalf("export wrote through a symlink: %q", data)
	}

	out := filepath.Join(t.TempDir(), "bundle")
	if r := certgov(t, "export", "--inventory", "--out", out, "--sign-key", keyFile); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := certgov(t, "export", "--inventory", "--out", out); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "SHA256SUMS.sig")); err == nil {
		t.Error("an unsigned export left the earlier signature in place")
	}
	if r := certgov(t, "verify", out); r.code != 0 {
		t.Fatalf("verify: %s", r.stderr)
	}
	if r := certgov(t, "verify", "--require-signature", out); r.code == 0 {
		t.Error("verify --require-signature passed an unsigned bundle")
	}

	// Signed, then tampered with in several ways.
	if r := certgov(t, "export", "--inventory", "--out", out, "--sign-key", keyFile); r.code != 0 {
		t.Fatal(r.stderr)
	}
	pub := filepath.Join(t.TempDir(), "pub.pem")
	data, _ := os.ReadFile(filepath.Join(out, "signer.pub.pem"))
	os.WriteFile(pub, data, 0o600)
	tamper := []struct {
		name string
		do   func(dir string)
		want string
	}{
		{"signature stripped", func(dir string) { os.Remove(filepath.Join(dir, "SHA256SUMS.sig")) }, "signature is required"},
		{"an extra file", func(dir string) { os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o600) }, "not in SHA256SUMS"},
		{"a file swapped for a symlink", func(dir string) {
			os.Remove(filepath.Join(dir, "report.md"))
			os.Symlink("/etc/hostname", filepath.Join(dir, "report.md"))
		}, "not a regular file"},
		{"a line left out of the sums", func(dir string) {
			sums, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
			var kept []string
			for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
				if !strings.HasSuffix(line, "report.html") {
					kept = append(kept, line)
				}
			}
			os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Join(kept, "\n")+"\n"), 0o600)
		}, "SHA256SUMS.sig"},
	}
	for _, tc := range tamper {
		dir := filepath.Join(t.TempDir(), "copy")
		copyDir(t, out, dir)
		tc.do(dir)
		r := certgov(t, "verify", "--pubkey", pub, dir)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want a failure naming %q", tc.name, r.code, r.stderr, tc.want)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	os.MkdirAll(to, 0o700)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), data, 0o600)
	}
}

// Small traps: an empty --db, a weak evidence key, a campaign named like
// a path or due in the past.
func TestRefusedSettings(t *testing.T) {
	home := isolate(t)
	if r := certgov(t, "--db", "", "ls"); r.code != 2 || !strings.Contains(r.stderr, `--db ""`) {
		t.Errorf(`--db "": exit %d %q, want a usage error`, r.code, r.stderr)
	}
	// A server address is a team database, never a file named
	// "postgres:"; its password stays out of the error.
	if r := certgov(t, "--db", "postgres://erin:s3cret@db.invalid/certgov", "ls"); r.code != 1 || !strings.Contains(r.stderr, "db.invalid") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("--db postgres://: exit %d %q, want a connection error without the password", r.code, r.stderr)
	}
	if _, err := os.Stat("postgres:"); err == nil {
		t.Error(`a file or folder named "postgres:" was made`)
	}
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	if r := certgov(t, "export", "--inventory", "--out", filepath.Join(t.TempDir(), "b"), "--sign-key", writeKey(t, weak)); r.code == 0 || !strings.Contains(r.stderr, "too weak") {
		t.Errorf("RSA-1024 signing key: exit %d %q", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"campaign", "start", "../../etc"},
		{"campaign", "start", "2026-Q1", "--due", "2001-01-01"},
	} {
		if r := certgov(t, args...); r.code == 0 {
			t.Errorf("certgov %v was accepted", args)
		}
	}
}

// audit verify does not call a damaged database file intact.
func TestAuditVerifyChecksTheFile(t *testing.T) {
	storetest.SQLiteOnly(t, "damage to the file's pages")
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	db := database(t, filepath.Join(home, "data", "certgov", "demo.db"))
	if r := certgov(t, "--db", db, "audit", "verify"); r.code != 0 {
		t.Fatalf("a sound database: %s", r.stderr)
	}
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	// Scribble over pages in the middle of the file, as a disk error would.
	garbage := []byte(strings.Repeat("\xde\xad\xbe\xef", 2048))
	for off := info.Size() / 3; off < info.Size()*2/3; off += 64 << 10 {
		f.WriteAt(garbage, off)
	}
	f.Close()
	r := certgov(t, "--db", db, "audit", "verify")
	if r.code == 0 || strings.Contains(r.stdout, "intact") {
		t.Errorf("a damaged file: exit %d, %q", r.code, r.stdout)
	}
}

// A database other users may read is named on every use, and doctor
// --fix makes it private.
func TestWorldReadableDatabase(t *testing.T) {
	storetest.SQLiteOnly(t, "the file's mode")
	isolate(t)
	db := database(t, filepath.Join(t.TempDir(), "shared.db"))
	certgov(t, "--db", db, "ls")
	os.Chmod(db, 0o666)
	if r := certgov(t, "--db", db, "ls"); !strings.Contains(r.stderr, "other users may read it") {
		t.Errorf("no warning for a 0666 database: %q", r.stderr)
	}
	if r := certgov(t, "--db", db, "doctor"); r.code != 1 {
		t.Errorf("doctor on a 0666 database: exit %d\n%s", r.code, r.stdout)
	}
	if r := certgov(t, "--db", db, "doctor", "--fix"); r.code != 0 || !strings.Contains(r.stdout, "now 0600") {
		t.Errorf("doctor --fix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if info, _ := os.Stat(db); info.Mode().Perm() != 0o600 {
		t.Errorf("after --fix: mode %04o", info.Mode().Perm())
	}
	if r := certgov(t, "--db", db, "doctor"); r.code != 0 || !strings.Contains(r.stdout, "integrity: ok") {
		t.Errorf("doctor on a sound database: exit %d\n%s", r.code, r.stdout)
	}
}
