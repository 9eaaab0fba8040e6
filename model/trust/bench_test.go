package trust_test

import (
	"fmt"
	"testing"

	"certgov/model"
	"certgov/model/trust"
)

// BenchmarkLink links 100,000 certificates against 20,000 trust entries:
// pins, SPKI hashes, DNs and exact SANs by hash lookup, plus 50 pattern
// entries tried per certificate.
func BenchmarkLink(b *testing.B) {
	const nCerts, nEntries, nPatterns = 100_000, 20_000, 50
	certs := make([]model.Certificate, nCerts)
	for i := range certs {
		certs[i] = model.Certificate{
			FingerprintSHA256: fmt.Sprintf("%064x", i*7919),
			FingerprintSHA1:   fmt.Sprintf("%040x", i*7919),
			SPKISHA256:        fmt.Sprintf("spki-%d", i/2),
			Subject:           fmt.Sprintf("CN=svc-%d,O=Corpus", i),
			SubjectNormalized: fmt.Sprintf("cn=svc-%d,o=corpus", i),
			SANs: model.SANs{
				DNS: []string{fmt.Sprintf("svc-%d.corp.example", i)},
				URI: []string{fmt.Sprintf("spiffe://corp.example/ns/team-%d/sa/svc-%d", i%50, i)},
			},
		}
	}
	entries := make([]model.TrustEntry, 0, nEntries)
	for i := 0; len(entries) < nEntries-nPatterns; i++ {
		c := &certs[(i*13)%nCerts]
		switch i % 5 {
		case 0, 1:
			entries = append(entries, model.TrustEntry{Kind: model.EntryFingerprint, Value: c.FingerprintSHA256, HashAlgorithm: "sha256"})
		case 2:
			entries = append(entries, model.TrustEntry{Kind: model.EntrySPKI, Value: c.SPKISHA256})
		case 3:
			entries = append(entries, model.TrustEntry{Kind: model.EntrySubjectDN, Value: c.Subject})
		case 4:
			entries = append(entries, model.TrustEntry{Kind: model.EntrySAN, SANType: "dns", Value: c.SANs.DNS[0]})
		}
	}
	for i := range nPatterns {
		match := model.MatchPrefix
		value := fmt.Sprintf("spiffe://corp.example/ns/team-%d/", i)
		if i%5 == 0 {
			match, value = model.MatchRegex, fmt.Sprintf(`spiffe://corp\.example/ns/team-%d/sa/.*`, i)
		}
		entries = append(entries, model.TrustEntry{Kind: model.EntrySAN, SANType: "uri", Value: value, Match: match})
	}
	b.ResetTimer()
	for range b.N {
		ix, errs := trust.NewIndex(entries, nil)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		admitted := 0
		for i := range certs {
			if len(ix.Evaluate(&certs[i], model.Chain{}).Admitted) > 0 {
				admitted++
			}
		}
		if admitted == 0 {
			b.Fatal("nothing admitted")
		}
	}
}
