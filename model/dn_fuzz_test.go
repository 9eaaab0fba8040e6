package model

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// FuzzParseRawDN holds the hand-written DER walker to the answers of
// encoding/asn1: wherever the reference reads a name, ParseRawDN must read
// the same one (it may be more lenient, never different).
func FuzzParseRawDN(f *testing.F) {
	for _, name := range []pkix.Name{
		{CommonName: "svc", Organization: []string{"Example"}, Country: []string{"DE"}},
		{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: 42}}},
		{SerialNumber: "0042", OrganizationalUnit: []string{"a+b", "c,d"}},
	} {
		raw, err := asn1.Marshal(name.ToRDNSequence())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ParseRawDN(raw)
		want, refErr := referenceParseRawDN(raw)
		if refErr != nil {
			return
		}
		if err != nil {
			t.Fatalf("reference reads %q, ParseRawDN fails: %v", want.String(), err)
		}
		if got.String() != want.String() {
			t.Fatalf("ParseRawDN = %q, reference %q", got.String(), want.String())
		}
	})
}
