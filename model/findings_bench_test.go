package model_test

import (
	"fmt"
	"testing"
	"time"

	"certgov/model"
)

// BenchmarkFindings computes the findings of 100,000 current certificates.
func BenchmarkFindings(b *testing.B) {
	now := time.Now()
	subjects := make([]model.CertificateSubject, 100_000)
	for i := range subjects {
		subjects[i] = model.CertificateSubject{
			Record: model.Record{Certificate: model.Certificate{
				FingerprintSHA256: fmt.Sprintf("%064x", i), IdentityName: fmt.Sprintf("svc-%d", i),
				KeyAlgorithm: []string{"RSA", "ECDSA", "Ed25519"}[i%3], KeySize: []int{1024, 256, 256}[i%3],
				SignatureAlgorithm: []string{"SHA256-RSA", "SHA1-RSA"}[i%2], SelfSigned: i%4 == 0, SelfIssued: i%4 == 0,
				NotBefore: now.AddDate(0, 0, -i%500), NotAfter: now.AddDate(0, 0, i%400-50),
			}, Trust: []model.TrustRef{{Kind: model.EntryFingerprint, Source: "pins.txt"}}},
			TrustChecked: true,
		}
	}
	policy := model.DefaultPolicy()
	b.ResetTimer()
	for range b.N {
		n := 0
		for i := range subjects {
			n += len(model.CertificateFindings(&subjects[i], policy, now))
		}
		if n == 0 {
			b.Fatal("no findings")
		}
	}
}
