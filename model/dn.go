package model

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"sort"
	"strings"
)

// attributeNames maps the attribute types of RFC 4514 §3 and the ones
// OpenSSL, nginx and Keycloak print by name. Go's pkix.Name.String() prints
// UID and emailAddress as dotted OIDs, which would make the same DN look
// different depending on which tool wrote it.
var attributeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.17":                   "postalCode",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.97":                   "organizationIdentifier",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
}

// attributeOIDs is the reverse of attributeNames, keyed by lower-case name,
// plus the aliases other tools write.
var attributeOIDs = func() map[string]string {
	m := map[string]string{"e": "1.2.840.113549.1.9.1", "email": "1.2.840.113549.1.9.1", "s": "2.5.4.8", "userid": "0.9.2342.19200300.100.1.1", "surname": "2.5.4.4", "givenname": "2.5.4.42"}
	for oid, name := range attributeNames {
		m[strings.ToLower(name)] = oid
	}
	return m
}()

// Attribute is one type=value pair of a distinguished name.
type Attribute struct {
	Type  string // short name (CN, O, …) or dotted OID when unnamed
	Value string
	// Encoded is set when Value is "#" and the hex of a non-string DER
	// value, written as-is per RFC 4514 §2.4.
	Encoded bool
}

// RDN is one relative distinguished name; usually a single attribute.
type RDN []Attribute

// DN is a distinguished name in RFC 4514 order: the most specific RDN first.
type DN []RDN

// ParseRawDN decodes a DER Name (a certificate's RawSubject or RawIssuer).
func ParseRawDN(raw []byte) (DN, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, asn1.SyntaxError{Msg: "trailing data after Name"}
	}
	dn := make(DN, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		rdn := make(RDN, 0, len(seq[i]))
		for _, atv := range seq[i] {
			value, encoded := attributeValueString(atv.Value)
			rdn = append(rdn, Attribute{Type: attributeTypeName(atv.Type), Value: value, Encoded: encoded})
		}
		dn = append(dn, rdn)
	}
	return dn, nil
}

func attributeTypeName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	if name, ok := attributeNames[s]; ok {
		return name
	}
	return s
}

func attributeValueString(v any) (value string, encoded bool) {
	if s, ok := v.(string); ok {
		return s, false
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return "", false
	}
	return "#" + hex.EncodeToString(der), true
}

// String renders the DN as RFC 4514 text, e.g. "CN=ledger,OU=payments,O=Example".
func (dn DN) String() string {
	var b strings.Builder
	for i, rdn := range dn {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range rdn {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(a.Type)
			b.WriteByte('=')
			if a.Encoded {
				b.WriteString(a.Value)
			} else {
				b.WriteString(escapeDNValue(a.Value))
			}
		}
	}
	return b.String()
}

// escapeDNValue applies the escaping rules of RFC 4514 §2.4.
func escapeDNValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '"' || r == '+' || r == ',' || r == ';' || r == '<' || r == '>' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case i == 0 && (r == ' ' || r == '#'):
			b.WriteByte('\\')
			b.WriteRune(r)
		case i == len(s)-1 && r == ' ':
			b.WriteString("\\ ")
		case r == 0:
			b.WriteString("\\00")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// First returns the first value of the attribute type (e.g. "CN"), or "".
func (dn DN) First(attrType string) string {
	for _, rdn := range dn {
		for _, a := range rdn {
			if strings.EqualFold(a.Type, attrType) {
				return a.Value
			}
		}
	}
	return ""
}

// Normalized is the comparison form of the DN in the spirit of RFC 4517
// distinguishedNameMatch with caseIgnoreMatch values: attribute types by
// OID-backed short name, values trimmed, inner white space folded, case
// folded, and the attributes of a multi-valued RDN sorted.
func (dn DN) Normalized() string {
	parts := make([]string, 0, len(dn))
	for _, rdn := range dn {
		attrs := make([]string, 0, len(rdn))
		for _, a := range rdn {
			attrs = append(attrs, normalizeType(a.Type)+"="+normalizeValue(a.Value))
		}
		sort.Strings(attrs)
		parts = append(parts, strings.Join(attrs, "+"))
	}
	return strings.Join(parts, ",")
}

func normalizeType(t string) string {
	lower := strings.ToLower(strings.TrimSpace(t))
	lower = strings.TrimPrefix(lower, "oid.")
	if oid, ok := attributeOIDs[lower]; ok {
		return strings.ToLower(attributeNames[oid])
	}
	if name, ok := attributeNames[lower]; ok {
		return strings.ToLower(name)
	}
	return lower
}

func normalizeValue(v string) string {
	return strings.ToLower(strings.Join(strings.Fields(v), " "))
}
