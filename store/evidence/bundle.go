// Package evidence writes, signs and verifies evidence bundles: files an
// auditor checks with stock tools (sha256sum, openssl, python3) and no
// copy of certgov. The store supplies the data (records, campaign items,
// exception decisions, the audit trail); this package renders it.
package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"certgov/model"
	"certgov/store"
)

// BundleFiles are the files of a bundle that SHA256SUMS covers, in order.
var BundleFiles = []string{"attestation.json", "attestation.csv", "attestation.schema.json", "audit.jsonl", "report.md", "report.html"}

// Options describe a bundle.
type Options struct {
	Dir      string
	Campaign string // empty: the current inventory and findings
	SignKey  crypto.Signer
	Policy   model.Policy
	Actor    string
	Now      time.Time
	// Since starts audit.jsonl at this event (its prev_hash is quoted in
	// attestation.json); 0 or 1: the first event.
	Since int64
	// FileMode is the mode of the bundle's files (0: 0600); the folder
	// gets the matching search bits (0600: 0700, 0640: 0750).
	FileMode os.FileMode
	// AllowUnverified exports although the audit trail does not explain
	// every governance value; the bundle then lists the differences and
	// its reports say UNVERIFIED.
	AllowUnverified bool
}

func (o *Options) fileMode() os.FileMode {
	if o.FileMode == 0 {
		return 0o600
	}
	return o.FileMode & 0o666
}

func (o *Options) folderMode() os.FileMode {
	m := o.fileMode()
	return 0o700 | m&0o044 | (m&0o044)>>2
}

// Export writes an evidence bundle and returns the files it wrote. It
// writes into a new folder beside o.Dir and renames it into place when
// everything is written: an interrupted export leaves the previous bundle
// as it was, a bundle never mixes files of two exports (no stale
// signature), and nothing is written through a symlink. An existing o.Dir
// is replaced only when it holds a bundle and nothing else. The bundle
// names every identity and owner: by default it stays readable by its
// owner alone (folder 0700, files 0600) until they hand it over.
func Export(ctx context.Context, s *store.Store, o Options) (files []string, err error) {
	final := filepath.Clean(o.Dir)
	if err := replaceableBundle(final); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".export-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	o.Dir = tmp
	if files, err = writeBundle(ctx, s, o); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, o.folderMode()); err != nil {
		return nil, err
	}
	return files, moveIntoPlace(tmp, final)
}

// createBundleFile creates a new file in the (new, private) bundle folder.
func createBundleFile(o *Options, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(o.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, o.fileMode())
}

func writeBundleFile(o *Options, name string, data []byte) error {
	f, err := createBundleFile(o, name)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// bundleNames are the files a bundle may hold.
func bundleNames() map[string]bool {
	names := map[string]bool{"SHA256SUMS": true, "SHA256SUMS.sig": true, "signer.pub.pem": true}
	for _, f := range BundleFiles {
		names[f] = true
	}
	return names
}

// replaceableBundle accepts a path that does not exist yet, or a real
// folder (not a symlink) holding only bundle files.
func replaceableBundle(dir string) error {
	info, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s: exists and is not a folder (a symlink is not followed)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := bundleNames()
	for _, e := range entries {
		if !names[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("%s: holds %s, which is not part of an evidence bundle; export to a new or empty folder", dir, e.Name())
		}
	}
	return nil
}

// moveIntoPlace renames the written bundle to its final name, replacing
// an earlier bundle there in two renames.
func moveIntoPlace(tmp, final string) error {
	if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, final)
	}
	old := tmp + ".old"
	if err := os.Rename(final, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Rename(old, final)
		return err
	}
	return os.RemoveAll(old)
}

// sha256Sums writes the files' sums in sha256sum's format.
func sha256Sums(dir string, files []string) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), f)
	}
	return b.Bytes(), nil
}

// signSums signs SHA256SUMS the way openssl verifies it: ECDSA and RSA
// over its SHA-256 (openssl dgst -sha256 -verify), Ed25519 over the bytes
// (openssl pkeyutl -verify -rawin).
func signSums(key crypto.Signer, sums []byte) (sig, pubPEM []byte, err error) {
	digest := sha256.Sum256(sums)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, k, digest[:])
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, sums)
	default:
		return nil, nil, fmt.Errorf("signing key: %T is not ECDSA, RSA or Ed25519", key)
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return sig, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyFingerprint is the SHA-256 of a public key's SubjectPublicKeyInfo, as
// `openssl pkey -pubin -in signer.pub.pem -outform der | sha256sum`
// prints it: what the sign-off names the signer by.
func KeyFingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
