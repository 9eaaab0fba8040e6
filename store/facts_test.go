package store

import (
	"reflect"
	"testing"
	"time"

	"certgov/model"
)

// Facts read back exactly as they were written, whether a digest is
// lowercase hex (stored as its bytes) or anything else a file held, and
// rows written in format 1 (digests as text) still read.
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
		KeyUsage: []string{"digitalSignature"}, ExtKeyUsage: []string{"clientAuth"},
	}
	odd := base
	odd.Serial, odd.SubjectKeyID, odd.AuthorityKeyID = "ABCDEF", "0a:1b", "abc"
	for _, c := range []model.Certificate{base, odd} {
		var got model.Certificate
		facts := encodeFacts(&c)
		if err := decodeFacts(string(facts), &got); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("format 2: %v\n got %+v\nwant %+v", err, got, c)
		}
		got = model.Certificate{}
		if err := decodeFacts(string(encodeFactsIn(1, &c)), &got); err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("format 1: %v\n got %+v\nwant %+v", err, got, c)
		}
	}
	if len(encodeFacts(&base)) >= len(encodeFactsIn(1, &base))-80 {
		t.Errorf("format 2 takes %d bytes, format 1 %d: the digests should take half", len(encodeFacts(&base)), len(encodeFactsIn(1, &base)))
	}
}
