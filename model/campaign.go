package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// SeriousFindings lists the high and critical findings among codes: an
// item carrying any is not certified without a comment that says why.
func SeriousFindings(codes []string) []string {
	var out []string
	for _, c := range codes {
		if t, ok := FindingTypes[c]; ok && (t.Severity == SeverityCritical || t.Severity == SeverityHigh) {
			out = append(out, c)
		}
	}
	return out
}

// Decided is one campaign decision: who and when.
type Decided struct {
	Reviewer string
	At       time.Time
}

// ReviewerPace says how one reviewer decided a campaign's items: how many,
// and the most decisions made within any one minute. Reading an item's
// findings takes a reviewer tens of seconds; dozens in a minute is a
// script or a rubber stamp, and the evidence shows it.
type ReviewerPace struct {
	Reviewer      string    `json:"reviewer"`
	Decisions     int       `json:"decisions"`
	MostInAMinute int       `json:"most_in_one_minute"`
	FastestFrom   time.Time `json:"fastest_minute_from"`
}

// PaceWindow is the window ReviewerPace counts decisions in.
const PaceWindow = time.Minute

// FastRun is how many decisions within PaceWindow a person who reads each
// item's findings does not make.
const FastRun = 10

// Fast reports whether the reviewer decided faster than items can be read.
func (p ReviewerPace) Fast() bool { return p.MostInAMinute >= FastRun }

// String says how the reviewer decided, flagging a run too fast to have
// read the items.
func (p ReviewerPace) String() string {
	noun := "decisions"
	if p.Decisions == 1 {
		noun = "decision"
	}
	text := fmt.Sprintf("%d %s, at most %d within a minute", p.Decisions, noun, p.MostInAMinute)
	if p.Fast() {
		text += " (FAST: from " + p.FastestFrom.UTC().Format("2006-01-02 15:04:05 UTC") + ")"
	}
	return text
}

