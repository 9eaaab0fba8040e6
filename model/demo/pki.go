// Package demo generates a realistic certificate estate at run time: an
// internal PKI, workload and CI certificates, self-signed partner
// certificates, trust bundles and keystores, as the files a real estate
// holds, in memory. certgov demo writes it out (writeEstate) and imports
// it through the ordinary importers; every layer's tests build their
// fixtures with it, which is why it lives under model: standard library
// only, no I/O.
package demo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"
)

// Issued is a generated certificate with its key.
type Issued struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PEM encodes the certificate as a PEM block.
func (i *Issued) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw})
}

// KeyPEM encodes the private key as PKCS#8 PEM.
func (i *Issued) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(i.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Template describes a certificate to generate.
type Template struct {
	CommonName string
	OrgUnit    string
	Org        string
	URIs       []string
	DNSNames   []string
	Emails     []string
	NotBefore  time.Time
	NotAfter   time.Time
	CA         bool
	Key        crypto.Signer
	// SHA1 signs with SHA-1, as legacy roots and old clients are.
	SHA1 bool
}

// Generator issues certificates with serial numbers from a seeded source,
// so that the same seed gives the same estate.
type Generator struct {
	rng *mrand.Rand
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Rand is the generator's deterministic random source.
func (g *Generator) Rand() *mrand.Rand { return g.rng }

// ECDSAKey returns a fresh P-256 key.
func ECDSAKey() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// Ed25519Key returns a fresh Ed25519 key.
func Ed25519Key() crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// RSAKey returns a fresh RSA key of the given size.
func RSAKey(bits int) (crypto.Signer, error) {
	return rsa.GenerateKey(rand.Reader, bits)
}

// SelfSigned issues a self-signed certificate.
func (g *Generator) SelfSigned(t Template) (*Issued, error) {
	return g.Issue(t, nil)
}

// Issue issues a certificate signed by parent, or self-signed when parent
// is nil.
func (g *Generator) Issue(t Template, parent *Issued) (*Issued, error) {
	if t.Key == nil {
		t.Key = ECDSAKey()
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(g.rng.Uint64() >> 1),
		Subject:               pkix.Name{CommonName: t.CommonName},
		NotBefore:             t.NotBefore,
		NotAfter:              t.NotAfter,
		DNSNames:              t.DNSNames,
		EmailAddresses:        t.Emails,
		BasicConstraintsValid: true,
		IsCA:                  t.CA,
	}
	if t.Org != "" {
		tmpl.Subject.Organization = []string{t.Org}
	}
	if t.OrgUnit != "" {
		tmpl.Subject.OrganizationalUnit = []string{t.OrgUnit}
	}
	for _, u := range t.URIs {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	if t.CA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signerCert, signerKey := tmpl, t.Key
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	if t.SHA1 {
		if _, ok := signerKey.(*rsa.PrivateKey); !ok {
			return nil, errors.New("SHA-1 demo certificates need an RSA signer")
		}
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, t.Key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.CommonName, err)
	}
	if t.SHA1 {
		if der, err = resignSHA1(der, signerKey.(*rsa.PrivateKey)); err != nil {
			return nil, err
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Issued{Cert: cert, Key: t.Key}, nil
}

// resignSHA1 turns a SHA256-RSA certificate into a SHA1-RSA one: Go no
// longer signs with SHA-1, but the estate certgov inventories still holds
// such certificates. Both algorithm identifiers have the same length, so
// the bytes are swapped in place and the signature, of unchanged length,
// is replaced.
func resignSHA1(der []byte, key *rsa.PrivateKey) ([]byte, error) {
	sha256RSA := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}
	sha1RSA := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05}
	out := []byte(strings.ReplaceAll(string(der), string(sha256RSA), string(sha1RSA)))
	var parsed struct {
		TBS       asn1.RawValue
		Algorithm asn1.RawValue
		Signature asn1.BitString
	}
	if _, err := asn1.Unmarshal(out, &parsed); err != nil {
		return nil, err
	}
	digest := sha1.Sum(parsed.TBS.FullBytes)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA1, digest[:])
	if err != nil {
		return nil, err
	}
	if len(sig) != len(parsed.Signature.Bytes) {
		return nil, errors.New("SHA-1 signature length differs")
	}
	copy(out[len(out)-len(sig):], sig)
	return out, nil
}

// PKCS7 writes a certificates-only PKCS#7 SignedData bundle (.p7b).
func PKCS7(certs ...*x509.Certificate) ([]byte, error) {
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	signedData := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{
		Version:          1,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
		ContentInfo:      struct{ ContentType asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		SignerInfos:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
	}
	inner, err := asn1.Marshal(signedData)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// JKSTrustStore writes a Java truststore (JKS version 2) of trusted
// certificate entries, protected by password.
func JKSTrustStore(password string, aliases []string, certs []*x509.Certificate) []byte {
	var b []byte
	u32 := func(v int) { b = binary.BigEndian.AppendUint32(b, uint32(v)) }
	utf := func(s string) { b = binary.BigEndian.AppendUint16(b, uint16(len(s))); b = append(b, s...) }
	b = append(b, 0xfe, 0xed, 0xfe, 0xed)
	u32(2)
	u32(len(certs))
	for i, c := range certs {
		u32(2) // trusted certificate entry
		utf(aliases[i])
		b = binary.BigEndian.AppendUint64(b, uint64(c.NotBefore.UnixMilli()))
		utf("X.509")
		u32(len(c.Raw))
		b = append(b, c.Raw...)
	}
	h := sha1.New()
	for _, u := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(u >> 8), byte(u)})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(b)
	return h.Sum(b)
}
