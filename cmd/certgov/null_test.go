package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Absent values are JSON null, not "": an unowned identity's owner in
// ls, an undecided item's decision, comment and reviewer in campaign
// status and in the evidence (schema 3), which verify accepts.
func TestAbsentValuesAreNull(t *testing.T) {
	demoDatabase(t)

	var rows []map[string]any
	if err := json.Unmarshal([]byte(certgov(t, "ls", "--filter", "owner:none", "-o", "json").stdout), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("ls: %d rows, %v", len(rows), err)
	}
	for _, row := range rows {
		if owner, present := row["owner"]; !present || owner != nil {
			t.Fatalf("an unowned identity's owner is %#v (present %v), want null", owner, present)
		}
	}

	if r := certgov(t, "campaign", "start", "Q", "--filter", "partner-"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var status struct {
		Items []map[string]any `json:"items"`
	}
	var campaign map[string]any
	r := certgov(t, "campaign", "status", "Q", "-o", "json")
	json.Unmarshal([]byte(r.stdout), &campaign)
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || len(status.Items) == 0 {
		t.Fatalf("campaign status: %v\n%s", err, r.stdout)
	}
	for _, field := range []string{"decision", "comment", "reviewer", "assignee"} {
		if v, present := status.Items[0][field]; !present || v != nil {
			t.Errorf("an undecided item's %s is %#v (present %v), want null", field, v, present)
		}
	}
	for _, field := range []string{"closed_at", "closed_by", "statement"} {
		if v, present := campaign[field]; !present || v != nil {
			t.Errorf("an open campaign's %s is %#v (present %v), want null", field, v, present)
		}
	}

	dir := filepath.Join(t.TempDir(), "evidence")
	if r := certgov(t, "export", "--campaign", "Q", "--out", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "attestation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Version int              `json:"schema_version"`
		Items   []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil || bundle.Version != 3 || len(bundle.Items) == 0 {
		t.Fatalf("attestation.json: version %d, %d items, %v", bundle.Version, len(bundle.Items), err)
	}
	for _, field := range []string{"decision", "comment", "reviewer"} {
		if v := bundle.Items[0][field]; v != nil {
			t.Errorf("an undecided item's %s in the evidence is %#v, want null", field, v)
		}
	}
	if r := certgov(t, "verify", dir); r.code != 0 || !strings.Contains(r.stdout, "valid against the schema") {
		t.Errorf("verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
}
