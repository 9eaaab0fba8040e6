package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// On the demo estate: servers lists each server with its policy and what
// it admits, standalone trust stores after them; what-if names who would
// lose access, refuses a reference that names several servers (saying
// which) or nothing, and changes nothing; show names the servers.
func TestServersAndWhatIf(t *testing.T) {
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))

	r := certgov(t, "servers")
	if r.code != 0 || !strings.Contains(r.stdout, "carriers.partner-edge.example:8443") || !strings.Contains(r.stdout, "verify optional_no_ca") ||
		!strings.Contains(r.stdout, "Standalone trust stores (no imported server names them):") || !strings.Contains(r.stdout, "pinned-clients.txt") {
		t.Fatalf("servers: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var listed struct {
		Servers []struct {
			Name   string   `json:"name"`
			Mode   string   `json:"mode"`
			Depth  int      `json:"depth"`
			Admits []string `json:"admits"`
		} `json:"servers"`
		Stores []struct{ Source string } `json:"standalone_trust_stores"`
	}
	if err := json.Unmarshal([]byte(certgov(t, "servers", "-o", "json").stdout), &listed); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range listed.Servers {
		if s.Name == "carriers.partner-edge.example:8443" {
			found = true
			if s.Mode != "on" || s.Depth != 1 || strings.Join(s.Admits, ",") != "carrier-gateway.logistics.svc,fleet-telemetry.logistics.svc" {
				t.Errorf("carriers: %+v", s)
			}
		}
	}
	if !found || len(listed.Stores) == 0 {
		t.Errorf("servers -o json: %+v", listed)
	}

	before := certgov(t, "audit", "log").stdout
	r = certgov(t, "servers", "what-if", "--remove", "carriers.partner-edge.example")
	if r.code != 0 || !strings.Contains(r.stdout, "2 identities would lose their last admitting server") || !strings.Contains(r.stdout, "fleet-telemetry.logistics.svc") {
		t.Errorf("what-if: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after := certgov(t, "audit", "log").stdout; after != before {
		t.Error("a what-if changed the audit trail")
	}
	if r := certgov(t, "servers", "what-if", "--remove", "partner-edge"); r.code == 0 || !strings.Contains(r.stderr, "names 3 servers") {
		t.Errorf("an ambiguous reference: %d %s", r.code, r.stderr)
	}
	if r := certgov(t, "servers", "what-if", "--remove", "no-such-thing"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("a reference to nothing: %d %s", r.code, r.stderr)
	}
	if r := certgov(t, "show", "carrier-gateway.logistics.svc"); !strings.Contains(r.stdout, "carriers.partner-edge.example:8443: passes today") ||
		!strings.Contains(r.stdout, "subject-dn map $ssl_client_s_dn $carrier = carrier-gateway") {
		t.Errorf("show:\n%s", r.stdout)
	}
	if r := certgov(t, "ls", "--filter", "server:carriers.partner-edge.example:8443", "-o", "csv"); strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("server filter:\n%s", r.stdout)
	}
}
