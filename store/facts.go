package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"certgov/model"
)

// The linked read table keeps each certificate's facts as one binary
// value instead of a column each: a read fetches every certificate, and
// fetching 25 columns a row cost more than everything else a read does.
// The raw certificates table keeps its columns for queries and for
// Reindex, which rebuilds this value from them.

const factsFormat = 1

// encodeFacts writes c's facts (all but its DER, identity and the
// fields the read table has columns for are written too, so that one
// value is the whole certificate).
func encodeFacts(c *model.Certificate) []byte {
	b := make([]byte, 0, 512)
	b = append(b, factsFormat)
	for _, v := range []string{c.FingerprintSHA256, c.FingerprintSHA1, c.SPKISHA256, c.Subject, c.SubjectNormalized,
		c.Issuer, c.IssuerNormalized, c.CommonName, c.Serial, c.KeyAlgorithm, c.KeyCurve, c.SignatureAlgorithm,
		c.SubjectKeyID, c.AuthorityKeyID, c.Malformed} {
		b = appendString(b, v)
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
	if r.byte() != factsFormat {
		return fmt.Errorf("stored certificate facts: unknown format")
	}
	for _, v := range []*string{&c.FingerprintSHA256, &c.FingerprintSHA1, &c.SPKISHA256, &c.Subject, &c.SubjectNormalized,
		&c.Issuer, &c.IssuerNormalized, &c.CommonName, &c.Serial, &c.KeyAlgorithm, &c.KeyCurve, &c.SignatureAlgorithm,
		&c.SubjectKeyID, &c.AuthorityKeyID, &c.Malformed} {
		*v = r.string()
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
