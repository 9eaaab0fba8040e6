package model

import (
	"fmt"
	"sort"
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
