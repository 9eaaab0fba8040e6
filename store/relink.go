package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"certgov/model"
)

// linkedSummary is what the stored state holds beside the certificates.
type linkedSummary struct {
	LinkerVersion int               `json:"linker_version"`
	TrustChecked  bool              `json:"trust_checked"`
	EntryFindings []model.Finding   `json:"entry_findings"`
	AnchorNames   map[string]string `json:"anchor_names"`
	// Anchors numbers the anchors, for the states (index + 1).
	Anchors []string `json:"anchors"`
	// ActingCAs are the certificates that acted as CAs when the state
	// was stored: when they change, every chain may have changed.
	ActingCAs []string `json:"acting_cas"`
	// SharedKeys maps the public keys several identities carry to those
	// identities (key-reuse), so that reads need not group every
	// certificate's key (70 ms at 100,000). Nil in a summary stored before
	// it was kept: reads then compute it.
	SharedKeys map[string][]string `json:"shared_keys"`
	// LookalikeNames maps the identity names that read like others to
	// those others (lookalike-name), so that reads need not compare every
	// name (0.1 s at 100,000). Nil in a summary stored before it was kept.
	LookalikeNames map[string][]string `json:"lookalike_names"`
	// Namesakes are the issuances of the identities that share names
	// (unexpected-issuer), so that reads need not group every name (0.85 s
	// at a million). Nil in a summary stored before it was kept.
	Namesakes map[string][]model.Issuance `json:"namesakes"`
}

// loadLinkedSummary reads the stored summary (nil when there is none, or
// an older certgov stored it) and reports whether the stored state is
// current: every change of the facts it is made from notes its source in
// relink_pending, in the transaction that makes it, and Reindex empties
// that table in the one that brings the state up to date. If it is
// current, it loads the entry findings and trust flag into rv.
func (s *Store) loadLinkedSummary(ctx context.Context, rv *Review) (*linkedSummary, bool, error) {
	var summary string
	var pending bool
	err := s.db.QueryRowContext(ctx, `SELECT summary, EXISTS (SELECT 1 FROM relink_pending) FROM linked_summary WHERE id = 1`).Scan(&summary, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var sum linkedSummary
	if json.Unmarshal([]byte(summary), &sum) != nil || sum.LinkerVersion != linkerVersion {
		return nil, false, nil
	}
	if pending {
		return &sum, false, nil
	}
	rv.trustChecked, rv.entryFindings, rv.anchorNames, rv.anchorList = sum.TrustChecked, sum.EntryFindings, sum.AnchorNames, sum.Anchors
	if sum.SharedKeys != nil {
		rv.shared = sum.SharedKeys
	}
	rv.lookalikes.identities = sum.LookalikeNames
	rv.namesakes = sum.Namesakes
	return &sum, true, nil
}

// linkedStateOf reads one certificate's stored state.
func (s *Store) linkedStateOf(ctx context.Context, fingerprint string) (string, error) {
	key, err := linkedFingerprint(fingerprint)
	if err != nil {
		return "", err
	}
	var state string
	err = s.db.QueryRowContext(ctx, `SELECT state FROM linked WHERE fingerprint_sha256 = ?`, key).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // imported after the state was stored: nothing links it yet
	}
	return state, err
}

// Reindex brings the stored linked state up to date with the raw facts,
// in one transaction. Imports run it at their end. It relinks only the
// certificates the sources noted in relink_pending hold, and those that
// share a name with them (lookalikes), unless what changed can reach
// further: trust entries or CRLs in those sources, a different set of
// anchors. A new certificate that issued others relinks those below it,
// and one that started or stopped acting as a CA is relinked too. With
// force (`certgov reindex`) it relinks everything.
// Either way the result equals a full rebuild (TestStoredStateEqualsRelinking).
func (s *Store) Reindex(ctx context.Context, force bool) error {
	if err := s.writable(); err != nil {
		return err
	}
	done, err := s.relink(ctx, force)
	s.lastRelink = done
	return s.permitted(err)
}

