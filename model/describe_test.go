package model

import "testing"

// A campaign's scope reads in words: each term's meaning from the table
// ls --help prints, with its value.
func TestFilterDescribe(t *testing.T) {
	for expr, want := range map[string]string{
		"":                       "every identity",
		"!ca":                    "not: acts as a CA",
		"selfsigned !ca":         "self-signed; and not: acts as a CA",
		"owner:none expires<30d": "no owner; and expires within 30d",
		"issuer:Acme payments":   `issuer DN contains "Acme"; and CN, subject, identity or a SAN contains "payments"`,
		"finding:expired":        `has that finding: "expired"`,
		"key:rsa":                `key algorithm: "rsa"`,
		"owner:payments@x.com":   `owner contains "payments@x.com"`,
	} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Describe(); got != want {
			t.Errorf("%q: %q, want %q", expr, got, want)
		}
	}
}
