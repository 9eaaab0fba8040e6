package store

import (
	"reflect"
	"slices"
	"testing"

	"certgov/model"
)

func TestDecodeStrings(t *testing.T) {
	cases := map[string][]string{
		`[]`:                                nil,
		`null`:                              nil,
		`["digitalSignature"]`:              {"digitalSignature"},
		`["clientAuth","serverAuth"]`:       {"clientAuth", "serverAuth"},
		`["1.2.3.4", "x"]`:                  {"1.2.3.4", "x"},
		`["quote \" inside","back\\slash"]`: {`quote " inside`, `back\slash`},
	}
	for text, want := range cases {
		got, err := decodeStrings(text)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("decodeStrings(%s) = %q, %v; want %q", text, got, err, want)
		}
	}
	if _, err := decodeStrings(`["open`); err == nil {
		t.Error("broken JSON accepted")
	}
}

// The stored linked state reads back as written, every field of it; a
// truncated value reads as empty rather than as part of itself.
func TestLinkedStateRoundTrip(t *testing.T) {
	anchors := []string{"aa", "bb"}
	index := map[string]int{"aa": 1, "bb": 2}
	st := linkedState{
		Refs:       []storedRef{{Entry: 7, Anchor: "bb", Explicit: true}, {Entry: -1}},
		ActsAsCA:   true,
		Revoked:    "crl.pem",
		Ends:       []model.ChainEnd{{Anchor: "aa", Root: true}},
		Problem:    "issuer never imported",
		Unverified: []string{"matches dns x"},
		Mimics:     []string{"ledger"},
		Sources:    []int64{3, 9},
		Untried:    12,
	}
	got := decodeState(string(encodeState(st, index)), anchors)
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("read back %+v\nwant %+v", got, st)
	}
	b := encodeState(st, index)
	if cut := decodeState(string(b[:len(b)/2]), anchors); !reflect.DeepEqual(cut, linkedState{}) {
		t.Errorf("a truncated state read as %+v", cut)
	}
}
