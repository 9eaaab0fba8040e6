package trust_test

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	"certgov/model"
	"certgov/model/demo"
	"certgov/model/trust"
)

// The chain verifier must answer exactly as VerifyChain (x509.Verify on
// the whole chain) does: checked on every certificate of the demo estate
// and of a scaled estate (two roots, one P-384, four issuing CAs, expired
// and expiring leaves, self-signed partners) with all their CA
// certificates as anchors and intermediates.
func TestChainVerifierAgreesWithVerifyChain(t *testing.T) {
	estate, err := demo.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := demo.GenerateScale(time.Now(), 600, 3)
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*demo.Estate{"demo": estate, "scale": scaled} {
		var certs []*x509.Certificate
		seen := map[string]bool{}
		for _, data := range e.Files {
			for {
				var block *pem.Block
				block, data = pem.Decode(data)
				if block == nil {
					break
				}
				c, err := x509.ParseCertificate(block.Bytes)
				if block.Type != "CERTIFICATE" || err != nil || seen[string(c.Raw)] {
					continue
				}
				seen[string(c.Raw)] = true
				certs = append(certs, c)
			}
		}
		// Two trust set-ups: only self-signed anchors (CA-file rules), and
		// every CA an anchor too (truststore rules: partial chains).
		for _, partial := range []bool{false, true} {
			anchors, intermediates := x509.NewCertPool(), x509.NewCertPool()
			var anchorList, intermediateList []*x509.Certificate
			roots := map[string]bool{}
			for _, c := range certs {
				f, _ := model.FromX509(c)
				if f.SelfSigned || (partial && c.IsCA) {
					anchors.AddCert(c)
					anchorList = append(anchorList, c)
				}
				if f.SelfSigned {
					roots[f.FingerprintSHA256] = true
				}
				if c.IsCA {
					intermediates.AddCert(c)
					intermediateList = append(intermediateList, c)
				}
			}
			v := trust.NewChainVerifier(anchorList, intermediateList, roots)
			verified := 0
			for _, c := range certs {
				want := trust.VerifyChain(c, anchors, intermediates, roots)
				got := v.Verify(c)
				if !sameChain(got, want) {
					t.Errorf("%s (partial %v): %s: verifier %+v, VerifyChain %+v", name, partial, c.Subject, got, want)
				}
				if want.Verified() {
					verified++
				}
			}
			if verified < len(certs)/2 {
				t.Errorf("%s: only %d of %d certificates verified: the test checks little", name, verified, len(certs))
			}
		}
	}
}

// sameChain compares chain results regardless of the order of their ends.
func sameChain(a, b model.Chain) bool {
	if a.Problem != b.Problem || len(a.Ends) != len(b.Ends) {
		return false
	}
	for _, e := range a.Ends {
		if !slices.Contains(b.Ends, e) {
			return false
		}
	}
	return true
}