// Paces returns each reviewer's pace, busiest first.
func Paces(decisions []Decided) []ReviewerPace {
	byReviewer := map[string][]time.Time{}
	for _, d := range decisions {
		byReviewer[d.Reviewer] = append(byReviewer[d.Reviewer], d.At)
	}
	out := make([]ReviewerPace, 0, len(byReviewer))
	for reviewer, times := range byReviewer {
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		p := ReviewerPace{Reviewer: reviewer, Decisions: len(times)}
		// Two pointers over the sorted times: the widest run of
		// decisions less than a window apart.
		for lo, hi := 0, 0; hi < len(times); hi++ {
			for times[hi].Sub(times[lo]) >= PaceWindow {
				lo++
			}
			if n := hi - lo + 1; n > p.MostInAMinute {
				p.MostInAMinute, p.FastestFrom = n, times[lo]
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Decisions != out[j].Decisions {
			return out[i].Decisions > out[j].Decisions
		}
		return out[i].Reviewer < out[j].Reviewer
	})
	return out
}

// Assignment says who reviews each item of a campaign: the reviewer of
// the first rule that matches the identity's owner, else the next name
// of the round robin, else nobody (any reviewer may decide the item).
type Assignment struct {
	Rules      []AssignRule
	RoundRobin []string
}

// AssignRule gives the identities of an owner to a reviewer. Owner is an
// owner as set ("payments@example.com", "team-payments"), or "@" and a
// domain ("@payments.example.com"): every owner at that domain.
type AssignRule struct {
	Owner, Reviewer string
}

// Empty reports whether the assignment assigns nothing.
func (a *Assignment) Empty() bool { return len(a.Rules) == 0 && len(a.RoundRobin) == 0 }

// ReviewerFor returns the reviewer of an item whose identity's owner is
// owner; turn counts the items the round robin has handed out so far.
func (a *Assignment) ReviewerFor(owner string, turn *int) string {
	owner = strings.TrimSpace(owner)
	for _, r := range a.Rules {
		if r.matches(owner) {
			return r.Reviewer
		}
	}
	if len(a.RoundRobin) == 0 {
		return ""
	}
	reviewer := a.RoundRobin[*turn%len(a.RoundRobin)]
	*turn++
	return reviewer
}

func (r AssignRule) matches(owner string) bool {
	if owner == "" {
		return false
	}
	if domain, ok := strings.CutPrefix(r.Owner, "@"); ok {
		at := strings.LastIndexByte(owner, '@')
		return at >= 0 && strings.EqualFold(owner[at+1:], domain)
	}
	return strings.EqualFold(owner, r.Owner)
}

// ParseAssignRule reads OWNER=REVIEWER (what campaign start --assign
// takes).
func ParseAssignRule(text string) (AssignRule, error) {
	owner, reviewer, ok := strings.Cut(text, "=")
	r := AssignRule{Owner: strings.TrimSpace(owner), Reviewer: strings.TrimSpace(reviewer)}
	if !ok || r.Owner == "" || r.Owner == "@" || r.Reviewer == "" {
		return AssignRule{}, fmt.Errorf("assignment %q: want OWNER=REVIEWER, or @DOMAIN=REVIEWER for every owner at a domain", Printable(text))
	}
	if err := TypedText("assignment owner", r.Owner); err != nil {
		return AssignRule{}, err
	}
	if err := CheckReviewerName(r.Reviewer); err != nil {
		return AssignRule{}, err
	}
	return r, nil
}

// ParseAssignRules reads an assignment file: one OWNER=REVIEWER a line;
// blank lines and lines starting with # are skipped. An error names the
// line.
func ParseAssignRules(text string) ([]AssignRule, error) {
	var rules []AssignRule
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := ParseAssignRule(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// ParseAssignment reads an assignment typed on one line, as the
// dashboard asks for it: OWNER=REVIEWER rules, and apart from them one
// comma list of reviewers who take the other items in turn, e.g.
// "@payments.example.com=alice team-web=bob carol,dave". An owner with a
// space in it needs campaign start --assign.
func ParseAssignment(text string) (Assignment, error) {
	var a Assignment
	for _, word := range strings.Fields(text) {
		if strings.Contains(word, "=") {
			r, err := ParseAssignRule(word)
			if err != nil {
				return Assignment{}, err
			}
			a.Rules = append(a.Rules, r)
			continue
		}
		if len(a.RoundRobin) > 0 {
			return Assignment{}, fmt.Errorf("assignment %q: one comma list of reviewers in turn (R1,R2), not several", Printable(word))
		}
		for _, name := range strings.Split(word, ",") {
			if err := CheckReviewerName(name); err != nil {
				return Assignment{}, err
			}
			a.RoundRobin = append(a.RoundRobin, name)
		}
	}
	return a, nil
}

// CheckReviewerName refuses a reviewer's name no one could log in or act
// as: empty, with spaces or commas around or in it, or with characters a
// person did not type.
func CheckReviewerName(name string) error {
	if err := TypedText("reviewer", name); err != nil {
		return err
	}
	if name == "" || strings.ContainsAny(name, " ,=\t") || len(name) > 200 {
		return fmt.Errorf("reviewer %q: a login or name without spaces, commas or =, at most 200 characters", Printable(name))
	}
	return nil
}

// Enforcement is what a separation-of-duties rule does when broken.
type Enforcement string

const (
	// Refuse: the change is refused.
	Refuse Enforcement = "refuse"
	// Observe: the change is made, and the campaign's report says so.
	Observe Enforcement = "observe"
)

// SeparationOfDuties holds the rules that keep a campaign from being one
// person's word.
type SeparationOfDuties struct {
	// SoleCloser: closing a campaign whose every decision is the
	// closer's.
	SoleCloser Enforcement `json:"sole_closer"`
	// DecisionsPerMinute is how many decisions a reviewer makes within a
	// minute before each further one needs a comment saying what was
	// checked; FastWithoutComment, what happens to one without.
	DecisionsPerMinute int         `json:"decisions_per_minute"`
	FastWithoutComment Enforcement `json:"fast_without_comment"`
}

// Tightened is the rules with what a team database asks for on top: a
// database can make a rule refuse, never let one go.
func (sod SeparationOfDuties) Tightened(soleCloser, fastWithoutComment Enforcement, perMinute int) SeparationOfDuties {
	if soleCloser == Refuse {
		sod.SoleCloser = Refuse
	}
	if fastWithoutComment == Refuse {
		sod.FastWithoutComment = Refuse
		if perMinute > 0 && (perMinute < sod.DecisionsPerMinute || sod.DecisionsPerMinute < 1) {
			sod.DecisionsPerMinute = perMinute
		}
	}
	return sod
}

// SeparationError is a change a separation-of-duties rule refuses.
type SeparationError struct {
	Rule, Why string
}

func (e *SeparationError) Error() string {
	return e.Why + " (policy separation_of_duties." + e.Rule + ": refuse)"
}

// CheckClose refuses, when the rule says so, a close by the person who
// made every decision of the campaign. deciders counts the decisions by
// reviewer.
func (sod SeparationOfDuties) CheckClose(campaign, closer string, deciders map[string]int) error {
	if sod.SoleCloser != Refuse || len(deciders) != 1 || deciders[closer] == 0 {
		return nil
	}
	return &SeparationError{Rule: "sole_closer", Why: fmt.Sprintf("%s made every decision of campaign %q (%d), and may not also close it: someone else closes", closer, campaign, deciders[closer])}
}

// CheckPace refuses, when the rule says so, a decision without a comment
// by a reviewer who made DecisionsPerMinute or more within the minute
// before it.
func (sod SeparationOfDuties) CheckPace(identity, reviewer string, inLastMinute int, comment string) error {
	if sod.FastWithoutComment != Refuse || strings.TrimSpace(comment) != "" || inLastMinute < sod.DecisionsPerMinute {
		return nil
	}
	return &SeparationError{Rule: "fast_without_comment", Why: fmt.Sprintf("%s made %d decisions within the last minute: deciding %s too needs a comment saying what was checked", reviewer, inLastMinute, identity)}
}

// CampaignWork is an open campaign's undecided items by reviewer ("":
// assigned to no one), as reminders read it.
type CampaignWork struct {
	Name, StartedBy string
	Due             time.Time // zero: none
	Undecided       map[string]int
}

// Reminder is one person's campaign work to be told about: the items a
// reviewer has still to decide, or, escalated to whoever started the
// campaign, the items someone has not decided as the due date nears and
// the items no one is assigned to.
type Reminder struct {
	To, Campaign string
	// Reviewer is whose items an escalation is about ("" for the items no
	// one is assigned to); for a reviewer's own reminder, To.
	Reviewer string
	Items    int
	Due      time.Time
	Overdue  bool
	// Escalated: sent to the campaign's starter about someone else's
	// items.
	Escalated bool
}

// EscalateWithin is how close to its due date a campaign's undecided
// items are escalated to whoever started it.
const EscalateWithin = 48 * time.Hour

// Reminders says who is told what about the open campaigns' undecided
// items at now: each reviewer whose campaign falls due within within (or
// is overdue) about their own items; and whoever started it about each
// reviewer's items once EscalateWithin remains, and about unassigned
// items as soon as the reviewers are told. A campaign without a due date
// reminds no one.
func Reminders(work []CampaignWork, now time.Time, within time.Duration) []Reminder {
	var out []Reminder
	for _, c := range work {
		if c.Due.IsZero() || c.Due.After(now.Add(within)) {
			continue
		}
		overdue := now.After(c.Due)
		escalate := c.Due.Sub(now) <= EscalateWithin
		reviewers := make([]string, 0, len(c.Undecided))
		for r := range c.Undecided {
			reviewers = append(reviewers, r)
		}
		sort.Strings(reviewers)
		for _, r := range reviewers {
			n := c.Undecided[r]
			if n == 0 {
				continue
			}
			base := Reminder{Campaign: c.Name, Reviewer: r, Items: n, Due: c.Due, Overdue: overdue}
			if r != "" {
				own := base
				own.To = r
				out = append(out, own)
			}
			if r == "" || (escalate && r != c.StartedBy) {
				up := base
				up.To, up.Escalated = c.StartedBy, true
				out = append(out, up)
			}
		}
	}
	return out
}

// Severity is how urgent the reminder is: high once overdue, medium
// before.
func (r Reminder) Severity() Severity {
	if r.Overdue {
		return SeverityHigh
	}
	return SeverityMedium
}

// Message says what the reminder is about, in words.
func (r Reminder) Message(now time.Time) string {
	when := "due " + r.Due.UTC().Format(time.DateOnly) + " (" + Relative(r.Due, now) + ")"
	if r.Overdue {
		when = "overdue since " + r.Due.UTC().Format(time.DateOnly) + " (" + Relative(r.Due, now) + ")"
	}
	items := fmt.Sprintf("%d items", r.Items)
	if r.Items == 1 {
		items = "1 item"
	}
	switch {
	case r.Escalated && r.Reviewer == "":
		return fmt.Sprintf("campaign %s has %s assigned to no one, undecided, %s", r.Campaign, items, when)
	case r.Escalated:
		return fmt.Sprintf("campaign %s: %s has %s undecided, %s", r.Campaign, r.Reviewer, items, when)
	}
	return fmt.Sprintf("campaign %s: %s of yours to decide, %s", r.Campaign, items, when)
}

// Do is the command that shows the work.
func (r Reminder) Do() string {
	if r.Escalated {
		return "certgov campaign status " + ShellQuote(r.Campaign) + "   (reassign: certgov campaign assign " + ShellQuote(r.Campaign) + " REF --to REVIEWER)"
	}
	return "certgov review --mine --campaign " + ShellQuote(r.Campaign)
}

// ShellQuote quotes a name for a POSIX shell when it needs it, so that a
// command certgov suggests can be pasted as it is.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@:/") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
