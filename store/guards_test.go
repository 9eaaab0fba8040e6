package store_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
)

// rawAs is one connection to the team database as login, around
// certgov, as a login with psql would hold it (temporary tables live as
// long as the connection).
func rawAs(t *testing.T, admin, login string) *sql.Conn {
	t.Helper()
	conn, err := storetest.OpenRaw(t, storetest.As(t, admin, login)).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// nextEvent is e made to continue the real trail, with its hash computed
// as certgov computes it: a forgery only the database's own checks stop.
func nextEvent(t *testing.T, s *store.Store, e store.Event) store.Event {
	t.Helper()
	seq, head, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.Seq, e.PrevHash, e.Format = seq+1, head, 3
	e.At = e.At.UTC().Truncate(time.Second)
	e.Hash = store.ChainHash(e.PrevHash, e.Canonical())
	return e
}

func insertRaw(conn *sql.Conn, e store.Event) error {
	_, err := conn.ExecContext(ctx, `INSERT INTO public.audit_events(seq, at, actor, action, identity, fingerprint, before, after, reason, prev_hash, hash, format, campaign, os_user, host, on_behalf_of)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		e.Seq, e.At.Unix(), e.Actor, e.Action, e.Identity, e.Fingerprint, e.Before, e.After, e.Reason, e.PrevHash, e.Hash, e.Format, e.Campaign, e.OSUser, e.Host, e.OnBehalfOf)
	return err
}

func currentFingerprint(t *testing.T, s *store.Store, name string) string {
	t.Helper()
	ident, _, err := s.Resolve(ctx, name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ident.Certificates[ident.Current].FingerprintSHA256
}

// The attack: a reviewer's temporary tables named pg_class and
// audit_events stood in for the real ones inside the audit trigger, so a
// forged approval and an event in bob's name chained and verified. Every
// certgov function now has a fixed search_path, and the trigger checks
// the actor, the hash, the time and the chain against the real tables.
func TestForgedEventsAreRefused(t *testing.T) {
	admin := teamDatabase(t, team)
	alice, audrey := openAs(t, admin, "alice"), openAs(t, admin, "audrey")
	fp := currentFingerprint(t, alice, "svc-9")
	conn := rawAs(t, admin, "alice")
	for _, st := range []string{
		`CREATE TEMP TABLE pg_class (oid oid, relowner oid)`,
		`INSERT INTO pg_temp.pg_class SELECT c.oid, r.oid FROM pg_catalog.pg_class c, pg_roles r WHERE c.relname = 'audit_events' AND r.rolname = 'alice'`,
		`CREATE TEMP TABLE audit_events (seq bigint, hash text)`,
		`INSERT INTO pg_temp.audit_events VALUES (1000, 'forged')`,
	} {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO public.exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
		SELECT identity_id, fingerprint_sha256, 'approved', 'ok', not_after + 10 * 365 * 86400, 'bob', certgov_now() FROM public.certificates WHERE fingerprint_sha256 = $1`, fp); err == nil {
		t.Error("alice inserted a ten-year approval in bob's name")
	}
	forged := nextEvent(t, alice, store.Event{At: time.Now(), Actor: "bob", Action: "exception.approve", Identity: "svc-9", Fingerprint: fp, After: "approved until 2036-01-01", Reason: "ok"})
	if err := insertRaw(conn, forged); err == nil || !strings.Contains(err.Error(), "database login is alice") {
		t.Errorf("an event in bob's name through shadow tables: %v", err)
	}

	// Backdated: alice's own name, a correct hash, a time of her choosing.
	backdated := nextEvent(t, alice, store.Event{At: time.Now().AddDate(-1, 0, 0), Actor: "alice", Action: "owner.set", Identity: "svc-9", Fingerprint: fp, After: "alice"})
	if err := insertRaw(rawAs(t, admin, "alice"), backdated); err == nil || !strings.Contains(err.Error(), "clock") {
		t.Errorf("a backdated event: %v", err)
	}
	// An importer's event with the right seq and prev_hash and a hash
	// that is not its content's would break the chain for good.
	garbage := nextEvent(t, alice, store.Event{At: time.Now(), Actor: "ci", Action: "import"})
	garbage.Hash = "garbage"
	if err := insertRaw(rawAs(t, admin, "ci"), garbage); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("an event whose hash is not its content's: %v", err)
	}
	if _, _, err := audrey.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if diffs, err := audrey.VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state: %v %v", diffs, err)
	}
}

