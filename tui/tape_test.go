package tui

import (
	"bufio"
	"certgov/store/storetest"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
)

// TestDemoTape replays demo.tape's keys against the dashboard, from the
// moment the tape starts `certgov demo` until it is back in the shell, and
// checks every "# expect:" line against the screen. VHS itself cannot run
// here; cmd/certgov's TestDemoTapeCommands runs the shell part.
func TestDemoTape(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "demo.tape"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := buildDemo(t) // its own: the tape starts a campaign
	m := loaded(t, s, 140, 40)
	started, launching, expectations := false, false, 0
	inShell := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !started {
			started = strings.Contains(line, "certgov demo")
			launching = started
			continue
		}
		if launching && strings.HasPrefix(line, "Type ") {
			continue // the command that opens the dashboard again
		}
		if launching && line == "Enter" {
			launching = false // the Enter that runs the command
			continue
		}
		// In the shell the tape runs certgov's commands (cmd/certgov's
		// TestDemoTapeCommands runs them); the campaign ones the second
		// dashboard session needs are applied here through the store.
		if line == "# Back in the shell." {
			inShell = true
			continue
		}
		if line == "# Dashboard again." {
			inShell, launching = false, true
			m = loaded(t, s, 140, 40)
			continue
		}
		if inShell {
			applyTapeCommand(t, s, line)
			continue
		}
		if want, ok := strings.CutPrefix(line, "# expect: "); ok {
			expectations++
			if got := screenText(m); !strings.Contains(got, want) {
				t.Fatalf("demo.tape:%d expects %q on screen:\n%s", n, want, got)
			}
			continue
		}
		command, arg, _ := strings.Cut(line, " ")
		switch command {
		case "Type":
			text, err := strconv.Unquote(arg)
			if err != nil {
				t.Fatalf("demo.tape:%d: %v", n, err)
			}
			if m.screen == screenIdentities && m.identities.filter.active {
				m = typeText(t, m, text)
			} else {
				for _, r := range text {
					m = press(t, m, string(r))
				}
			}
		case "Enter", "Escape", "Tab", "Down", "Up", "Backspace", "Space", "End":
			if command == "Enter" && m.prompt == nil && m.screen == screenCampaign && m.campaign.listShown() {
				// enter on the list of campaigns reads the one chosen.
				next, cmd := m.Update(keyMsg("enter"))
				m = update(t, next.(Model), cmd())
				continue
			}
			count := 1
			if arg != "" {
				if count, err = strconv.Atoi(arg); err != nil {
					t.Fatalf("demo.tape:%d: %v", n, err)
				}
			}
			name := map[string]string{"Enter": "enter", "Escape": "esc", "Tab": "tab", "Down": "down", "Up": "up", "Backspace": "backspace", "Space": "space", "End": "end"}[command]
			for range count {
				m = press(t, m, name)
			}
		case "Sleep":
			// Time passes: a confirmation on screen has been read.
			if m.prompt != nil {
				d, err := time.ParseDuration(arg)
				if err != nil {
					t.Fatalf("demo.tape:%d: %v", n, err)
				}
				m.prompt.shownAt = m.prompt.shownAt.Add(-d)
			}
		case "", "Show", "Hide", "Screenshot":
		default:
			if !strings.HasPrefix(command, "#") {
				t.Fatalf("demo.tape:%d: %q is not replayed by this test", n, command)
			}
		}
	}
	if !started || expectations < 5 {
		t.Fatalf("demo.tape: started %v, %d expectations", started, expectations)
	}
}

var (
	tapeCampaignStart = regexp.MustCompile(`^Type "/tmp/certgov campaign start (\S+) --filter '([^']*)'"$`)
	tapeCampaignClose = regexp.MustCompile(`^Type "/tmp/certgov campaign close (\S+) --force --statement '([^']*)' --as (\S+)"$`)
	tapeReview        = regexp.MustCompile(`^Type "/tmp/certgov review (\S+) --campaign (\S+) --decision (\S+) --comment '([^']*)' --as (\S+)"$`)
)

// applyTapeCommand does what a campaign command the tape types does, so
// that the dashboard session after it finds the campaign.
func applyTapeCommand(t *testing.T, s *store.Store, line string) {
	t.Helper()
	now := time.Now()
	if m := tapeCampaignStart.FindStringSubmatch(line); m != nil {
		f, err := model.ParseFilter(m[2])
		if err == nil {
			_, err = s.StartCampaign(context.Background(), m[1], time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "tape", At: now})
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if m := tapeCampaignClose.FindStringSubmatch(line); m != nil {
		if _, err := s.CloseCampaign(context.Background(), m[1], true, store.Change{Actor: m[3], Reason: m[2], At: now}, model.DefaultPolicy()); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if m := tapeReview.FindStringSubmatch(line); m != nil {
		reviewer := s
		if storetest.Postgres() {
			// On a team database the reviewer is the login, not --as:
			// the tape's reviewer logs in as herself.
			if _, err := store.InitPostgres(context.Background(), s.Path(), store.TeamSetup{Reviewers: []string{m[5]}}); err != nil {
				t.Fatal(err)
			}
			reviewer = openStore(t, storetest.As(t, s.Path(), m[5]))
			defer reviewer.Close()
		}
		if _, err := reviewer.Decide(context.Background(), m[2], m[1], model.Decision(m[3]), m[4], store.Change{Actor: m[5], Reason: m[4], At: now}, model.DefaultPolicy()); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
}
