package main

import (
	"context"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/metrics"
)

// BenchmarkEstateMetrics measures a /metrics scrape on the scaled estate
// (demo.GenerateScale, as BenchmarkEstate): cold, a first scrape that
// reads the whole state; warm, a scrape while nothing changed, answered
// from the snapshot held (the audit head read, the exposition encoded).
//
//	go test -run '^$' -bench 'EstateMetrics/100k' -benchtime 5x ./cmd/certgov
func BenchmarkEstateMetrics(b *testing.B) {
	for _, size := range estateSizes {
		open := func(b *testing.B) *metrics.Exporter {
			s, err := store.Open(context.Background(), importedEstate(b, size.n)())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return metrics.NewExporter(s, metrics.Options{Policy: model.DefaultPolicy(), Within: metrics.DefaultWithin})
		}
		b.Run(size.name+"/cold", func(b *testing.B) {
			e := open(b)
			var ahead time.Duration
			e.Now = func() time.Time { return time.Now().Add(ahead) }
			b.ResetTimer()
			for range b.N {
				ahead += 2 * e.MaxAge // the snapshot held is too old: read anew
				families, err := e.Registry().Gather()
				if err != nil {
					b.Fatal(err)
				}
				for _, f := range families {
					switch f.GetName() {
					case "certgov_certificates", "certgov_identities":
						b.ReportMetric(f.Metric[0].GetGauge().GetValue(), f.GetName()[len("certgov_"):])
					case "certgov_identity_not_after_timestamp_seconds":
						b.ReportMetric(float64(len(f.Metric)), "expiry-series")
					}
				}
			}
		})
		b.Run(size.name+"/warm", func(b *testing.B) {
			e := open(b)
			if _, err := e.Registry().Gather(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := e.Registry().Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
