package model

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// AttestationSchema is the JSON Schema of attestation.json, shipped in
// every evidence bundle so that an auditor can validate it with any tool.
//
//go:embed schema/attestation.schema.json
var AttestationSchema []byte

// ValidateJSON checks a JSON document against the subset of JSON Schema
// the attestation schema uses: type (one or several), required,
// properties, items, enum and const. It returns the first violation with
// its JSON path.
func ValidateJSON(schema, document []byte) error {
	return ValidateJSONFrom(schema, bytes.NewReader(document))
}

// ValidateJSONFrom is ValidateJSON reading the document from r. Objects
// are walked key by key and arrays element by element, so that checking
// the attestation of 100,000 certificates (hundreds of MiB) holds one
// element at a time, not the tree. A document must be one
// JSON value, with nothing after it.
func ValidateJSONFrom(schema []byte, r io.Reader) error {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil || s == nil {
		return errors.New("schema: not a JSON object")
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := validateFrom(dec, s, "$"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("$: more data after the document")
	}
	return nil
}

// validateFrom validates the next value of dec against s (nil: anything).
func validateFrom(dec *json.Decoder, s map[string]any, path string) error {
	t, _ := s["type"].(string)
	_, hasConst := s["const"]
	_, hasEnum := s["enum"]
	if s == nil {
		return skipValue(dec, path)
	}
	if hasConst || hasEnum || (t != "object" && t != "array") {
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: not JSON: %w", path, err)
		}
		return validate(s, v, path)
	}
	open := json.Delim('{')
	if t == "array" {
		open = '['
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: not JSON: %w", path, err)
	}
	if tok != open {
		return fmt.Errorf("%s: want %s, got %s", path, t, tokenType(tok))
	}
	if t == "array" {
		// Each element is decoded whole (one small value at a time) and
		// checked as a tree: walking every element token by token costs
		// several times more.
		items, _ := s["items"].(map[string]any)
		for i := 0; dec.More(); i++ {
			var v any
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("%s[%d]: not JSON: %w", path, i, err)
			}
			if err := validate(items, v, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	} else {
		props, _ := s["properties"].(map[string]any)
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%s: not JSON: %w", path, err)
			}
			key, _ := tok.(string)
			seen[key] = true
			sub, _ := props[key].(map[string]any)
			if err := validateFrom(dec, sub, path+"."+key); err != nil {
				return err
			}
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if name, ok := r.(string); ok && !seen[name] {
				return fmt.Errorf("%s: missing %q", path, name)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing } or ]
		return fmt.Errorf("%s: not JSON: %w", path, err)
	}
	return nil
}

// skipValue reads past the next value without building it.
func skipValue(dec *json.Decoder, path string) error {
	if err := SkipJSON(dec); err != nil {
		return fmt.Errorf("%s: not JSON: %w", path, err)
	}
	return nil
}

// SkipJSON reads past the decoder's next value without building it.
func SkipJSON(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// tokenType names the JSON type a token starts.
func tokenType(tok json.Token) string {
	switch tok {
	case json.Delim('{'):
		return "object"
	case json.Delim('['):
		return "array"
	}
	return jsonType(tok)
}

func validate(s map[string]any, v any, path string) error {
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s: want %v, got %s", path, t, jsonType(v))
	}
	if c, ok := s["const"]; ok && !sameJSON(c, v) {
		return fmt.Errorf("%s: want %v, got %v", path, c, v)
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || sameJSON(x, v)
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", path, v, e)
		}
	}
	switch val := v.(type) {
	case map[string]any:
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" && !hasKey(val, name) {
					return fmt.Errorf("%s: missing %q", path, r)
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, _ := props[k].(map[string]any)
			if x, ok := val[k]; ok {
				if err := validate(sub, x, path+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range val {
				if err := validate(items, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func typeMatches(t, v any) bool {
	switch tt := t.(type) {
	case string:
		return jsonType(v) == tt || (tt == "number" && jsonType(v) == "integer")
	case []any:
		for _, x := range tt {
			if typeMatches(x, v) {
				return true
			}
		}
	}
	return false
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// sameJSON compares two decoded JSON values as JSON: the string "2" is
// not the number 2, as printing both would make them.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// CheckUniqueKeys reads one JSON document and refuses an object that
// holds a key twice: JSON readers disagree on which copy counts (Go keeps
// the last, others the first), so such a document can say two things.
// Keys are compared as decoded ("a" and "\u0061" are one key). It scans
// bytes rather than tokens (a 230 MB attestation in about a second, not
// seven) and leaves checking that the document is JSON to its parser.
func CheckUniqueKeys(r io.Reader) error {
	type frame struct {
		object  bool
		wantKey bool
		keys    []string        // while few
		many    map[string]bool // past uniqueKeysListed
	}
	const uniqueKeysListed = 16
	br := bufio.NewReaderSize(r, 64<<10)
	var stack []frame
	var str []byte
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case '{':
			stack = append(stack, frame{object: true, wantKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		case '"':
			str = append(str[:0], '"')
			escaped := false
			for {
				b, err := br.ReadByte()
				if err != nil {
					return fmt.Errorf("not JSON: an unended string")
				}
				str = append(str, b)
				if b == '\\' {
					escaped = true
					next, err := br.ReadByte()
					if err != nil {
						return fmt.Errorf("not JSON: an unended string")
					}
					str = append(str, next)
					continue
				}
				if b == '"' {
					break
				}
			}
			n := len(stack)
			if n == 0 || !stack[n-1].object || !stack[n-1].wantKey {
				continue // a value
			}
			key := string(str[1 : len(str)-1])
			if escaped {
				if err := json.Unmarshal(str, &key); err != nil {
					return fmt.Errorf("not JSON: %w", err)
				}
			}
			f := &stack[n-1]
			f.wantKey = false
			if f.many == nil && slices.Contains(f.keys, key) || f.many[key] {
				return fmt.Errorf("the key %q appears twice in one object: JSON readers disagree on which counts", Printable(key))
			}
			if f.many == nil && len(f.keys) < uniqueKeysListed {
				f.keys = append(f.keys, key)
				continue
			}
			if f.many == nil {
				f.many = make(map[string]bool, 2*uniqueKeysListed)
				for _, k := range f.keys {
					f.many[k] = true
				}
			}
			f.many[key] = true
		}
	}
}
