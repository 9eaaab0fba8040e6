package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"certgov/model"
)

// ImportSummary counts what an import did.
type ImportSummary struct {
	Files             int `json:"files"`
	FilesUnchanged    int `json:"files_unchanged"`
	FilesSkipped      int `json:"files_skipped"`
	FilesFailed       int `json:"files_failed"`
	SourcesNew        int `json:"sources_new"`
	CertificatesNew   int `json:"certificates_new"`
	CertificatesKnown int `json:"certificates_known"`
	IdentitiesNew     int `json:"identities_new"`
	PrivateKeys       int `json:"private_keys"`
	TrustEntries      int `json:"trust_entries"`
	Servers           int `json:"servers"`
	Revocations       int `json:"revocations"`
	GovernanceValues  int `json:"governance_values"`
	Problems          int `json:"problems"`
	// SourcesRemoved counts files gone from an imported folder (or no
	// longer certificate material) whose sources stopped counting.
	SourcesRemoved int `json:"sources_removed"`
	// AccessLogs counts the servers' access logs read, UsageDays what
	// they said (a certificate on a day, per outcome).
	AccessLogs int `json:"access_logs"`
	UsageDays  int `json:"usage_days"`
	// AccessLogsContinued counts the logs that grew since the last
	// import, read from where it ended.
	AccessLogsContinued int `json:"access_logs_continued"`
}

// Import is one run of writing importer results into the database. The
// importers parse on worker goroutines; Import is the single writer.
type Import struct {
	// Actor is who the import's audit events name.
	Actor string
	// Folders are the source keys (model.SourceKey) of the folders this
	// import walks whole: a current source below one that the walk does
	// not find any more is removed (its entries stop admitting; its
	// versions stay as history).
	Folders []string

	s     *Store
	known map[string]knownSource
	paths map[string]bool // every path with a current source, problems or not
	logs  []accessLog     // the access logs the imported servers write
}

type knownSource struct {
	kind          model.SourceKind
	contentSHA256 string
	size          int64
	certificates  int
}

