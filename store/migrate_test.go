package store

import (
	"certgov/store/storetest"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
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
