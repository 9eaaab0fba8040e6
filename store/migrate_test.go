package store

import (
	"certgov/store/storetest"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/model"
	"certgov/model/demo"
)

// A database made by the previous certgov (schema 4) keeps one identity
// per subject DN and URI SAN, so a self-signed lookalike shares the
// CA-signed identity. Opening it with this certgov splits them: the
// CA-signed certificates keep the identity and its owner, the lookalike
// becomes an identity of its own without the owner; files read by the older
// reader are read again on the next import.
func TestMigrationSplitsLookalikesAndRereadsTrustFiles(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite schema history (PostgreSQL starts at version 9)")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:4] {
		if _, err := db.Exec(m.sqlite.sql); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	g := demo.NewGenerator(5)
	ca, err := g.SelfSigned(demo.Template{CommonName: "Old CA", CA: true})
	if err != nil {
		t.Fatal(err)
	}
	names := demo.Template{CommonName: "ledger", Org: "Example", URIs: []string{"spiffe://corp.example/ledger"}}
	real, err := g.Issue(names, ca)
	if err != nil {
		t.Fatal(err)
	}
	lookalike, err := g.SelfSigned(names)
	if err != nil {
		t.Fatal(err)
	}
	oldKey := "cn=ledger,o=example|spiffe://corp.example/ledger"
	res, err := db.Exec(`INSERT INTO identities(identity_key, key_hash, name, created_at, owner) VALUES (?, ?, 'ledger', 1, 'alice@example.com')`, oldKey, identityKeyHash(oldKey))
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := res.LastInsertId()
	columns := certificateColumns[:len(certificateColumns)-len(", malformed")]
	for _, issued := range []*demo.Issued{real, lookalike} {
		c, err := model.FromX509(issued.Cert)
		if err != nil {
			t.Fatal(err)
		}
		args := certificateArgs(&c)
		args = append(args[:len(args)-1], oldID, c.DER, 1)
		if _, err := db.Exec(`INSERT INTO certificates(`+columns+`, identity_id, der, first_seen) VALUES (?`+strings.Repeat(",?", len(args)-1)+`)`, args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO sources(path, kind, content_sha256, size, imported_at, certificate_count, problem_count) VALUES ('ca.pem', 'ca-bundle', 'abc', 1, 1, 1, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.db.QueryContext(ctx, `SELECT c.self_signed, i.id, coalesce(i.owner, ''), i.identity_key FROM certificates c JOIN identities i ON i.id = c.identity_id ORDER BY c.self_signed`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var selfSigned bool
		var id int64
		var owner, key string
		if err := rows.Scan(&selfSigned, &id, &owner, &key); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("self-signed=%v kept=%v owner=%q", selfSigned, id == oldID, owner))
	}
	rows.Close()
	want := []string{`self-signed=false kept=true owner="alice@example.com"`, `self-signed=true kept=false owner=""`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after migration %v, want %v", got, want)
	}
	if rv, err := s.NewReview(ctx); err != nil || !rv.stored {
		t.Errorf("the migration left no current linked state (%v)", err)
	}
	imp, err := s.NewImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Known("ca.pem", "abc") {
		t.Error("a file the older reader read is taken as known: its anchors would never be read again")
	}
	caFacts, _ := model.FromX509(ca.Cert)
	ch := make(chan model.FileResult, 1)
	ch <- model.FileResult{Source: model.Source{Path: "ca.pem", Kind: model.KindCABundle, ContentSHA256: "abc", Size: 1},
		TrustEntries: []model.TrustEntry{{Kind: model.EntryCA, Value: caFacts.FingerprintSHA256, HashAlgorithm: "sha256", Label: "ca.pem"}}}
	close(ch)
	if _, err := imp.Run(ctx, ch, false, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := s.TrustEntries(ctx)
	if err != nil || len(entries) != 1 || entries[0].Value != caFacts.FingerprintSHA256 {
		t.Errorf("entries after reading the file again: %+v %v", entries, err)
	}
	if imp2, _ := s.NewImport(ctx); !imp2.Known("ca.pem", "abc") {
		t.Error("read again, the file is still not known")
	}
}

// Migration 13 keeps what the older layout held: each certificate's
// cached chain result (now one row per distinct result) and each current
// period (now named by the identity's key hash).
func TestMigrationKeepsChainResultsAndPeriods(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite schema history (PostgreSQL's copy of it runs under db init)")
	ctx := context.Background()
	s, _ := demoStore(t)
	path := s.Path()
	periodsQuery := `SELECT i.identity_key, p.not_after, p.period_from, p.period_until FROM current_periods p
		JOIN identities i ON i.key_hash = p.key_hash ORDER BY 1, 3`
	wantChains := tableRows(t, s.db, `SELECT a.fingerprint_sha256, r.ca_set, r.chain FROM chain_anchors a
		JOIN chain_results r ON r.id = a.result ORDER BY 1`)
	wantPeriods := tableRows(t, s.db, periodsQuery)
	if len(wantChains) == 0 || len(wantPeriods) == 0 {
		t.Fatalf("the demo estate has %d cached chains and %d periods", len(wantChains), len(wantPeriods))
	}
	// The layout of schema 12, holding the same rows.
	_, err := s.db.ExecContext(ctx, `
CREATE TABLE old_periods (identity_name TEXT NOT NULL COLLATE NOCASE, identity_key TEXT NOT NULL, fingerprint_sha256 TEXT NOT NULL,
	not_after INTEGER NOT NULL, period_from INTEGER NOT NULL, period_until INTEGER NOT NULL);
INSERT INTO old_periods SELECT p.identity_name, i.identity_key, 'fp', p.not_after, p.period_from, p.period_until
	FROM current_periods p JOIN identities i ON i.key_hash = p.key_hash;
DROP TABLE current_periods;
ALTER TABLE old_periods RENAME TO current_periods;
CREATE INDEX current_periods_order ON current_periods(not_after, identity_name, identity_key);
CREATE TABLE old_anchors (fingerprint_sha256 TEXT PRIMARY KEY, ca_set TEXT NOT NULL, anchors TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO old_anchors SELECT a.fingerprint_sha256, r.ca_set, r.chain FROM chain_anchors a JOIN chain_results r ON r.id = a.result;
DROP TABLE chain_anchors;
DROP TABLE chain_results;
ALTER TABLE old_anchors RENAME TO chain_anchors;
`+linkedLayout14+itemsLayout15+`
PRAGMA user_version = 12;`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gotChains := tableRows(t, s.db, `SELECT a.fingerprint_sha256, r.ca_set, r.chain FROM chain_anchors a
		JOIN chain_results r ON r.id = a.result ORDER BY 1`)
	if !slices.Equal(gotChains, wantChains) {
		t.Errorf("cached chains after migrating: %d rows, want %d as before", len(gotChains), len(wantChains))
	}
	if got := tableRows(t, s.db, periodsQuery); !slices.Equal(got, wantPeriods) {
		t.Errorf("current periods after migrating: %d rows, want %d as before", len(got), len(wantPeriods))
	}
	var results int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM chain_results`).Scan(&results); err != nil || results >= len(wantChains) {
		t.Errorf("%d distinct chain results for %d certificates (%v): the certificates of a CA share one", results, len(wantChains), err)
	}
}

// itemsLayout15 takes campaign items back to schema 15's, without their
// assigned reviewers.
const itemsLayout15 = `
DROP TABLE usage_days;
DROP TABLE access_log_reads;
DROP INDEX campaign_items_assignee;
DROP INDEX campaign_items_pace;
ALTER TABLE campaign_items DROP COLUMN assignee;
`

// linkedLayout14 puts the linked table back in schema 14's layout, which
// named each row's identity by its key, holding the same rows.
const linkedLayout14 = `
CREATE TABLE old_linked (
	id                 INTEGER PRIMARY KEY,
	identity_name      TEXT NOT NULL COLLATE NOCASE,
	identity_key       TEXT NOT NULL,
	not_after          INTEGER NOT NULL,
	fingerprint_sha256 TEXT NOT NULL,
	facts              BLOB NOT NULL,
	state              BLOB NOT NULL
);
INSERT INTO old_linked SELECT l.id, l.identity_name, i.identity_key, l.not_after, lower(hex(l.fingerprint_sha256)), l.facts, l.state
	FROM linked l JOIN identities i ON i.key_hash = l.key_hash;
DROP TABLE linked;
ALTER TABLE old_linked RENAME TO linked;
CREATE UNIQUE INDEX linked_order ON linked(identity_name, identity_key, not_after, fingerprint_sha256);
CREATE UNIQUE INDEX linked_fingerprint ON linked(fingerprint_sha256);
`

// postgresLinkedLayout14 is linkedLayout14 in PostgreSQL, with its schema
// version.
const postgresLinkedLayout14 = `
ALTER TABLE linked ADD COLUMN identity_key TEXT;
UPDATE linked l SET identity_key = i.identity_key FROM identities i WHERE i.key_hash = l.key_hash;
ALTER TABLE linked ALTER COLUMN identity_key SET NOT NULL;
DROP INDEX linked_order;
ALTER TABLE linked DROP COLUMN key_hash;
ALTER TABLE linked ALTER COLUMN fingerprint_sha256 TYPE text COLLATE "C" USING encode(fingerprint_sha256, 'hex');
CREATE UNIQUE INDEX linked_order ON linked(identity_name, identity_key, not_after, fingerprint_sha256);
UPDATE certgov_schema SET version = 14;
`

// Migration 15 names the linked rows' identities by key hash: the stored
// linked state survives it (no relink), and reads of it give every
// certificate with the same identity, in the same order, as before.
func TestMigrationKeepsTheLinkedState(t *testing.T) {
	ctx := context.Background()
	s, _ := demoStore(t)
	path := s.Path()
	read := func(s *Store) []string {
		var got []string
		err := s.eachRecord(ctx, false, nil, func(r *model.Record, linked string) error {
			if linked == "" {
				t.Fatalf("%s read without its stored state", r.FingerprintSHA256)
			}
			got = append(got, r.IdentityName+"|"+r.IdentityKey+"|"+r.FingerprintSHA256)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := read(s)
	summaryQuery := `SELECT version, summary FROM linked_summary`
	wantSummary := tableRows(t, s.db, summaryQuery)
	if len(want) == 0 || len(wantSummary) != 1 {
		t.Fatalf("the demo estate has %d linked rows and %d summaries", len(want), len(wantSummary))
	}
	layout14 := linkedLayout14 + itemsLayout15 + `PRAGMA user_version = 14;`
	if s.Postgres() {
		layout14 = postgresLinkedLayout14 + itemsLayout15
	}
	if _, err := s.db.ExecContext(ctx, layout14); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if strings.HasPrefix(path, "postgres") { // an administrator upgrades a team database
		if _, err := InitPostgres(ctx, path, TeamSetup{}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := tableRows(t, s.db, summaryQuery); !slices.Equal(got, wantSummary) {
		t.Errorf("linked summary after migrating: %q, want %q (kept, no relink)", got, wantSummary)
	}
	var strays int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM linked l
		WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.key_hash = l.key_hash)`).Scan(&strays); err != nil || strays != 0 {
		t.Errorf("%d linked rows name no identity's key hash (%v)", strays, err)
	}
	if got := read(s); !slices.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Errorf("linked reads after migrating: %d rows, want %d as before; row %d differs", len(got), len(want), i)
	}
}

// tableRows reads a query's rows, each as its columns joined.
func tableRows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	columns, _ := rows.Columns()
	var out []string
	for rows.Next() {
		values := make([]any, len(columns))
		for i := range values {
			values[i] = new(sql.NullString)
		}
		if err := rows.Scan(values...); err != nil {
			t.Fatal(err)
		}
		var row []string
		for _, v := range values {
			row = append(row, v.(*sql.NullString).String)
		}
		out = append(out, strings.Join(row, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
