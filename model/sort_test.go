package model

import (
	"testing"
	"time"
)

func TestSortOrder(t *testing.T) {
	order, err := ParseSortOrder("severity, -expires ,Owner")
	if err != nil {
		t.Fatal(err)
	}
	soon, late := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(owner string, notAfter time.Time) *Record {
		r := &Record{Owner: owner}
		r.NotAfter = notAfter
		return r
	}
	critical := []Finding{{Severity: SeverityLow}, {Severity: SeverityCritical}}
	a := order.Key(rec("Bob", soon), critical)
	b := order.Key(rec("alice", late), nil)
	c := order.Key(rec("alice", soon), critical)
	d := order.Key(rec("carol", soon), critical)
	for _, tc := range []struct {
		name string
		x, y SortKey
		want int
	}{
		{"a critical finding before none", a, b, -1},
		{"the later expiry first (-expires), before the owner", order.Key(rec("zed", late), critical), c, -1},
		{"same severity and expiry: by owner, without case", c, a, -1},
		{"Bob before carol", a, d, -1},
		{"equal", a, order.Key(rec("bob", soon), critical), 0},
	} {
		if got := order.Compare(tc.x, tc.y); got != tc.want || order.Compare(tc.y, tc.x) != -tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"", "owner,", "colour", "--expires", "owner;expires"} {
		if _, err := ParseSortOrder(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
