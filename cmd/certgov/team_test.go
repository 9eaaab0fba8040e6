package main

import (
	"path/filepath"
	"strings"
	"testing"

	"certgov/store/storetest"
)

// The team path as an administrator and two reviewers walk it: db init
// (twice: it is idempotent), a SQLite demo copied up with db copy, a
// reviewer's change under --as, the auditor's verify and refused change.
func TestTeamDatabaseFromTheCommandLine(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("team mode is a PostgreSQL database's: runs in the PostgreSQL pass")
	}
	home := isolate(t)
	admin := storetest.NewDatabase(t)
	args := []string{"--db", admin, "db", "init", "--reviewer", "alice", "--auditor", "audrey", "--four-eyes"}
	if r := certgov(t, args...); r.code != 0 || !strings.Contains(r.stdout, "schema: created") || !strings.Contains(r.stdout, "login alice: certgov_reviewer") {
		t.Fatalf("db init: %+v", r)
	}
	if r := certgov(t, args...); r.code != 0 || !strings.Contains(r.stdout, "schema: up to date") {
		t.Fatalf("db init again: %+v", r)
	}
	local := filepath.Join(home, "data", "certgov", "local.db")
	if r := certgov(t, "--db", local, "demo", "--no-tui"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	certgov(t, "--db", local, "--as", "erin", "owner", "set", "ledger.payments.svc", "payments@example.com")
	head := strings.Fields(certgov(t, "--db", local, "audit", "head").stdout)
	r := certgov(t, "db", "copy", "--from", local, "--to", admin)
	if r.code != 0 || !strings.Contains(r.stdout, "audit trail intact") || !strings.Contains(r.stdout, head[0]) {
		t.Fatalf("db copy (head %v): %+v", head, r)
	}
	if r := certgov(t, "db", "copy", "--from", local, "--to", admin); r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("a second copy: %+v", r)
	}
	alice, audrey := storetest.As(t, admin, "alice"), storetest.As(t, admin, "audrey")
	if r := certgov(t, "--db", alice, "--as", "mallory", "owner", "set", "ledger.payments.svc", "alice"); r.code != 0 {
		t.Fatalf("alice's change: %+v", r)
	}
	log := certgov(t, "--db", audrey, "audit", "log").stdout
	if !strings.Contains(log, "alice (on behalf of mallory") || !strings.Contains(log, "erin") {
		t.Errorf("the log does not name the login and the copied actor:\n%s", log)
	}
	if r := certgov(t, "--db", audrey, "audit", "verify"); r.code != 0 {
		t.Errorf("the auditor's verify: %+v", r)
	}
	if r := certgov(t, "--db", audrey, "owner", "set", "ledger.payments.svc", "audrey"); r.code != 1 || !strings.Contains(r.stderr, "audrey may not") {
		t.Errorf("the auditor changed an owner: %+v", r)
	}
	if r := certgov(t, "--db", alice, "db", "init"); r.code == 0 {
		t.Errorf("a reviewer ran db init: %+v", r)
	}
}