// relinked says what a Reindex did.
type relinked struct {
	all           bool // every certificate was relinked
	certificates  int
	chainsChecked int // chains verified, not taken from the cache
}

func (s *Store) relink(ctx context.Context, force bool) (done relinked, err error) {
	plan, err := s.planRelink(ctx, force)
	if err != nil || plan == nil {
		return done, err
	}
	// The writes go to random places of the read table's fingerprint
	// index: this connection gets the writer's larger page cache.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return done, err
	}
	defer conn.Close()
	restoreWriter, err := s.dialect.tuneWriter(ctx, conn)
	if err != nil {
		return done, err
	}
	defer restoreWriter()
	bulk := s.inBulk(plan)
	if bulk {
		// A full relink builds bulkIndexes in its transaction.
		restore, err := sortOnDisk(ctx, conn)
		if err != nil {
			return done, err
		}
		defer restore()
	}
	tx, err := s.beginTxOn(ctx, conn)
	if err != nil {
		return done, err
	}
	defer tx.Rollback()
	if done.certificates, err = s.writeLinked(ctx, conn, tx, plan); err != nil {
		return done, err
	}
	if err := s.writeLinkedSummary(ctx, tx, plan); err != nil {
		return done, err
	}
	done.all, done.chainsChecked = plan.touched == nil, plan.rv.chains.Verified
	if bulk {
		// What linking held (the review's entries, chains and index:
		// about 130 MiB at a million certificates) goes back to the system
		// before SQLite sorts the periods and the keys of the indexes,
		// in memory of its own; held, the two made the import's peak
		// (312 MiB there).
		plan = nil
		debug.FreeOSMemory()
		if err := moveStagedPeriods(ctx, tx); err != nil {
			return done, err
		}
		if err := bulkIndexes.create(ctx, tx, false); err != nil {
			return done, err
		}
	}
	return done, tx.Commit()
}

// relinkPlan is what a relink links and with what: the review prepared
// for the certificates to relink (touched; nil: every one) and the
// anchors, numbered as stored states name them.
type relinkPlan struct {
	rv         *Review
	touched    map[string]bool
	anchorList []string
	anchors    map[string]int // anchor fingerprint → its number in anchorList, from 1
	actingCAs  []string
}

