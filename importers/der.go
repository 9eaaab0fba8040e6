package importers

import (
	"crypto/x509"
	"fmt"

	"certgov/model"
)

// readDER reads a file holding one DER certificate.
func (r *reader) readDER(data []byte) error {
	if looksLikeCRL(data) {
		return r.readCRL(data, 0, "")
	}
	r.addCertificate(data, 0, "")
	return nil
}

// readCRL reads a certificate revocation list (DER, or a PEM block's
// bytes). Its signature is checked later, against the issuing CA, when
// that CA is known. crypto/x509 reads the list without its entries
// (model.SplitCRL), which are read here one at a time.
func (r *reader) readCRL(der []byte, line int, location string) error {
	refuse := func(err error) error {
		if line > 0 {
			r.problem(line, location, fmt.Errorf("CRL: %w", err))
			return nil
		}
		return fmt.Errorf("CRL: %w", err)
	}
	parts, err := model.SplitCRL(der)
	if err != nil {
		return refuse(err)
	}
	crl, err := x509.ParseRevocationList(parts.Header)
	if err != nil {
		return refuse(err)
	}
	issuer, err := model.ParseRawDN(crl.RawIssuer)
	if err != nil {
		return fmt.Errorf("CRL issuer: %w", err)
	}
	c := model.CRL{
		Issuer: issuer.String(), IssuerNormalized: issuer.Normalized(),
		ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(), DER: der, Location: location,
	}
	// Checked and counted here; the store reads them again as it writes
	// them.
	c.Entries = parts.Entries
	for _, err := range model.EachRevoked(parts.Entries) {
		if err != nil {
			return refuse(err)
		}
		if c.RevokedCount++; c.RevokedCount%4096 == 0 && r.interrupted() {
			return r.ctx.Err()
		}
	}
	r.res.CRLs = append(r.res.CRLs, c)
	return nil
}

// looksLikeCRL tells a CRL from a certificate by its structure
// (model.SplitCRL), without parsing its entries: parsing a CRL of a
// million serials to look at it took 250 MB. Both are SEQUENCE {
// SEQUENCE { … } … }; after the version (or a v1 certificate's serial),
// signature and issuer, a CRL has its thisUpdate time where a certificate
// has its validity or subject.
func looksLikeCRL(data []byte) bool {
	_, err := model.SplitCRL(data)
	return err == nil
}
