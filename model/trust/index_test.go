package trust_test

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/model/demo"
	"certgov/model/trust"
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
	ix, errs := trust.NewIndex(entries, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 12") {
		t.Fatalf("errors %v, want the bad pattern on line 12", errs)
	}
	locations := func(indexes []int) []string {
		var out []string
		for _, i := range indexes {
			out = append(out, ix.Entry(i).Location)
		}
		slices.Sort(out)
		return out
	}
	anchors, roots := x509.NewCertPool(), map[string]bool{caFacts.FingerprintSHA256: true}
	anchors.AddCert(ca.Cert)
	chain := trust.VerifyChain(mustParse(t, ledger.DER), anchors, x509.NewCertPool(), roots)
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
	partnerChain := trust.VerifyChain(mustParse(t, partner.DER), anchors, x509.NewCertPool(), roots)
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
	ix, errs := trust.NewIndex(entries, nil)
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
	if ev.Untried != 0 || len(ev.Unverified) != 1 || ix.Entry(ev.Unverified[0]).Location != "line 501" {
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

func admittedEntries(ev trust.Evaluation) []int {
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
	ix, errs := trust.NewIndex(entries, nil)
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
