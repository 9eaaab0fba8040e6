package tui

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	m := loaded(t, openDemo(t), 140, 40)
	started, launching, expectations := false, false, 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !started {
			started = strings.Contains(line, "certgov demo")
			launching = started
			continue
		}
		if launching && line == "Enter" {
			launching = false // the Enter that runs the command
			continue
		}
		if line == "# Back in the shell." {
			break // the rest of the tape runs certgov's commands, not the dashboard
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
		case "Sleep", "", "Show", "Hide", "Screenshot":
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