// planRelink prepares a relink: nil when the stored state is current and
// force is not set. A partial relink takes the certificates the pending
// changes touched, unless a certificate a CA file names arrived.
func (s *Store) planRelink(ctx context.Context, force bool) (*relinkPlan, error) {
	rv := &Review{s: s, keepChains: true}
	stored, current, err := s.loadLinkedSummary(ctx, rv)
	if err != nil || (current && !force) {
		return nil, err
	}
	if err := rv.loadSourcePaths(ctx); err != nil {
		return nil, err
	}
	if rv.actingCAs, err = s.ActingCAs(ctx); err != nil {
		return nil, err
	}
	p := &relinkPlan{rv: rv, actingCAs: slices.Sorted(maps.Keys(rv.actingCAs))}
	if !force && stored != nil {
		if p.touched, err = s.touchedByPending(ctx, p.actingCAs, stored.ActingCAs); err != nil {
			return nil, err
		}
	}
	// Chain verification commits its own cache first, so that it is
	// done before the relink's transaction takes the write lock.
	if err := rv.prepareLinkingOf(ctx, p.touched); err != nil {
		return nil, err
	}
	p.anchorList = slices.Sorted(maps.Keys(rv.chains.AnchorNames))
	if p.touched != nil && !slices.Equal(stored.Anchors, p.anchorList) {
		// A certificate a CA file names arrived: what chains to it changes.
		p.touched = nil
		if err := rv.prepareLinkingOf(ctx, nil); err != nil {
			return nil, err
		}
	}
	p.anchors = map[string]int{}
	for i, fp := range p.anchorList {
		p.anchors[fp] = i + 1
	}
	if p.touched != nil {
		// The entries' findings count every admission: those of the
		// certificates not relinked come from their stored state.
		if err := rv.noteStoredAdmissions(ctx, p.anchorList, p.touched); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeLinked links the plan's certificates and writes their states, and
// when each certificate of their identities is current; it returns how
// many it linked. tx is open on conn. A full relink of a SQLite database
// drops bulkIndexes and stages the periods here; relink sorts those in
// and builds the indexes after.
func (s *Store) writeLinked(ctx context.Context, conn *sql.Conn, tx *sql.Tx, p *relinkPlan) (int, error) {
	rv, touched := p.rv, p.touched
	bulk := s.inBulk(p)
	if bulk {
		if err := bulkIndexes.drop(ctx, tx); err != nil {
			return 0, err
		}
	}
	if err := deleteLinked(ctx, tx, touched); err != nil {
		return 0, err
	}
	rows := s.bulkWriter(conn, tx, "linked", "identity_name", "key_hash", "not_after", "fingerprint_sha256", "facts", "state")
	// A full relink streams every identity in order, so their periods are
	// written as they pass; a partial one rewrites its identities' after.
	var periods *periodWriter
	var err error
	if touched == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM current_periods`); err != nil {
			return 0, err
		}
		if bulk {
			periods, err = newStagedPeriodWriter(ctx, tx)
		} else {
			periods = &periodWriter{insert: s.bulkWriter(conn, tx, "current_periods", strings.Split(periodColumns, ", ")...)}
		}
		if err != nil {
			return 0, err
		}
	}
	sourceIDs := map[string]int64{}
	for id, path := range rv.sourcePaths {
		sourceIDs[path] = id
	}
	identities := map[identityRef]bool{}
	linked := 0
	store := func(r *model.Record) error {
		ref := identityRef{r.IdentityName, r.IdentityKey}
		if periods != nil {
			if err := periods.add(ctx, ref, &r.Certificate); err != nil {
				return err
			}
		} else {
			identities[ref] = true
		}
		refs := rv.link(r, "")
		st := stateOf(r, refs)
		for _, path := range r.Sources {
			st.Sources = append(st.Sources, sourceIDs[path])
		}
		linked++
		fingerprint, err := linkedFingerprint(r.FingerprintSHA256)
		if err != nil {
			return err
		}
		return rows.add(ctx, r.IdentityName, identityKeyHash(r.IdentityKey), r.NotAfter.Unix(), fingerprint,
			encodeFacts(&r.Certificate), encodeState(st, p.anchors))
	}
	if touched == nil {
		err = s.EachRecord(ctx, store)
	} else {
		err = s.eachRecordOf(ctx, slices.Sorted(maps.Keys(touched)), store)
	}
	if err == nil {
		err = rows.flush(ctx)
	}
	if err == nil && periods != nil {
		err = periods.flush(ctx)
	}
	if err != nil || len(identities) == 0 {
		return linked, err
	}
	// When each certificate is current, for the identities relinked.
	return linked, rewritePeriods(ctx, tx, slices.SortedFunc(maps.Keys(identities), func(a, b identityRef) int {
		return strings.Compare(a.name+"\x00"+a.key, b.name+"\x00"+b.key)
	}))
}

// inBulk says whether a relink writes in bulk: a full relink of a SQLite
// database drops bulkIndexes and stages the periods, to build and sort
// them in at its end.
func (s *Store) inBulk(p *relinkPlan) bool { return p.touched == nil && !s.Postgres() }

// bulkIndexes are the derived tables' indexes whose keys come in random
// order (a fingerprint, a key hash). A full relink of a SQLite database
// (an import's first) drops them and builds them once at its end, from
// sorted keys, instead of inserting each row at a random place of an
// index larger than the page cache: at a million certificates that cost
// minutes. A PostgreSQL login that imports does not own the tables, and
// may not drop their indexes.
var bulkIndexes = indexes{
	{"linked_fingerprint", `CREATE UNIQUE INDEX linked_fingerprint ON linked(fingerprint_sha256)`},
	{"current_periods_identity", `CREATE INDEX current_periods_identity ON current_periods(key_hash)`},
}

// indexes are indexes dropped for a bulk write and built at its end.
type indexes []struct{ name, create string }

func (list indexes) drop(ctx context.Context, q execQuerier) error {
	for _, index := range list {
		if _, err := q.ExecContext(ctx, `DROP INDEX IF EXISTS `+index.name); err != nil {
			return err
		}
	}
	return nil
}

// create builds each index; with ifMissing, only those that do not exist.
func (list indexes) create(ctx context.Context, q execQuerier, ifMissing bool) error {
	for _, index := range list {
		create := index.create
		if ifMissing {
			create = strings.Replace(create, " INDEX ", " INDEX IF NOT EXISTS ", 1)
		}
		if _, err := q.ExecContext(ctx, create); err != nil {
			return err
		}
	}
	return nil
}

// writeLinkedSummary writes what every read takes from the linked state
// as a whole, and marks nothing pending.
func (s *Store) writeLinkedSummary(ctx context.Context, tx *sql.Tx, p *relinkPlan) error {
	shared, err := s.sharedKeysOf(ctx, tx)
	if err != nil {
		return err
	}
	lookalikes, err := identityLookalikes(ctx, tx)
	if err != nil {
		return err
	}
	namesakes, err := namesakeIssuances(ctx, tx)
	if err != nil {
		return err
	}
	rv := p.rv
	summary, err := json.Marshal(linkedSummary{LinkerVersion: linkerVersion, TrustChecked: rv.trustChecked,
		EntryFindings: rv.linkedEntryFindings(), AnchorNames: rv.chains.AnchorNames, Anchors: p.anchorList, ActingCAs: p.actingCAs, SharedKeys: shared,
		LookalikeNames: lookalikes, Namesakes: namesakes})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM relink_pending`); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO linked_summary(id, version, summary) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, summary = excluded.summary`, strconv.Itoa(linkerVersion), string(summary))
	return err
}

// deleteLinked removes the stored states about to be written again.
func deleteLinked(ctx context.Context, tx *sql.Tx, touched map[string]bool) error {
	if touched == nil {
		_, err := tx.ExecContext(ctx, `DELETE FROM linked`)
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `DELETE FROM linked WHERE fingerprint_sha256 = ?`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for fp := range touched {
		key, err := linkedFingerprint(fp)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// touchedByPending returns the certificates the pending sources' changes
// touch, or nil when those changes can reach any certificate: trust
// entries or CRLs in them (what anything links to changes), or more than
// half of all certificates touched anyway. actingCAs is the certificates
// acting as CAs now, stored what they were at the last relink.
func (s *Store) touchedByPending(ctx context.Context, actingCAs, stored []string) (map[string]bool, error) {
	var reaching bool
	err := s.db.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM trust_entries WHERE source_id IN (SELECT source_id FROM relink_pending))
		OR EXISTS (SELECT 1 FROM crls WHERE source_id IN (SELECT source_id FROM relink_pending))`).Scan(&reaching)
	if err != nil || reaching {
		return nil, err
	}
	touched := map[string]bool{}
	// What the sources hold; new certificates (the stored state does not
	// hold them yet) that issued others change the chains below them.
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT c.fingerprint_sha256, c.subject_normalized,
		NOT EXISTS (SELECT 1 FROM linked l WHERE l.fingerprint_sha256 = `+s.dialect.fromHex("c.fingerprint_sha256")+`)
		FROM certificate_sources cs JOIN certificates c ON c.fingerprint_sha256 = cs.fingerprint_sha256
		WHERE cs.source_id IN (SELECT source_id FROM relink_pending)`)
	if err != nil {
		return nil, err
	}
	var newIssuers []string
	for rows.Next() {
		var fp, subject string
		var isNew bool
		if err := rows.Scan(&fp, &subject, &isNew); err != nil {
			rows.Close()
			return nil, err
		}
		touched[fp] = true
		if isNew {
			newIssuers = append(newIssuers, subject)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A certificate that started or stopped acting as a CA.
	for _, fp := range symmetricDifference(actingCAs, stored) {
		touched[fp] = true
	}
	if err := s.addDescendants(ctx, newIssuers, touched); err != nil {
		return nil, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM certificates`).Scan(&total); err != nil {
		return nil, err
	}
	if len(touched) > total/2 {
		return nil, nil
	}
	return touched, s.addLookalikes(ctx, touched)
}

