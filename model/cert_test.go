package model_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/model/demo"
)

var day = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func issue(t *testing.T, g *demo.Generator, tmpl demo.Template, parent *demo.Issued) *demo.Issued {
	t.Helper()
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = day.AddDate(0, -1, 0), day.AddDate(0, 2, 0)
	}
	c, err := g.Issue(tmpl, parent)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func facts(t *testing.T, i *demo.Issued) model.Certificate {
	t.Helper()
	c, err := model.ParseCertificate(i.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSelfSignedNeedsOwnSignature(t *testing.T) {
	g := demo.NewGenerator(1)
	self := facts(t, issue(t, g, demo.Template{CommonName: "partner-a", Org: "Partner"}, nil))
	if !self.SelfIssued || !self.SelfSigned {
		t.Fatalf("self-signed certificate: self_issued=%v self_signed=%v", self.SelfIssued, self.SelfSigned)
	}
	// A CA that issues a certificate with its own name to another key:
	// equal names, but the signature is not the certificate's own.
	ca := issue(t, g, demo.Template{CommonName: "same-name", CA: true}, nil)
	selfIssued := facts(t, issue(t, g, demo.Template{CommonName: "same-name"}, ca))
	if !selfIssued.SelfIssued || selfIssued.SelfSigned {
		t.Fatalf("self-issued, not self-verifying: self_issued=%v self_signed=%v", selfIssued.SelfIssued, selfIssued.SelfSigned)
	}
	if got := selfIssued.Signing(); got != "self-issued, not self-verifying" {
		t.Errorf("TrustModel = %q", got)
	}
	caSigned := facts(t, issue(t, g, demo.Template{CommonName: "svc"}, ca))
	if caSigned.SelfIssued || caSigned.SelfSigned || caSigned.Signing() != "CA-signed" {
		t.Errorf("CA-signed certificate classified as %q", caSigned.Signing())
	}
}

func TestSHA1SelfSignedIsStillSelfSigned(t *testing.T) {
	key, err := demo.RSAKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	c := facts(t, issue(t, demo.NewGenerator(2), demo.Template{CommonName: "legacy", Key: key, SHA1: true}, nil))
	if c.SignatureAlgorithm != "SHA1-RSA" {
		t.Fatalf("signature algorithm %q, want SHA1-RSA", c.SignatureAlgorithm)
	}
	if !c.SelfSigned {
		t.Error("a SHA-1 self-signed certificate must be classified self-signed")
	}
	// Tamper with the signature: no longer self-signed, still self-issued.
	der := append([]byte(nil), c.DER...)
	der[len(der)-5] ^= 0xff
	tampered, err := model.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if tampered.SelfSigned || !tampered.SelfIssued {
		t.Errorf("tampered SHA-1 certificate: self_signed=%v self_issued=%v", tampered.SelfSigned, tampered.SelfIssued)
	}
}

func TestCertificateFacts(t *testing.T) {
	g := demo.NewGenerator(3)
	c := facts(t, issue(t, g, demo.Template{
		CommonName: "ledger", OrgUnit: "payments", Org: "Example Corp",
		URIs: []string{"spiffe://corp.example/ns/payments/sa/ledger"}, DNSNames: []string{"ledger.local"},
		Emails: []string{"ops@example.com"}, Key: demo.Ed25519Key(),
	}, nil))
	checks := map[string][2]string{
		"subject":       {c.Subject, "CN=ledger,OU=payments,O=Example Corp"},
		"common name":   {c.CommonName, "ledger"},
		"key":           {c.KeyLabel(), "Ed25519"},
		"signature":     {c.SignatureAlgorithm, "Ed25519"},
		"identity name": {c.IdentityName, "ledger"},
		"identity key":  {c.IdentityKey, "cn=ledger,ou=payments,o=example corp|spiffe://corp.example/ns/payments/sa/ledger|key:" + c.SPKISHA256},
		"eku":           {strings.Join(c.ExtKeyUsage, ","), "clientAuth"},
		"uri":           {strings.Join(c.SANs.URI, ","), "spiffe://corp.example/ns/payments/sa/ledger"},
	}
	for name, got := range checks {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
	if len(c.FingerprintSHA256) != 64 || strings.ToLower(c.FingerprintSHA256) != c.FingerprintSHA256 || len(c.FingerprintSHA1) != 40 {
		t.Errorf("fingerprints %q %q", c.FingerprintSHA256, c.FingerprintSHA1)
	}
	if len(c.SPKISHA256) != 44 {
		t.Errorf("SPKI hash %q: want 44 base64 characters", c.SPKISHA256)
	}
	if !c.HasClientAuth() {
		t.Error("clientAuth EKU not recognised")
	}
}

func TestDNNamesAttributesGoPrintsAsOIDs(t *testing.T) {
	name := pkix.Name{
		CommonName: "svc, \"quoted\"",
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "uid-7"},
			{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "a@b.example"},
		},
	}
	raw, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	dn, err := model.ParseRawDN(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dn.String(), `emailAddress=a@b.example,UID=uid-7,CN=svc\, \"quoted\"`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestNormalizedDNIgnoresCaseAndSpacing(t *testing.T) {
	a := model.DN{{{Type: "CN", Value: "Ledger  Service "}}, {{Type: "O", Value: "Example"}}}
	b := model.DN{{{Type: "cn", Value: "ledger service"}}, {{Type: "2.5.4.10", Value: "EXAMPLE"}}}
	if a.Normalized() != b.Normalized() {
		t.Errorf("%q != %q", a.Normalized(), b.Normalized())
	}
	c := model.DN{{{Type: "O", Value: "Example"}}, {{Type: "CN", Value: "ledger service"}}}
	if a.Normalized() == c.Normalized() {
		t.Error("RDN order must matter")
	}
}

func TestCurrentIndexPrefersNewestValid(t *testing.T) {
	mk := func(nb, na int) model.Certificate {
		return model.Certificate{NotBefore: day.AddDate(0, 0, nb), NotAfter: day.AddDate(0, 0, na)}
	}
	cases := []struct {
		name  string
		certs []model.Certificate
		want  int
	}{
		{"empty", nil, -1},
		{"newest valid wins over older valid", []model.Certificate{mk(-100, 10), mk(-5, 300), mk(-200, -100)}, 1},
		{"valid wins over later-expiring but not yet valid", []model.Certificate{mk(10, 400), mk(-10, 20)}, 1},
		{"all expired: last to expire", []model.Certificate{mk(-300, -200), mk(-100, -2), mk(-400, -300)}, 1},
	}
	for _, tc := range cases {
		if got := model.CurrentIndex(tc.certs, day); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRelative(t *testing.T) {
	cases := map[time.Duration]string{
		5 * 24 * time.Hour:       "in 5d",
		-3 * 24 * time.Hour:      "3d ago",
		4 * time.Hour:            "in 4h",
		-30 * time.Minute:        "30m ago",
		3 * 365 * 24 * time.Hour: "in 3y",
		400 * 24 * time.Hour:     "in 400d",
	}
	for d, want := range cases {
		if got := model.Relative(day.Add(d), day); got != want {
			t.Errorf("Relative(%v) = %q, want %q", d, got, want)
		}
	}
}
