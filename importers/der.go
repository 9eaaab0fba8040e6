package importers

import (
	"crypto/x509"
)

// readDER reads a file holding one DER certificate.
func (r *reader) readDER(data []byte) error {
	if looksLikeCRL(data) {
		r.res.Skipped = "certificate revocation list, not a certificate"
		return nil
	}
	r.addCertificate(data, 0, "")
	return nil
}

func looksLikeCRL(data []byte) bool {
	_, err := x509.ParseRevocationList(data)
	return err == nil
}
