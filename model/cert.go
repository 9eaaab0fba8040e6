// Package model holds certgov's domain types and pure logic: certificate
// facts, identities, sources, and the filter language. It does no I/O.
package model

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// SANs are a certificate's subject alternative names by type.
type SANs struct {
	DNS   []string `json:"dns"`
	URI   []string `json:"uri"`
	IP    []string `json:"ip"`
	Email []string `json:"email"`
}

// All lists every SAN value, for free-text search.
func (s SANs) All() []string {
	all := make([]string, 0, len(s.DNS)+len(s.URI)+len(s.IP)+len(s.Email))
	all = append(all, s.DNS...)
	all = append(all, s.URI...)
	all = append(all, s.IP...)
	return append(all, s.Email...)
}

// Labeled lists the SANs as "DNS:name", "URI:…", "IP:…", "email:…".
func (s SANs) Labeled() []string {
	var out []string
	for _, g := range []struct {
		label  string
		values []string
	}{{"DNS", s.DNS}, {"URI", s.URI}, {"IP", s.IP}, {"email", s.Email}} {
		for _, v := range g.values {
			out = append(out, g.label+":"+v)
		}
	}
	return out
}

// Certificate is everything certgov knows about one X.509 certificate.
// FingerprintSHA256 (lowercase hex of the DER) is its key everywhere.
type Certificate struct {
	FingerprintSHA256  string
	FingerprintSHA1    string
	SPKISHA256         string // base64 (standard, padded), as pinning configs write it
	Subject            string // RFC 4514
	Issuer             string // RFC 4514
	SubjectNormalized  string
	IssuerNormalized   string
	CommonName         string
	Serial             string // lowercase hex, "-" prefixed when negative
	NotBefore          time.Time
	NotAfter           time.Time
	KeyAlgorithm       string // RSA, ECDSA, Ed25519, DSA, unknown
	KeySize            int    // bits
	KeyCurve           string // P-256, … for ECDSA
	SignatureAlgorithm string
	SANs               SANs
	KeyUsage           []string
	ExtKeyUsage        []string
	IsCA               bool
	// SelfIssued: issuer and subject names are equal. SelfSigned: also the
	// signature verifies with the certificate's own key. A self-issued
	// certificate that does not self-verify was signed by another key of a
	// CA with the same name (or is corrupt), and is not self-signed.
	SelfIssued     bool
	SelfSigned     bool
	SubjectKeyID   string // hex
	AuthorityKeyID string // hex
	IdentityKey    string
	IdentityName   string
	DER            []byte
	// Malformed is why crypto/x509 refused the certificate, when it did
	// and only the facts cryptobyte could read are known (ParseMalformed).
	Malformed string
}

// ParseCertificate turns DER bytes into certificate facts.
func ParseCertificate(der []byte) (Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Certificate{}, err
	}
	return FromX509(c)
}

// FromX509 derives the facts of an already parsed certificate.
func FromX509(c *x509.Certificate) (Certificate, error) {
	cert, err := namedFacts(c.Raw, c.RawSubjectPublicKeyInfo, c.RawSubject, c.RawIssuer)
	if err != nil {
		return Certificate{}, err
	}
	algorithm, size, curve := PublicKeyInfo(c.PublicKey)
	cert.Serial = serialHex(c.SerialNumber)
	cert.NotBefore, cert.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	cert.KeyAlgorithm, cert.KeySize, cert.KeyCurve = algorithm, size, curve
	cert.SignatureAlgorithm = c.SignatureAlgorithm.String()
	cert.SANs = sansOf(c)
	cert.KeyUsage = keyUsageNames(c.KeyUsage)
	cert.ExtKeyUsage = extKeyUsageNames(c)
	cert.IsCA = c.BasicConstraintsValid && c.IsCA
	cert.SelfIssued = string(c.RawIssuer) == string(c.RawSubject)
	cert.SubjectKeyID = hex.EncodeToString(c.SubjectKeyId)
	cert.AuthorityKeyID = hex.EncodeToString(c.AuthorityKeyId)
	cert.SelfSigned = cert.SelfIssued && SignedBy(c, c.PublicKey)
	cert.IdentityKey = IdentityKey(cert)
	cert.IdentityName = IdentityName(cert)
	return cert, nil
}

