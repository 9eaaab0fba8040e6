package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"certgov/model"
)

// scanner is the Scan of *sql.Row and *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// encodedColumns are a certificate row's JSON columns, decoded apart from
// the scan so that the two can run on different goroutines.
type encodedColumns struct{ sans, keyUsage, extKeyUsage string }

// scanCertificate reads certificateColumns (and any extra destinations
// after them) into c, leaving the JSON columns in enc.
func scanCertificate(row scanner, c *model.Certificate, enc *encodedColumns, extra ...any) error {
	var notBefore, notAfter int64
	dest := []any{
		&c.FingerprintSHA256, &c.FingerprintSHA1, &c.SPKISHA256, &c.Subject, &c.SubjectNormalized,
		&c.Issuer, &c.IssuerNormalized, &c.CommonName, &c.Serial, &notBefore, &notAfter, &c.KeyAlgorithm, &c.KeySize, &c.KeyCurve,
		&c.SignatureAlgorithm, &enc.sans, &enc.keyUsage, &enc.extKeyUsage, &c.IsCA, &c.SelfIssued, &c.SelfSigned,
		&c.SubjectKeyID, &c.AuthorityKeyID, &c.Malformed,
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	c.NotBefore = unixUTC(notBefore)
	c.NotAfter = unixUTC(notAfter)
	return nil
}

func (enc *encodedColumns) decodeInto(c *model.Certificate) error {
	var err error
	if c.KeyUsage, err = decodeStrings(enc.keyUsage); err == nil {
		c.ExtKeyUsage, err = decodeStrings(enc.extKeyUsage)
	}
	if err == nil {
		c.SANs, err = decodeSANs(enc.sans)
	}
	if err != nil {
		return fmt.Errorf("certificate %s: %w", c.FingerprintSHA256, err)
	}
	return nil
}

// sansKeys are how the importer writes SANs (mustJSON of model.SANs):
// fixed keys in a fixed order.
var sansKeys = []string{`{"dns":`, `,"uri":`, `,"ip":`, `,"email":`}

// decodeSANs reads the stored SAN JSON. The common case, names without
// escapes, is split by hand (every read decodes one per certificate);
// anything else goes through encoding/json.
func decodeSANs(text string) (model.SANs, error) {
	var s model.SANs
	if !strings.ContainsRune(text, '\\') && strings.HasSuffix(text, "}") {
		rest := text[:len(text)-1]
		lists := []*[]string{&s.DNS, &s.URI, &s.IP, &s.Email}
		ok := true
		for i, key := range sansKeys {
			if !strings.HasPrefix(rest, key) {
				ok = false
				break
			}
			rest = rest[len(key):]
			end := len(rest)
			if i+1 < len(sansKeys) {
				end = strings.Index(rest, sansKeys[i+1])
			}
			if end < 0 {
				ok = false
				break
			}
			values, err := decodeStrings(rest[:end])
			if err != nil {
				ok = false
				break
			}
			*lists[i] = values
			rest = rest[end:]
		}
		if ok && rest == "" {
			return s, nil
		}
		s = model.SANs{}
	}
	err := json.Unmarshal([]byte(text), &s)
	return s, err
}

// decodeStrings reads a JSON array of strings. Key usages are plain names,
// so the common case is split by hand; anything with escapes goes through
// encoding/json. Listing 100,000 certificates decodes 200,000 of these.
func decodeStrings(text string) ([]string, error) {
	switch {
	case text == "[]" || text == "null":
		return nil, nil
	case strings.HasPrefix(text, `["`) && strings.HasSuffix(text, `"]`) && !strings.ContainsAny(text, "\\ \t\r\n"):
		return strings.Split(text[2:len(text)-2], `","`), nil
	}
	var out []string
	err := json.Unmarshal([]byte(text), &out)
	return out, err
}

// sourcesOfCertificate is the JSON list of the ids of the current sources
// of the certificate c (the schema defines json_group_array for
// PostgreSQL). Ids, not paths: a path is any bytes a file system allows,
// and JSON keeps only UTF-8; currentSourcePaths names them.
const sourcesOfCertificate = `(SELECT json_group_array(cs.source_id) FROM certificate_sources cs JOIN sources s ON s.id = cs.source_id
		WHERE cs.fingerprint_sha256 = c.fingerprint_sha256 AND s.superseded_at IS NULL)`

// currentSourcePaths maps the current sources' ids to their paths.
func (s *Store) currentSourcePaths(ctx context.Context) (map[int64]string, error) {
	paths := map[int64]string{}
	err := s.eachRow(ctx, `SELECT id, path FROM sources WHERE superseded_at IS NULL`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var path string
			if err := rows.Scan(&id, &path); err != nil {
				return err
			}
			paths[id] = path
		}
		return rows.Err()
	})
	return paths, err
}

