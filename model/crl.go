package model

import (
	"errors"
	"iter"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// CRLParts is a DER certificate revocation list split so that a list of a
// million serials is read in little memory: crypto/x509 keeps a big.Int, a
// time and the extensions of every entry it parses, 200 MB for such a
// list.
type CRLParts struct {
	// Header is the same list without its entries, for crypto/x509 to
	// parse (issuer, dates, signature algorithm); its signature no
	// longer matches what it signs.
	Header []byte
	// TBS is the signed part as signed: the signature check takes it in
	// place of the header's.
	TBS []byte
	// Entries is the content of the revokedCertificates SEQUENCE, which
	// EachRevoked reads one entry at a time.
	Entries []byte
}

var errMalformedCRL = errors.New("malformed CRL")

// SplitCRL splits a DER CRL (RFC 5280 CertificateList) into its parts. It
// checks the structure only as far as it splits it: crypto/x509 checks the
// header, EachRevoked the entries.
func SplitCRL(der []byte) (CRLParts, error) {
	input := cryptobyte.String(der)
	var list, tbsElement, tbs cryptobyte.String
	if !input.ReadASN1(&list, asn1.SEQUENCE) || !input.Empty() ||
		!list.ReadASN1Element(&tbsElement, asn1.SEQUENCE) {
		return CRLParts{}, errMalformedCRL
	}
	tbsRaw := []byte(tbsElement)
	if !tbsElement.ReadASN1(&tbs, asn1.SEQUENCE) {
		return CRLParts{}, errMalformedCRL
	}
	// version, signature, issuer, thisUpdate, nextUpdate: kept.
	var kept [][]byte
	keep := func(tag asn1.Tag, optional bool) bool {
		if optional && !tbs.PeekASN1Tag(tag) {
			return true
		}
		var element cryptobyte.String
		if !tbs.ReadASN1Element(&element, tag) {
			return false
		}
		kept = append(kept, element)
		return true
	}
	isTime := func() asn1.Tag {
		if tbs.PeekASN1Tag(asn1.GeneralizedTime) {
			return asn1.GeneralizedTime
		}
		return asn1.UTCTime
	}
	if !keep(asn1.INTEGER, true) || !keep(asn1.SEQUENCE, false) || !keep(asn1.SEQUENCE, false) || !keep(isTime(), false) {
		return CRLParts{}, errMalformedCRL
	}
	if (tbs.PeekASN1Tag(asn1.UTCTime) || tbs.PeekASN1Tag(asn1.GeneralizedTime)) && !keep(isTime(), false) {
		return CRLParts{}, errMalformedCRL
	}
	var entries cryptobyte.String
	if tbs.PeekASN1Tag(asn1.SEQUENCE) && !tbs.ReadASN1(&entries, asn1.SEQUENCE) {
		return CRLParts{}, errMalformedCRL
	}
	extensionsTag := asn1.Tag(0).Constructed().ContextSpecific()
	if !keep(extensionsTag, true) || !tbs.Empty() {
		return CRLParts{}, errMalformedCRL
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, element := range kept {
				b.AddBytes(element)
			}
		})
		b.AddBytes(list) // the signature algorithm and the signature
	})
	header, err := b.Bytes()
	if err != nil {
		return CRLParts{}, err
	}
	return CRLParts{Header: header, TBS: tbsRaw, Entries: entries}, nil
}

// EachRevoked yields the entries SplitCRL found, one at a time, each as
// crypto/x509 would read its serial and date, or the error that ends them
// (a malformed entry). Entry extensions (a reason, an indirect CRL's
// issuer) are not read.
func EachRevoked(entries []byte) iter.Seq2[Revoked, error] {
	return func(yield func(Revoked, error) bool) {
		rest := cryptobyte.String(entries)
		var serial big.Int
		for !rest.Empty() {
			var entry cryptobyte.String
			var at time.Time
			ok := rest.ReadASN1(&entry, asn1.SEQUENCE) && entry.ReadASN1Integer(&serial)
			switch {
			case ok && entry.PeekASN1Tag(asn1.UTCTime):
				ok = entry.ReadASN1UTCTime(&at)
			case ok && entry.PeekASN1Tag(asn1.GeneralizedTime):
				ok = entry.ReadASN1GeneralizedTime(&at)
			default:
				ok = false
			}
			if ok && !entry.Empty() {
				var extensions cryptobyte.String
				ok = entry.ReadASN1(&extensions, asn1.SEQUENCE) && entry.Empty()
			}
			if !ok {
				yield(Revoked{}, errors.New("malformed revoked certificate entry"))
				return
			}
			if !yield(Revoked{Serial: SerialHex(&serial), RevokedAt: at.UTC()}, nil) {
				return
			}
		}
	}
}
