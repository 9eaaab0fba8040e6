package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"certgov/model"
)

// The linked read table keeps each certificate's facts as one binary
// value instead of a column each: a read fetches every certificate, and
// fetching 25 columns a row cost more than everything else a read does.
// The raw certificates table keeps its columns for queries and for
// Reindex, which rebuilds this value from them.

// factsFormat 2 keeps digests (fingerprints, key IDs, serial) that are
// lowercase hex as their bytes: half the size, 90 bytes a certificate.
// Format 1 kept them as text; rows of either format read alike.
const factsFormat = 2

// digestField says which of the facts' strings are digests, in the order
// both formats write them.
var digestField = [15]bool{0: true, 1: true, 2: true, 8: true, 12: true, 13: true}

// encodeFacts writes c's facts (all but its DER, identity and the
// fields the read table has columns for are written too, so that one
// value is the whole certificate).
func encodeFacts(c *model.Certificate) []byte { return encodeFactsIn(factsFormat, c) }

// encodeFactsIn writes c's facts in the given format (an older one for
// tests that read what older certgov wrote).
func encodeFactsIn(format byte, c *model.Certificate) []byte {
	b := make([]byte, 0, 512)
	b = append(b, format)
	for i, v := range []string{c.FingerprintSHA256, c.FingerprintSHA1, c.SPKISHA256, c.Subject, c.SubjectNormalized,
		c.Issuer, c.IssuerNormalized, c.CommonName, c.Serial, c.KeyAlgorithm, c.KeyCurve, c.SignatureAlgorithm,
		c.SubjectKeyID, c.AuthorityKeyID, c.Malformed} {
		if format >= 2 && digestField[i] {
			b = appendDigest(b, v)
		} else {
			b = appendString(b, v)
		}
	}
	b = binary.AppendVarint(b, c.NotBefore.Unix())
	b = binary.AppendVarint(b, c.NotAfter.Unix())
	b = binary.AppendVarint(b, int64(c.KeySize))
	b = append(b, boolByte(c.IsCA)|boolByte(c.SelfIssued)<<1|boolByte(c.SelfSigned)<<2)
	for _, list := range [][]string{c.SANs.DNS, c.SANs.URI, c.SANs.IP, c.SANs.Email, c.KeyUsage, c.ExtKeyUsage} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			b = appendString(b, v)
		}
	}
	return b
}

// decodeFacts reads what encodeFacts wrote into c. The strings share
// facts' memory.
func decodeFacts(facts string, c *model.Certificate) error {
	r := &fieldReader{s: facts}
	format := r.byte()
	if format != 1 && format != factsFormat {
		return fmt.Errorf("stored certificate facts: unknown format")
	}
	for i, v := range []*string{&c.FingerprintSHA256, &c.FingerprintSHA1, &c.SPKISHA256, &c.Subject, &c.SubjectNormalized,
		&c.Issuer, &c.IssuerNormalized, &c.CommonName, &c.Serial, &c.KeyAlgorithm, &c.KeyCurve, &c.SignatureAlgorithm,
		&c.SubjectKeyID, &c.AuthorityKeyID, &c.Malformed} {
		if format == factsFormat && digestField[i] {
			*v = r.digest()
		} else {
			*v = r.string()
		}
	}
	c.NotBefore = time.Unix(r.varint(), 0).UTC()
	c.NotAfter = time.Unix(r.varint(), 0).UTC()
	c.KeySize = int(r.varint())
	flags := r.byte()
	c.IsCA, c.SelfIssued, c.SelfSigned = flags&1 != 0, flags&2 != 0, flags&4 != 0
	for _, list := range []*[]string{&c.SANs.DNS, &c.SANs.URI, &c.SANs.IP, &c.SANs.Email, &c.KeyUsage, &c.ExtKeyUsage} {
		*list = r.strings()
	}
	if r.bad || r.s != "" {
		return fmt.Errorf("stored certificate facts of %s: malformed", c.FingerprintSHA256)
	}
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
