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
// that CA is known.
func (r *reader) readCRL(der []byte, line int, location string) error {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		if line > 0 {
			r.problem(line, location, fmt.Errorf("CRL: %w", err))
			return nil
		}
		return fmt.Errorf("CRL: %w", err)
	}
	issuer, err := model.ParseRawDN(crl.RawIssuer)
	if err != nil {
		return fmt.Errorf("CRL issuer: %w", err)
	}
	c := model.CRL{
		Issuer: issuer.String(), IssuerNormalized: issuer.Normalized(),
		ThisUpdate: crl.ThisUpdate.UTC(), NextUpdate: crl.NextUpdate.UTC(), DER: der, Location: location,
	}
	for i, entry := range crl.RevokedCertificateEntries {
		if i%4096 == 0 && r.interrupted() {
			return r.ctx.Err()
		}
		c.Revoked = append(c.Revoked, model.Revoked{Serial: model.SerialHex(entry.SerialNumber), RevokedAt: entry.RevocationTime.UTC()})
	}
	r.res.CRLs = append(r.res.CRLs, c)
	return nil
}

func looksLikeCRL(data []byte) bool {
	_, err := x509.ParseRevocationList(data)
	return err == nil
}
