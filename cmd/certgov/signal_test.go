package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"certgov/store"
)

// SIGTERM ends a busy import within its grace period, with 143 and one
// line; the database stays whole and the next import completes it.
func TestSIGTERMStopsABusyImport(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a corpus and imports it in a child process")
	}
	isolate(t)
	corpus := t.TempDir()
	writeCorpus(t, corpus, 4000)
	db := database(t, filepath.Join(t.TempDir(), "term.db"))
	stderrFile := filepath.Join(t.TempDir(), "stderr")
	child := childImportTo(t, db, corpus, stderrFile)
	deadline := time.Now().Add(time.Minute)
	for {
		if s, err := store.Open(context.Background(), db); err == nil {
			c, err := s.Counts(context.Background())
			s.Close()
			if err == nil && c.Sources >= 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the child import made no progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sent := time.Now()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := child.Wait()
	stopped := time.Since(sent)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v, want exit status 143", err)
	}
	if stopped > 5*time.Second { // a hang guard; the grace period is one second
		t.Errorf("took %s to stop", stopped)
	}
	if msg, _ := os.ReadFile(stderrFile); !strings.Contains(string(msg), "stopped by SIGTERM") || strings.Count(strings.TrimSpace(string(msg)), "\n") != 0 {
		t.Errorf("stderr after SIGTERM: %q, want one line", msg)
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if r := certgov(t, "--db", db, "import", corpus); r.code != 0 {
		t.Fatalf("import after SIGTERM: %s", r.stderr)
	}
}
