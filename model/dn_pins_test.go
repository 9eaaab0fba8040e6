package model_test

import (
	"strings"
	"testing"

	"certgov/model"
	"certgov/model/demo"
)

func TestParseDNString(t *testing.T) {
	want := "cn=ledger service,ou=payments,o=example corp,c=de"
	for _, s := range []string{
		"CN=Ledger Service,OU=payments,O=Example Corp,C=DE",
		"cn=ledger service, ou=payments, o=Example Corp, c=DE",
		"CN = Ledger  Service ; OU=payments;O=Example Corp;C=DE",
		"/C=DE/O=Example Corp/OU=payments/CN=Ledger Service",
		`OID.2.5.4.3=Ledger Service,OU=payments,O="Example Corp",C=DE`,
	} {
		dn, err := model.ParseDNString(s)
		if err != nil {
			t.Errorf("ParseDNString(%q): %v", s, err)
			continue
		}
		if got := dn.Normalized(); got != want {
			t.Errorf("ParseDNString(%q).Normalized() = %q, want %q", s, got, want)
		}
	}
	escaped, err := model.ParseDNString(`CN=a\,b\2bc+UID=7,O=x`)
	if err != nil {
		t.Fatal(err)
	}
	if escaped[0][0].Value != "a,b+c" || escaped[0][1].Type != "UID" || len(escaped) != 2 {
		t.Errorf("escapes and multi-valued RDNs: %+v", escaped)
	}
	for _, bad := range []string{"CN", "=x", "CN=a,,O=b", `CN=a\`, `CN="open`} {
		if _, err := model.ParseDNString(bad); err == nil {
			t.Errorf("ParseDNString(%q) accepted", bad)
		}
	}
}

// A certificate's DN, printed and read back, compares equal to itself.
func TestDNStringRoundTripsCertificateNames(t *testing.T) {
	g := demo.NewGenerator(9)
	c := facts(t, issue(t, g, demo.Template{CommonName: ` lead,"odd"+name#\ `, OrgUnit: "a;b", Org: "Ex=ample"}, nil))
	dn, err := model.ParseDNString(c.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if dn.Normalized() != c.SubjectNormalized {
		t.Errorf("round trip of %q: %q != %q", c.Subject, dn.Normalized(), c.SubjectNormalized)
	}
}

func TestParsePins(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	for _, s := range []string{fp, strings.ToUpper(fp), "sha256:" + fp, "SHA256:" + colons(fp), colons(strings.ToUpper(fp))} {
		v, alg, err := model.ParseFingerprintPin(s)
		if err != nil || v != fp || alg != "sha256" {
			t.Errorf("ParseFingerprintPin(%q) = %q %q %v", s, v, alg, err)
		}
	}
	if v, alg, err := model.ParseFingerprintPin(strings.Repeat("0F", 20)); err != nil || alg != "sha1" || v != strings.Repeat("0f", 20) {
		t.Errorf("SHA-1 pin: %q %q %v", v, alg, err)
	}
	for _, bad := range []string{"", "abc", "md5:" + fp, fp + "00", "zz" + fp[2:]} {
		if _, _, err := model.ParseFingerprintPin(bad); err == nil {
			t.Errorf("ParseFingerprintPin(%q) accepted", bad)
		}
	}
	const spki = "OuWzWk2oIGy/sSNQj7ahe9dUcvvlwpzUG5D75pVG6JM="
	for _, s := range []string{spki, strings.TrimRight(spki, "="), "sha256/" + spki, "OuWzWk2oIGy_sSNQj7ahe9dUcvvlwpzUG5D75pVG6JM"} {
		if got, err := model.ParseSPKIPin(s); err != nil || got != spki {
			t.Errorf("ParseSPKIPin(%q) = %q %v", s, got, err)
		}
	}
	if _, err := model.ParseSPKIPin("dG9vIHNob3J0"); err == nil {
		t.Error("a short SPKI hash was accepted")
	}
}

func colons(hex string) string {
	var parts []string
	for i := 0; i < len(hex); i += 2 {
		parts = append(parts, hex[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestTrustModelOf(t *testing.T) {
	const self, other = "aa", "bb"
	refs := func(kindAndAnchor ...any) []model.TrustRef {
		var out []model.TrustRef
		for i := 0; i < len(kindAndAnchor); i += 2 {
			kind, anchor := kindAndAnchor[i].(model.EntryKind), kindAndAnchor[i+1].(string)
			out = append(out, model.TrustRef{Kind: kind, Explicit: model.ExplicitTrust(kind, anchor, self, false)})
		}
		return out
	}
	cases := map[string][]model.TrustRef{
		model.TrustModelUntrusted:  nil,
		model.TrustModelSelfSigned: refs(model.EntryFingerprint, "", model.EntryRegistered, ""),
		model.TrustModelCA:         refs(model.EntryCA, other, model.EntrySubjectDN, other),
		model.TrustModelMixed:      refs(model.EntrySPKI, "", model.EntrySAN, other),
	}
	// A self-signed certificate listed in a CA file is its own anchor:
	// explicit trust, like a pin.
	cases[model.TrustModelSelfSigned+" (own anchor)"] = refs(model.EntryCA, self)
	for want, r := range cases {
		want, _, _ = strings.Cut(want, " ")
		if got := model.TrustModelOf(r); got != want {
			t.Errorf("TrustModelOf(%+v) = %q, want %q", r, got, want)
		}
	}
	if model.ExplicitTrust(model.EntryCA, self, self, true) {
		t.Error("a root CA that issued imported certificates is explicit trust of a client")
	}
}

// Envoy admits a certificate in a validation context only when its chain
// verifies to trusted_ca, one SAN matcher matches and one hash or SPKI pin
// matches (each when the context states it).
