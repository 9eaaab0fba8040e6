package model

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
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

// A policy file turns each rule to refuse; what it leaves out keeps the
// defaults (observe, 10 a minute), and a word it does not know is an error.
func TestSeparationOfDutiesPolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"separation_of_duties": {"sole_closer": "refuse", "decisions_per_minute": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	sod := p.SeparationOfDuties
	if sod.SoleCloser != Refuse || sod.FastWithoutComment != Observe || sod.DecisionsPerMinute != 3 {
		t.Fatalf("read %+v", sod)
	}
	for _, bad := range []string{`{"separation_of_duties": {"sole_closer": "warn"}}`, `{"separation_of_duties": {"decisions_per_minute": 0}}`} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if err := sod.CheckClose("Q4", "alice", map[string]int{"alice": 5}); err == nil {
		t.Error("alice closed what she alone decided")
	}
	for _, deciders := range []map[string]int{{"alice": 5, "bob": 1}, {"bob": 6}, {}} {
		if err := sod.CheckClose("Q4", "alice", deciders); err != nil {
			t.Errorf("%v: %v", deciders, err)
		}
	}
	if err := DefaultPolicy().SeparationOfDuties.CheckClose("Q4", "alice", map[string]int{"alice": 5}); err != nil {
		t.Errorf("observed by default: %v", err)
	}
	// The database tightens, never loosens.
	fast := DefaultPolicy().SeparationOfDuties.Tightened("", Refuse, 4)
	if fast.FastWithoutComment != Refuse || fast.DecisionsPerMinute != 4 || fast.SoleCloser != Observe {
		t.Fatalf("tightened %+v", fast)
	}
	if err := fast.CheckPace("svc", "alice", 3, ""); err != nil {
		t.Errorf("the fourth within a minute: %v", err)
	}
	if err := fast.CheckPace("svc", "alice", 4, " "); err == nil {
		t.Error("the fifth within a minute without a comment was accepted")
	}
	if err := fast.CheckPace("svc", "alice", 4, "checked its owner"); err != nil {
		t.Errorf("the fifth with a comment: %v", err)
	}
	if loose := sod.Tightened(Observe, Observe, 100); loose != sod {
		t.Errorf("the database loosened %+v to %+v", sod, loose)
	}
}

// Reviewers hear of their own items once the due date is within the
// window; whoever started the campaign hears of everyone's two days
// before (never of their own), and of unassigned items as soon as the
// reviewers hear; a campaign without a due date, or far off, reminds no
// one.
func TestReminders(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	work := func(name string, due time.Time) CampaignWork {
		return CampaignWork{Name: name, StartedBy: "erin", Due: due, Undecided: map[string]int{"alice": 3, "erin": 1, "": 2}}
	}
	got := func(rs []Reminder) (out []string) {
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s:%s->%s:%d:%v:%s", r.Campaign, r.Reviewer, r.To, r.Items, r.Escalated, r.Severity()))
		}
		return out
	}
	rs := Reminders([]CampaignWork{
		work("none", time.Time{}),
		work("far", now.Add(30*24*time.Hour)),
		work("soon", now.Add(7*24*time.Hour)),
		work("near", now.Add(24*time.Hour)),
		work("late", now.Add(-time.Hour)),
	}, now, 14*24*time.Hour)
	want := []string{
		"soon:->erin:2:true:medium", "soon:alice->alice:3:false:medium", "soon:erin->erin:1:false:medium",
		"near:->erin:2:true:medium", "near:alice->alice:3:false:medium", "near:alice->erin:3:true:medium", "near:erin->erin:1:false:medium",
		"late:->erin:2:true:high", "late:alice->alice:3:false:high", "late:alice->erin:3:true:high", "late:erin->erin:1:false:high",
	}
	if g := got(rs); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("reminders:\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if m := rs[len(rs)-2].Message(now); m != "campaign late: alice has 3 items undecided, overdue since 2026-12-01 (1h ago)" {
		t.Errorf("escalation reads %q", m)
	}
	odd := Reminder{Campaign: "Q4 'final'", To: "alice", Reviewer: "alice", Items: 1, Due: now}
	if d := odd.Do(); d != `certgov review --mine --campaign 'Q4 '\''final'\'''` {
		t.Errorf("the command quotes the name for a shell: %s", d)
	}
}

func TestParseAssignmentOnOneLine(t *testing.T) {
	a, err := ParseAssignment(" @payments.example.com=alice  team-web=bob carol,dave ")
	if err != nil {
		t.Fatal(err)
	}
	want := Assignment{Rules: []AssignRule{{"@payments.example.com", "alice"}, {"team-web", "bob"}}, RoundRobin: []string{"carol", "dave"}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v, want %+v", a, want)
	}
	if a, err := ParseAssignment("   "); err != nil || !a.Empty() {
		t.Fatalf("blank: %+v, %v; want nothing assigned", a, err)
	}
	for _, bad := range []string{"carol dave", "a,,b", "=alice", "team-web=", "x=al\x1bice"} {
		if _, err := ParseAssignment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
