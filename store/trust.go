package store

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"certgov/model"
)

// StoredEntry is a trust entry with the file it comes from.
type StoredEntry struct {
	model.TrustEntry
	Source     string
	SourceKind string
}

// TrustEntries lists the entries of every current source.
func (s *Store) TrustEntries(ctx context.Context) ([]StoredEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.kind, e.value, e.hash_algorithm, e.san_type, e.match, e.label, e.location, s.path, s.kind
		FROM trust_entries e JOIN sources s ON s.id = e.source_id
		WHERE s.superseded_at IS NULL ORDER BY s.path, e.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StoredEntry
	for rows.Next() {
		var e StoredEntry
		if err := rows.Scan(&e.Kind, &e.Value, &e.HashAlgorithm, &e.SANType, &e.Match, &e.Label, &e.Location, &e.Source, &e.SourceKind); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ChainAnchors maps certificates to the trusted CAs (fingerprints of CA
// entries) their chains verify to, through any imported CA certificate as
// an intermediate. Results are kept per set of CA certificates, so only
// certificates not yet checked against the current set cost a signature
// verification; and only certificates whose issuer is the subject of an
// imported CA certificate are checked at all.
func (s *Store) ChainAnchors(ctx context.Context, entries []StoredEntry) (map[string][]string, error) {
	anchorFPs := map[string]bool{}
	for _, e := range entries {
		if e.Kind == model.EntryCA {
			anchorFPs[e.Value] = true
		}
	}
	out := map[string][]string{}
	if len(anchorFPs) == 0 {
		return out, nil
	}
	var anchors, intermediates []*x509.Certificate
	caSubjects := map[string]bool{}
	var fps []string
	rows, err := s.db.QueryContext(ctx, `SELECT fingerprint_sha256, subject_normalized, der FROM certificates WHERE is_ca = 1 ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fp, subject string
		var der []byte
		if err := rows.Scan(&fp, &subject, &der); err != nil {
			rows.Close()
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		fps = append(fps, fp)
		caSubjects[subject] = true
		// An anchor is an intermediate too, so that chains through a
		// trusted issuing CA reach the trusted root above it as well.
		intermediates = append(intermediates, c)
		if anchorFPs[fp] {
			anchors = append(anchors, c)
			fps = append(fps, "anchor")
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	setSum := sha256.Sum256([]byte(strings.Join(fps, ",")))
	caSet := hex.EncodeToString(setSum[:16])

	cached := map[string]string{}
	rows, err = s.db.QueryContext(ctx, `SELECT fingerprint_sha256, anchors FROM chain_anchors WHERE ca_set = ?`, caSet)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fp, list string
		if err := rows.Scan(&fp, &list); err != nil {
			rows.Close()
			return nil, err
		}
		cached[fp] = list
	}
	rows.Close()

	type candidate struct {
		fp  string
		der []byte
	}
	var todo []candidate
	rows, err = s.db.QueryContext(ctx, `SELECT fingerprint_sha256, issuer_normalized, der FROM certificates WHERE self_issued = 0`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fp, issuer string
		var der []byte
		if err := rows.Scan(&fp, &issuer, &der); err != nil {
			rows.Close()
			return nil, err
		}
		if list, ok := cached[fp]; ok {
			var a []string
			json.Unmarshal([]byte(list), &a)
			if len(a) > 0 {
				out[fp] = a
			}
			continue
		}
		if !caSubjects[issuer] {
			continue
		}
		todo = append(todo, candidate{fp, der})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(todo) == 0 {
		return out, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO chain_anchors(fingerprint_sha256, ca_set, anchors) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, c := range todo {
		leaf, err := x509.ParseCertificate(c.der)
		if err != nil {
			continue
		}
		found := model.VerifiedAnchors(leaf, anchors, intermediates)
		sort.Strings(found)
		list, _ := json.Marshal(nonNil(found))
		if _, err := stmt.ExecContext(ctx, c.fp, caSet, string(list)); err != nil {
			return nil, err
		}
		if len(found) > 0 {
			out[c.fp] = found
		}
	}
	return out, tx.Commit()
}
