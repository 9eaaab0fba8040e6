package store

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"certgov/model"
)

// Facts read back exactly as they were written, whether a digest is
// lowercase hex (stored as its bytes) or anything else a file held,
// whether names are derivable or known (format 3) or not, and rows
// written in formats 1 and 2 still read.
func TestFactsRoundTrip(t *testing.T) {
	base := model.Certificate{
		FingerprintSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		FingerprintSHA1:   "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
		SPKISHA256:        "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		Subject:           "CN=svc,O=Example", SubjectNormalized: "cn=svc,o=example",
		Issuer: "CN=CA", IssuerNormalized: "cn=ca", CommonName: "svc", Serial: "0a1b",
		KeyAlgorithm: "ECDSA", KeyCurve: "P-256", SignatureAlgorithm: "ECDSA-SHA256",
		SubjectKeyID: "", AuthorityKeyID: "0011ff",
		NotBefore: time.Unix(1700000000, 0).UTC(), NotAfter: time.Unix(1800000000, 0).UTC(), KeySize: 256,
		SANs:     model.SANs{DNS: []string{"svc.example"}},
		KeyUsage: []string{"digitalSignature", "keyEncipherment"}, ExtKeyUsage: []string{"clientAuth"},
	}
	odd := base
	odd.Serial, odd.SubjectKeyID, odd.AuthorityKeyID = "ABCDEF", "0a:1b", "abc"
	odd.KeyAlgorithm, odd.KeyCurve, odd.SignatureAlgorithm = "SM2", "SM2P256V1", "1.2.156.10197.1.501"
	odd.ExtKeyUsage = []string{"clientAuth", "1.3.6.1.4.1.311.20.2.2"}
	// Normalized names that are not the names in ASCII lower case: spaces
	// dropped, Unicode lowered.
	odd.Subject, odd.SubjectNormalized = "CN=Ünïcode Svc, O=Example", "cn=ünïcode svc,o=example"
	odd.Issuer, odd.IssuerNormalized = "CN=ÉCA", "cn=éca"
	selfSigned := base
	selfSigned.Issuer, selfSigned.IssuerNormalized = base.Subject, base.SubjectNormalized
	selfSigned.SelfIssued, selfSigned.SelfSigned = true, true
	unnamed := base
	unnamed.Subject, unnamed.SubjectNormalized, unnamed.Issuer, unnamed.IssuerNormalized = "", "", "", ""
	unnamed.KeyUsage, unnamed.ExtKeyUsage = nil, nil
	for _, c := range []model.Certificate{base, odd, selfSigned, unnamed} {
		for format := byte(1); format <= factsFormat; format++ {
			var got model.Certificate
			if err := decodeFacts(c.FingerprintSHA256, string(encodeFactsIn(format, &c)), &got); err != nil || !reflect.DeepEqual(got, c) {
				t.Errorf("format %d: %v\n got %+v\nwant %+v", format, err, got, c)
			}
		}
	}
	if len(encodeFactsIn(2, &base)) >= len(encodeFactsIn(1, &base))-80 {
		t.Errorf("format 2 takes %d bytes, format 1 %d: the digests should take half", len(encodeFactsIn(2, &base)), len(encodeFactsIn(1, &base)))
	}
	// Format 3 leaves out the fingerprint (33 bytes), the normalized
	// names (22) and writes the names (47) as a byte each.
	for _, c := range []model.Certificate{base, selfSigned} {
		if v2, v3 := len(encodeFactsIn(2, &c)), len(encodeFacts(&c)); v3 > v2-90 {
			t.Errorf("format 3 takes %d bytes, format 2 %d", v3, v2)
		}
	}
}

// Damaged facts are refused, never read past their end or with a name
// the list does not have.
func TestDamagedFactsRefused(t *testing.T) {
	c := model.Certificate{Subject: "CN=a", SubjectNormalized: "cn=a", KeyAlgorithm: "RSA", KeyUsage: []string{"digitalSignature"}}
	facts := encodeFacts(&c)
	for n := range len(facts) {
		var got model.Certificate
		if err := decodeFacts("fp", string(facts[:n]), &got); err == nil {
			t.Errorf("facts cut to %d of %d bytes read without an error", n, len(facts))
		}
	}
	// The last bytes are the key usage's name (index 25, as 25<<1|1) and
	// no extended key usage: index 200 instead.
	if facts[len(facts)-2] != 25<<1|1 || facts[len(facts)-1] != 0 {
		t.Fatalf("facts end in % x", facts[len(facts)-2:])
	}
	bad := append(binary.AppendUvarint(append([]byte{}, facts[:len(facts)-2]...), 200<<1|1), 0)
	if err := decodeFacts("fp", string(bad), new(model.Certificate)); err == nil {
		t.Error("a name index past the list read without an error")
	}
}
