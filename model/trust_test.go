package model_test

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/cmd/certgov/demo"
	"certgov/model"
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

func TestTrustIndex(t *testing.T) {
	g := demo.NewGenerator(11)
	ca := issue(t, g, demo.Template{CommonName: "Workload CA", CA: true}, nil)
	ledger := facts(t, issue(t, g, demo.Template{CommonName: "ledger", Org: "Example",
		URIs: []string{"spiffe://corp.example/ns/payments/sa/ledger"}, DNSNames: []string{"Ledger.Payments.example"}}, ca))
	partner := facts(t, issue(t, g, demo.Template{CommonName: "partner-acme", Emails: []string{"ops@ACME.example"}}, nil))
	caFacts := facts(t, ca)

	entries := []model.TrustEntry{
		{Kind: model.EntryFingerprint, Value: partner.FingerprintSHA256, HashAlgorithm: "sha256", Location: "line 1"},
		{Kind: model.EntryFingerprint, Value: partner.FingerprintSHA1, HashAlgorithm: "sha1", Location: "line 2"},
		{Kind: model.EntrySPKI, Value: ledger.SPKISHA256, Location: "line 3"},
		{Kind: model.EntryCA, Value: caFacts.FingerprintSHA256, Location: "line 4"},
		{Kind: model.EntrySubjectDN, Value: "cn=LEDGER, o=example", Location: "line 5"},
		{Kind: model.EntrySubjectDN, Value: "CN=partner-.*", Match: model.MatchRegex, Location: "line 6"},
		{Kind: model.EntrySAN, SANType: "dns", Value: "ledger.payments.EXAMPLE.", Location: "line 7"},
		{Kind: model.EntrySAN, SANType: "uri", Value: "spiffe://corp.example/ns/payments/", Match: model.MatchPrefix, Location: "line 8"},
		{Kind: model.EntrySAN, SANType: "email", Value: "ops@acme.example", Location: "line 9"},
		{Kind: model.EntrySAN, SANType: "uri", Value: `spiffe://corp\.example/ns/[a-z]+/sa/ledger`, Match: model.MatchRegex, Location: "line 10"},
		{Kind: model.EntryFingerprint, Value: strings.Repeat("0", 64), HashAlgorithm: "sha256", Location: "line 11"},
		{Kind: model.EntrySAN, SANType: "dns", Value: "(", Match: model.MatchRegex, Location: "line 12"},
	}
	ix, errs := model.NewTrustIndex(entries, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 12") {
		t.Fatalf("errors %v, want the bad pattern on line 12", errs)
	}
	locations := func(indexes []int) []string {
		var out []string
		for _, i := range indexes {
			out = append(out, ix.Entries()[i].Location)
		}
		slices.Sort(out)
		return out
	}
	anchors, roots := x509.NewCertPool(), map[string]bool{caFacts.FingerprintSHA256: true}
	anchors.AddCert(ca.Cert)
	chain := model.VerifyChain(mustParse(t, ledger.DER), anchors, x509.NewCertPool(), roots)
	if len(chain.Ends) != 1 || chain.Ends[0] != (model.ChainEnd{Anchor: caFacts.FingerprintSHA256, Root: true}) {
		t.Fatalf("VerifyChain = %+v", chain)
	}
	ledgerEval := ix.Evaluate(&ledger, chain)
	if got, want := locations(admittedEntries(ledgerEval)), []string{"line 10", "line 3", "line 4", "line 5", "line 7", "line 8"}; !slices.Equal(got, want) {
		t.Errorf("ledger admitted by %v, want %v", got, want)
	}
	// RFC 8705 §2.1: a name rule is looked at only after the chain
	// verified. The self-signed partner matches the DN pattern and the
	// email SAN, and is admitted by its pins alone.
	partnerChain := model.VerifyChain(mustParse(t, partner.DER), anchors, x509.NewCertPool(), roots)
	if partnerChain.Verified() {
		t.Errorf("a self-signed certificate chains to %+v", partnerChain)
	}
	partnerEval := ix.Evaluate(&partner, partnerChain)
	if got, want := locations(admittedEntries(partnerEval)), []string{"line 1", "line 2"}; !slices.Equal(got, want) {
		t.Errorf("partner admitted by %v, want %v", got, want)
	}
	if got, want := locations(partnerEval.Unverified), []string{"line 6", "line 9"}; !slices.Equal(got, want) {
		t.Errorf("partner's name matches without a chain %v, want %v", got, want)
	}
}

