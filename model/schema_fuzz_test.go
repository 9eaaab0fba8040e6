package model

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzValidateJSON: the streaming validator never panics, whatever the
// schema and the document, and on a single JSON value it agrees with
// validating the decoded tree (which is what it replaced: same keywords,
// same verdict; only the order in which it finds a first violation
// differs).
func FuzzValidateJSON(f *testing.F) {
	good := `{"schema_version": 2, "kind": "inventory", "generated_at": "x", "generated_by": "y", "campaign": null,
		"items": [{"identity": "a", "fingerprint_sha256": "b", "decision": "", "comment": "", "reviewer": "", "state_at_export": {}, "findings_at_export": []}],
		"frameworks": {}, "audit_head": {"seq": 3, "hash": "h"}}`
	f.Add(AttestationSchema, []byte(good))
	f.Add(AttestationSchema, []byte(`{"items": [1, {"x": [[[]]]}]}`))
	f.Add([]byte(`[]`), []byte(`{}`))
	f.Add([]byte(`{"type": "object", "properties": {"a": 1}, "required": [2]}`), []byte(`{"a": {}}`))
	f.Fuzz(func(t *testing.T, schema, doc []byte) {
		streamed := ValidateJSON(schema, doc)
		var s map[string]any
		if json.Unmarshal(schema, &s) != nil || s == nil || !json.Valid(doc) {
			return
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		tree := validate(s, v, "$")
		if (streamed == nil) != (tree == nil) {
			t.Fatalf("schema %s, document %s: streamed %v, tree %v", schema, doc, streamed, tree)
		}
	})
}
