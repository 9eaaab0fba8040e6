package model_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"certgov/model"
)

// A split CRL reads as crypto/x509 reads it whole: the header parses to the
// same issuer, dates and signature algorithm, the signature checks over
// what was signed, and the entries give the same serials and dates, with
// or without entry extensions, in UTCTime and GeneralizedTime.
func TestSplitCRLReadsAsX509(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	caTemplate := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Split CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	negative, _ := new(big.Int).SetString("-80", 16)
	huge, _ := new(big.Int).SetString("7f00112233445566778899aabbccddeeff001122", 16)
	entries := []x509.RevocationListEntry{
		{SerialNumber: big.NewInt(0x1f2e), RevocationTime: now.Add(-time.Hour)},
		{SerialNumber: huge, RevocationTime: now.Add(-2 * time.Hour), ReasonCode: 1},
		{SerialNumber: negative, RevocationTime: time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC)}, // GeneralizedTime
		{SerialNumber: big.NewInt(0), RevocationTime: now},
	}
	for name, list := range map[string][]x509.RevocationListEntry{"entries": entries, "none": nil} {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(7), ThisUpdate: now,
			NextUpdate: now.AddDate(0, 0, 7), RevokedCertificateEntries: list}, ca, key)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := model.SplitCRL(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		header, err := x509.ParseRevocationList(parts.Header)
		if err != nil {
			t.Fatalf("%s: the header does not parse: %v", name, err)
		}
		if string(header.RawIssuer) != string(whole.RawIssuer) || !header.ThisUpdate.Equal(whole.ThisUpdate) ||
			!header.NextUpdate.Equal(whole.NextUpdate) || header.SignatureAlgorithm != whole.SignatureAlgorithm ||
			header.Number.Cmp(whole.Number) != 0 || len(header.RevokedCertificateEntries) != 0 {
			t.Errorf("%s: header %+v, whole %+v", name, header, whole)
		}
		if len(list) > 0 && header.CheckSignatureFrom(ca) == nil {
			t.Errorf("%s: the header's signature checks: it should not, the entries are signed too", name)
		}
		header.RawTBSRevocationList = parts.TBS
		if err := header.CheckSignatureFrom(ca); err != nil {
			t.Errorf("%s: the signature over what was signed: %v", name, err)
		}
		var got []model.Revoked
		for r, err := range model.EachRevoked(parts.Entries) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, r)
		}
		if len(got) != len(whole.RevokedCertificateEntries) {
			t.Fatalf("%s: %d entries, x509 reads %d", name, len(got), len(whole.RevokedCertificateEntries))
		}
		for i, e := range whole.RevokedCertificateEntries {
			if want := (model.Revoked{Serial: model.SerialHex(e.SerialNumber), RevokedAt: e.RevocationTime.UTC()}); got[i] != want {
				t.Errorf("%s: entry %d = %+v, x509 reads %+v", name, i, got[i], want)
			}
		}
		// Cut anywhere, the list is refused, never read in part or with
		// a panic.
		for n := range len(der) {
			parts, err := model.SplitCRL(der[:n])
			if err != nil {
				continue
			}
			for _, err := range model.EachRevoked(parts.Entries) {
				if err != nil {
					break
				}
			}
			t.Errorf("%s: cut to %d of %d bytes, it split", name, n, len(der))
		}
	}
}
