package model

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// CanonicalName is a name as four eyes and lookalike-name compare it: the
// characters Printable escapes as invisible dropped, NFKC (fullwidth and
// compatibility forms), lower case, then Unicode TR39's confusable
// skeleton, so that "аlice" (Cyrillic а), "ALICE", "alice" with a soft
// hyphen and "alice" are one name. The skeleton comes from Unicode's own
// confusables.txt (github.com/mtibben/confusables), not a hand-made list.
// The database computes the same (certgov_canonical_name, whose table
// ConfusableSkeletons fills).
func CanonicalName(s string) string {
	s = strings.Map(func(r rune) rune {
		if hidden(r) {
			return -1
		}
		return r
	}, s)
	s = strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
	return confusables.Skeleton(s)
}

// ConfusableSkeletons is TR39's table as certgov_canonical_name reads it:
// each character that is its own NFD form, mapped to its skeleton where
// that differs from it.
var ConfusableSkeletons = sync.OnceValue(func() map[string]string {
	table := map[string]string{}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		ch := string(r)
		if norm.NFD.String(ch) != ch {
			continue
		}
		if sk := confusables.Skeleton(ch); sk != ch {
			table[ch] = sk
		}
	}
	return table
})

// Lookalikes groups names by CanonicalName and returns, for each name
// whose canonical form another, different name shares, those others:
// "ledger.payments.svc" and "ledger.payments.svc" with a soft hyphen
// name each other. Names alone in their group are left out.
func Lookalikes(names []string) map[string][]string {
	groups := map[string][]string{}
	for _, n := range names {
		c := CanonicalName(n)
		if !slices.Contains(groups[c], n) {
			groups[c] = append(groups[c], n)
		}
	}
	out := map[string][]string{}
	for _, group := range groups {
		if len(group) < 2 {
			continue
		}
		slices.Sort(group)
		for _, n := range group {
			for _, other := range group {
				if other != n {
					out[n] = append(out[n], other)
				}
			}
		}
	}
	return out
}