// recordQuery reads certificates with their identity and their current
// sources, in identity-name order: linking from the raw facts reads them
// so. (The CROSS JOIN makes SQLite walk identities in name-index order and
// sort only within an identity, instead of sorting every row in memory;
// PostgreSQL is asked postgresRecordQuery.)
var recordQuery = `SELECT ` + qualified("c.", certificateColumns) + `, i.identity_key, i.name, ` + sourcesOfCertificate + `
	FROM identities i CROSS JOIN certificates c ON c.identity_id = i.id
	ORDER BY i.name COLLATE NOCASE, i.key_hash, c.not_after, c.fingerprint_sha256`

// postgresRecordQuery is recordQuery as PostgreSQL runs it well: the
// sources grouped once and joined, instead of a subquery per certificate
// (2.2 s against 0.12 s at 10,000 certificates).
var postgresRecordQuery = `SELECT ` + qualified("c.", certificateColumns) + `, i.identity_key, i.name, coalesce(src.ids, '[]')
	FROM identities i JOIN certificates c ON c.identity_id = i.id
	LEFT JOIN (SELECT cs.fingerprint_sha256, json_group_array(cs.source_id) AS ids
		FROM certificate_sources cs JOIN sources s ON s.id = cs.source_id
		WHERE s.superseded_at IS NULL GROUP BY cs.fingerprint_sha256) src ON src.fingerprint_sha256 = c.fingerprint_sha256
	ORDER BY i.name COLLATE NOCASE, i.key_hash, c.not_after, c.fingerprint_sha256`