// A file of many pattern rules and a certificate of many names cannot
// multiply into minutes: past the per-certificate bound the rest of the
// rules are counted as untried (and reported), while the usual handful of
// rules and names is always decided in full.
func TestPatternWorkIsBounded(t *testing.T) {
	many := model.Certificate{Subject: "CN=many-names", SANs: model.SANs{}}
	for i := range 2000 {
		many.SANs.DNS = append(many.SANs.DNS, fmt.Sprintf("host-%d.hostile.example", i))
	}
	var entries []model.TrustEntry
	for i := range 500 {
		entries = append(entries, model.TrustEntry{Kind: model.EntrySAN, SANType: "dns", Match: model.MatchRegex,
			Value: fmt.Sprintf(`(a|b)*x%d\.example`, i), Location: fmt.Sprintf("line %d", i+1)})
	}
	entries = append(entries, model.TrustEntry{Kind: model.EntrySAN, SANType: "dns", Match: model.MatchSuffix,
		Value: ".hostile.example", Location: "line 501"})
	ix, errs := model.NewTrustIndex(entries, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ev := ix.Evaluate(&many, model.Chain{})
	if ev.Untried == 0 || ev.Untried > len(entries) {
		t.Fatalf("Untried = %d, want the rules past the bound (of %d)", ev.Untried, len(entries))
	}
	if len(ev.Unverified) != 0 {
		t.Errorf("the matching suffix rule lies past the bound, yet was tried: %v", ev.Unverified)
	}

	few := many
	few.SANs.DNS = many.SANs.DNS[:5]
	ev = ix.Evaluate(&few, model.Chain{})
	if ev.Untried != 0 || len(ev.Unverified) != 1 || ix.Entries()[ev.Unverified[0]].Location != "line 501" {
		t.Fatalf("5 names: Untried %d, unverified %v; want every rule tried and the suffix rule matched", ev.Untried, ev.Unverified)
	}

	s := &model.CertificateSubject{Record: model.Record{Certificate: many, PatternRulesUntried: 7}, TrustChecked: true}
	var found bool
	for _, f := range model.CertificateFindings(s, model.DefaultPolicy(), time.Now()) {
		found = found || (f.Code == model.FindingTrustIncomplete && strings.Contains(f.Message, "2000 names") && strings.Contains(f.Message, "7 pattern rules"))
	}
	if !found {
		t.Error("no trust-incomplete finding naming the names and the untried rules")
	}
}

func admittedEntries(ev model.Evaluation) []int {
	var out []int
	for _, a := range ev.Admitted {
		out = append(out, a.Entry)
	}
	return out
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
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
func TestAllOfContext(t *testing.T) {
	g := demo.NewGenerator(11)
	ca := issue(t, g, demo.Template{CommonName: "Mesh CA", CA: true}, nil)
	caFacts := facts(t, ca)
	leaf := facts(t, issue(t, g, demo.Template{CommonName: "pay", URIs: []string{"spiffe://mesh/pay"}}, ca))
	other := facts(t, issue(t, g, demo.Template{CommonName: "ops", URIs: []string{"spiffe://mesh/ops"}}, ca))
	partner := facts(t, issue(t, g, demo.Template{CommonName: "partner"}, nil))
	context := func(scope string, entries ...model.TrustEntry) []model.TrustEntry {
		for i := range entries {
			entries[i].Source, entries[i].Scope, entries[i].AllOf = "envoy.yaml", scope, true
		}
		return entries
	}
	entries := append(context("validation context line 1",
		model.TrustEntry{Kind: model.EntryCA, Value: caFacts.FingerprintSHA256, Match: model.MatchPartialChain},
		model.TrustEntry{Kind: model.EntrySAN, SANType: "uri", Value: "spiffe://mesh/", Match: model.MatchPrefix},
		model.TrustEntry{Kind: model.EntrySPKI, Value: leaf.SPKISHA256},
		model.TrustEntry{Kind: model.EntrySPKI, Value: partner.SPKISHA256},
	), context("validation context line 9",
		model.TrustEntry{Kind: model.EntryFingerprint, Value: partner.FingerprintSHA256, HashAlgorithm: "sha256"},
	)...)
	ix, errs := model.NewTrustIndex(entries, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	chained := model.Chain{Ends: []model.ChainEnd{{Anchor: caFacts.FingerprintSHA256, Root: true}}}
	for name, tc := range map[string]struct {
		c                    *model.Certificate
		chain                model.Chain
		admitted, unverified int
	}{
		"chain, SAN and pin":        {&leaf, chained, 3, 0},
		"chain and SAN, not pinned": {&other, chained, 0, 0},
		"pinned in a context with a CA it does not chain to; pinned alone in the other": {&partner, model.Chain{}, 1, 1},
	} {
		ev := ix.Evaluate(tc.c, tc.chain)
		if len(ev.Admitted) != tc.admitted || len(ev.Unverified) != tc.unverified {
			t.Errorf("%s: admitted %v, unverified %v", name, ev.Admitted, ev.Unverified)
		}
	}
}