// namedFacts are what every parser derives alike: the fingerprints of the
// DER and of the public key, and the names.
func namedFacts(der, spki, rawSubject, rawIssuer []byte) (Certificate, error) {
	subject, err := ParseRawDN(rawSubject)
	if err != nil {
		return Certificate{}, fmt.Errorf("subject: %w", err)
	}
	issuer, err := ParseRawDN(rawIssuer)
	if err != nil {
		return Certificate{}, fmt.Errorf("issuer: %w", err)
	}
	fp1 := sha1.Sum(der)
	spkiSum := sha256.Sum256(spki)
	return Certificate{
		FingerprintSHA256: fingerprintHex(der),
		FingerprintSHA1:   hex.EncodeToString(fp1[:]),
		SPKISHA256:        base64.StdEncoding.EncodeToString(spkiSum[:]),
		Subject:           subject.String(),
		Issuer:            issuer.String(),
		SubjectNormalized: subject.Normalized(),
		IssuerNormalized:  issuer.Normalized(),
		CommonName:        subject.First("CN"),
		DER:               der,
	}, nil
}

// fingerprintHex is the SHA-256 of der in lowercase hex: how certgov
// names a certificate everywhere.
func fingerprintHex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// HasClientAuth reports whether the certificate may be used for TLS client
// authentication: an EKU of clientAuth or anyExtendedKeyUsage, or no EKU.
func (c *Certificate) HasClientAuth() bool {
	if len(c.ExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == "clientAuth" || u == "any" {
			return true
		}
	}
	return false
}

// ExpiredAt reports whether the certificate is past its notAfter at now.
func (c *Certificate) ExpiredAt(now time.Time) bool { return now.After(c.NotAfter) }

// ValidAt reports whether now lies within the validity period.
func (c *Certificate) ValidAt(now time.Time) bool {
	return !now.Before(c.NotBefore) && !now.After(c.NotAfter)
}

// SerialHex writes a serial number the way certgov stores it: lowercase
// hex, "-" prefixed when negative.
func SerialHex(n *big.Int) string { return serialHex(n) }

func serialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	if n.Sign() < 0 {
		return "-" + hex.EncodeToString(new(big.Int).Neg(n).Bytes())
	}
	if n.Sign() == 0 {
		return "00"
	}
	return hex.EncodeToString(n.Bytes())
}

// PublicKeyInfo names a public key's algorithm, size in bits and curve.
func PublicKeyInfo(pub any) (algorithm string, bits int, curve string) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen(), ""
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize, k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519", 256, ""
	default:
		if pub != nil && strings.Contains(fmt.Sprintf("%T", pub), "dsa.PublicKey") {
			return "DSA", 0, ""
		}
		return "unknown", 0, ""
	}
}

// SignedBy reports whether c's signature verifies with pub. Unlike
// x509.Certificate.CheckSignatureFrom it also accepts SHA-1 and MD5
// signatures, which Go refuses but which legacy roots and client
// certificates still carry: they are still signed by that key.
func SignedBy(c *x509.Certificate, pub any) bool {
	var hash crypto.Hash
	var digest []byte
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		sum := sha1.Sum(c.RawTBSCertificate)
		hash, digest = crypto.SHA1, sum[:]
	case x509.MD5WithRSA:
		sum := md5.Sum(c.RawTBSCertificate)
		hash, digest = crypto.MD5, sum[:]
	default:
		signer := &x509.Certificate{PublicKey: pub}
		return signer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, hash, digest, c.Signature) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, c.Signature)
	}
	return false
}

func sansOf(c *x509.Certificate) SANs {
	s := SANs{DNS: c.DNSNames, Email: c.EmailAddresses}
	for _, u := range c.URIs {
		s.URI = append(s.URI, u.String())
	}
	for _, ip := range c.IPAddresses {
		s.IP = append(s.IP, ip.String())
	}
	return s
}

var keyUsageBits = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "contentCommitment"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

func keyUsageNames(ku x509.KeyUsage) []string {
	var names []string
	for _, b := range keyUsageBits {
		if ku&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	return names
}

var extKeyUsageByID = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "any",
	x509.ExtKeyUsageServerAuth:                     "serverAuth",
	x509.ExtKeyUsageClientAuth:                     "clientAuth",
	x509.ExtKeyUsageCodeSigning:                    "codeSigning",
	x509.ExtKeyUsageEmailProtection:                "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:                 "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:                    "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:                      "ipsecUser",
	x509.ExtKeyUsageTimeStamping:                   "timeStamping",
	x509.ExtKeyUsageOCSPSigning:                    "OCSPSigning",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "msSGC",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "nsSGC",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "msCodeCom",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "msKernelCode",
}

func extKeyUsageNames(c *x509.Certificate) []string {
	var names []string
	for _, u := range c.ExtKeyUsage {
		if name, ok := extKeyUsageByID[u]; ok {
			names = append(names, name)
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		names = append(names, oid.String())
	}
	return names
}
