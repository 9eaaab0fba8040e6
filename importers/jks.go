package importers

import (
	"crypto/sha1"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"unicode/utf16"

	"certgov/model"
)

// Java KeyStore (JKS, magic FEEDFEED). The format is small and fixed, so
// certgov reads it itself, checking every length against what is left:
// a corrupt length must not make it allocate gigabytes. Private key entries
// are recorded by their certificate chain; the encrypted key is skipped,
// never decrypted.

const (
	jksPrivateKeyEntry  = 1
	jksTrustedCertEntry = 2
)

var errJKSTruncated = errors.New("JKS: truncated")

type jksCursor struct {
	data []byte
	pos  int
}

func (c *jksCursor) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(c.data)-c.pos {
		return nil, errJKSTruncated
	}
	b := c.data[c.pos : c.pos+n]
	c.pos += n
	return b, nil
}

func (c *jksCursor) u16() (int, error) {
	b, err := c.bytes(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

func (c *jksCursor) u32() (int, error) {
	b, err := c.bytes(4)
	if err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(b)
	if v > uint32(len(c.data)) {
		return 0, errJKSTruncated
	}
	return int(v), nil
}

func (c *jksCursor) utf(what string) (string, error) {
	n, err := c.u16()
	if err != nil {
		return "", fmt.Errorf("JKS %s: %w", what, err)
	}
	b, err := c.bytes(n)
	if err != nil {
		return "", fmt.Errorf("JKS %s: %w", what, err)
	}
	return string(b), nil
}

type jksCert struct {
	alias string
	der   []byte
}

type jksEntry struct {
	alias      string
	privateKey bool
	chain      []jksCert
}

func (r *reader) readJKS(data []byte) error {
	entries, err := parseJKS(data)
	if err != nil {
		return err
	}
	if err := r.tryPasswords(func(password []byte) error { return verifyJKS(data, password) }); err != nil {
		return err
	}
	trustStore := len(entries) > 0
	for _, e := range entries {
		if r.interrupted() {
			return r.ctx.Err()
		}
		trustStore = trustStore && !e.privateKey
		for i, c := range e.chain {
			location := "alias " + e.alias
			if i > 0 {
				location = fmt.Sprintf("alias %s, chain %d", e.alias, i+1)
			}
			r.addCertificate(c.der, 0, location)
		}
		if e.privateKey && len(e.chain) > 0 {
			r.res.Keys = append(r.res.Keys, r.keyOfChain(e))
		}
	}
	if trustStore {
		r.trustStore()
	}
	return nil
}

// trustStore makes a keystore with only trusted certificates the anchor
// list it is to a Java server (Tomcat, Kafka, Spring): every entry is a
// trust anchor, as PKIX treats them.
func (r *reader) trustStore() {
	if len(r.res.Certificates) == 0 {
		return
	}
	r.res.Source.Kind = model.KindTrustStore
	r.anchors(r.res.Certificates, filepath.Base(r.path), "", "", model.MatchPartialChain)
}

// keyOfChain describes a private key entry by the public key of its leaf
// certificate: that is the key's public half, so the key stays encrypted.
func (r *reader) keyOfChain(e jksEntry) model.PrivateKeyFact {
	fact := model.PrivateKeyFact{KeyType: "unreadable"}
	if cert, err := x509.ParseCertificate(e.chain[0].der); err == nil {
		fact = publicKeyFact(cert.PublicKey)
	}
	fact.Location = "alias " + e.alias
	return fact
}

func parseJKS(data []byte) ([]jksEntry, error) {
	c := &jksCursor{data: data}
	if _, err := c.bytes(4); err != nil {
		return nil, err
	}
	version, err := c.u32()
	if err != nil {
		return nil, err
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("JKS: unknown version %d", version)
	}
	count, err := c.u32()
	if err != nil {
		return nil, err
	}
	entries := make([]jksEntry, 0, min(count, 1024))
	for i := 0; i < count; i++ {
		tag, err := c.u32()
		if err != nil {
			return nil, fmt.Errorf("JKS entry %d: %w", i+1, err)
		}
		alias, err := c.utf("alias")
		if err != nil {
			return nil, err
		}
		if _, err := c.bytes(8); err != nil { // creation time
			return nil, err
		}
		e := jksEntry{alias: alias}
		switch tag {
		case jksPrivateKeyEntry:
			e.privateKey = true
			keyLen, err := c.u32()
			if err != nil {
				return nil, err
			}
			if _, err := c.bytes(keyLen); err != nil {
				return nil, fmt.Errorf("JKS key of %q: %w", alias, err)
			}
			chainLen, err := c.u32()
			if err != nil {
				return nil, err
			}
			for j := 0; j < chainLen; j++ {
				der, err := c.certificate(version)
				if err != nil {
					return nil, fmt.Errorf("JKS chain of %q: %w", alias, err)
				}
				e.chain = append(e.chain, jksCert{alias: alias, der: der})
			}
		case jksTrustedCertEntry:
			der, err := c.certificate(version)
			if err != nil {
				return nil, fmt.Errorf("JKS certificate %q: %w", alias, err)
			}
			e.chain = []jksCert{{alias: alias, der: der}}
		default:
			return nil, fmt.Errorf("JKS entry %q: unknown tag %d", alias, tag)
		}
		entries = append(entries, e)
	}
	if len(data)-c.pos != sha1.Size {
		return nil, fmt.Errorf("JKS: %d bytes after the entries, want a %d-byte digest", len(data)-c.pos, sha1.Size)
	}
	return entries, nil
}

func (c *jksCursor) certificate(version int) ([]byte, error) {
	if version == 2 {
		certType, err := c.utf("certificate type")
		if err != nil {
			return nil, err
		}
		if certType != "X.509" {
			return nil, fmt.Errorf("certificate type %q", certType)
		}
	}
	n, err := c.u32()
	if err != nil {
		return nil, err
	}
	return c.bytes(n)
}

// verifyJKS checks the keystore's integrity digest: SHA-1 over the
// password (UTF-16BE), the phrase "Mighty Aphrodite" and the content.
func verifyJKS(data, password []byte) error {
	body, digest := data[:len(data)-sha1.Size], data[len(data)-sha1.Size:]
	h := sha1.New()
	for _, u := range utf16.Encode([]rune(string(password))) {
		h.Write([]byte{byte(u >> 8), byte(u)})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(body)
	if subtle.ConstantTimeCompare(h.Sum(nil), digest) != 1 {
		return ErrWrongPassword
	}
	return nil
}
