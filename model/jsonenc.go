package model

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the record's JSON, byte for byte what encoding/json
// writes for it, without reflection: `ls -o json` writes one per
// certificate, and at 100,000 certificates reflection was a quarter of the
// time. TestAppendJSONMatchesEncodingJSON holds the two equal.
func (j *RecordJSON) AppendJSON(b []byte) []byte {
	return j.AppendJSONCached(b, nil)
}

// OptionalString is a string JSON writes as null when empty: in
// certgov's JSON an absent value (no owner, no comment yet) is null,
// never "".
type OptionalString string

// MarshalJSON writes null for "", else the string as encoding/json does.
func (s OptionalString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// JSONCache remembers the JSON of trust references and source paths: the
// same few hundred of them repeat across every certificate of an estate,
// and were three quarters of the bytes `ls -o json` wrote at 100,000
// certificates. It holds at most jsonCacheLimit of each and starts over
// when full: a list of a million pins names each pin once, and the few
// references that repeat are soon cached again.
type JSONCache struct {
	refs    map[TrustRef]string
	strings map[string]string
}

const jsonCacheLimit = 1 << 12

func (c *JSONCache) appendString(b []byte, s string) []byte {
	if c == nil {
		return appendJSONString(b, s)
	}
	return appendCached(&c.strings, s, b, func(b []byte) []byte { return appendJSONString(b, s) })
}

func (c *JSONCache) appendTrustRef(b []byte, t TrustRef) []byte {
	if c == nil {
		return appendTrustRef(b, t)
	}
	return appendCached(&c.refs, t, b, func(b []byte) []byte { return appendTrustRef(b, t) })
}

// appendCached appends the JSON cached for key, encoding and remembering
// it the first time (jsonCacheLimit keys at most).
func appendCached[K comparable](cache *map[K]string, key K, b []byte, encode func([]byte) []byte) []byte {
	if q, ok := (*cache)[key]; ok {
		return append(b, q...)
	}
	start := len(b)
	b = encode(b)
	if *cache == nil {
		*cache = map[K]string{}
	}
	if len(*cache) >= jsonCacheLimit {
		clear(*cache)
	}
	(*cache)[key] = string(b[start:])
	return b
}

func appendTrustRef(b []byte, t TrustRef) []byte {
	b = append(b, '{')
	if t.Server != "" {
		b = append(b, `"server":`...)
		b = appendJSONString(b, t.Server)
		b = append(b, ',')
	}
	b = append(b, `"source":`...)
	b = appendJSONString(b, t.Source)
	b = appendField(b, "kind", string(t.Kind))
	b = appendField(b, "entry", t.Entry)
	if t.Location != "" {
		b = appendField(b, "location", t.Location)
	}
	if t.Anchor != "" {
		b = appendField(b, "anchor", t.Anchor)
	}
	b = appendBool(b, "explicit", t.Explicit)
	if t.RefusedNow != "" {
		b = appendField(b, "refused_now", t.RefusedNow)
	}
	if t.Reach != "" {
		b = appendField(b, "reach", t.Reach)
	}
	return append(b, '}')
}

// AppendJSONCached is AppendJSON with repeated parts taken from cache
// (nil: none).
func (j *RecordJSON) AppendJSONCached(b []byte, cache *JSONCache) []byte {
	b = append(b, `{"fingerprint_sha256":`...)
	b = appendJSONString(b, j.FingerprintSHA256)
	b = appendField(b, "fingerprint_sha1", j.FingerprintSHA1)
	b = appendField(b, "spki_sha256", j.SPKISHA256)
	b = appendField(b, "subject", j.Subject)
	b = appendField(b, "issuer", j.Issuer)
	b = appendOptional(b, "common_name", j.CommonName)
	b = appendField(b, "serial", j.Serial)
	b = appendField(b, "not_before", j.NotBefore)
	b = appendField(b, "not_after", j.NotAfter)
	b = appendField(b, "key_algorithm", j.KeyAlgorithm)
	b = append(b, `,"key_size":`...)
	b = strconv.AppendInt(b, int64(j.KeySize), 10)
	if j.KeyCurve != "" {
		b = appendField(b, "key_curve", j.KeyCurve)
	}
	b = appendField(b, "signature_algorithm", j.SignatureAlgorithm)
	b = appendBool(b, "self_signed", j.SelfSigned)
	b = appendBool(b, "self_issued", j.SelfIssued)
	b = appendBool(b, "ca", j.CA)
	b = appendBool(b, "basic_constraints_ca", j.BasicConstraintsCA)
	if j.Malformed != "" {
		b = appendField(b, "malformed", j.Malformed)
	}
	b = append(b, `,"sans":{"dns":`...)
	b = appendStrings(b, j.SANs.DNS)
	b = append(b, `,"uri":`...)
	b = appendStrings(b, j.SANs.URI)
	b = append(b, `,"ip":`...)
	b = appendStrings(b, j.SANs.IP)
	b = append(b, `,"email":`...)
	b = appendStrings(b, j.SANs.Email)
	b = append(b, `},"key_usage":`...)
	b = appendStrings(b, j.KeyUsage)
	b = append(b, `,"ext_key_usage":`...)
	b = appendStrings(b, j.ExtKeyUsage)
	b = appendOptional(b, "subject_key_id", j.SubjectKeyID)
	b = appendOptional(b, "authority_key_id", j.AuthorityKeyID)
	b = appendField(b, "identity", j.Identity)
	b = appendField(b, "identity_key", j.IdentityKey)
	b = append(b, `,"sources":`...)
	b = appendList(b, j.Sources, cache.appendString)
	b = appendBool(b, "current", j.Current)
	b = append(b, `,"findings":`...)
	b = appendStrings(b, j.Findings)
	b = append(b, `,"trust":`...)
	b = appendList(b, j.Trust, cache.appendTrustRef)
	b = appendField(b, "trust_model", j.TrustModel)
	b = appendBool(b, "revoked", j.Revoked)
	b = appendOptional(b, "owner", j.Owner)
	b = append(b, `,"expires_at":`...)
	if j.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *j.ExpiresAt)
	}
	b = append(b, `,"exception":`...)
	if e := j.Exception; e == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"state":`...)
		b = appendJSONString(b, e.State)
		b = appendField(b, "reason", e.Reason)
		if e.Until != "" {
			b = appendField(b, "until", e.Until)
		}
		b = appendField(b, "decided_by", e.DecidedBy)
		b = appendField(b, "decided_at", e.DecidedAt)
		b = append(b, '}')
	}
	b = append(b, `,"last_seen":`...)
	if j.LastSeen == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *j.LastSeen)
	}
	b = append(b, `,"logs_cover":`...)
	if j.LogsCover == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"from":`...)
		b = appendJSONString(b, j.LogsCover.From)
		b = appendField(b, "until", j.LogsCover.Until)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendOptional appends a field that is null when absent.