// eachRecordOf calls fn for each of the given certificates with its
// identity and current sources, as EachRecord does.
func (s *Store) eachRecordOf(ctx context.Context, fingerprints []string, fn func(*model.Record) error) error {
	paths, err := s.currentSourcePaths(ctx)
	if err != nil {
		return err
	}
	return inChunks(fingerprints, func(in string, args []any) error {
		var batch []scannedRecord
		err := s.eachRow(ctx, `SELECT `+qualified("c.", certificateColumns)+`, i.identity_key, i.name, `+sourcesOfCertificate+`
			FROM certificates c JOIN identities i ON i.id = c.identity_id
			WHERE c.fingerprint_sha256 IN `+in, args, func(rows *sql.Rows) error {
			for rows.Next() {
				batch = append(batch, scannedRecord{})
				r := &batch[len(batch)-1]
				if err := scanCertificate(rows, &r.Certificate, &r.enc, &r.IdentityKey, &r.IdentityName, &r.sources); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for i := range batch {
			if err := batch[i].decode(paths); err != nil {
				return err
			}
			if err := fn(&batch[i].Record); err != nil {
				return err
			}
		}
		return nil
	})
}

// linkedQuery reads the same from the stored linked state, which keeps
// every certificate's facts in that order: one sequential walk.
var linkedQuery = `SELECT identity_name, fingerprint_sha256, facts, state FROM linked
	ORDER BY identity_name, key_hash, not_after, fingerprint_sha256`

// qualified prefixes every column of a column list with a table alias.
func qualified(alias, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = alias + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

type scannedRecord struct {
	model.Record
	enc     encodedColumns
	sources string
	facts   string // the stored facts (facts.go), "" when not read from the linked state
	linked  string // the stored linked state, "" when there is none
}

// decode fills the record from what was scanned; paths names the
// current sources (currentSourcePaths) when the record was read with
// them.
func (r *scannedRecord) decode(paths map[int64]string) error {
	if r.facts != "" {
		// The linked table names the identity by its key hash: the key
		// itself follows from the facts.
		err := decodeFacts(r.FingerprintSHA256, r.facts, &r.Certificate)
		r.IdentityKey = model.IdentityKey(r.Certificate)
		return err
	}
	if err := r.enc.decodeInto(&r.Certificate); err != nil {
		return err
	}
	var ids []int64
	if err := json.Unmarshal([]byte(r.sources), &ids); err != nil {
		return err
	}
	for _, id := range ids {
		if path, ok := paths[id]; ok {
			r.Sources = append(r.Sources, path)
		}
	}
	// Sorting and de-duplicating the few paths here is cheaper than
	// asking SQLite to do it once per row.
	slices.Sort(r.Sources)
	r.Sources = slices.Compact(r.Sources)
	return nil
}

// EachRecord calls fn for every certificate with its identity and current
// sources, ordered by identity name and expiry. It streams: memory does
// not grow with the number of certificates. SQLite's reading and the
// decoding (plus whatever fn does) run on two goroutines, handing over
// batches.
func (s *Store) EachRecord(ctx context.Context, fn func(*model.Record) error) error {
	return s.eachRecord(ctx, true, nil, func(r *model.Record, _ string) error { return fn(r) })
}

// eachRecord is EachRecord with either each certificate's sources
// (withSources) or its stored linked state, which names them. prepare, if
// not nil, sees the stored states of each batch of records before fn sees
// its records: it loads what they reference, a batch at a time.
func (s *Store) eachRecord(ctx context.Context, withSources bool, prepare func(states []string) error, fn func(r *model.Record, linked string) error) error {
	var paths map[int64]string
	if withSources {
		var err error
		if paths, err = s.currentSourcePaths(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []scannedRecord, 4)
	scanErr := make(chan error, 1)
	go func() {
		defer close(batches)
		scanErr <- s.scanRecords(ctx, withSources, batches)
	}()
	var states []string
	for batch := range batches {
		if prepare != nil {
			states = states[:0]
			for i := range batch {
				states = append(states, batch[i].linked)
			}
			if err := prepare(states); err != nil {
				cancel()
				return err
			}
		}
		for i := range batch {
			r := &batch[i]
			if err := r.decode(paths); err != nil {
				cancel()
				return err
			}
			if err := fn(&r.Record, r.linked); err != nil {
				cancel()
				return err
			}
		}
	}
	return <-scanErr
}

func (s *Store) scanRecords(ctx context.Context, withSources bool, out chan<- []scannedRecord) error {
	query := linkedQuery
	if withSources {
		query = s.dialect.recordQuery()
	}
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	const batchSize = 256
	batch := make([]scannedRecord, 0, batchSize)
	for rows.Next() {
		batch = append(batch, scannedRecord{})
		r := &batch[len(batch)-1]
		if withSources {
			err = scanCertificate(rows, &r.Certificate, &r.enc, &r.IdentityKey, &r.IdentityName, &r.sources)
		} else {
			err = rows.Scan(&r.IdentityName, (*hexFingerprint)(&r.FingerprintSHA256), &r.facts, &r.linked)
		}
		if err != nil {
			return err
		}
		if len(batch) == batchSize {
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = make([]scannedRecord, 0, batchSize)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// EachIdentity calls fn with the certificates of one identity at a time,
// in EachRecord's order, and the index of the identity's current
// certificate among them. The slice is reused: it is valid only during
// the call.
func (s *Store) EachIdentity(ctx context.Context, now time.Time, fn func(records []model.Record, current int) error) error {
	return s.eachIdentity(ctx, now, true, nil, func(records []model.Record, _ []string, current int) error { return fn(records, current) })
}

// eachIdentity is EachIdentity with each certificate's stored linked
// state, and eachRecord's prepare.
func (s *Store) eachIdentity(ctx context.Context, now time.Time, withSources bool, prepare func(batch, held []string) error, fn func(records []model.Record, linked []string, current int) error) error {
	var group []model.Record
	var states []string
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		current := model.CurrentIndexFunc(len(group), func(i int) *model.Certificate { return &group[i].Certificate }, now)
		err := fn(group, states, current)
		group, states = group[:0], states[:0]
		return err
	}
	var prepareBatch func(batch []string) error
	if prepare != nil {
		// The identity read last is held back, for its next certificate
		// may be in the next batch: it is linked after that batch's
		// prepare, which must keep what it references too.
		prepareBatch = func(batch []string) error { return prepare(batch, states) }
	}
	err := s.eachRecord(ctx, withSources, prepareBatch, func(r *model.Record, linked string) error {
		if len(group) > 0 && group[0].IdentityKey != r.IdentityKey {
			if err := flush(); err != nil {
				return err
			}
		}
		group = append(group, *r)
		states = append(states, linked)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// ExposedKeys maps the SPKI hash of every private key found on disk to
// the files it was found in.
func (s *Store) ExposedKeys(ctx context.Context) (map[string][]model.KeyOnDisk, error) {
	out := map[string][]model.KeyOnDisk{}
	err := s.eachRow(ctx, `SELECT DISTINCT k.spki_sha256, s.path, s.kind FROM private_keys k
		JOIN sources s ON s.id = k.source_id
		WHERE s.superseded_at IS NULL AND k.spki_sha256 <> '' ORDER BY 1, 2`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var spki, path string
			var kind model.SourceKind
			if err := rows.Scan(&spki, &path, &kind); err != nil {
				return err
			}
			// Keystores hold their keys under a password; key files do not.
			keystore := kind == model.KindPKCS12 || kind == model.KindJKS || kind == model.KindTrustStore
			out[spki] = append(out[spki], model.KeyOnDisk{Path: path, InKeystore: keystore})
		}
		return rows.Err()
	})
	return out, err
}

// SharedKeys maps each public key (SPKI SHA-256) that several identities'
// certificates carry to those identities' names.
func (s *Store) SharedKeys(ctx context.Context) (map[string][]string, error) {
	return s.sharedKeysOf(ctx, s.db)
}

// sharedKeysOf is SharedKeys on a database or transaction.
func (s *Store) sharedKeysOf(ctx context.Context, q queryer) (map[string][]string, error) {
	out := map[string][]string{}
	err := eachRowOf(ctx, q, `SELECT DISTINCT c.spki_sha256, i.name FROM certificates c JOIN identities i ON i.id = c.identity_id
		WHERE c.spki_sha256 IN (SELECT spki_sha256 FROM certificates GROUP BY spki_sha256 HAVING min(identity_id) <> max(identity_id))
		ORDER BY 1, 2`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var spki, name string
			if err := rows.Scan(&spki, &name); err != nil {
				return err
			}
			out[spki] = append(out[spki], name)
		}
		return rows.Err()
	})
	return out, err
}

// Counts are the sizes of the main tables.
type Counts struct {
	Certificates, Identities, Sources, PrivateKeys int
}

// Counts counts certificates, identities, current sources and key facts.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM certificates),
		(SELECT count(*) FROM identities),
		(SELECT count(*) FROM sources WHERE superseded_at IS NULL),
		(SELECT count(*) FROM private_keys)`).Scan(&c.Certificates, &c.Identities, &c.Sources, &c.PrivateKeys)
	return c, err
}

// ErrNotFound is returned for a REF that names nothing.
var ErrNotFound = errors.New("not found")

// AmbiguousError is returned for a REF that names several things.
type AmbiguousError struct {
	Ref        string
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q is ambiguous: it matches %s", model.Printable(e.Ref), model.Printable(strings.Join(e.Candidates, "; ")))
}

// refCandidates is how many matches an ambiguous REF lists.
const refCandidates = 6

var hexPrefix = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// Identity is one governed non-human identity with all its certificates.
type Identity struct {
	ID           int64
	Key          string
	Name         string
	Certificates []model.Certificate // oldest first
	Current      int                 // index into Certificates
}

// Resolve finds what REF names: a certificate by its SHA-256 fingerprint
// (full, or a unique prefix of at least 8 hex digits, colons and a
// "sha256:" prefix allowed) or an identity by name, else by a unique
// prefix of its name, either in any case. It returns the identity and,
// for a fingerprint, the certificate's index in it. A REF that matches
// several says which, each identity with its current certificate's
// fingerprint to name it by instead.
func (s *Store) Resolve(ctx context.Context, ref string, now time.Time) (*Identity, int, error) {
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(ref, "sha256:"), "SHA256:"), ":", ""))
	if hexPrefix.MatchString(fp) {
		matches, err := s.fingerprintsWithPrefix(ctx, fp)
		if err != nil {
			return nil, -1, err
		}
		switch len(matches) {
		case 1:
			return s.identityOfCertificate(ctx, matches[0], now)
		case 0:
		default:
			return nil, -1, &AmbiguousError{Ref: ref, Candidates: matches}
		}
	}
	ids, err := s.identitiesNamed(ctx, `name = ? COLLATE NOCASE`, ref)
	if err == nil && len(ids) == 0 && ref != "" {
		// A prefix of a name: compared lowered, as LIKE is not portable
		// (PostgreSQL refuses it on the nocase collation).
		ids, err = s.identitiesNamed(ctx, `substr(lower(name), 1, ?) = lower(?)`, len(ref), ref)
	}
	if err != nil {
		return nil, -1, err
	}
	switch len(ids) {
	case 0:
		return nil, -1, fmt.Errorf("%q: %w: no certificate fingerprint or identity name matches", model.Printable(ref), ErrNotFound)
	case 1:
		ident, err := s.identity(ctx, ids[0], now)
		return ident, -1, err
	}
	amb := &AmbiguousError{Ref: ref}
	for _, id := range ids {
		ident, err := s.identity(ctx, id, now)
		if err != nil {
			return nil, -1, err
		}
		amb.Candidates = append(amb.Candidates, candidateText(ident))
	}
	if len(ids) == refCandidates {
		amb.Candidates = append(amb.Candidates, "and maybe more")
	}
	return nil, -1, amb
}

// identitiesNamed are the ids of the identities matching the condition on
// their name, the first refCandidates.
func (s *Store) identitiesNamed(ctx context.Context, where string, args ...any) ([]int64, error) {
	return collect(ctx, s.db, `SELECT id FROM identities WHERE `+where+` ORDER BY name, id LIMIT `+strconv.Itoa(refCandidates), args, func(rows *sql.Rows) (int64, error) {
		var id int64
		return id, rows.Scan(&id)
	})
}

// candidateText names one identity an ambiguous REF matches: its name,
// its current certificate's fingerprint (what to name it by) and issuer.
func candidateText(ident *Identity) string {
	if len(ident.Certificates) == 0 {
		return ident.Name
	}
	c := &ident.Certificates[ident.Current]
	issuer := "issued by " + c.Issuer
	if c.SelfSigned {
		issuer = "self-signed"
	}
	return fmt.Sprintf("%s, certificate sha256:%s (%s)", ident.Name, c.FingerprintSHA256[:min(16, len(c.FingerprintSHA256))], issuer)
}

func (s *Store) fingerprintsWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	// A range scan on the primary key: the prefix's upper bound is the
	// prefix followed by a character above every hex digit.
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint_sha256 FROM certificates
		WHERE fingerprint_sha256 >= ? AND fingerprint_sha256 < ? ORDER BY 1 LIMIT 6`, prefix, prefix+"~")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return nil, err
		}
		out = append(out, fp)
	}
	return out, rows.Err()
}

func (s *Store) identityOfCertificate(ctx context.Context, fingerprint string, now time.Time) (*Identity, int, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, `SELECT identity_id FROM certificates WHERE fingerprint_sha256 = ?`, fingerprint).Scan(&id); err != nil {
		return nil, -1, err
	}
	ident, err := s.identity(ctx, id, now)
	if err != nil {
		return nil, -1, err
	}
	for i, c := range ident.Certificates {
		if c.FingerprintSHA256 == fingerprint {
			return ident, i, nil
		}
	}
	return nil, -1, fmt.Errorf("certificate %s: %w", fingerprint, ErrNotFound)
}

func (s *Store) identity(ctx context.Context, id int64, now time.Time) (*Identity, error) {
	ident := &Identity{ID: id}
	if err := s.db.QueryRowContext(ctx, `SELECT identity_key, name FROM identities WHERE id = ?`, id).Scan(&ident.Key, &ident.Name); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+certificateColumns+`, der FROM certificates WHERE identity_id = ? ORDER BY not_before, fingerprint_sha256`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c model.Certificate
		var enc encodedColumns
		if err := scanCertificate(rows, &c, &enc, &c.DER); err != nil {
			return nil, err
		}
		if err := enc.decodeInto(&c); err != nil {
			return nil, err
		}
		c.IdentityKey, c.IdentityName = ident.Key, ident.Name
		ident.Certificates = append(ident.Certificates, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ident.Current = model.CurrentIndex(ident.Certificates, now)
	return ident, nil
}

// Occurrence is one place a certificate was found.
type Occurrence struct {
	Path       string    `json:"path"`
	Kind       string    `json:"kind"`
	Location   string    `json:"location,omitempty"`
	ImportedAt time.Time `json:"imported_at"`
}

// Occurrences lists the current sources that hold the certificate.
func (s *Store) Occurrences(ctx context.Context, fingerprint string) ([]Occurrence, error) {
	return collect(ctx, s.db, `SELECT s.path, s.kind, cs.location, s.imported_at
		FROM certificate_sources cs JOIN sources s ON s.id = cs.source_id
		WHERE cs.fingerprint_sha256 = ? AND s.superseded_at IS NULL ORDER BY s.path, cs.location`, []any{fingerprint},
		func(rows *sql.Rows) (Occurrence, error) {
			var o Occurrence
			var at int64
			err := rows.Scan(&o.Path, &o.Kind, &o.Location, &at)
			o.ImportedAt = unixUTC(at)
			return o, err
		})
}

// KeyOccurrence is a private key found on disk whose public key is the
// certificate's: anyone who can read that file can act as the identity.
type KeyOccurrence struct {
	Path     string `json:"path"`
	Location string `json:"location,omitempty"`
	KeyType  string `json:"key_type"`
}

// PrivateKeysFor lists the private keys found for an SPKI hash.
func (s *Store) PrivateKeysFor(ctx context.Context, spki string) ([]KeyOccurrence, error) {
	return collect(ctx, s.db, `SELECT s.path, k.location, k.key_type FROM private_keys k
		JOIN sources s ON s.id = k.source_id
		WHERE k.spki_sha256 = ? AND s.superseded_at IS NULL ORDER BY s.path, k.location`, []any{spki},
		func(rows *sql.Rows) (KeyOccurrence, error) {
			var k KeyOccurrence
			err := rows.Scan(&k.Path, &k.Location, &k.KeyType)
			return k, err
		})
}

// SetMeta records a database-level setting, such as that it is a demo.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if err := s.writable(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Meta reads a database-level setting; "" when unset.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var value string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return value, err
}

// WaitForChange returns a version of the database's content as soon as
// it differs from since, so that a dashboard reloads what others changed;
// since 0 returns the current version at once. SQLite is asked every poll
// (PRAGMA data_version, which changes when another connection commits; it
// is per connection, so the watch keeps one of its own). PostgreSQL tells:
// the schema's triggers notify certgov_changed, and the watch LISTENs on
// a connection of its own, without polling.
func (s *Store) WaitForChange(ctx context.Context, since int64, poll time.Duration) (int64, error) {
	// Close ends a wait: it may be the last thing a dashboard is doing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closing():
			cancel()
		case <-ctx.Done():
		}
	}()
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	return s.dialect.waitForChange(ctx, s.db, since, poll)
}
