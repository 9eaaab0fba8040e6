package importers

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// PKCS#7 SignedData as written by `openssl crl2pkcs7 -nocrl` and Windows
// (.p7b/.p7c): a certificates-only "degenerate" bundle. The certificates
// are returned as raw DER so that one Go cannot parse is reported on its
// own instead of failing the whole bundle.
type pkcs7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue
}

func (r *reader) readPKCS7(data []byte) error {
	ders, err := pkcs7Certificates(data)
	if err != nil {
		return err
	}
	for i, der := range ders {
		if r.interrupted() {
			return r.ctx.Err()
		}
		r.addCertificate(der, 0, fmt.Sprintf("certificate %d", i+1))
	}
	return nil
}

func pkcs7Certificates(data []byte) ([][]byte, error) {
	var ci pkcs7ContentInfo
	if _, err := asn1.Unmarshal(data, &ci); err != nil {
		return nil, fmt.Errorf("PKCS#7: %w", err)
	}
	if !ci.ContentType.Equal(oidSigned) {
		return nil, fmt.Errorf("PKCS#7: content type %s is not signedData", ci.ContentType)
	}
	var sd pkcs7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 signedData: %w", err)
	}
	var ders [][]byte
	rest := sd.Certificates.Bytes
	for len(rest) > 0 {
		var elem asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &elem)
		if err != nil {
			return nil, fmt.Errorf("PKCS#7 certificates: %w", err)
		}
		// CertificateChoices also allows [0..3]-tagged legacy forms
		// (extended and attribute certificates): not X.509 certificates.
		if elem.Class == asn1.ClassUniversal && elem.Tag == asn1.TagSequence {
			ders = append(ders, elem.FullBytes)
		}
	}
	if len(ders) == 0 {
		return nil, errors.New("PKCS#7 bundle holds no certificates")
	}
	return ders, nil
}
