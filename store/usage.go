package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// Usage from the servers' access logs: each log file version (a source)
// keeps its usage per certificate, day and verification outcome
// (usage_days) and what it covered (access_log_reads); a log read again
// after it grew is a new version, and only current versions count.

// accessLog is one log an imported server writes.
type accessLog struct {
	host string
	log  model.AccessLog
}

// loadAccessLogs reads the logs the imported servers write.
func (imp *Import) loadAccessLogs(ctx context.Context) error {
	servers, err := imp.s.Servers(ctx)
	if err != nil {
		return err
	}
	for _, srv := range servers {
		for _, l := range srv.AccessLogs {
			imp.logs = append(imp.logs, accessLog{host: srv.Host, log: l})
		}
	}
	return nil
}

// HasAccessLogs reports whether the imported servers name access logs
// beyond those of before (an import's second pass reads those).
func (imp *Import) HasAccessLogs(than *Import) bool {
	return len(imp.logs) > len(than.logs)
}

// AccessLogFor gives, for an import of files from host (import --host),
// the access logs a file is: the logs the imported servers of that host
// name there, or a rotation of it (access.log.1, access.log.2.gz,
// access.log-20261201.gz), also in a copy of the server's files (import
// --root). It is safe for concurrent use.
func (imp *Import) AccessLogFor(host string) func(path string) []model.AccessLog {
	if len(imp.logs) == 0 {
		return nil
	}
	return func(path string) []model.AccessLog {
		var out []model.AccessLog
		for _, l := range imp.logs {
			if l.host == host && logMatches(path, l.log) && !slices.Contains(out, l.log) {
				out = append(out, l.log)
			}
		}
		return out
	}
}

// logMatches reports whether the file at path is the log l or a rotation
// of it, where the server wrote it or in a copy of its files.
func logMatches(path string, l model.AccessLog) bool {
	if isLogOrRotation(path, l.Path) {
		return true
	}
	if dir := filepath.Dir(path); filepath.IsAbs(l.Written) && strings.HasSuffix(dir, filepath.Dir(l.Written)) {
		return isLogOrRotation(path, filepath.Join(dir, filepath.Base(l.Written)))
	}
	return false
}

// isLogOrRotation reports whether path is the log at configured or one of
// its rotations, as logrotate names them.
func isLogOrRotation(path, configured string) bool {
	if path == configured {
		return true
	}
	if filepath.Dir(path) != filepath.Dir(configured) {
		return false
	}
	base, rest := filepath.Base(configured), filepath.Base(path)
	for _, sep := range []string{".", "-"} {
		if suffix, ok := strings.CutPrefix(rest, base+sep); ok && suffix != "" {
			return true
		}
	}
	return false
}