// NewImport prepares an import: it loads which file contents are already
// stored so that unchanged files are not parsed again.
func (s *Store) NewImport(ctx context.Context) (*Import, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT path, kind, content_sha256, size, certificate_count, problem_count, reader_version FROM sources WHERE superseded_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	imp := &Import{s: s, known: map[string]knownSource{}, paths: map[string]bool{}}
	for rows.Next() {
		var path string
		var k knownSource
		var problems, readerVersion int
		if err := rows.Scan(&path, &k.kind, &k.contentSHA256, &k.size, &k.certificates, &problems, &readerVersion); err != nil {
			return nil, err
		}
		imp.paths[path] = true
		// A file an older reader read is read again: what it yields may
		// have changed (ReaderVersion).
		if problems == 0 && readerVersion == ReaderVersion {
			imp.known[path] = k
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return imp, imp.loadAccessLogs(ctx)
}

// Known reports whether this content of path is stored already. It is
// safe for concurrent use.
func (imp *Import) Known(path, contentSHA256 string) bool {
	k, ok := imp.known[path]
	return ok && k.contentSHA256 == contentSHA256
}

// ReadBefore gives the content hash and size of the version of path an
// import read before: a log that grew since is read from there on. It is
// safe for concurrent use.
func (imp *Import) ReadBefore(path string) (contentSHA256 string, size int64, ok bool) {
	k, ok := imp.known[path]
	if !ok || k.kind != model.KindAccessLog {
		return "", 0, false // only a log's usage can be carried over
	}
	return k.contentSHA256, k.size, true
}

// ReaderVersion changes whenever the importers read the same bytes into
// different trust entries, so that `certgov import` reads such files again.
// 2: every certificate of an anchor list is an anchor, name rules carry
// their server's scope, Envoy contexts are all-of, truststores are anchor
// lists. 3: configurations yield their servers; nginx as nginx decides
// (depth, maps gate through if/return, paths from the prefix). 4: nginx
// servers name their access logs and formats. 5: HAProxy frontends and
// Envoy listeners name theirs.
const ReaderVersion = 5

// loadIndexes are the inventory's secondary indexes whose keys an import
// meets in random order: a public key's hash, an identity's name, the
// identity of each certificate. Inserting each at a random place of an
// index larger than the page cache rewrites a page per certificate and
// index at every commit. A first import into an empty SQLite database
// drops them and builds each once at its end, from sorted keys, as a full
// relink does its own (bulkIndexes); the unique keys an import looks up
// as it goes stay. Reads meanwhile stay correct: SQLite sorts, or builds
// an index for the query. (PostgreSQL: see bulkIndexes.)
var loadIndexes = indexes{
	{"certificates_spki", `CREATE INDEX certificates_spki ON certificates(spki_sha256, identity_id)`},
	{"certificates_identity", `CREATE INDEX certificates_identity ON certificates(identity_id)`},
	{"identities_name", `CREATE INDEX identities_name ON identities(name COLLATE NOCASE)`},
}

// buildLoadIndexes builds the loadIndexes that do not exist, sorting in
// files (sortOnDisk).
func buildLoadIndexes(ctx context.Context, conn *sql.Conn) error {
	restore, err := sortOnDisk(ctx, conn)
	if err != nil {
		return err
	}
	defer restore()
	return loadIndexes.create(ctx, conn, true)
}

// batchCertificates bounds a transaction: large enough to amortise the
// commit, small enough that a killed import loses little (a few seconds
// of work). A commit writes every page the batch dirtied, and the keys of
// the certificates' fingerprint index come in random order: a batch of
// 1,000 dirtied about a page a certificate, one of 16,000 shares many of
// them (loading a million certificates: 185 s with 1,000, 167 s with
// 8,000, 155 s with 16,000).
var batchCertificates = 16000 // a variable for the tests

// event is e made by the import's actor (on PostgreSQL, the login: see
// Store.authenticated).
func (imp *Import) event(e *Event) *Event {
	ch := imp.s.authenticated(Change{Actor: imp.Actor})
	e.Actor, e.OnBehalfOf = ch.Actor, ch.OnBehalfOf
	return e
}

// Run writes results as they arrive. Each file is stored whole or not at
// all, files are committed in batches, and an
// import killed at any moment leaves a consistent database that a second
// run completes. With dryRun everything is rolled back at the end, so the
// counts are exact and nothing is written. report sees every result.
func (imp *Import) Run(ctx context.Context, results <-chan model.FileResult, dryRun bool, report func(model.FileResult)) (ImportSummary, error) {
	var sum ImportSummary
	if err := imp.s.writable(); err != nil {
		return sum, err
	}
	conn, err := imp.s.db.Conn(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	restoreWriter, err := imp.s.dialect.tuneWriter(ctx, conn)
	if err != nil {
		return sum, err
	}
	// Run before the connection closes: by the deferred call after a
	// rollback, or before the relink below.
	restoreWriter = sync.OnceFunc(restoreWriter)
	defer restoreWriter()

	w := &writer{s: imp.s, conn: conn, pathsWithSources: imp.paths, now: time.Now().UTC().Unix()}
	if !dryRun {
		if err := conn.QueryRowContext(ctx, `INSERT INTO imports(started_at) VALUES (?) RETURNING id`, w.now).Scan(&w.importID); err != nil {
			return sum, imp.s.permitted(err)
		}
	}
	if err := w.prepare(ctx); err != nil {
		return sum, err
	}
	defer w.closeStatements()
	// A first import drops loadIndexes with its first batch and builds
	// them after its last; any other import first builds those a killed
	// first import left missing.
	bulk, dropped := false, false
	if !dryRun && !imp.s.Postgres() {
		if err := conn.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM certificates)`).Scan(&bulk); err != nil {
			return sum, err
		}
		if !bulk {
			if err := buildLoadIndexes(ctx, conn); err != nil {
				return sum, fmt.Errorf("indexes: %w", err)
			}
		}
	}
	defer func() {
		// A stopped first import still leaves its indexes (seconds at a
		// million certificates): reads need no more than correct, but a
		// lookup by name or key should not scan every row until the
		// next import. Runs after the rollback below.
		if dropped {
			buildLoadIndexes(context.WithoutCancel(ctx), conn)
		}
	}()

	seen := map[string]bool{} // the source keys this walk found
	inTx := false
	certsInTx := 0
	var batch ImportSummary // what the open transaction adds, for its audit event
	commit := func() error {
		if !inTx {
			return nil
		}
		certsInTx = 0
		if dryRun {
			inTx = false
			_, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return err
		}
		// Imports are audited too, in the transaction that stores them.
		after, _ := json.Marshal(batch)
		batch = ImportSummary{}
		if err := imp.s.appendEvent(ctx, conn, imp.event(&Event{At: time.Now(), Action: "import", After: string(after)})); err != nil {
			return err
		}
		// Still in the transaction until COMMIT went through: a COMMIT
		// stopped by Ctrl-C is rolled back below, not left open on a
		// connection that goes back to the pool.
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
		inTx = false
		return nil
	}
	defer func() {
		if inTx {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()

	var txStarted time.Time
	for {
		// Waiting on the parsers, the writer commits once the batch has
		// held the lock for a moment, so that other writers (an `owner
		// set` in another terminal) do not wait on the parsers too.
		var commitAt time.Time
		if inTx && !dryRun {
			commitAt = txStarted.Add(idleCommitAfter)
		}
		res, ok, err := nextResult(results, commitAt, commit)
		if err != nil {
			return sum, fmt.Errorf("commit: %w", err)
		}
		if !ok {
			break
		}
		if report != nil {
			report(res)
		}
		if res.Skipped == "" {
			seen[res.Source.Path] = true
		}
		sum.Files++
		sum.Problems += len(res.Problems)
		switch {
		case res.Err != nil:
			sum.FilesFailed++
			continue
		case res.Skipped != "":
			sum.FilesSkipped++
			continue
		case res.Unchanged:
			sum.FilesUnchanged++
			sum.CertificatesKnown += imp.known[res.Source.Path].certificates
			continue
		}
		if !inTx {
			if err := imp.s.dialect.beginOn(ctx, conn); err != nil {
				return sum, fmt.Errorf("begin: %w", err)
			}
			inTx, txStarted = true, time.Now()
			if bulk && !dropped {
				if err := loadIndexes.drop(ctx, conn); err != nil {
					return sum, fmt.Errorf("indexes: %w", err)
				}
				dropped = true
			}
		}
		fileSum, err := w.storeFile(ctx, res)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", res.Source.Path, err)
		}
		sum.add(fileSum)
		batch.add(fileSum)
		batch.Files++
		certsInTx += len(res.Certificates) + res.TrustEntryCount() + len(res.CRLs) + len(res.Governance) + 1
		if certsInTx >= batchCertificates && !dryRun {
			if err := commit(); err != nil {
				return sum, fmt.Errorf("commit: %w", err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := commit(); err != nil {
		return sum, fmt.Errorf("commit: %w", err)
	}
	if dropped {
		if err := buildLoadIndexes(ctx, conn); err != nil {
			return sum, fmt.Errorf("indexes: %w", err)
		}
		dropped = false
	}
	if sum.SourcesRemoved, err = imp.removeMissing(ctx, conn, seen, dryRun); err != nil {
		return sum, fmt.Errorf("removed files: %w", err)
	}
	if !dryRun {
		summary, _ := json.Marshal(sum)
		if _, err := conn.ExecContext(ctx, `UPDATE imports SET finished_at = ?, summary = ? WHERE id = ?`, time.Now().UTC().Unix(), string(summary), w.importID); err != nil {
			return sum, err
		}
		// Link once here, so that reads need not (linked.go); the
		// writer's connection, and its page cache, go first.
		w.closeStatements()
		restoreWriter()
		conn.Close()
		if err := imp.s.Reindex(ctx, false); err != nil {
			return sum, fmt.Errorf("linking: %w", err)
		}
	}
	return sum, nil
}

// idleCommitAfter is how long an import's transaction may hold the write
// lock while the writer waits for the next parsed file.
const idleCommitAfter = 50 * time.Millisecond

// nextResult takes the next parsed file; if none comes by commitAt (zero:
// no transaction to commit), it commits, then waits on. A file already
// parsed is taken at once: were it raced against a timer already run
// out, half the files after the first 50 ms of a transaction would
// commit it (at a million certificates, 1,935 commits of about 500
// certificates instead of batches of batchCertificates, each rewriting
// the pages of every fingerprint index it touched).
func nextResult(results <-chan model.FileResult, commitAt time.Time, commit func() error) (model.FileResult, bool, error) {
	select {
	case res, ok := <-results:
		return res, ok, nil
	default:
	}
	if !commitAt.IsZero() {
		timer := time.NewTimer(time.Until(commitAt))
		defer timer.Stop()
		select {
		case res, ok := <-results:
			return res, ok, nil
		case <-timer.C:
		}
		if err := commit(); err != nil {
			return model.FileResult{}, false, err
		}
	}
	res, ok := <-results
	return res, ok, nil
}

// AddPass adds what a second pass over the same files wrote (an
// import's access logs): the files themselves were counted once already.
func (s *ImportSummary) AddPass(o ImportSummary) {
	s.Problems += o.Problems
	s.add(o)
}

func (s *ImportSummary) add(o ImportSummary) {
	s.SourcesNew += o.SourcesNew
	s.CertificatesNew += o.CertificatesNew
	s.CertificatesKnown += o.CertificatesKnown
	s.IdentitiesNew += o.IdentitiesNew
	s.PrivateKeys += o.PrivateKeys
	s.TrustEntries += o.TrustEntries
	s.Servers += o.Servers
	s.AccessLogs += o.AccessLogs
	s.UsageDays += o.UsageDays
	s.AccessLogsContinued += o.AccessLogsContinued
	s.Revocations += o.Revocations
	s.GovernanceValues += o.GovernanceValues
}

// writer holds the single connection and its prepared statements.
type writer struct {
	s                *Store
	conn             *sql.Conn
	pathsWithSources map[string]bool
	importID         int64
	now              int64
	stmts            map[string]*sql.Stmt
}

var writerStatements = map[string]string{
	"sourceID": `SELECT id FROM sources WHERE path = ? AND content_sha256 = ?`,
	"source": `INSERT INTO sources(path, kind, content_sha256, size, imported_at, import_id, certificate_count, problem_count, reader_version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
	"restore":   `UPDATE sources SET superseded_at = NULL WHERE id = ?`,
	"supersede": `UPDATE sources SET superseded_at = ? WHERE path = ? AND id <> ? AND superseded_at IS NULL`,
	// Before "supersede": the sources it is about to supersede.
	"pendingOld": `INSERT INTO relink_pending(source_id)
		SELECT id FROM sources WHERE path = ? AND id <> ? AND superseded_at IS NULL ON CONFLICT DO NOTHING`,
	"pending": `INSERT INTO relink_pending(source_id) VALUES (?) ON CONFLICT DO NOTHING`,
	"key":     `INSERT INTO private_keys(source_id, location, key_type, spki_sha256) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	"crl": `INSERT INTO crls(source_id, issuer, issuer_normalized, this_update, next_update, location, der)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
	"governance": `INSERT INTO governance_values(source_id, fingerprint_sha256, owner, expires_at, notes, location)
		VALUES (?, ?, ?, ?, ?, ?)`,
	"entriesOf":     `DELETE FROM trust_entries WHERE source_id = ?`,
	"server":        `INSERT INTO servers(source_id, scope, doc) VALUES (?, ?, ?)`,
	"serversOf":     `DELETE FROM servers WHERE source_id = ?`,
	"readerVersion": `UPDATE sources SET reader_version = ? WHERE id = ? AND reader_version < ?`,
}

func (w *writer) prepare(ctx context.Context) error {
	w.stmts = map[string]*sql.Stmt{}
	for name, query := range writerStatements {
		stmt, err := w.conn.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		w.stmts[name] = stmt
	}
	return nil
}

func (w *writer) closeStatements() {
	for _, s := range w.stmts {
		s.Close()
	}
}

// storeFile writes one file into the open batch transaction. A file is
// never stored in part: files that failed to parse never get here, and a
// database error aborts the import and rolls back the whole batch.
func (w *writer) storeFile(ctx context.Context, res model.FileResult) (sum ImportSummary, err error) {
	sourceID, isNew, err := w.source(ctx, res)
	if err != nil {
		return sum, fmt.Errorf("source: %w", err)
	}
	if isNew {
		sum.SourcesNew++
	}
	// What this source holds, and what the sources it replaces held,
	// is linked again (Reindex).
	if _, err := w.stmts["pending"].ExecContext(ctx, sourceID); err != nil {
		return sum, err
	}
	if w.pathsWithSources[res.Source.Path] || !isNew {
		if _, err := w.stmts["pendingOld"].ExecContext(ctx, res.Source.Path, sourceID); err != nil {
			return sum, err
		}
		if _, err := w.stmts["supersede"].ExecContext(ctx, w.now, res.Source.Path, sourceID); err != nil {
			return sum, err
		}
	}
	if err := w.certificates(ctx, res.Certificates, sourceID, &sum); err != nil {
		return sum, err
	}
	for _, k := range res.Keys {
		if _, err := w.stmts["key"].ExecContext(ctx, sourceID, k.Location, k.KeyType, k.SPKISHA256); err != nil {
			return sum, err
		}
		sum.PrivateKeys++
	}
	// A content version seen before (a file changed back) has its entries
	// already, unless an older reader read them: then they are replaced.
	reread := false
	if !isNew {
		updated, err := w.stmts["readerVersion"].ExecContext(ctx, ReaderVersion, sourceID, ReaderVersion)
		if err != nil {
			return sum, err
		}
		if n, _ := updated.RowsAffected(); n > 0 {
			reread = true
			for _, stmt := range []string{"entriesOf", "serversOf"} {
				if _, err := w.stmts[stmt].ExecContext(ctx, sourceID); err != nil {
					return sum, err
				}
			}
		}
	}
	if isNew || reread {
		// Many rows a statement: a pin list of a million lines is a
		// million rows.
		entries := w.s.bulkWriter(w.conn, w.conn, "trust_entries", "source_id", "kind", "value", "hash_algorithm", "san_type", "match", "label", "location", "scope", "all_of")
		written := 0
		for e := range res.EachTrustEntry() {
			if err := entries.add(ctx, sourceID, e.Kind, e.Value, e.HashAlgorithm, e.SANType, e.Match, e.Label, e.Location, e.Scope, e.AllOf); err != nil {
				entries.flush(ctx)
				return sum, err
			}
			written++
		}
		if err := entries.flush(ctx); err != nil {
			return sum, err
		}
		// Listed entries are read again from the file's text, and that
		// read stops when the parse's context is done: what it wrote is
		// then not the whole file.
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if written != res.TrustEntryCount() {
			return sum, fmt.Errorf("%d of its %d trust entries were read again", written, res.TrustEntryCount())
		}
		sum.TrustEntries += written
		for _, srv := range res.Servers {
			doc, err := json.Marshal(srv)
			if err != nil {
				return sum, err
			}
			if _, err := w.stmts["server"].ExecContext(ctx, sourceID, srv.Scope, string(doc)); err != nil {
				return sum, err
			}
			sum.Servers++
		}
	}
	if isNew && res.AccessLog != nil {
		if err := w.writeAccessLog(ctx, sourceID, res.Source.Path, res.AccessLog, &sum); err != nil {
			return sum, err
		}
	}
	if isNew {
		for _, crl := range res.CRLs {
			var crlID int64
			err := w.stmts["crl"].QueryRowContext(ctx, sourceID, crl.Issuer, crl.IssuerNormalized, crl.ThisUpdate.Unix(), crl.NextUpdate.Unix(), crl.Location, crl.DER).Scan(&crlID)
			if err != nil {
				return sum, err
			}
			// Many rows a statement: a CRL may list a million serials.
			revoked := newRowBatch(w.conn, `INSERT INTO revocations(crl_id, serial, revoked_at)`, 3)
			revoked.tail = ` ON CONFLICT DO NOTHING`
			n := 0
			for rv, err := range crl.Revocations() {
				if err == nil {
					err = revoked.add(ctx, crlID, rv.Serial, rv.RevokedAt.Unix())
				}
				if err != nil {
					revoked.flush(ctx)
					return sum, err
				}
				n++
			}
			if err := revoked.flush(ctx); err != nil {
				return sum, err
			}
			if n != crl.RevokedCount {
				return sum, fmt.Errorf("CRL: %d of its %d serials were read again", n, crl.RevokedCount)
			}
			sum.Revocations += crl.RevokedCount
		}
		for _, g := range res.Governance {
			var expires any
			if !g.ExpiresAt.IsZero() {
				expires = g.ExpiresAt.Unix()
			}
			if _, err := w.stmts["governance"].ExecContext(ctx, sourceID, g.FingerprintSHA256, g.Owner, expires, g.Notes, g.Location); err != nil {
				return sum, err
			}
			sum.GovernanceValues++
		}
	}
	return sum, nil
}

// source records this content version of the file. A content seen at the
// path before (the file was changed and changed back) is current again.
func (w *writer) source(ctx context.Context, res model.FileResult) (id int64, created bool, err error) {
	src := res.Source
	var importID any
	if w.importID != 0 {
		importID = w.importID
	}
	err = w.stmts["source"].QueryRowContext(ctx, src.Path, src.Kind, src.ContentSHA256, src.Size, src.ImportedAt.Unix(), importID, len(res.Certificates), len(res.Problems), ReaderVersion).Scan(&id)
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	if err := w.stmts["sourceID"].QueryRowContext(ctx, src.Path, src.ContentSHA256).Scan(&id); err != nil {
		return 0, false, err
	}
	_, err = w.stmts["restore"].ExecContext(ctx, id)
	return id, false, err
}

// certificates writes a file's certificates, their identities and where
// the file holds them, a few statements for the whole file rather than
// three or four per certificate: on PostgreSQL each statement is a round
// trip to the server.
func (w *writer) certificates(ctx context.Context, found []model.FoundCertificate, sourceID int64, sum *ImportSummary) error {
	if len(found) == 0 {
		return nil
	}
	ids, created, err := w.identities(ctx, found)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	sum.IdentitiesNew += created
	rows := make([][]any, len(found))
	for i := range found {
		fc := &found[i]
		rows[i] = append(certificateArgs(&fc.Certificate), ids[string(identityKeyHash(fc.IdentityKey))], fc.DER, w.now)
	}
	added, err := insertRows(ctx, w.conn, `INSERT INTO certificates(`+certificateColumns+`, identity_id, der, first_seen)`,
		` ON CONFLICT(fingerprint_sha256) DO NOTHING`, rows)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	sum.CertificatesNew += int(added)
	sum.CertificatesKnown += len(found) - int(added)
	for i := range found {
		rows[i] = []any{found[i].FingerprintSHA256, sourceID, found[i].Location}
	}
	_, err = insertRows(ctx, w.conn, `INSERT INTO certificate_sources(fingerprint_sha256, source_id, location)`, ` ON CONFLICT DO NOTHING`, rows)
	return err
}

// identities returns the id of each identity the certificates belong to,
// by key hash, creating those that are new (in the certificates' order,
// so ids follow first sight), and how many it created.
func (w *writer) identities(ctx context.Context, found []model.FoundCertificate) (map[string]int64, int, error) {
	ids := map[string]int64{}
	var hashes []string
	var newRows [][]any
	for i := range found {
		hash := string(identityKeyHash(found[i].IdentityKey))
		if _, seen := ids[hash]; !seen {
			ids[hash] = 0
			hashes = append(hashes, hash)
		}
	}
	scan := func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var hash []byte
			if err := rows.Scan(&id, &hash); err != nil {
				return err
			}
			ids[string(hash)] = id
		}
		return rows.Err()
	}
	for len(hashes) > 0 {
		n := min(500, len(hashes))
		args := make([]any, n)
		for i, h := range hashes[:n] {
			args[i] = []byte(h) // a blob: SQLite never finds a blob by text
		}
		hashes = hashes[n:]
		err := eachRowOf(ctx, w.conn, `SELECT id, key_hash FROM identities WHERE key_hash IN (?`+strings.Repeat(", ?", n-1)+`)`, args, scan)
		if err != nil {
			return nil, 0, err
		}
	}
	for i := range found {
		c := &found[i].Certificate
		hash := string(identityKeyHash(c.IdentityKey))
		if ids[hash] == 0 {
			ids[hash] = -1 // queued
			newRows = append(newRows, []any{c.IdentityKey, []byte(hash), c.IdentityName, w.now})
		}
	}
	err := eachRowsOf(ctx, w.conn, `INSERT INTO identities(identity_key, key_hash, name, created_at)`, ` RETURNING id, key_hash`, newRows, scan)
	return ids, len(newRows), err
}

// identityKeyHash is how identities are looked up by key. At 128 bits a
// collision is not a practical concern.
func identityKeyHash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:16]
}

// certificateColumns are the fact columns shared by inserts and queries,
// in the order of certificateArgs and scanCertificate.
const certificateColumns = `fingerprint_sha256, fingerprint_sha1, spki_sha256, subject, subject_normalized,
	issuer, issuer_normalized, common_name, serial, not_before, not_after, key_algorithm, key_size, key_curve,
	signature_algorithm, sans, key_usage, ext_key_usage, is_ca, self_issued, self_signed,
	subject_key_id, authority_key_id, malformed`

func certificateArgs(c *model.Certificate) []any {
	return []any{
		c.FingerprintSHA256, c.FingerprintSHA1, c.SPKISHA256, c.Subject, c.SubjectNormalized,
		c.Issuer, c.IssuerNormalized, c.CommonName, c.Serial, c.NotBefore.Unix(), c.NotAfter.Unix(), c.KeyAlgorithm, c.KeySize, c.KeyCurve,
		c.SignatureAlgorithm, mustJSON(c.SANs), mustJSON(nonNil(c.KeyUsage)), mustJSON(nonNil(c.ExtKeyUsage)), c.IsCA, c.SelfIssued, c.SelfSigned,
		c.SubjectKeyID, c.AuthorityKeyID, c.Malformed,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and string slices come here
	}
	return string(b)
}

// removeMissing ends the sources below imp.Folders that the walk did not
// find, in one transaction with their audit events, and notes them for
// relinking; with dryRun it only counts them.
func (imp *Import) removeMissing(ctx context.Context, conn *sql.Conn, seen map[string]bool, dryRun bool) (int, error) {
	if len(imp.Folders) == 0 {
		return 0, nil
	}
	var gone []int64
	var paths []string
	for _, folder := range imp.Folders {
		prefix := strings.TrimSuffix(folder, "/") + "/"
		err := eachRowOf(ctx, conn, `SELECT id, path FROM sources WHERE superseded_at IS NULL AND substr(path, 1, ?) = ?`,
			[]any{len(prefix), prefix}, func(rows *sql.Rows) error {
				for rows.Next() {
					var id int64
					var path string
					if err := rows.Scan(&id, &path); err != nil {
						return err
					}
					if !seen[path] {
						gone, paths = append(gone, id), append(paths, path)
					}
				}
				return rows.Err()
			})
		if err != nil {
			return 0, err
		}
	}
	if len(gone) == 0 || dryRun {
		return len(gone), nil
	}
	if err := imp.s.dialect.beginOn(ctx, conn); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	for i, id := range gone {
		if _, err := conn.ExecContext(ctx, `UPDATE sources SET superseded_at = ? WHERE id = ?`, now.Unix(), id); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return 0, err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO relink_pending(source_id) VALUES (?) ON CONFLICT DO NOTHING`, id); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return 0, err
		}
		if err := imp.s.appendEvent(ctx, conn, imp.event(&Event{At: now, Action: "source.removed", Before: paths[i],
			Reason: "no longer in the imported folder"})); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			return 0, err
		}
	}
	_, err := conn.ExecContext(ctx, "COMMIT")
	return len(gone), err
}
