package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Two reviewers at once: writers in separate processes change the same
// identity and others concurrently. Every change must succeed (no
// "database is locked" reaching the user), none may be lost (each event's
// before-value is the previous event's after-value for that identity), and
// the audit chain must verify.
func TestConcurrentWritersKeepTheChain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs certgov in many child processes")
	}
	home := isolate(t)
	certgov(t, "demo", "--no-tui")
	db := database(t, filepath.Join(home, "data", "certgov", "demo.db"))
	before := len(auditEventsOf(t, db))

	const writers, changes = 4, 8
	var wg sync.WaitGroup
	errs := make(chan string, writers*changes)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range changes {
				target := "ledger.payments.svc"
				if c%2 == 1 {
					target = []string{"settlement.payments.svc", "refunds.payments.svc", "wallet.payments.svc", "payouts.payments.svc"}[w]
				}
				args, _ := json.Marshal([]string{"--db", db, "--as", fmt.Sprintf("reviewer-%d", w), "owner", "set", target, fmt.Sprintf("team-%d-%d", w, c)})
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "CERTGOV_MAIN_ARGS="+string(args))
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Sprintf("%v: %s", err, out)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("a concurrent change failed:", e)
	}
	events := auditEventsOf(t, db)[before:]
	if len(events) != writers*changes {
		t.Fatalf("%d events for %d changes", len(events), writers*changes)
	}
	last := map[string]string{}
	for _, e := range events {
		id := e["identity"].(string)
		if prev, seen := last[id]; seen && e["before"] != prev {
			t.Errorf("lost update on %s: event %v says before=%v, the previous change set %v", id, e["seq"], e["before"], prev)
		}
		last[id] = e["after"].(string)
	}
	if r := certgov(t, "--db", db, "audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify after concurrent writers: %s", r.stderr)
	}
	if r := certgov(t, "--db", db, "show", "ledger.payments.svc"); !strings.Contains(r.stdout, last["ledger.payments.svc"]) {
		t.Errorf("the last change is not what show reports:\n%s", r.stdout)
	}
}

func auditEventsOf(t *testing.T, db string) []map[string]any {
	t.Helper()
	var events []map[string]any
	if err := json.Unmarshal([]byte(certgov(t, "--db", db, "audit", "log", "-o", "json").stdout), &events); err != nil {
		t.Fatal(err)
	}
	return events
}
