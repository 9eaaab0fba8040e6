package store

import (
	"testing"
	"time"

	"certgov/model"
)

// TestParsedFilesDoNotCommitTheBatch: a writer whose transaction is past
// its idle moment commits only when no parsed file is waiting, so that a
// batch holds batchCertificates, not the few files that came before a
// timer that had already run out.
func TestParsedFilesDoNotCommitTheBatch(t *testing.T) {
	results := make(chan model.FileResult, 2)
	commits := 0
	commit := func() error {
		commits++
		if len(results) == 0 {
			results <- model.FileResult{} // the parsers catch up
		}
		return nil
	}
	past := time.Now().Add(-time.Second)
	for range 200 {
		results <- model.FileResult{}
		if _, ok, err := nextResult(results, past, commit); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if commits != 0 {
		t.Fatalf("%d commits with a parsed file waiting each time, want none", commits)
	}
	// Nothing parsed yet: the transaction is committed while the writer
	// waits.
	if _, ok, err := nextResult(results, past, commit); !ok || err != nil || commits != 1 {
		t.Fatalf("waiting past the idle moment: %d commits (%v, %v), want 1", commits, ok, err)
	}
}
