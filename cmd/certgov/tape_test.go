package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
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
	demoRun := certgov(t, "demo", "--no-tui")
	if demoRun.code != 0 {
		t.Fatal(demoRun.stderr)
	}
	estate := demoEstateDir(demoRun.stdout) // the tape names the SQLite place
	f, err := os.Open(filepath.Join("..", "..", "demo.tape"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evidence := filepath.Join(t.TempDir(), "evidence")
	// The gateway the tape scans: its certificate (the tape makes it while
	// hidden) and a free port for it.
	gateway := t.TempDir()
	openssl := interopTool(t, "openssl", "")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", filepath.Join(gateway, "gw.key"),
		"-out", filepath.Join(gateway, "gw.pem"), "-subj", "/CN=carriers.partner-edge.example", "-days", "30").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	// The port is the one the demo's configuration names, as on the tape:
	// the scan compares the gateway with the server configured there.
	const port = 8443
	if l, err := net.Listen("tcp", "127.0.0.1:8443"); err != nil {
		t.Fatalf("port 8443, where the tape's gateway listens, is taken: %v", err)
	} else {
		l.Close()
	}
	outputs := t.TempDir()
	localize := strings.NewReplacer("/tmp/certgov.prom", filepath.Join(outputs, "certgov.prom"), "/tmp/digests", filepath.Join(outputs, "digests"), "/tmp/evidence", evidence, "~/.local/share/certgov/demo.db.estate", estate,
		"~/.local/share", filepath.Join(home, "data"), "/tmp/gw.", filepath.Join(gateway, "gw."))
	scanned, shown := "", ""
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
		typed = strings.TrimPrefix(typed, "clear; ")
		if server, ok := strings.CutPrefix(typed, "openssl s_server "); ok {
			// The stand-in gateway, in the background as the tape runs it.
			args := shellWords(localize.Replace(strings.TrimSuffix(server, " >/dev/null 2>&1 &")))
			daemon := exec.Command(openssl, append([]string{"s_server"}, args...)...)
			daemon.Stderr = os.Stderr // why, should it not come up
			if err := daemon.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
			waitListening(t, port)
			continue
		}
		typed, _, _ = strings.Cut(typed, " | ") // head: the terminal's own tool
		for _, command := range strings.Split(typed, " && ") {
			args := shellWords(localize.Replace(command))
			if args[0] != "/tmp/certgov" || len(args) == 1 {
				continue // grep, sha256sum: the auditor's own tools; the dashboard (tui's TestDemoTape replays it)
			}
			r := certgov(t, args[1:]...)
			if r.code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", command, r.code, r.stdout, r.stderr)
			}
			switch args[1] {
			case "scan":
				scanned = r.stdout
			case "show":
				shown += r.stdout
			}
			ran++
		}
	}
	if ran < 5 {
		t.Fatalf("ran %d certgov commands from the tape", ran)
	}
	// The scan shows what the tape says: the CA names asked for beyond
	// the configuration's.
	if !strings.Contains(scanned, "DRIFT") || !strings.Contains(scanned, "Example Corp Legacy Root") {
		t.Errorf("the tape's scan does not show the drift:\n%s", scanned)
	}
	if prom := string(mustRead(t, filepath.Join(outputs, "certgov.prom"))); !strings.Contains(prom, "certgov_identity_not_after_timestamp_seconds{") {
		t.Errorf("the tape's textfile holds no expiry series:\n%.500s", prom)
	}
	if md := string(mustRead(t, filepath.Join(outputs, "digests", "payments-oncall@example.com.md"))); !strings.HasPrefix(md, "# What to do: ") {
		t.Errorf("the tape's digest for the payments owner:\n%.500s", md)
	}
	if !strings.Contains(shown, "Rotation") || strings.Count(shown, "█") < 10 {
		t.Errorf("the tape's show does not draw the secrets broker's rotation:\n%s", shown)
	}
	if !strings.Contains(shown, "logs in as ledger to ledger from 10.20.0.0/16 (line 4)") {
		t.Errorf("the tape's show does not say the ledger's reach in its PostgreSQL:\n%s", shown)
	}
	md, _ := os.ReadFile(filepath.Join(evidence, "report.md"))
	if !strings.Contains(string(md), "INCOMPLETE") || !strings.Contains(string(md), "contract ended") {
		t.Errorf("the tape's bundle does not show what the tape says:\n%.1500s", md)
	}
}

// demoEstateDir is where certgov demo (its output) wrote the estate:
// beside demo.db, or (a team database) beside the default one.
func demoEstateDir(demoOutput string) string {
	_, estate, _ := strings.Cut(demoOutput, "Demo estate:")
	estate, _, _ = strings.Cut(strings.TrimSpace(estate), " (the files")
	return estate
}