// The database's hash of an event is Event.Canonical's, byte for byte,
// for every kind of text a certificate can carry: an owner change on an
// identity whose name holds quotes, backslashes, HTML, controls, NUL,
// SOH, bytes that are not UTF-8 and line separators is accepted.
func TestDatabaseHashesAsCertgovDoes(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("the audit trigger is PostgreSQL's: runs in the PostgreSQL pass")
	}
	admin := storetest.NewDatabase(t)
	if _, err := store.InitPostgres(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	name := "a<b>&\"q\\\x00\x01\x010\x08\x0c\n\r\t\x1f\x7f\u2028\u2029 é😀\u00ad"
	ci := openAs(t, admin, "ci")
	path := "/odd/\xff\xfe<&>\x00\x01x41.pem" // a path need not be UTF-8
	runImport(t, ci, false, fileWith(t, path, name))
	alice := openAs(t, admin, "alice")
	fp := fingerprintOf(t, alice, name)
	if _, err := alice.SetOwner(ctx, fp, "ops", store.Change{Reason: "<b>&\"\\ é😀", At: time.Now()}); err != nil {
		t.Fatalf("an event on %q: %v", name, err)
	}
	if _, err := ci.ForgetSources(ctx, path, "", store.Change{Reason: "gone", At: time.Now()}); err != nil {
		t.Fatalf("an event on %q: %v", path, err)
	}
	if _, _, err := alice.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func fingerprintOf(t *testing.T, s *store.Store, name string) string {
	t.Helper()
	var fp string
	err := s.EachRecord(ctx, func(r *model.Record) error {
		if r.IdentityName == name {
			fp = r.FingerprintSHA256
		}
		return nil
	})
	if err != nil || fp == "" {
		t.Fatalf("no record named %q: %v", name, err)
	}
	return fp
}

// Four eyes in the database: an owner who renames themselves with a
// lookalike letter or an address, or hands the identity to someone else
// for a moment, still may not approve; the database refuses what a
// certgov without the check would send.
func TestFourEyesCannotBeDodged(t *testing.T) {
	setup := team
	setup.FourEyes = true
	admin := teamDatabase(t, setup) // alice owns svc-0
	alice, bob := openAs(t, admin, "alice"), openAs(t, admin, "bob")
	approve := func(s *store.Store) error {
		_, _, err := s.DecideException(ctx, "svc-0", model.ExceptionApproved, time.Now().Add(12*time.Hour), store.Change{Reason: "partner needs it", At: time.Now()}, model.DefaultPolicy())
		return err
	}
	var fourEyes *model.FourEyesError
	for _, owner := range []string{"\u0430lice", "alice@example.com", "ALICE", "al\u00adice"} {
		if _, err := alice.SetOwner(ctx, "svc-0", owner, store.Change{At: time.Now()}); err != nil {
			if owner == "al\u00adice" {
				continue // refused as typed text: also fine
			}
			t.Fatal(err)
		}
		if err := approve(alice); !errors.As(err, &fourEyes) {
			t.Errorf("alice approved her identity owned by %q: %v", owner, err)
		}
	}
	// Handing the identity to someone else for a moment: certgov's own
	// check sees the new owner; the database remembers alice.
	if _, err := alice.SetOwner(ctx, "svc-0", "ops-team", store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := approve(alice); err == nil || !strings.Contains(err.Error(), "four eyes") {
		t.Errorf("alice approved after handing the identity over: %v", err)
	}
	if err := approve(bob); err != nil {
		t.Errorf("bob, never its owner, could not approve: %v", err)
	}
	// The policy's limit and the certificate's notAfter hold in the
	// database, whatever the client passes.
	fp := currentFingerprint(t, bob, "svc-9")
	if _, err := rawAs(t, admin, "bob").ExecContext(ctx, `INSERT INTO exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
		SELECT identity_id, fingerprint_sha256, 'approved', 'ok', certgov_now() + 10 * 86400 - 60, 'bob', certgov_now() FROM certificates WHERE fingerprint_sha256 = $1`, fp); err != nil {
		t.Errorf("an approval within the limits: %v", err)
	}
	for what, until := range map[string]string{"past notAfter": "not_after + 86400", "past 90 days": "certgov_now() + 91 * 86400"} {
		_, err := rawAs(t, admin, "bob").ExecContext(ctx, `INSERT INTO exceptions(identity_id, fingerprint_sha256, state, reason, until, decided_by, decided_at)
			SELECT identity_id, fingerprint_sha256, 'approved', 'ok', `+until+`, 'bob', certgov_now() FROM certificates WHERE fingerprint_sha256 = $1`, fp)
		if err == nil {
			t.Errorf("an approval %s was accepted", what)
		}
	}
}

// A campaign item keeps the identity and snapshot it was launched with,
// and its decision is the login's: a reviewer cannot take findings out of
// the snapshot, move a decision to another identity or decide in
// another's name.
func TestCampaignItemsCannotBeRewritten(t *testing.T) {
	admin := teamDatabase(t, team)
	alice := openAs(t, admin, "alice")
	if _, err := alice.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	conn := rawAs(t, admin, "alice")
	for _, st := range []string{
		`UPDATE campaign_items SET snapshot = '{}'`,
		`UPDATE campaign_items SET identity_id = (SELECT max(id) FROM identities)`,
		`UPDATE campaign_items SET fingerprint = 'x'`,
		`UPDATE campaign_items SET decision = 'certify', reviewer = 'bob', decided_at = certgov_now()`,
		`UPDATE campaign_items SET decision = 'certify', reviewer = 'alice', decided_at = 0`,
	} {
		if _, err := conn.ExecContext(ctx, st); err == nil {
			t.Errorf("%s: accepted", st)
		}
	}
	// A reviewer decides and closes with --force, as certgov does.
	if _, err := alice.Decide(ctx, "Q4", "svc-3", store.DecisionRevoke, "retired", store.Change{At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CloseCampaign(ctx, "Q4", true, store.Change{Reason: "carried to Q1", At: time.Now()}, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE campaign_items SET decision = 'certify', reviewer = 'alice', decided_at = certgov_now() WHERE decision = 'undecided'`); err == nil {
		t.Error("a decision in a closed campaign was accepted")
	}
	if diffs, err := openAs(t, admin, "audrey").VerifyState(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("state: %v %v", diffs, err)
	}
}

// The read-only auditor cannot hold the write lock: the advisory lock
// certgov once used stops no one, and write_lock is not the auditor's to
// lock.
func TestAuditorCannotStopWrites(t *testing.T) {
	admin := teamDatabase(t, team)
	audrey := rawAs(t, admin, "audrey")
	if _, err := audrey.ExecContext(ctx, `SELECT pg_advisory_lock(x'63657274676f76'::bigint)`); err != nil {
		t.Fatal(err)
	}
	tx, err := audrey.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, st := range []string{`LOCK TABLE write_lock IN EXCLUSIVE MODE`, `SELECT * FROM write_lock FOR UPDATE`} {
		if _, err := tx.ExecContext(ctx, st); err == nil {
			t.Errorf("the auditor: %s", st)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := openAs(t, admin, "alice").SetOwner(ctx, "svc-3", "bob", store.Change{At: time.Now()})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a write waited on the auditor")
	}
	tx.Rollback()

	// A writer holding the lock makes another wait, with a timeout and a
	// clear error, never forever.
	defer store.SetWriteLockTimeout(500 * time.Millisecond)()
	held, err := rawAs(t, admin, "bob").BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback()
	if _, err := held.ExecContext(ctx, `LOCK TABLE write_lock IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	_, err = openAs(t, admin, "alice").SetOwner(ctx, "svc-4", "bob", store.Change{At: time.Now()})
	var timeout *store.WriteLockTimeoutError
	if !errors.As(err, &timeout) || !strings.Contains(err.Error(), "write lock") {
		t.Errorf("a write while another holds the lock: %v", err)
	}
}

// Any login may NOTIFY certgov's channel: the auditor's flood every 5 ms
// neither hides another login's change from a dashboard nor passes for
// one.
func TestNotificationFloodDelaysNothing(t *testing.T) {
	admin := teamDatabase(t, team)
	watcher, alice := openAs(t, admin, "bob"), openAs(t, admin, "alice")
	flood := rawAs(t, admin, "audrey")
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				flood.ExecContext(ctx, `NOTIFY certgov_changed, 'identities'`)
			}
		}
	}()
	defer func() { close(stop); <-flooded }()
	v, err := watcher.WaitForChange(ctx, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan int64, 2)
	go func() {
		if next, err := watcher.WaitForChange(ctx, v, time.Hour); err == nil {
			changed <- next
		}
	}()
	select {
	case next := <-changed:
		t.Fatalf("the flood alone passed for a change (version %d)", next)
	case <-time.After(time.Second):
	}
	if _, err := alice.SetOwner(ctx, "svc-1", "bob", store.Change{At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("alice's change was not reported within 5 s during the flood")
	}
}

// A password in --db never reaches a message, in any of libpq's forms,
// and is warned about: ps shows it to every user of the machine.
func TestPasswordsAreNeverShown(t *testing.T) {
	for _, location := range []string{
		"host=db.example user=alice password = s3cret dbname=certgov",
		"postgres:host=db password='a b\\' s3cret' user=alice",
		"postgres://alice:s3cret@db.example/certgov",
		"postgresql://db.example/certgov?user=alice&password=s3cret",
		"password=s3cret",
	} {
		shown := store.RedactURL(location)
		if strings.Contains(shown, "s3cret") || strings.Contains(shown, "b'") {
			t.Errorf("%q shown as %q", location, shown)
		}
		if !store.IsPostgres(location) {
			t.Errorf("%q is not taken for PostgreSQL", location)
		}
	}
	if !storetest.Postgres() {
		return
	}
	location := storetest.NewDatabase(t)
	withPassword := strings.Replace(location, "postgres@", "postgres:s3cret@", 1)
	s, err := store.Open(ctx, withPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w := strings.Join(s.Warnings(), "\n"); !strings.Contains(w, "PGPASSFILE") || strings.Contains(w, "s3cret") {
		t.Errorf("warnings %q", w)
	}
}

// Names that differ only by invisible or lookalike characters raise
// lookalike-name, for identities (a soft hyphen after the real name) and
// for owners (a Cyrillic а).
func TestLookalikeNames(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "/names.pem", "ledger.payments.svc", "ledger.payments.svc\u00ad", "fx.payments.svc", "rates.payments.svc"))
	for name, owner := range map[string]string{"fx.payments.svc": "alice@example.com", "rates.payments.svc": "\u0430lice@example.com"} {
		if _, err := s.SetOwner(ctx, name, owner, store.Change{Actor: "erin", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	rv, err := s.NewReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = rv.Each(ctx, model.DefaultPolicy(), time.Now(), func(r *model.Record, findings []model.Finding) error {
		for _, f := range findings {
			if f.Code == model.FindingLookalikeName {
				got[r.IdentityName] = f.Message
				if f.Severity != model.SeverityHigh {
					t.Errorf("severity %s", f.Severity)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"ledger.payments.svc":       `reads like "ledger.payments.svc\u00ad"`,
		"ledger.payments.svc\u00ad": `its name "ledger.payments.svc\u00ad"`,
		"fx.payments.svc":           `its owner "alice@example.com" reads like the owner "аlice@example.com"`,
		"rates.payments.svc":        `its owner "аlice@example.com"`,
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%q: %q, want %q", name, got[name], want)
		}
	}
	if len(got) != 4 {
		t.Errorf("lookalike-name on %d identities: %v", len(got), got)
	}
	if out := model.Printable("ledger.payments.svc\u00ad"); out != `ledger.payments.svc\u00ad` {
		t.Errorf("the sanitizer shows %q", out)
	}
}

// On either database, a campaign item rewritten behind certgov's back
// (a finding taken out of its snapshot, the item moved to another
// identity) is a difference the trail does not explain: the items and
// their snapshots are bound to the campaign's start event.
func TestRewrittenCampaignItemsAreNotExplained(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "/items.pem", "svc-a", "svc-b", "svc-c"))
	if _, err := s.StartCampaign(ctx, "Q4", time.Time{}, nil, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if diffs, err := s.VerifyStateFull(ctx); err != nil || len(diffs) > 0 {
		t.Fatalf("before: %v %v", diffs, err)
	}
	raw := storetest.OpenRaw(t, s.Path())
	if res, err := raw.Exec(`UPDATE campaign_items SET snapshot = '{"findings": []}' WHERE identity = 'svc-a'`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d items rewritten", n)
	}
	quick, err := s.VerifyState(ctx)
	if err != nil || len(quick) != 0 {
		t.Errorf("the quick check reads no snapshot: %v %v", quick, err)
	}
	full, err := s.VerifyStateFull(ctx)
	if err != nil || len(full) != 1 || full[0].What != "snapshots at launch" {
		t.Errorf("a snapshot rewritten: %v %v", full, err)
	}
	runImport(t, s, false, fileWith(t, "/later.pem", "svc-later"))
	if _, err := raw.Exec(`UPDATE campaign_items SET identity_id = (SELECT id FROM identities WHERE name = 'svc-later') WHERE identity = 'svc-a'`); err != nil {
		t.Fatal(err)
	}
	quick, err = s.VerifyState(ctx)
	if err != nil || len(quick) != 1 || quick[0].What != "items" {
		t.Errorf("an item moved to another identity: %v %v", quick, err)
	}
}

// A row deleted from the derived tables (an importer login may write
// them) made an identity vanish from ls, findings, check and export with
// no event and doctor silent: VerifyDerived names it, and doctor fails.
func TestDerivedTablesAreChecked(t *testing.T) {
	s := openTemp(t)
	runImport(t, s, false, fileWith(t, "/derived.pem", "svc-kept", "svc-gone", "svc-changed"))
	if diffs, err := s.VerifyDerived(ctx); err != nil || len(diffs) > 0 {
		t.Fatalf("after an import: %v %v", diffs, err)
	}
	raw := storetest.OpenRaw(t, s.Path())
	for _, st := range []string{
		`DELETE FROM linked WHERE identity_name = 'svc-gone'`,
		`DELETE FROM current_periods WHERE identity_name = 'svc-gone'`,
		`UPDATE linked SET state = facts WHERE identity_name = 'svc-changed'`,
	} {
		if _, err := raw.Exec(st); err != nil {
			t.Fatal(err)
		}
	}
	diffs, err := s.VerifyDerived(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range diffs {
		got[d.Identity] = d.What
	}
	if got["svc-gone"] != "missing" || got["svc-changed"] != "altered" || len(got) != 2 {
		t.Errorf("differences %v", diffs)
	}
	report, ok := s.Doctor(ctx, false)
	if ok || !strings.Contains(strings.Join(report, "\n"), "linked state: 2 certificates differ") {
		t.Errorf("doctor: %v\n%s", ok, strings.Join(report, "\n"))
	}
}

// Every certgov function in the database runs with a fixed search_path
// that puts pg_temp last: none resolves a name through a login's
// temporary tables.
func TestEveryFunctionFixesItsSearchPath(t *testing.T) {
	admin := teamDatabase(t, team)
	rows, err := storetest.OpenRaw(t, admin).QueryContext(ctx, `SELECT p.proname, coalesce(array_to_string(p.proconfig, ','), '')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = current_schema() AND p.prokind = 'f'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var name, config string
		if err := rows.Scan(&name, &config); err != nil {
			t.Fatal(err)
		}
		count++
		if !strings.Contains(config, "search_path=pg_catalog, ") || !strings.HasSuffix(config, ", pg_temp") {
			t.Errorf("function %s: %q", name, config)
		}
	}
	if count < 10 {
		t.Errorf("%d certgov functions", count)
	}
}
