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

// FuzzParseDNString: any text is read or refused without a panic, and a
// DN that was read prints as RFC 4514 text that reads back to the same
// name.
func FuzzParseDNString(f *testing.F) {
	for _, s := range []string{"CN=a,O=b", "/C=DE/O=x+OU=y/CN=z", `CN=a\,b\2bc+UID=7`, `O="q, r",CN=#0403616263`, "cn = x ; o = y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dn, err := ParseDNString(s)
		if err != nil {
			return
		}
		again, err := ParseDNString(dn.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not read back: %v", s, dn.String(), err)
		}
		if again.Normalized() != dn.Normalized() {
			t.Fatalf("%q: %q reads back as %q", s, dn.Normalized(), again.Normalized())
		}
	})
}
