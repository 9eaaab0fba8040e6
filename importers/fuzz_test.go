package importers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"certgov/importers"
)

// FuzzParse feeds arbitrary bytes to every reader, detected and forced:
// bad input must come back as an error for that file, never a panic, and
// a failed file must yield nothing. Seeds: the interop fixtures; the
// corpus of found inputs lives in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "interop", "*"))
	for _, pattern := range []string{"*", "*/*"} {
		trustSeeds, _ := filepath.Glob(filepath.Join("testdata", "trust", pattern))
		seeds = append(seeds, trustSeeds...)
	}
	for _, path := range seeds {
		if data, err := os.ReadFile(path); err == nil && filepath.Ext(path) != ".sh" {
			f.Add(data)
		}
	}
	defer importers.LimitIterations(20_000)()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range append([]string{""}, importers.Kinds...) {
			opts := importers.Options{Kind: kind, Password: []byte(interopPassword)}
			res := importers.Parse(context.Background(), "fuzz.bin", data, opts, true)
			if res.Err != nil && (!res.Empty() || len(res.Problems) > 0) {
				t.Fatalf("kind %q: failed file yields data", kind)
			}
			if res.Err == nil && res.Skipped == "" && res.Empty() && len(res.Problems) == 0 {
				t.Fatalf("kind %q: neither data nor an error", kind)
			}
		}
	})
}
