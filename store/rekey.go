package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"certgov/model"
)

// rekeyIdentities moves certificates to the identities model.IdentityKey
// gives them now that a key includes the issuer (or, for self-signed
// certificates, the public key). Keys only get finer, so an identity may
// split but two never merge. The group of CA-signed certificates keeps the
// identity's row, with its owner, history and campaign items; a split-off
// group takes the owner and review date along only when it is signed the
// same way (a self-signed identity re-keyed over time), never when it is a
// self-signed lookalike of a CA-signed identity.
func rekeyIdentities(ctx context.Context, tx *sql.Tx) error {
	type cert struct {
		fp  string
		key string
	}
	rows, err := tx.QueryContext(ctx, `SELECT fingerprint_sha256, subject_normalized, issuer_normalized, spki_sha256, sans, self_issued, identity_id
		FROM certificates ORDER BY identity_id, fingerprint_sha256`)
	if err != nil {
		return err
	}
	byIdentity := map[int64][]cert{}
	var ids []int64
	for rows.Next() {
		var c model.Certificate
		var sans string
		var id int64
		if err := rows.Scan(&c.FingerprintSHA256, &c.SubjectNormalized, &c.IssuerNormalized, &c.SPKISHA256, &sans, &c.SelfIssued, &id); err != nil {
			rows.Close()
			return err
		}
		json.Unmarshal([]byte(sans), &c.SANs)
		if _, ok := byIdentity[id]; !ok {
			ids = append(ids, id)
		}
		byIdentity[id] = append(byIdentity[id], cert{c.FingerprintSHA256, model.IdentityKey(c)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		groups := map[string][]string{}
		var keys []string
		for _, c := range byIdentity[id] {
			if _, ok := groups[c.key]; !ok {
				keys = append(keys, c.key)
			}
			groups[c.key] = append(groups[c.key], c.fp)
		}
		// CA-signed first, then the largest group, then by key.
		slices.SortFunc(keys, func(a, b string) int {
			if ca, cb := strings.Contains(a, "|issuer:"), strings.Contains(b, "|issuer:"); ca != cb {
				if ca {
					return -1
				}
				return 1
			}
			if d := len(groups[b]) - len(groups[a]); d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		kept := keys[0]
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET identity_key = ?, key_hash = ? WHERE id = ?`, kept, identityKeyHash(kept), id); err != nil {
			return err
		}
		for _, key := range keys[1:] {
			sameKind := strings.Contains(key, "|issuer:") == strings.Contains(kept, "|issuer:")
			res, err := tx.ExecContext(ctx, `INSERT INTO identities(identity_key, key_hash, name, created_at, owner, expires_at)
				SELECT ?, ?, name, created_at, CASE WHEN ? THEN owner END, CASE WHEN ? THEN expires_at END FROM identities WHERE id = ?`,
				key, identityKeyHash(key), sameKind, sameKind, id)
			if err != nil {
				return err
			}
			newID, err := res.LastInsertId()
			if err != nil {
				return err
			}
			for _, fp := range groups[key] {
				for _, q := range []string{
					`UPDATE certificates SET identity_id = ? WHERE fingerprint_sha256 = ?`,
					`UPDATE exceptions SET identity_id = ? WHERE fingerprint_sha256 = ?`,
					`UPDATE campaign_items SET identity_id = ? WHERE fingerprint = ?`,
				} {
					if _, err := tx.ExecContext(ctx, q, newID, fp); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
