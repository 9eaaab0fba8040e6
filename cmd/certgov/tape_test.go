package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// shellWords splits a command line as the shell would for the tape's
// commands: spaces separate words, single quotes keep them together.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestDemoTapeCommands runs the certgov commands demo.tape types once it
// is back in the shell (the attestation and the evidence), in order, and
// checks each succeeds and the bundle says what the tape shows.
func TestDemoTapeCommands(t *testing.T) {
	home := isolate(t)
	if r := certgov(t, "demo", "--no-tui"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	f, err := os.Open(filepath.Join("..", "..", "demo.tape"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evidence := filepath.Join(t.TempDir(), "evidence")
	inShell, ran := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "# Back in the shell." {
			inShell = true
		}
		text, ok := strings.CutPrefix(line, "Type ")
		if !inShell || !ok {
			continue
		}
		typed, err := strconv.Unquote(text)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(typed, "export CERTGOV_DB=") {
			t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
			continue
		}
		for _, command := range strings.Split(typed, " && ") {
			args := shellWords(strings.ReplaceAll(command, "/tmp/evidence", evidence))
			if args[0] != "/tmp/certgov" || len(args) == 1 {
				continue // grep, sha256sum: the auditor's own tools; the dashboard (tui's TestDemoTape replays it)
			}
			if r := certgov(t, args[1:]...); r.code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", command, r.code, r.stdout, r.stderr)
			}
			ran++
		}
	}
	if ran < 5 {
		t.Fatalf("ran %d certgov commands from the tape", ran)
	}
	md, _ := os.ReadFile(filepath.Join(evidence, "report.md"))
	if !strings.Contains(string(md), "INCOMPLETE") || !strings.Contains(string(md), "contract ended") {
		t.Errorf("the tape's bundle does not show what the tape says:\n%.1500s", md)
	}
}