// writeAccessLog stores what a log read gave. A read that goes on from
// the version read before (the log grew) is stored with that version's
// usage copied in: each version holds its log's whole usage, and readers
// sum a version's rows per certificate and day.
func (w *writer) writeAccessLog(ctx context.Context, sourceID int64, path string, read *model.AccessLogRead, sum *ImportSummary) error {
	lines, withCertificate, unparsed := read.Lines, read.WithCertificate, read.Unparsed
	from, until := read.From.Unix(), read.Until.Unix()
	if read.From.IsZero() {
		from, until = 0, 0
	}
	if read.Continues != "" {
		var before, beforeLines, beforeWith, beforeUnparsed, beforeFrom, beforeUntil int64
		err := w.conn.QueryRowContext(ctx, `SELECT r.source_id, r.lines, r.with_certificate, r.unparsed, r.covers_from, r.covers_until
			FROM access_log_reads r JOIN sources s ON s.id = r.source_id WHERE s.path = ? AND s.content_sha256 = ?`, path, read.Continues).
			Scan(&before, &beforeLines, &beforeWith, &beforeUnparsed, &beforeFrom, &beforeUntil)
		if err != nil {
			return fmt.Errorf("the version of the log read before: %w", err)
		}
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO usage_days(source_id, client_fingerprint, day, verified, count, first_seen, last_seen, server)
			SELECT ?, client_fingerprint, day, verified, count, first_seen, last_seen, server FROM usage_days WHERE source_id = ?`, sourceID, before); err != nil {
			return err
		}
		lines, withCertificate, unparsed = lines+beforeLines, withCertificate+beforeWith, unparsed+beforeUnparsed
		if beforeUntil > 0 && (from == 0 || beforeFrom < from) {
			from = beforeFrom
		}
		until = max(until, beforeUntil)
		sum.AccessLogsContinued++
	}
	if _, err := w.conn.ExecContext(ctx, `INSERT INTO access_log_reads(source_id, format_name, format, lines, with_certificate, unparsed, covers_from, covers_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		sourceID, read.Log.FormatName, read.Log.Format, lines, withCertificate, unparsed, from, until); err != nil {
		return err
	}
	days := newRowBatch(w.conn, `INSERT INTO usage_days(source_id, client_fingerprint, day, verified, count, first_seen, last_seen, server)`, 8)
	for d := range read.Days {
		verified := 0
		if d.Verified {
			verified = 1
		}
		if err := days.add(ctx, sourceID, d.Fingerprint, d.Day.Unix(), verified, d.Count, d.First.Unix(), d.Last.Unix(), d.Server); err != nil {
			days.flush(ctx)
			return err
		}
	}
	if err := days.flush(ctx); err != nil {
		return err
	}
	sum.AccessLogs++
	sum.UsageDays += read.DayCount
	return nil
}

// usageIndex is what the current access logs say, loaded once a review:
// each server's logs and what they cover, and by certificate (SHA-1) what
// each log saw of it.
type usageIndex struct {
	servers []serverLogs
	seen    map[string][]seenIn
	// revokedAt is when a CRL revoked each certificate the logs saw that
	// one revokes, by SHA-1 fingerprint (used-after-revocation).
	revokedAt map[string]int64
	// unknown are the clients the logs show that no imported certificate
	// is (unknown-client).
	unknown []model.UnknownClient
}

type serverLogs struct {
	key, name string
	// sources are the log versions the server writes, each with the name
	// its lines bear there ("" when all the log's lines are its own).
	sources     map[int64]string
	from, until int64
	// letsUnverifiedIn: the server lets a certificate through whatever
	// its verification says (optional_no_ca, every error ignored), so a
	// certificate it logged as not verified was accepted all the same.
	letsUnverifiedIn bool
}

// has reports whether the server's logs hold what a log version says of
// lines bearing the server name logged ("": any).
func (srv *serverLogs) has(source int64, logged string) bool {
	as, ok := srv.sources[source]
	return ok && (logged == "" || as == "" || logged == as)
}

type seenIn struct {
	source                    int64
	server                    string // the server name the lines bore, "" none
	last, lastAccepted, count int64
}

// loadUsage reads the usage index; nil when no access log was imported.
func (s *Store) loadUsage(ctx context.Context) (*usageIndex, error) {
	type logRead struct {
		source       int64
		path, format string
		from, until  int64
	}
	reads, err := collect(ctx, s.db, `SELECT r.source_id, s.path, r.format, r.covers_from, r.covers_until FROM access_log_reads r
		JOIN sources s ON s.id = r.source_id WHERE s.superseded_at IS NULL AND r.covers_until > 0`, nil, func(rows *sql.Rows) (logRead, error) {
		var l logRead
		return l, rows.Scan(&l.source, &l.path, &l.format, &l.from, &l.until)
	})
	if err != nil || len(reads) == 0 {
		return nil, err
	}
	servers, err := s.Servers(ctx)
	if err != nil {
		return nil, err
	}
	idx := &usageIndex{seen: map[string][]seenIn{}, revokedAt: map[string]int64{}}
	for i := range servers {
		srv := &servers[i]
		logs := serverLogs{key: srv.Key(), name: srv.Name(), sources: map[int64]string{},
			letsUnverifiedIn: srv.Mode == model.VerifyOptionalNoCA || srv.IgnoresVerifyErrors}
		for _, r := range reads {
			// A log is the evidence of the servers that write it, in the
			// format it was read in: another server writing other lines
			// to the same file had none of its lines read.
			host, path := model.SplitSourceKey(r.path)
			at := slices.IndexFunc(srv.AccessLogs, func(l model.AccessLog) bool {
				return logMatches(path, l) && (r.format == "" || r.format == l.Format)
			})
			if host != srv.Host || at < 0 {
				continue
			}
			logs.sources[r.source] = srv.AccessLogs[at].LoggedAs
			if logs.from == 0 || r.from < logs.from {
				logs.from = r.from
			}
			logs.until = max(logs.until, r.until)
		}
		if len(logs.sources) > 0 {
			idx.servers = append(idx.servers, logs)
		}
	}
	// A log's SHA-256 fingerprints (Envoy's) are the certificates' SHA-1
	// here, the key every other read uses, once a certificate has it.
	err = s.eachRow(ctx, `SELECT coalesce(c.fingerprint_sha1, d.client_fingerprint), d.source_id, d.server, max(d.last_seen), coalesce(max(CASE WHEN d.verified = 1 THEN d.last_seen END), 0), sum(d.count)
		FROM usage_days d JOIN sources s ON s.id = d.source_id
		LEFT JOIN certificates c ON length(d.client_fingerprint) = 64 AND c.fingerprint_sha256 = d.client_fingerprint
		WHERE s.superseded_at IS NULL
		GROUP BY 1, d.source_id, d.server`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp string
			var in seenIn
			if err := rows.Scan(&fp, &in.source, &in.server, &in.last, &in.lastAccepted, &in.count); err != nil {
				return err
			}
			idx.seen[fp] = append(idx.seen[fp], in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// The revoked imported certificates (few: CRLs name what they revoke),
	// kept when a log saw them.
	err = s.eachRow(ctx, `SELECT c.fingerprint_sha1, min(r.revoked_at) FROM revocations r
		JOIN crls l ON l.id = r.crl_id JOIN sources s ON s.id = l.source_id
		JOIN certificates c ON c.issuer_normalized = l.issuer_normalized AND c.serial = r.serial
		WHERE s.superseded_at IS NULL
		GROUP BY c.fingerprint_sha1`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp string
			var at int64
			if err := rows.Scan(&fp, &at); err != nil {
				return err
			}
			if idx.seen[fp] != nil {
				idx.revokedAt[fp] = at
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return idx, s.loadUnknownClients(ctx, idx)
}

// loadUnknownClients reads what the logs say of the fingerprints no
// imported certificate has.
func (s *Store) loadUnknownClients(ctx context.Context, idx *usageIndex) error {
	return s.eachRow(ctx, `SELECT d.client_fingerprint, d.source_id, d.server, max(d.last_seen), coalesce(max(CASE WHEN d.verified = 1 THEN d.last_seen END), 0), sum(d.count), min(d.first_seen)
		FROM usage_days d JOIN sources s ON s.id = d.source_id
		WHERE s.superseded_at IS NULL AND d.client_fingerprint NOT IN (SELECT fingerprint_sha1 FROM certificates)
			AND d.client_fingerprint NOT IN (SELECT fingerprint_sha256 FROM certificates)
		GROUP BY d.client_fingerprint, d.source_id, d.server ORDER BY 1, 2, 3`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var c model.UnknownClient
			var source, last, accepted, first int64
			var logged string
			if err := rows.Scan(&c.Fingerprint, &source, &logged, &last, &accepted, &c.Count, &first); err != nil {
				return err
			}
			c.First, c.Last = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
			for i := range idx.servers {
				if srv := &idx.servers[i]; srv.has(source, logged) {
					c.Server, c.Accepted = srv.name, accepted > 0 || srv.letsUnverifiedIn
					idx.unknown = append(idx.unknown, c)
				}
			}
		}
		return rows.Err()
	})
}

// unknownClientFindings are the unknown-client findings.
func (idx *usageIndex) unknownClientFindings() []model.Finding {
	if idx == nil {
		return nil
	}
	return model.UnknownClientFindings(idx.unknown)
}

// lastSeen is when any log last shows the certificate, zero for never.
func (idx *usageIndex) lastSeen(fingerprintSHA1 string) time.Time {
	if idx == nil {
		return time.Time{}
	}
	var last int64
	for _, in := range idx.seen[fingerprintSHA1] {
		last = max(last, in.last)
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(last, 0).UTC()
}

// revokedSince is when a CRL revoked the certificate, zero when none did
// (or no log saw it).
func (idx *usageIndex) revokedSince(fingerprintSHA1 string) time.Time {
	if idx == nil || idx.revokedAt[fingerprintSHA1] == 0 {
		return time.Time{}
	}
	return time.Unix(idx.revokedAt[fingerprintSHA1], 0).UTC()
}

// of is what each server's logs say of the certificate with that SHA-1
// fingerprint.
func (idx *usageIndex) of(fingerprintSHA1 string) []model.ServerUsage {
	if idx == nil {
		return nil
	}
	seen := idx.seen[fingerprintSHA1]
	var out []model.ServerUsage
	for _, srv := range idx.servers {
		u := model.ServerUsage{Server: srv.name, ServerKey: srv.key, From: time.Unix(srv.from, 0).UTC(), Until: time.Unix(srv.until, 0).UTC()}
		var last, accepted int64
		for _, in := range seen {
			if srv.has(in.source, in.server) {
				last, accepted = max(last, in.last), max(accepted, in.lastAccepted)
				u.Count += in.count
			}
		}
		if srv.letsUnverifiedIn {
			accepted = last
		}
		if last > 0 {
			t := time.Unix(last, 0).UTC()
			u.LastSeen = &t
		}
		if accepted > 0 {
			t := time.Unix(accepted, 0).UTC()
			u.LastAccepted = &t
		}
		out = append(out, u)
	}
	return out
}

// logsSpan is the period the imported access logs of the servers that
// admit a certificate cover (trust: its trust references); zero when
// none of them had its logs imported.
func (idx *usageIndex) logsSpan(trust []model.TrustRef) (from, until time.Time) {
	if idx == nil {
		return time.Time{}, time.Time{}
	}
	var first, last int64
	for _, ref := range trust {
		if ref.ServerKey == "" || ref.RefusedNow != "" {
			continue
		}
		for _, srv := range idx.servers {
			if srv.key == ref.ServerKey {
				if first == 0 || srv.from < first {
					first = srv.from
				}
				last = max(last, srv.until)
			}
		}
	}
	if first == 0 {
		return time.Time{}, time.Time{}
	}
	return time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
}

// setUsage sets what the access logs say of r: when last seen, and the
// period its servers' logs cover.
func (idx *usageIndex) setUsage(r *model.Record) {
	r.LastSeen = idx.lastSeen(r.FingerprintSHA1)
	r.LogsFrom, r.LogsUntil = idx.logsSpan(r.Trust)
}
