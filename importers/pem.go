package importers

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// readPEM reads every PEM block of a file. Text around the blocks (an
// `openssl x509 -text` dump, comments) is ignored; block types that are
// not certificates or keys (CSRs, CRLs, parameters) are skipped.
func (r *reader) readPEM(data []byte) error {
	rest := data
	offset := 0
	for {
		idx := bytes.Index(rest, pemBegin)
		if idx < 0 {
			return nil
		}
		line := 1 + bytes.Count(data[:offset+idx], []byte{'\n'})
		block, after := pem.Decode(rest[idx:])
		if block == nil {
			r.problem(line, "", errors.New("malformed PEM block (truncated, or bad base64)"))
			skip := idx + len(pemBegin)
			rest = rest[skip:]
			offset += skip
			continue
		}
		consumed := len(rest) - len(after)
		r.readPEMBlock(block, line)
		rest = after
		offset += consumed
	}
}

func (r *reader) readPEMBlock(block *pem.Block, line int) {
	location := fmt.Sprintf("line %d", line)
	switch block.Type {
	case "CERTIFICATE", "X509 CERTIFICATE":
		r.addCertificate(block.Bytes, line, location)
	case "TRUSTED CERTIFICATE":
		// OpenSSL's trusted form: the certificate followed by its trust
		// settings. Only the certificate counts.
		var cert asn1.RawValue
		if _, err := asn1.Unmarshal(block.Bytes, &cert); err != nil {
			r.problem(line, location, fmt.Errorf("trusted certificate cannot be parsed: %w", err))
			return
		}
		r.addCertificate(cert.FullBytes, line, location)
	case "X509 CRL":
		r.readCRL(block.Bytes, line, location)
	case "PKCS7", "CERTIFICATE CHAIN":
		ders, err := pkcs7Certificates(block.Bytes)
		if err != nil {
			r.problem(line, location, err)
			return
		}
		for i, der := range ders {
			r.addCertificate(der, line, fmt.Sprintf("line %d, certificate %d", line, i+1))
		}
	default:
		if fact, ok := privateKeyFromPEM(block); ok {
			fact.Location = location
			r.res.Keys = append(r.res.Keys, fact)
		}
	}
}
