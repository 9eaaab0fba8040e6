package model

import (
	_ "embed"
	"encoding/json"
	"fmt"
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
	var s, doc any
	if err := json.Unmarshal(schema, &s); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(document)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("$: not JSON: %w", err)
	}
	return validate(s.(map[string]any), doc, "$")
}

func validate(s map[string]any, v any, path string) error {
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s: want %v, got %s", path, t, jsonType(v))
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		return fmt.Errorf("%s: want %v, got %v", path, c, v)
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || fmt.Sprint(x) == fmt.Sprint(v)
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", path, v, e)
		}
	}
	switch val := v.(type) {
	case map[string]any:
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := val[r.(string)]; !ok {
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
			if x, ok := val[k]; ok {
				if err := validate(props[k].(map[string]any), x, path+"."+k); err != nil {
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
