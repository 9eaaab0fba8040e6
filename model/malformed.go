package model

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ParseMalformed reads what it can of a certificate that crypto/x509
// refuses (inherited DSA parameters, a negative serial, an extension Go
// considers invalid): OpenSSL and most gateways still use such
// certificates, so the inventory must show them. The outer structure and
// the TBSCertificate fields up to the public key must parse; of the
// extensions, the subject alternative names are read where they parse
// (they name the identity), the rest stay unknown. reason is Go's
// complaint, kept in Malformed. Bytes that are no certificate at all are an
// error.
func ParseMalformed(der []byte, reason error) (Certificate, error) {
	input := cryptobyte.String(der)
	var cert, tbs, tbsRaw cryptobyte.String
	if !input.ReadASN1(&cert, cbasn1.SEQUENCE) || !input.Empty() {
		return Certificate{}, errors.New("not a DER certificate")
	}
	if !cert.ReadASN1Element(&tbsRaw, cbasn1.SEQUENCE) {
		return Certificate{}, errors.New("no TBSCertificate")
	}
	if !tbsRaw.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return Certificate{}, errors.New("no TBSCertificate")
	}
	var version int64
	var hasVersion bool
	var versionBytes cryptobyte.String
	if !tbs.ReadOptionalASN1(&versionBytes, &hasVersion, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return Certificate{}, errors.New("bad version")
	}
	if hasVersion && !versionBytes.ReadASN1Integer(&version) {
		return Certificate{}, errors.New("bad version")
	}
	serial := new(big.Int)
	var serialBytes cryptobyte.String
	if !tbs.ReadASN1Element(&serialBytes, cbasn1.INTEGER) {
		return Certificate{}, errors.New("bad serial number")
	}
	// Negative and zero serials are what Go refuses; read them as two's
	// complement by hand.
	if _, err := asn1.Unmarshal(serialBytes, &serial); err != nil {
		return Certificate{}, fmt.Errorf("serial number: %w", err)
	}
	var sigAlg, issuerRaw, validity, subjectRaw, spkiRaw cryptobyte.String
	if !tbs.ReadASN1(&sigAlg, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&issuerRaw, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&validity, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&subjectRaw, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spkiRaw, cbasn1.SEQUENCE) {
		return Certificate{}, errors.New("TBSCertificate fields do not parse")
	}
	notBefore, err1 := readTime(&validity)
	notAfter, err2 := readTime(&validity)
	if err := errors.Join(err1, err2); err != nil {
		return Certificate{}, err
	}
	c, err := namedFacts(der, spkiRaw, subjectRaw, issuerRaw)
	if err != nil {
		return Certificate{}, err
	}
	var sigOID asn1.ObjectIdentifier
	sigAlg.ReadASN1ObjectIdentifier(&sigOID)
	c.Serial = serialHex(serial)
	c.NotBefore, c.NotAfter = notBefore.UTC(), notAfter.UTC()
	c.KeyAlgorithm = spkiAlgorithm(spkiRaw)
	c.SignatureAlgorithm = sigOID.String()
	c.SelfIssued = string(issuerRaw) == string(subjectRaw)
	c.Malformed = reason.Error()
	c.SANs = readSANs(tbs)
	c.IdentityKey = IdentityKey(c)
	c.IdentityName = IdentityName(c)
	return c, nil
}

func readTime(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if s.ReadASN1UTCTime(&t) {
			return t, nil
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if s.ReadASN1GeneralizedTime(&t) {
			return t, nil
		}
	}
	return t, errors.New("bad validity time")
}

var spkiAlgorithms = map[string]string{
	"1.2.840.113549.1.1.1": "RSA",
	"1.2.840.10045.2.1":    "ECDSA",
	"1.3.101.112":          "Ed25519",
	"1.2.840.10040.4.1":    "DSA",
}

// spkiAlgorithm names the key algorithm of a SubjectPublicKeyInfo by its
// OID; the key itself is not parsed (that may be what Go refused).
func spkiAlgorithm(spki []byte) string {
	s := cryptobyte.String(spki)
	var inner, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if s.ReadASN1(&inner, cbasn1.SEQUENCE) && inner.ReadASN1(&alg, cbasn1.SEQUENCE) && alg.ReadASN1ObjectIdentifier(&oid) {
		if name, ok := spkiAlgorithms[oid.String()]; ok {
			return name
		}
	}
	return "unknown"
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// readSANs reads the subject alternative names from what follows the
// public key in a TBSCertificate (optional unique IDs, then the
// extensions); whatever does not parse is left out.
func readSANs(rest cryptobyte.String) SANs {
	var sans SANs
	var exts cryptobyte.String
	var present bool
	rest.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific())
	rest.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific())
	if !rest.ReadOptionalASN1(&exts, &present, cbasn1.Tag(3).Constructed().ContextSpecific()) || !present || !exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return sans
	}
	for !exts.Empty() {
		var ext, value cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
			return sans
		}
		if !oid.Equal(oidSubjectAltName) {
			continue
		}
		ext.SkipOptionalASN1(cbasn1.BOOLEAN)
		var names cryptobyte.String
		if !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !value.ReadASN1(&names, cbasn1.SEQUENCE) {
			return sans
		}
		for !names.Empty() {
			var name cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&name, &tag) {
				break
			}
			switch tag {
			case cbasn1.Tag(1).ContextSpecific():
				sans.Email = append(sans.Email, string(name))
			case cbasn1.Tag(2).ContextSpecific():
				sans.DNS = append(sans.DNS, string(name))
			case cbasn1.Tag(6).ContextSpecific():
				sans.URI = append(sans.URI, string(name))
			case cbasn1.Tag(7).ContextSpecific():
				if len(name) == 4 || len(name) == 16 {
					sans.IP = append(sans.IP, net.IP(name).String())
				}
			}
		}
	}
	return sans
}