func appendOptional(b []byte, name string, value OptionalString) []byte {
	if value == "" {
		b = append(b, ',', '"')
		b = append(b, name...)
		return append(b, `":null`...)
	}
	return appendField(b, name, string(value))
}

func appendBool(b []byte, name string, value bool) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, value)
}

func appendStrings(b []byte, values []string) []byte {
	return appendList(b, values, appendJSONString)
}

// appendList writes a JSON array (null for a nil slice, as encoding/json
// does) with appendOne for each element.
func appendList[T any](b []byte, values []T, appendOne func([]byte, T) []byte) []byte {
	if values == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, v)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// control characters, <, > and & as \u00XX (\n, \r, \t and \b, \f by
// name), invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most strings need no escaping: skip eight plain bytes at a time.
		if i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// plainWord reports whether none of the eight bytes in w needs escaping:
// no control character, nothing outside ASCII, no '"', '\\', '<', '>'
// or '&' (the usual "has a zero byte" bit tricks, per byte value).
func plainWord(w uint64) bool {
	hasZero := func(x uint64) uint64 { return (x - lowBits) &^ x & highBits }
	below0x20 := (w - 0x20*lowBits) &^ w & highBits
	special := hasZero(w^('"'*lowBits)) | hasZero(w^('\\'*lowBits)) | hasZero(w^('<'*lowBits)) |
		hasZero(w^('>'*lowBits)) | hasZero(w^('&'*lowBits))
	return (w&highBits)|below0x20|special == 0
}

// MarshalJSON writes the finding as AppendJSON does: an owner absent is
// null.
func (f Finding) MarshalJSON() ([]byte, error) { return f.AppendJSON(nil), nil }

// AppendJSON appends the finding's JSON, byte for byte what encoding/json
// writes for its fields, the owner null when absent
// (TestFindingAppendJSONMatchesEncodingJSON).
func (f Finding) AppendJSON(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, f.Code)
	b = appendField(b, "severity", string(f.Severity))
	if f.FingerprintSHA256 != "" {
		b = appendField(b, "fingerprint_sha256", f.FingerprintSHA256)
	}
	if f.Identity != "" {
		b = appendField(b, "identity", f.Identity)
	}
	b = appendOptional(b, "owner", OptionalString(f.Owner))
	if f.Source != "" {
		b = appendField(b, "source", f.Source)
	}
	if f.Location != "" {
		b = appendField(b, "location", f.Location)
	}
	b = appendField(b, "message", f.Message)
	b = append(b, `,"frameworks":`...)
	b = appendStrings(b, f.Frameworks)
	return append(b, '}')
}
