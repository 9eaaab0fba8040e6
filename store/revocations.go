package store

import (
	"context"
	"crypto/x509"
	"time"

	"certgov/model"
)

// Revocation says that a CRL revokes a certificate.
type Revocation struct {
	RevokedAt time.Time
	CRL       string // the file the CRL came from
	// Verified: the CRL's signature was checked against its issuing CA.
	// A CRL whose CA is not imported is used unverified; one that its
	// known CA does not verify is not used at all.
	Verified bool
}

// RevocationKey is how revocations are looked up: the issuer's normalised
// DN and the serial number.
func RevocationKey(issuerNormalized, serial string) string { return issuerNormalized + "|" + serial }

// Revocations maps RevocationKey to the revocation, from every current
// CRL that can be trusted, of the imported certificates it revokes.
func (s *Store) Revocations(ctx context.Context) (map[string]Revocation, error) {
	type crl struct {
		id               int64
		issuerNormalized string
		path             string
		der              []byte
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.issuer_normalized, s.path, c.der FROM crls c
		JOIN sources s ON s.id = c.source_id WHERE s.superseded_at IS NULL`)
	if err != nil {
		return nil, err
	}
	var crls []crl
	for rows.Next() {
		var c crl
		if err := rows.Scan(&c.id, &c.issuerNormalized, &c.path, &c.der); err != nil {
			rows.Close()
			return nil, err
		}
		crls = append(crls, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := map[string]Revocation{}
	for _, c := range crls {
		verified, usable, err := s.checkCRL(ctx, c.issuerNormalized, c.der)
		if err != nil {
			return nil, err
		}
		if !usable {
			continue
		}
		// Only what revokes an imported certificate (the only serials
		// linking looks up): its certificates by the issuer's index, each
		// a lookup in the CRL's serials. A list of a million serials that
		// name none of them costs nothing here (it took 160 MB held).
		rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT r.serial, r.revoked_at FROM certificates cert
			JOIN revocations r ON r.crl_id = ? AND r.serial = cert.serial
			WHERE cert.issuer_normalized = ?`, c.id, c.issuerNormalized)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var serial string
			var at int64
			if err := rows.Scan(&serial, &at); err != nil {
				rows.Close()
				return nil, err
			}
			key := RevocationKey(c.issuerNormalized, serial)
			if prev, ok := out[key]; !ok || (verified && !prev.Verified) {
				out[key] = Revocation{RevokedAt: unixUTC(at), CRL: c.path, Verified: verified}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkCRL verifies a CRL's signature with the imported CA certificates
// named as its issuer.
func (s *Store) checkCRL(ctx context.Context, issuerNormalized string, der []byte) (verified, usable bool, err error) {
	// Parsed without its entries (a million serials took 200 MB), then
	// checked over what was signed, entries included.
	parts, err := model.SplitCRL(der)
	if err != nil {
		return false, false, nil
	}
	list, err := x509.ParseRevocationList(parts.Header)
	if err != nil {
		return false, false, nil
	}
	list.RawTBSRevocationList = parts.TBS
	rows, err := s.db.QueryContext(ctx, `SELECT der FROM certificates WHERE subject_normalized = ? AND is_ca = 1`, issuerNormalized)
	if err != nil {
		return false, false, err
	}
	defer rows.Close()
	known := false
	for rows.Next() {
		var caDER []byte
		if err := rows.Scan(&caDER); err != nil {
			return false, false, err
		}
		ca, err := x509.ParseCertificate(caDER)
		if err != nil {
			continue
		}
		known = true
		if list.CheckSignatureFrom(ca) == nil {
			return true, true, nil
		}
	}
	return false, !known, rows.Err()
}
