package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// ls --sort orders every format alike: by the fields in turn, "-" for
// descending, ties in the listing's own order; what it spills to disk
// meanwhile is gone afterwards; an unknown field is a usage error.
func TestLsSort(t *testing.T) {
	demoDatabase(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	type row struct {
		Fingerprint string `json:"fingerprint_sha256"`
		Owner       string `json:"owner"`
		NotAfter    string `json:"not_after"`
	}
	list := func(args ...string) []row {
		t.Helper()
		r := certgov(t, append([]string{"ls", "-o", "json"}, args...)...)
		var rows []row
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 {
			t.Fatalf("ls %v: %d %v %s", args, r.code, err, r.stderr)
		}
		return rows
	}
	plain := list()
	sorted := list("--sort", "owner,-expires")
	if len(sorted) != len(plain) || len(plain) < 100 {
		t.Fatalf("%d rows sorted, %d not", len(sorted), len(plain))
	}
	// What the order must be, from the unsorted listing: a stable sort.
	want := slices.Clone(plain)
	slices.SortStableFunc(want, func(a, b row) int {
		if c := strings.Compare(strings.ToLower(a.Owner), strings.ToLower(b.Owner)); c != 0 {
			return c
		}
		return strings.Compare(b.NotAfter, a.NotAfter)
	})
	if !slices.Equal(sorted, want) {
		for i := range want {
			if sorted[i] != want[i] {
				t.Fatalf("row %d is %+v, want %+v", i, sorted[i], want[i])
			}
		}
	}
	if slices.Equal(sorted, plain) {
		t.Fatal("sorting changed nothing: the test proves nothing")
	}

	records, err := csv.NewReader(strings.NewReader(certgov(t, "ls", "--sort", "owner,-expires", "-o", "csv").stdout)).ReadAll()
	if err != nil || len(records) != len(want)+1 {
		t.Fatalf("csv: %d records, %v", len(records), err)
	}
	table := strings.Split(strings.TrimSpace(certgov(t, "ls", "--sort", "owner,-expires").stdout), "\n")
	for i, w := range want {
		if records[i+1][0] != w.Fingerprint {
			t.Fatalf("csv row %d is %s, want %s", i+1, records[i+1][0], w.Fingerprint)
		}
		if !strings.HasPrefix(table[i+1], w.Fingerprint[:12]) {
			t.Fatalf("table row %d is %q, want %s first", i+1, table[i+1], w.Fingerprint[:12])
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("ls --sort left %s behind", left[0].Name())
	}

	bad := certgov(t, "ls", "--sort", "owner,colour")
	if bad.code != 2 || !strings.Contains(bad.stderr, `sort field "colour"`) || !strings.Contains(bad.stderr, "expires") {
		t.Errorf("an unknown field: %d %q", bad.code, bad.stderr)
	}
}
