package model

import (
	"cmp"
	"fmt"
	"strings"
)

// SortOrder is how ls orders certificates (ls --sort FIELD[,-FIELD]):
// fields in turn, each ascending, or descending after a "-"; ties keep
// the listing's own order (identity, then expiry).
type SortOrder []SortField

// SortField is one field of a SortOrder.
type SortField struct {
	Name       string
	Descending bool
	field      *sortable
}

// sortable is a field certificates can be sorted by: text (compared
// without case) or a number.
type sortable struct {
	name, help string
	text       func(r *Record, findings []Finding) string
	number     func(r *Record, findings []Finding) int64
}

// SortFields are the fields ls --sort takes, in the order help lists them.
var SortFields = []sortable{
	{name: "identity", help: "identity name", text: func(r *Record, _ []Finding) string { return r.IdentityName }},
	{name: "owner", help: "owner (unowned first)", text: func(r *Record, _ []Finding) string { return r.Owner }},
	{name: "expires", help: "certificate notAfter, soonest first", number: func(r *Record, _ []Finding) int64 { return r.NotAfter.Unix() }},
	{name: "issued", help: "certificate notBefore, oldest first", number: func(r *Record, _ []Finding) int64 { return r.NotBefore.Unix() }},
	{name: "attest-by", help: "governance expiration, soonest first (unset last)", number: func(r *Record, _ []Finding) int64 {
		if r.ExpiresAt.IsZero() {
			return 1 << 62
		}
		return r.ExpiresAt.Unix()
	}},
	{name: "trust", help: "CA-signed, self-signed, …", text: func(r *Record, _ []Finding) string { return r.SigningShort() }},
	{name: "issuer", help: "issuer DN", text: func(r *Record, _ []Finding) string { return r.Issuer }},
	{name: "subject", help: "subject DN", text: func(r *Record, _ []Finding) string { return r.Subject }},
	{name: "key", help: "key algorithm and size", text: func(r *Record, _ []Finding) string { return r.KeyLabel() }},
	{name: "severity", help: "worst finding, critical first (none last)", number: func(_ *Record, findings []Finding) int64 {
		worst := int64(SeverityRank(SeverityLow) + 1)
		for _, f := range findings {
			worst = min(worst, int64(SeverityRank(f.Severity)))
		}
		return worst
	}},
	{name: "findings", help: "number of findings, fewest first", number: func(_ *Record, findings []Finding) int64 { return int64(len(findings)) }},
	{name: "fingerprint", help: "SHA-256 fingerprint", text: func(r *Record, _ []Finding) string { return r.FingerprintSHA256 }},
}

// SortHelp lists the sort fields as help text, one a line.
func SortHelp(indent string) string {
	var b strings.Builder
	for _, f := range SortFields {
		fmt.Fprintf(&b, "%s%-12s %s\n", indent, f.name, f.help)
	}
	return b.String()
}

// ParseSortOrder reads "owner,-expires": field names, comma-separated,
// each descending after a "-".
func ParseSortOrder(spec string) (SortOrder, error) {
	var order SortOrder
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		name, descending := strings.CutPrefix(part, "-")
		name = strings.ToLower(strings.TrimPrefix(name, "+"))
		var field *sortable
		for i := range SortFields {
			if SortFields[i].name == name {
				field = &SortFields[i]
			}
		}
		if field == nil {
			names := make([]string, len(SortFields))
			for i, f := range SortFields {
				names[i] = f.name
			}
			return nil, fmt.Errorf("sort field %q: want one of %s, each optionally after - for descending", Printable(part), strings.Join(names, ", "))
		}
		order = append(order, SortField{Name: name, Descending: descending, field: field})
	}
	return order, nil
}

// SortKey is a certificate's values for a SortOrder.
type SortKey []SortValue

// SortValue is one field's value: text or number.
type SortValue struct {
	text   string
	number int64
}

// Key is r's key in the order. Its text is copied: keys outlive records.
func (o SortOrder) Key(r *Record, findings []Finding) SortKey {
	key := make(SortKey, len(o))
	for i, f := range o {
		if f.field.text != nil {
			key[i].text = strings.Clone(strings.ToLower(f.field.text(r, findings)))
		} else {
			key[i].number = f.field.number(r, findings)
		}
	}
	return key
}

// Compare orders two keys of the order: negative when a comes first.
func (o SortOrder) Compare(a, b SortKey) int {
	for i, f := range o {
		c := strings.Compare(a[i].text, b[i].text)
		if c == 0 {
			c = cmp.Compare(a[i].number, b[i].number)
		}
		if f.Descending {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
