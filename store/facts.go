package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"certgov/model"
)

// The linked read table keeps each certificate's facts as one binary
// value instead of a column each: a read fetches every certificate, and
// fetching 25 columns a row cost more than everything else a read does.
// The raw certificates table keeps its columns for queries and for
// Reindex, which rebuilds this value from them.

// factsFormat 3 leaves out what a read has beside the facts or can
// derive exactly, 130 bytes of a typical certificate: the SHA-256
// fingerprint (the linked row has it as a column), the normalized subject
// and issuer when they are the names in ASCII lower case, the issuer when
// it is the subject (self-signed), which a flags byte says; algorithm,
// curve and usage names are a byte each (knownNames). Format 2 kept
// digests (fingerprints, key IDs, serial) that are lowercase hex as their
// bytes; format 1 kept them as text. Rows of every format read alike.
const factsFormat = 3

// digestField says which of the facts' strings are digests, in the order
// every format writes them (format 3 leaves out the first).
var digestField = [15]bool{0: true, 1: true, 2: true, 8: true, 12: true, 13: true}

// nameField says which of the facts' strings format 3 writes as names
// (appendName): the key algorithm, key curve and signature algorithm.
var nameField = [15]bool{9: true, 10: true, 11: true}

// Format 3's flags: which strings are derived rather than written.
const (
	subjectNormalizedIsLower = 1 << iota // SubjectNormalized == asciiLower(Subject)
	issuerIsSubject                      // Issuer == Subject
	issuerNormalizedIsLower              // IssuerNormalized == asciiLower(Issuer)
)

// knownNames are the algorithm, curve and usage names model gives
// certificates, written by format 3 as their index. The list is part of
// the format: names are only ever appended to it.
var knownNames = [...]string{
	"", "RSA", "ECDSA", "Ed25519", "DSA", "unknown",
	"P-224", "P-256", "P-384", "P-521",
	"SHA256-RSA", "SHA384-RSA", "SHA512-RSA", "SHA1-RSA", "MD5-RSA", "MD2-RSA",
	"SHA256-RSAPSS", "SHA384-RSAPSS", "SHA512-RSAPSS",
	"ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512", "ECDSA-SHA1", "DSA-SHA1", "DSA-SHA256",
	"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment", "keyAgreement",
	"keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
	"any", "serverAuth", "clientAuth", "codeSigning", "emailProtection", "ipsecEndSystem", "ipsecTunnel",
	"ipsecUser", "timeStamping", "OCSPSigning", "msSGC", "nsSGC", "msCodeCom", "msKernelCode",
}

// knownNameIndex is knownNames' inverse.
var knownNameIndex = func() map[string]uint64 {
	index := make(map[string]uint64, len(knownNames))
	for i, name := range knownNames {
		index[name] = uint64(i)
	}
	return index
}()

// encodeFacts writes c's facts (all but its DER, identity and the
// fields the read table has columns for are written too, so that one
// value is the whole certificate).
func encodeFacts(c *model.Certificate) []byte { return encodeFactsIn(factsFormat, c) }

// encodeFactsIn writes c's facts in the given format (an older one for
// tests that read what older certgov wrote).
func encodeFactsIn(format byte, c *model.Certificate) []byte {
	b := make([]byte, 0, 512)
	b = append(b, format)
	var derived byte
	if format >= 3 {
		derived = derivedNames(c)
		b = append(b, derived)
	}
	for i, v := range []string{c.FingerprintSHA256, c.FingerprintSHA1, c.SPKISHA256, c.Subject, c.SubjectNormalized,
		c.Issuer, c.IssuerNormalized, c.CommonName, c.Serial, c.KeyAlgorithm, c.KeyCurve, c.SignatureAlgorithm,
		c.SubjectKeyID, c.AuthorityKeyID, c.Malformed} {
		switch {
		case format >= 3 && (i == 0 || i == 4 && derived&subjectNormalizedIsLower != 0 ||
			i == 5 && derived&issuerIsSubject != 0 || i == 6 && derived&issuerNormalizedIsLower != 0):
			// Left out: the caller has it, or it is derived.
		case format >= 3 && nameField[i]:
			b = appendName(b, v)
		case format >= 2 && digestField[i]:
			b = appendDigest(b, v)
		default:
			b = appendString(b, v)
		}
	}
	b = binary.AppendVarint(b, c.NotBefore.Unix())
	b = binary.AppendVarint(b, c.NotAfter.Unix())
	b = binary.AppendVarint(b, int64(c.KeySize))
	b = append(b, boolByte(c.IsCA)|boolByte(c.SelfIssued)<<1|boolByte(c.SelfSigned)<<2)
	for i, list := range [][]string{c.SANs.DNS, c.SANs.URI, c.SANs.IP, c.SANs.Email, c.KeyUsage, c.ExtKeyUsage} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			if format >= 3 && i >= 4 { // usages
				b = appendName(b, v)
			} else {
				b = appendString(b, v)
			}
		}
	}
	return b
}

// derivedNames says which of c's names format 3 can leave out.
func derivedNames(c *model.Certificate) byte {
	var derived byte
	if c.SubjectNormalized == asciiLower(c.Subject) {
		derived |= subjectNormalizedIsLower
	}
	if c.Issuer == c.Subject {
		derived |= issuerIsSubject
	}
	if c.IssuerNormalized == asciiLower(c.Issuer) {
		derived |= issuerNormalizedIsLower
	}
	return derived
}

