package model

import (
	"strings"
	"testing"
)

// Items go to the first rule matching their owner (the whole owner, or
// every owner at a domain, either case), the rest in turn to the round
// robin, and without one to nobody.
func TestAssignmentGivesEachItemAReviewer(t *testing.T) {
	rules, err := ParseAssignRules(`# teams
payments@example.com=alice
@Platform.Example.com = bob

team-crm=carol
`)
	if err != nil {
		t.Fatal(err)
	}
	a := Assignment{Rules: rules, RoundRobin: []string{"dave", "erin"}}
	turn := 0
	for _, c := range []struct{ owner, want string }{
		{"Payments@Example.com", "alice"},
		{"ci@platform.example.com", "bob"},
		{"ci@sub.platform.example.com", "dave"}, // not the domain itself
		{"team-crm", "carol"},
		{"", "erin"},
		{"payments@example.com.evil", "dave"},
		{"someone@example.com", "erin"},
	} {
		if got := a.ReviewerFor(c.owner, &turn); got != c.want {
			t.Errorf("owner %q: reviewer %q, want %q", c.owner, got, c.want)
		}
	}
	none := Assignment{Rules: rules}
	if got := none.ReviewerFor("nobody@example.com", &turn); got != "" {
		t.Errorf("without a round robin an unmatched owner goes to %q, want nobody", got)
	}
}

func TestAssignRulesRefuseWhatNoOneCouldBe(t *testing.T) {
	for _, text := range []string{"alice", "=alice", "payments@example.com=", "@=alice", "x=two words", "x=a,b", "x=al\u202eice", "x=al\x1bice"} {
		if _, err := ParseAssignRule(text); err == nil {
			t.Errorf("%q: accepted", text)
		}
	}
	_, err := ParseAssignRules("a=b\n\nnot a rule\n")
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad line: %v, want it named (line 3)", err)
	}
}
