package model

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
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
// It walks the DER by hand rather than with encoding/asn1: every imported
// certificate has two names, and reflection made this a tenth of the
// import's cost.
func ParseRawDN(raw []byte) (DN, error) {
	seq, rest, ok := derElement(raw, tagSequence)
	if !ok || len(rest) != 0 {
		return nil, errMalformedName
	}
	var rdns []RDN
	for len(seq) > 0 {
		var set []byte
		if set, seq, ok = derElement(seq, tagSet); !ok {
			return nil, errMalformedName
		}
		var rdn RDN
		for len(set) > 0 {
			var atv, oid []byte
			if atv, set, ok = derElement(set, tagSequence); !ok {
				return nil, errMalformedName
			}
			if oid, atv, ok = derElement(atv, tagOID); !ok {
				return nil, errMalformedName
			}
			// Like crypto/x509, ignore anything after the value.
			tag, value, after, ok := derAnyElement(atv)
			if !ok {
				return nil, errMalformedName
			}
			full := atv[:len(atv)-len(after)]
			typeName, err := oidName(oid)
			if err != nil {
				return nil, err
			}
			text, encoded := attributeText(tag, value, full)
			rdn = append(rdn, Attribute{Type: typeName, Value: text, Encoded: encoded})
		}
		rdns = append(rdns, rdn)
	}
	// DER lists the most general RDN first; RFC 4514 the most specific.
	dn := make(DN, len(rdns))
	for i, rdn := range rdns {
		dn[len(rdns)-1-i] = rdn
	}
	return dn, nil
}

var errMalformedName = errors.New("malformed distinguished name")

const (
	tagOID      = 0x06
	tagSequence = 0x30
	tagSet      = 0x31
)

// derElement reads one element with the given tag byte.
func derElement(b []byte, tag byte) (content, rest []byte, ok bool) {
	got, content, rest, ok := derAnyElement(b)
	return content, rest, ok && got == tag
}

// derAnyElement reads one DER element: its tag byte, content and the rest.
func derAnyElement(b []byte) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f { // multi-byte tags do not occur in names
		return 0, nil, nil, false
	}
	tag, length, header := b[0], int(b[1]), 2
	if length >= 0x80 {
		n := length & 0x7f
		if n == 0 || n > 3 || len(b) < 2+n {
			return 0, nil, nil, false
		}
		length = 0
		for _, c := range b[2 : 2+n] {
			length = length<<8 | int(c)
		}
		header += n
	}
	if length > len(b)-header {
		return 0, nil, nil, false
	}
	return tag, b[header : header+length], b[header+length:], true
}

// oidName names an attribute type: its short name, or the dotted OID.
func oidName(der []byte) (string, error) {
	if len(der) == 0 || der[len(der)-1]&0x80 != 0 {
		return "", errMalformedName
	}
	var b strings.Builder
	var value uint64
	first := true
	for _, c := range der {
		if value > 1<<56 {
			return "", errMalformedName
		}
		value = value<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			first = false
			switch {
			case value < 40:
				b.WriteString("0.")
			case value < 80:
				b.WriteString("1.")
				value -= 40
			default:
				b.WriteString("2.")
				value -= 80
			}
		} else {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(value, 10))
		value = 0
	}
	oid := b.String()
	if name, ok := attributeNames[oid]; ok {
		return name, nil
	}
	return oid, nil
}

// attributeText decodes the string types of X.520; any other value is
// written as "#" and the hex of its DER, as RFC 4514 §2.4 says.
func attributeText(tag byte, value, full []byte) (string, bool) {
	switch tag {
	case 0x0c, 0x12, 0x13, 0x16, 0x1a: // UTF8, Numeric, Printable, IA5, Visible
		return string(value), false
	case 0x14: // T61String, read as ISO 8859-1 like encoding/asn1 does
		runes := make([]rune, len(value))
		for i, c := range value {
			runes[i] = rune(c)
		}
		return string(runes), false
	case 0x1e: // BMPString: UTF-16BE
		if len(value)%2 == 0 {
			units := make([]uint16, len(value)/2)
			for i := range units {
				units[i] = uint16(value[2*i])<<8 | uint16(value[2*i+1])
			}
			if n := len(units); n > 0 && units[n-1] == 0 { // a terminator, as Java writes
				units = units[:n-1]
			}
			return string(utf16.Decode(units)), false
		}
	case 0x1c: // UniversalString: UTF-32BE
		if len(value)%4 == 0 {
			runes := make([]rune, len(value)/4)
			for i := range runes {
				runes[i] = rune(binary.BigEndian.Uint32(value[4*i:]))
			}
			return string(runes), false
		}
	}
	return "#" + hex.EncodeToString(full), true
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

// AttributePattern is a regular expression that finds, in a DN's String,
// an attribute of the type (as String names it: "CN", "emailAddress")
// with exactly the value: how a server's test of one attribute (Apache's
// SSL_CLIENT_S_DN_CN == "x", stunnel's checkHost on the CN) becomes a
// subject-DN rule.
func AttributePattern(attrType, value string) string {
	return `(?:^|[^\\][,+])` + regexp.QuoteMeta(attrType+"="+escapeDNValue(value)) + `(?:[,+]|$)`
}
