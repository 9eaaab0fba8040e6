package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// owner set --filter lists what the filter matches and changes nothing;
// a wrong --confirm count changes nothing either; the count the listing
// gave sets every one, each with its own audit event.
func TestOwnerSetByFilter(t *testing.T) {
	demoDatabase(t)
	owners := func() map[string]int {
		var rows []struct {
			Identity string `json:"identity_name"`
			Owner    string `json:"owner"`
		}
		r := certgov(t, "ls", "--filter", "partner-", "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("ls: %v %s", err, r.stderr)
		}
		out := map[string]int{}
		for _, row := range rows {
			out[row.Owner]++
		}
		return out
	}
	before := owners()
	dry := certgov(t, "owner", "set", "--filter", "partner- owner:none", "partners@example.com", "--reason", "partner desk owns them")
	n := before[""]
	if dry.code != 0 || !strings.Contains(dry.stdout, fmt.Sprintf("%d identities match", n)) || !strings.Contains(dry.stdout, fmt.Sprintf("add --confirm %d", n)) {
		t.Fatalf("dry run (%d unowned partners): %d %s %s", n, dry.code, dry.stdout, dry.stderr)
	}
	if n < 2 || strings.Count(dry.stdout, "partner-") < n {
		t.Fatalf("the listing names %d of %d:\n%s", strings.Count(dry.stdout, "partner-"), n, dry.stdout)
	}
	if r := certgov(t, "owner", "set", "--filter", "partner- owner:none", "partners@example.com", "--confirm", fmt.Sprint(n+1)); r.code == 0 || !strings.Contains(r.stderr, "nothing changed") {
		t.Fatalf("a wrong count: %d %s", r.code, r.stderr)
	}
	if got := owners(); got["partners@example.com"] != 0 {
		t.Fatalf("changed without the count: %v", got)
	}
	r := certgov(t, "owner", "set", "--filter", "partner- owner:none", "partners@example.com", "--confirm", fmt.Sprint(n), "--reason", "partner desk owns them")
	if r.code != 0 || strings.Count(r.stdout, ": owner partners@example.com") != n {
		t.Fatalf("apply: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := owners(); got["partners@example.com"] != n || got[""] != 0 {
		t.Errorf("after: %v (before %v)", got, before)
	}
	log := certgov(t, "audit", "log", "--filter", "owner.set", "-o", "json")
	var events []struct{ Action, Reason string }
	json.Unmarshal([]byte(log.stdout), &events)
	audited := 0
	for _, e := range events {
		if e.Action == "owner.set" && e.Reason == "partner desk owns them" {
			audited++
		}
	}
	if audited != n {
		t.Errorf("%d audit events for %d changes", audited, n)
	}
	if r := certgov(t, "owner", "set", "--filter", "nothing-is-named-this", "x@example.com", "--confirm", "0"); r.code != 0 || !strings.Contains(r.stdout, "no identity matches") {
		t.Errorf("a filter that matches nothing: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := certgov(t, "owner", "set", "x", "y", "--confirm", "3"); r.code != 2 {
		t.Errorf("--confirm without --filter: %d %s", r.code, r.stderr)
	}
}
