package store

import (
	"slices"
	"testing"
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
