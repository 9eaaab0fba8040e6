package evidence

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"certgov/model"
	"certgov/store"
)

// VerifyBundle checks a bundle: every sum in SHA256SUMS, the signature
// when there is one (against pubPEM, else the bundle's own signer.pub.pem,
// which proves integrity but not origin), and attestation.json against the
// schema. It returns what it checked, or an error naming what fails.
func VerifyBundle(ctx context.Context, dir string, pubPEM []byte, requireSignature bool) ([]string, error) {
	var checked []string
	sums, err := readBundleFile(dir, "SHA256SUMS", 1<<20)
	if err != nil {
		return nil, err
	}
	// The signature first: nothing in the folder is trusted before the
	// list of sums is.
	sig, err := readBundleFile(dir, "SHA256SUMS.sig", 64<<10)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if pubPEM != nil || requireSignature {
			return nil, errors.New("SHA256SUMS.sig: missing, but a signature is required")
		}
		checked = append(checked, "no signature in this bundle (integrity only)")
	case err != nil:
		return nil, err
	default:
		source := "the key given"
		if pubPEM == nil {
			if pubPEM, err = readBundleFile(dir, "signer.pub.pem", 64<<10); err != nil {
				return nil, err
			}
			source = "the bundle's own signer.pub.pem (integrity only: compare it with the signer's published key)"
		}
		if err := verifySignature(pubPEM, sums, sig); err != nil {
			return nil, fmt.Errorf("SHA256SUMS.sig: %w", err)
		}
		checked = append(checked, "signature ok with "+source)
	}
	listed := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok || name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." || listed[name] {
			return nil, fmt.Errorf("SHA256SUMS line %d: not \"HASH  FILE\" for a file of this folder", n+1)
		}
		listed[name] = true
		got, err := hashBundleFile(ctx, dir, name)
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("%s: SHA-256 does not match SHA256SUMS", name)
		}
		checked = append(checked, name+": sum ok")
	}
	// Nothing may be added to, or left out of, what the sums cover.
	for _, f := range BundleFiles {
		if !listed[f] {
			return nil, fmt.Errorf("SHA256SUMS does not cover %s", f)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if name := e.Name(); !listed[name] && name != "SHA256SUMS" && name != "SHA256SUMS.sig" && name != "signer.pub.pem" {
			return nil, fmt.Errorf("%s: in the folder but not in SHA256SUMS", name)
		}
	}
	doc, size, err := openBundleFile(dir, "attestation.json")
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	if size > maxAttestationSize {
		return nil, fmt.Errorf("attestation.json: larger than certgov writes (%d MiB)", maxAttestationSize>>20)
	}
	if err := model.ValidateJSONFrom(model.AttestationSchema, contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	checked = append(checked, "attestation.json: valid against the schema")
	if _, err := doc.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var quoted struct {
		Head struct {
			Seq  int64  `json:"seq"`
			Hash string `json:"hash"`
		} `json:"audit_head"`
		Log auditLog `json:"audit_log"`
	}
	if err := topLevelFields(contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}, &quoted, "audit_head", "audit_log"); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	n, err := verifyAuditLog(ctx, dir, quoted.Log.PrevHash, quoted.Log.FirstSeq, quoted.Head.Seq, quoted.Head.Hash)
	if err != nil {
		return nil, fmt.Errorf("audit.jsonl: %w", err)
	}
	return append(checked, fmt.Sprintf("audit.jsonl: %d events chain from %s to the head attestation.json quotes (%s)", n, shortFP(quoted.Log.PrevHash), shortFP(quoted.Head.Hash))), nil
}

// topLevelFields decodes the named top-level fields of a JSON object into
// the matching fields of v, skipping everything else without building it.
func topLevelFields(r io.Reader, v any, names ...string) error {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	picked := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		want := false
		for _, n := range names {
			want = want || n == key
		}
		if want {
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			picked[key] = raw
			if len(picked) == len(names) {
				break // the rest (the items) is not read
			}
			continue
		}
		if err := model.SkipJSON(dec); err != nil {
			return err
		}
	}
	obj, _ := json.Marshal(picked)
	return json.Unmarshal(obj, v)
}

// verifyAuditLog recomputes the chain over audit.jsonl as the README's
// recipe does: each line is an event's canonical form, its last element
// the hash before it; the hash of a line is SHA-256(previous hash + line).
// The first line must follow prev and carry seq first; the last must
// be event head with hash want.
func verifyAuditLog(ctx context.Context, dir, prev string, first, head int64, want string) (int, error) {
	f, _, err := openBundleFile(dir, "audit.jsonl")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(contextReader{ctx, f})
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n, seq := 0, first
	for sc.Scan() {
		line := sc.Bytes()
		var fields []json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil || len(fields) < 2 {
			return n, fmt.Errorf("line %d: not an event's canonical form", n+1)
		}
		var gotSeq int64
		var gotPrev string
		if json.Unmarshal(fields[0], &gotSeq) != nil || json.Unmarshal(fields[len(fields)-1], &gotPrev) != nil {
			return n, fmt.Errorf("line %d: not an event's canonical form", n+1)
		}
		switch {
		case gotSeq != seq:
			return n, fmt.Errorf("line %d: event %d where event %d belongs (an event left out or added)", n+1, gotSeq, seq)
		case gotPrev != prev:
			return n, fmt.Errorf("line %d (event %d): its prev_hash is not the hash of the line before", n+1, gotSeq)
		}
		prev = store.ChainHash(prev, line)
		n, seq = n+1, seq+1
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	switch {
	case n == 0 && head == 0:
		return 0, nil
	case seq-1 != head:
		return n, fmt.Errorf("ends at event %d, but attestation.json quotes head event %d", seq-1, head)
	case prev != want:
		return n, fmt.Errorf("the chain ends at hash %s, but attestation.json quotes %s", prev, want)
	}
	return n, nil
}

// openBundleFile opens a file of the bundle folder itself: a regular
// file, not a symlink (checked before and after opening, so that it
// cannot be swapped in between), opened without blocking.
func openBundleFile(dir, name string) (*os.File, int64, error) {
	path := filepath.Join(dir, name)
	before, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !before.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file (symlinks are not followed)", name)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		f.Close()
		return nil, 0, fmt.Errorf("%s: changed while it was being opened", name)
	}
	return f, after.Size(), nil
}

func readBundleFile(dir, name string, limit int64) ([]byte, error) {
	f, size, err := openBundleFile(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: larger than a bundle's %s can be", name, name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s: larger than a bundle's %s can be", name, name)
	}
	return data, err
}

// maxAttestationSize bounds the attestation.json verify reads: about ten
// times that of 100,000 certificates. It is validated as a stream, so
// memory holds one value of it at a time.
const maxAttestationSize = 2 << 30

// contextReader stops reading when ctx is done, so that hashing or
// validating a huge file ends on Ctrl-C.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hashBundleFile is the SHA-256 of a bundle file, streamed.
func hashBundleFile(ctx context.Context, dir, name string) (string, error) {
	f, _, err := openBundleFile(dir, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, contextReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func verifySignature(pubPEM, sums, sig []byte) error {
	block, _ := pem.Decode(pubPEM)
	if block == nil {
		return errors.New("public key: not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	digest := sha256.Sum256(sums)
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest[:], sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, sums, sig)
	default:
		return fmt.Errorf("public key: %T is not ECDSA, RSA or Ed25519", pub)
	}
	if !ok {
		return errors.New("does not verify")
	}
	return nil
}
