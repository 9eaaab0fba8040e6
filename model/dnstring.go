package model

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// ParseDNString reads a distinguished name as trust configurations write
// it: RFC 4514 / RFC 2253 ("CN=ledger,O=Example", the most specific RDN
// first, as RFC 8705 tls_client_auth_subject_dn, Keycloak and nginx's
// $ssl_client_s_dn write it), or OpenSSL's legacy slash form
// ("/O=Example/CN=ledger", the most general first, as nginx's
// $ssl_client_s_dn_legacy writes it). The result is in RFC 4514 order, so
// its Normalized form compares with a certificate's.
func ParseDNString(s string) (DN, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DN{}, nil
	}
	if strings.HasPrefix(s, "/") {
		return parseSlashDN(s)
	}
	var dn DN
	var rdn RDN
	var attrType, value strings.Builder
	inValue, encoded := false, false
	flushAttr := func() error {
		t := strings.TrimSpace(attrType.String())
		if !validAttributeType(t) {
			return fmt.Errorf("DN %q: %q is not an attribute type", s, t)
		}
		v := strings.TrimSpace(value.String())
		if encoded {
			if _, err := hex.DecodeString(v[1:]); err != nil || len(v) < 3 {
				return fmt.Errorf("DN %q: %q is not a #-prefixed hex encoding", s, v)
			}
		}
		rdn = append(rdn, Attribute{Type: canonicalType(t), Value: v, Encoded: encoded})
		attrType.Reset()
		value.Reset()
		inValue, encoded = false, false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !inValue && c == '=':
			inValue = true
			rest := strings.TrimLeft(s[i+1:], " ")
			encoded = strings.HasPrefix(rest, "#")
		case !inValue && (c == ',' || c == '+' || c == ';'):
			return nil, fmt.Errorf("DN %q: %q before any value", s, string(c))
		case !inValue:
			attrType.WriteByte(c)
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("DN %q: trailing backslash", s)
			}
			if i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
				b, _ := hex.DecodeString(s[i+1 : i+3])
				value.Write(b)
				i += 2
			} else {
				value.WriteByte(s[i+1])
				i++
			}
		case c == '"' && strings.TrimSpace(value.String()) == "":
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("DN %q: unclosed quote", s)
			}
			value.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '+':
			if err := flushAttr(); err != nil {
				return nil, err
			}
		case c == ',' || c == ';':
			if err := flushAttr(); err != nil {
				return nil, err
			}
			dn = append(dn, rdn)
			rdn = nil
		default:
			value.WriteByte(c)
		}
	}
	if !inValue {
		return nil, fmt.Errorf("DN %q: %q has no value", s, strings.TrimSpace(attrType.String()))
	}
	if err := flushAttr(); err != nil {
		return nil, err
	}
	return append(dn, rdn), nil
}

// parseSlashDN reads "/C=DE/O=Example/CN=ledger" (most general first,
// "+" joining multi-valued RDNs, "\" escaping).
func parseSlashDN(s string) (DN, error) {
	var rdns []RDN
	var rdn RDN
	var field strings.Builder
	flush := func(endRDN bool) error {
		t, v, ok := strings.Cut(field.String(), "=")
		field.Reset()
		if !ok || !validAttributeType(strings.TrimSpace(t)) {
			return fmt.Errorf("DN %q: expected TYPE=value", s)
		}
		rdn = append(rdn, Attribute{Type: canonicalType(strings.TrimSpace(t)), Value: strings.TrimSpace(v)})
		if endRDN {
			rdns = append(rdns, rdn)
			rdn = nil
		}
		return nil
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				field.WriteByte(s[i+1])
				i++
			}
		case '/', '+':
			if err := flush(c == '/'); err != nil {
				return nil, err
			}
		default:
			field.WriteByte(c)
		}
	}
	if err := flush(true); err != nil {
		return nil, err
	}
	dn := make(DN, len(rdns))
	for i, r := range rdns {
		dn[len(rdns)-1-i] = r
	}
	return dn, nil
}

// canonicalType spells a known attribute type the way certgov prints it
// (cn → CN, OID.2.5.4.3 → CN, e → emailAddress); others stay as written.
func canonicalType(t string) string {
	lower := strings.TrimPrefix(strings.ToLower(t), "oid.")
	if oid, ok := attributeOIDs[lower]; ok {
		return attributeNames[oid]
	}
	if name, ok := attributeNames[lower]; ok {
		return name
	}
	return t
}

// validAttributeType accepts RFC 4514 attribute types: a name (a letter,
// then letters, digits and hyphens) or a dotted OID, "OID." prefixed or not.
func validAttributeType(t string) bool {
	t = strings.TrimPrefix(strings.TrimPrefix(t, "OID."), "oid.")
	if t == "" {
		return false
	}
	if t[0] >= '0' && t[0] <= '9' {
		for _, part := range strings.Split(t, ".") {
			if part == "" || strings.Trim(part, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	for i, c := range t {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
