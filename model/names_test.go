package model

import (
	"fmt"
	"strings"
	"testing"
)

func TestCanonicalName(t *testing.T) {
	same := [][2]string{
		{"alice", "\u0430lice"}, // Cyrillic а
		{"alice", "ALICE"},      // case
		{"ledger.payments.svc", "ledger.payments.svc\u00ad"}, // soft hyphen
		{"ledger.payments.svc", "ledger.pay\u200bments.svc"}, // zero-width space
		{"ops", "ｏｐｓ"},                                        // fullwidth (NFKC)
		{"svc-1", "svc-l"},                                    // digit one, letter l
		{"bob", "b\u034fob\ufe0f"},                            // CGJ, variation selector
		{"paypal", "p\u0430yp\u0430l"},                        // Cyrillic а twice
		{"team\u3164", "team"},                                // Hangul filler
		{"ops\U000E0041", "ops"},                              // tag character
		{"eve\u2800", "eve"},                                  // braille blank
		{"carol\u180b", "carol"},                              // Mongolian variation selector
		{"dave\u17b4", "dave"},                                // Khmer inherent vowel
		{"frank\u115f", "frank"},                              // Hangul choseong filler
		{"grace\uffa0", "grace"},                              // halfwidth Hangul filler
		{"heidi\u2060", "heidi"},                              // word joiner
		{"ivan\ufeff", "ivan"},                                // BOM
		{"judy\u200d", "judy"},                                // zero-width joiner
		{"mallory\u00ad\u034f", "mallory"},                    // both
		{"oscar", "\u043esc\u0430r"},                          // Cyrillic о, а
		{"peggy", "p\u0435ggy"},                               // Cyrillic е
		{"trent", "tr\u0435nt"},                               // Cyrillic е
		{"victor", "vict\u043er"},                             // Cyrillic о
		{"walter", "w\u0430lter"},                             // Cyrillic а
		{"payments.example.com", "payments.ex\u0430mple.com"}, // Cyrillic а
		{"ci-runner", "ci\u2010runner"},                       // hyphen U+2010
	}
	for _, p := range same {
		if CanonicalName(p[0]) != CanonicalName(p[1]) {
			t.Errorf("%q and %q differ: %q, %q", p[0], p[1], CanonicalName(p[0]), CanonicalName(p[1]))
		}
	}
	for _, p := range [][2]string{{"alice", "bob"}, {"svc-a", "svc-b"}, {"payments", "payment"}} {
		if CanonicalName(p[0]) == CanonicalName(p[1]) {
			t.Errorf("%q and %q are one name", p[0], p[1])
		}
	}
}

func BenchmarkCanonicalName(b *testing.B) {
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d.payments.example.com", i)
	}
	for b.Loop() {
		for _, n := range names {
			CanonicalName(n)
		}
	}
}

func TestCheckUniqueKeys(t *testing.T) {
	for doc, ok := range map[string]bool{
		`{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}`: true,
		`{"items": [], "items": [1]}`:                        false,
		`{"a": 1, "\u0061": 2}`:                              false,
		`{"x": {"k": "a", "k": "b"}}`:                        false,
		`[{"a": "\"a\"", "b": "a,\"a\":"}]`:                  true,
		`{"s": "}{", "s2": "{\"s\": 1}"}`:                    true,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k3":3}`: false,
	} {
		err := CheckUniqueKeys(strings.NewReader(doc))
		if (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