// asciiLower is s with A to Z in lower case and every other byte kept: a
// function whose result never changes (Unicode's case tables do), so that
// what it derived when the facts were written it derives when they are
// read.
func asciiLower(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// appendName writes a name as its index in knownNames (the low bit of
// the number says so), else as text.
func appendName(b []byte, s string) []byte {
	if i, ok := knownNameIndex[s]; ok {
		return binary.AppendUvarint(b, i<<1|1)
	}
	return append(binary.AppendUvarint(b, uint64(len(s))<<1), s...)
}

// name reads what appendName wrote.
func (r *fieldReader) name() string {
	n := r.uvarint()
	if n&1 == 0 {
		return r.take(n >> 1)
	}
	if n>>1 >= uint64(len(knownNames)) {
		r.bad = true
		return ""
	}
	return knownNames[n>>1]
}

// decodeFacts reads what encodeFacts wrote into c; fingerprint is the
// certificate's SHA-256 fingerprint, which format 3 leaves to the row's
// column. The strings share facts' memory.
func decodeFacts(fingerprint, facts string, c *model.Certificate) error {
	r := &fieldReader{s: facts}
	format := r.byte()
	if format < 1 || format > factsFormat {
		return fmt.Errorf("stored certificate facts of %s: unknown format", fingerprint)
	}
	var derived byte
	if format >= 3 {
		derived = r.byte()
		c.FingerprintSHA256 = fingerprint
	}
	for i, v := range []*string{&c.FingerprintSHA256, &c.FingerprintSHA1, &c.SPKISHA256, &c.Subject, &c.SubjectNormalized,
		&c.Issuer, &c.IssuerNormalized, &c.CommonName, &c.Serial, &c.KeyAlgorithm, &c.KeyCurve, &c.SignatureAlgorithm,
		&c.SubjectKeyID, &c.AuthorityKeyID, &c.Malformed} {
		switch {
		case format >= 3 && i == 0:
		case format >= 3 && i == 4 && derived&subjectNormalizedIsLower != 0:
			*v = asciiLower(c.Subject)
		case format >= 3 && i == 5 && derived&issuerIsSubject != 0:
			*v = c.Subject
		case format >= 3 && i == 6 && derived&issuerNormalizedIsLower != 0:
			*v = asciiLower(c.Issuer)
		case format >= 3 && nameField[i]:
			*v = r.name()
		case format >= 2 && digestField[i]:
			*v = r.digest()
		default:
			*v = r.string()
		}
	}
	c.NotBefore = time.Unix(r.varint(), 0).UTC()
	c.NotAfter = time.Unix(r.varint(), 0).UTC()
	c.KeySize = int(r.varint())
	flags := r.byte()
	c.IsCA, c.SelfIssued, c.SelfSigned = flags&1 != 0, flags&2 != 0, flags&4 != 0
	for i, list := range []*[]string{&c.SANs.DNS, &c.SANs.URI, &c.SANs.IP, &c.SANs.Email, &c.KeyUsage, &c.ExtKeyUsage} {
		if format >= 3 && i >= 4 {
			*list = r.names()
		} else {
			*list = r.strings()
		}
	}
	if r.bad || r.s != "" {
		return fmt.Errorf("stored certificate facts of %s: malformed", fingerprint)
	}
	return nil
}

// names reads a list appendName wrote the items of.
func (r *fieldReader) names() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = r.name()
	}
	return list
}

// linkedFingerprint is a certificate's fingerprint as the linked table
// keeps it: its 32 bytes (hexFingerprint reads them back).
func linkedFingerprint(fingerprint string) ([]byte, error) {
	if len(fingerprint) != 2*sha256.Size || !isLowerHex(fingerprint) {
		return nil, fmt.Errorf("fingerprint %q is not a SHA-256 digest in lowercase hex", fingerprint)
	}
	return hex.DecodeString(fingerprint)
}

// hexFingerprint scans a linked row's fingerprint (bytes) as the lowercase
// hex everything else names certificates by.
type hexFingerprint string

func (h *hexFingerprint) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok || len(b) != sha256.Size {
		return fmt.Errorf("stored linked fingerprint: %T of %d bytes", src, len(b))
	}
	*h = hexFingerprint(hex.EncodeToString(b))
	return nil
}

// appendDigest writes a digest: as its bytes when it is lowercase hex
// (the low bit of the length says so), else as text.
func appendDigest(b []byte, s string) []byte {
	if !isLowerHex(s) {
		return append(binary.AppendUvarint(b, uint64(len(s))<<1), s...)
	}
	b = binary.AppendUvarint(b, uint64(len(s)/2)<<1|1)
	b, _ = hex.AppendDecode(b, []byte(s)) // checked above: cannot fail
	return b
}

// isLowerHex says whether s is what hex.EncodeToString gives for some
// bytes, so that storing those bytes gives s back exactly.
func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// digest reads what appendDigest wrote.
func (r *fieldReader) digest() string {
	n := r.uvarint()
	v := r.take(n >> 1)
	if n&1 == 0 {
		return v
	}
	return hex.EncodeToString([]byte(v))
}
