package main

import (
	"certgov/store/storetest"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"certgov/store"
)

// An import killed with SIGKILL at any moment leaves a database that
// opens, passes integrity_check, and that a second run completes with
// exactly what an uninterrupted import stores.
func TestImportSurvivesKill9(t *testing.T) {
	// On PostgreSQL the server rolls back a killed client's transaction.
	storetest.SQLiteOnly(t, "the file's journal after a kill")
	if testing.Short() {
		t.Skip("generates a corpus and runs imports in child processes")
	}
	isolate(t)
	corpus := t.TempDir()
	writeCorpus(t, corpus, 6000)
	ctx := context.Background()

	reference := database(t, filepath.Join(t.TempDir(), "reference.db"))
	if r := certgov(t, "--db", reference, "import", corpus); r.code != 0 {
		t.Fatalf("reference import: %s", r.stderr)
	}
	want := countsOf(t, reference)

	killed := database(t, filepath.Join(t.TempDir(), "killed.db"))
	kills := 0
	for _, afterSources := range []int{1, want.Sources / 2} {
		child := childImport(t, killed, corpus)
		reached, exited := waitForSources(t, killed, afterSources, child)
		if !reached {
			t.Logf("import finished before the kill at %d sources", afterSources)
			continue
		}
		child.Process.Kill() // SIGKILL: no deferred cleanup runs
		if st := <-exited; st == nil || !st.Sys().(syscall.WaitStatus).Signaled() {
			t.Logf("the import ended by itself (%v) before the kill at %d sources", st, afterSources)
			continue
		}
		kills++
		s, err := store.Open(ctx, killed)
		if err != nil {
			t.Fatalf("database does not open after kill -9: %v", err)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Fatalf("integrity_check after kill -9: %v", err)
		}
		s.Close()
	}
	if kills == 0 {
		t.Fatal("no import was killed part-way: the test proved nothing")
	}
	if r := certgov(t, "--db", killed, "import", corpus); r.code != 0 {
		t.Fatalf("import after kill: %s", r.stderr)
	}
	if got := countsOf(t, killed); got != want {
		t.Fatalf("after kill and re-import: %+v, want %+v", got, want)
	}
}

func childImport(t *testing.T, db, corpus string) *exec.Cmd {
	return childImportTo(t, db, corpus, "")
}

// childImportTo is childImport with the child's stderr written to a file
// ("": discarded).
func childImportTo(t *testing.T, db, corpus, stderrFile string) *exec.Cmd {
	t.Helper()
	args, _ := json.Marshal([]string{"--db", db, "import", corpus})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CERTGOV_MAIN_ARGS="+string(args))
	if stderrFile != "" {
		f, err := os.Create(stderrFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitForSources polls until the child has committed at least n sources;
// false when the child finished first.
// waitForSources waits until the child's import stored n sources, or the
// child ended; exited then delivers how the child ended (the one Wait).
func waitForSources(t *testing.T, db string, n int, child *exec.Cmd) (reached bool, exited <-chan *os.ProcessState) {
	t.Helper()
	states := make(chan *os.ProcessState, 1)
	go func() {
		st, _ := child.Process.Wait()
		states <- st
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if len(states) > 0 {
			return false, states
		}
		// A plain read-only query: opening the store the way certgov does
		// would wait on the import's write lock and let it run on.
		if _, err := os.Stat(db); err == nil {
			if conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro"); err == nil {
				var sources int
				err := conn.QueryRow(`SELECT count(*) FROM sources`).Scan(&sources)
				conn.Close()
				if err == nil && sources >= n {
					return true, states
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("child import made no progress")
	return false, states
}

func countsOf(t *testing.T, db string) store.Counts {
	t.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
