package model_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"certgov/model"
)

// At every moment, the period that holds it names the certificate
// CurrentIndex picks then: random identities of up to five overlapping,
// gapped, equal-dated versions, probed at random seconds and at every
// boundary.
func TestCurrentPeriodsAgreeWithCurrentIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for trial := range 2000 {
		certs := make([]model.Certificate, 1+rng.IntN(5))
		for i := range certs {
			from := base + rng.Int64N(100)
			certs[i] = model.Certificate{FingerprintSHA256: fmt.Sprint(i), NotBefore: time.Unix(from, 0), NotAfter: time.Unix(from+rng.Int64N(60), 0)}
		}
		periods := model.CurrentPeriods(certs)
		var probes []int64
		for range 50 {
			probes = append(probes, base-10+rng.Int64N(200))
		}
		for _, c := range certs {
			probes = append(probes, c.NotBefore.Unix()-1, c.NotBefore.Unix(), c.NotAfter.Unix(), c.NotAfter.Unix()+1)
		}
		for _, at := range probes {
			want := certs[model.CurrentIndex(certs, time.Unix(at, 0))].FingerprintSHA256
			var got []string
			for _, p := range periods {
				if p.From <= at && at < p.Until {
					got = append(got, p.Fingerprint)
				}
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("trial %d at %d: periods give %v, CurrentIndex %s\n%+v", trial, at, got, want, periods)
			}
		}
	}
}