// symmetricDifference lists what is in one of two sorted lists only.
func symmetricDifference(a, b []string) []string {
	var out []string
	for _, v := range a {
		if _, found := slices.BinarySearch(b, v); !found {
			out = append(out, v)
		}
	}
	for _, v := range b {
		if _, found := slices.BinarySearch(a, v); !found {
			out = append(out, v)
		}
	}
	return out
}

// addDescendants adds every certificate issued, directly or through
// intermediates, under the given subject names.
func (s *Store) addDescendants(ctx context.Context, subjects []string, touched map[string]bool) error {
	seen := map[string]bool{}
	for len(subjects) > 0 {
		subject := subjects[0]
		subjects = subjects[1:]
		if seen[subject] {
			continue
		}
		seen[subject] = true
		rows, err := s.db.QueryContext(ctx, `SELECT fingerprint_sha256, subject_normalized FROM certificates
			WHERE issuer_normalized = ? AND self_issued = 0`, subject)
		if err != nil {
			return err
		}
		for rows.Next() {
			var fp, child string
			if err := rows.Scan(&fp, &child); err != nil {
				rows.Close()
				return err
			}
			touched[fp] = true
			subjects = append(subjects, child)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// addLookalikes adds the certificates that share a name with a touched
// one: they may have become, or stopped being, its lookalike
// (Chains.Mimics).
func (s *Store) addLookalikes(ctx context.Context, touched map[string]bool) error {
	names := map[string]bool{}
	err := inChunks(slices.Sorted(maps.Keys(touched)), func(in string, args []any) error {
		return s.eachRow(ctx, `SELECT subject_normalized, sans FROM certificates WHERE fingerprint_sha256 IN `+in, args,
			func(rows *sql.Rows) error {
				for rows.Next() {
					var subject, sans string
					if err := rows.Scan(&subject, &sans); err != nil {
						return err
					}
					for _, name := range lookalikeNames(subject, sans) {
						names[name] = true
					}
				}
				return rows.Err()
			})
	})
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint_sha256, subject_normalized, sans FROM certificates`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var fp, subject, sans string
		if err := rows.Scan(&fp, &subject, &sans); err != nil {
			return err
		}
		for _, name := range lookalikeNames(subject, sans) {
			if names[name] {
				touched[fp] = true
			}
		}
	}
	return rows.Err()
}

// lookalikeNames are the names Chains.Mimics compares: the subject DN and
// the first URI SAN.
func lookalikeNames(subject, sans string) []string {
	var names []string
	if subject != "" {
		names = append(names, "dn:"+subject)
	}
	if uri := firstURI(sans); uri != "" {
		names = append(names, "uri:"+uri)
	}
	return names
}

// noteStoredAdmissions notes, for the entries' findings, what the stored
// states of the certificates not in touched admit.
func (rv *Review) noteStoredAdmissions(ctx context.Context, anchorList []string, touched map[string]bool) error {
	index := make(map[int64]int, len(rv.entries))
	for i, e := range rv.entries {
		index[e.ID] = i
	}
	rows, err := rv.s.db.QueryContext(ctx, `SELECT fingerprint_sha256, identity_name, state FROM linked`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var fp hexFingerprint
		var identity, state string
		if err := rows.Scan(&fp, &identity, &state); err != nil {
			return err
		}
		if touched[string(fp)] {
			continue
		}
		for _, ref := range decodeState(state, anchorList).Refs {
			if i, ok := index[ref.Entry]; ok {
				rv.noteAdmission(i, identity)
			}
		}
	}
	return rows.Err()
}
