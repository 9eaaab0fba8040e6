package importers

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"certgov/model"
)

// Access logs: the servers' own record of the client certificates they
// were presented. A log is read in the format its server's configuration
// declares (logformat.go), a line at a time, and kept aggregated per
// certificate, day and verification outcome: never the lines themselves.

// accessLogStats counts what reading a log met.
type accessLogStats struct {
	Lines, WithCertificate, Unparsed, TooLong int64
	From, Until                               time.Time // the first and last time a line carries, with a certificate or not
}

// Limits on a log: a line longer than maxLogLine is skipped (nginx's own
// lines stay far below); more distinct certificate-days than
// maxUsageKeys in one log is refused (hostile, or not one server's log);
// maxLogBytes bounds what a compressed log may expand to.
const (
	maxLogLine   = 64 << 10
	maxUsageKeys = 1 << 20
	maxLogBytes  = 64 << 30
)

// usageKey and usageTally are a log's usage as it is read: no pointers
// and no strings, so that half a million certificate-days stay small
// and cost the collector nothing to scan.
type usageKey struct {
	// fingerprint holds a SHA-1 (its first 20 bytes, sha256 false) or a
	// SHA-256 fingerprint, as the server logs it.
	fingerprint [32]byte
	sha256      bool
	day         int32 // days since 1970-01-01, UTC
	verified    bool
	// server is the line's server name (usageDays.servers), 0 when the
	// format logs none.
	server uint16
}

type usageTally struct{ count, first, last int64 }

// usageDays is a log's usage per certificate, day and outcome, in the
// order first met.
type usageDays struct {
	tally map[usageKey]usageTally
	order []usageKey
	// servers are the server names the lines carry (HAProxy's frontend,
	// nginx's $server_name), servers[0] "" for none; serverIndex finds
	// them.
	servers     []string
	serverIndex map[string]uint16
}

// maxLoggedServers bounds the distinct server names one log may carry:
// a gateway has tens of frontends, not thousands.
const maxLoggedServers = 4096

// serverOf is the index of a logged server name, added when new; ok is
// false past maxLoggedServers.
func (u *usageDays) serverOf(name []byte) (uint16, bool) {
	if len(name) == 0 || string(name) == "-" {
		return 0, true
	}
	if i, ok := u.serverIndex[string(name)]; ok {
		return i, true
	}
	if len(u.servers) >= maxLoggedServers {
		return 0, false
	}
	u.servers = append(u.servers, string(name))
	u.serverIndex[string(name)] = uint16(len(u.servers) - 1)
	return uint16(len(u.servers) - 1), true
}

// each yields the usage as model values, made as they are taken.
func (u *usageDays) each(yield func(model.UsageDay) bool) {
	for _, k := range u.order {
		t := u.tally[k]
		fp := k.fingerprint[:20]
		if k.sha256 {
			fp = k.fingerprint[:]
		}
		d := model.UsageDay{Fingerprint: hex.EncodeToString(fp), Day: time.Unix(int64(k.day)*86400, 0).UTC(),
			Count: t.count, First: time.Unix(t.first, 0).UTC(), Last: time.Unix(t.last, 0).UTC(), Verified: k.verified, Server: u.servers[k.server]}
		if !yield(d) {
			return
		}
	}
}

// readAccessLog reads a log (gzip-compressed or not) in format f and
// returns its usage per certificate, day and outcome. It holds one line
// and the tallies, whatever the log's size, and stops when ctx ends.
func readAccessLog(ctx context.Context, r io.Reader, f logFormat) (*usageDays, accessLogStats, error) {
	var stats accessLogStats
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, stats, err
		}
		defer gz.Close()
		br = bufio.NewReaderSize(io.LimitReader(gz, maxLogBytes), 256<<10)
	}
	usage := &usageDays{tally: map[usageKey]usageTally{}, servers: []string{""}, serverIndex: map[string]uint16{}}
	for {
		if stats.Lines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, stats, err
			}
		}
		line, err := readLogLine(br)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errLineTooLong) {
			return nil, stats, err
		}
		stats.Lines++
		if errors.Is(err, errLineTooLong) {
			stats.TooLong++
			continue
		}
		req, ok := f.read(line)
		if !ok {
			stats.Unparsed++
			continue
		}
		at := req.at
		// What the log covers counts every request: a log of months in
		// which a certificate never appears is evidence too.
		if stats.From.IsZero() || at.Before(stats.From) {
			stats.From = at
		}
		if at.After(stats.Until) {
			stats.Until = at
		}
		key := usageKey{verified: req.verified}
		switch present, ok := parseFingerprint(req.fingerprint, &key); {
		case !present:
			continue // no client certificate on that request
		case !ok:
			stats.Unparsed++
			continue
		}
		if key.server, ok = usage.serverOf(req.server); !ok {
			return nil, stats, fmt.Errorf("more than %d server names in one log: not one gateway's access log", maxLoggedServers)
		}
		stats.WithCertificate++
		unix := at.Unix()
		key.day = int32(unix / 86400)
		t, seen := usage.tally[key]
		if !seen {
			if len(usage.tally) >= maxUsageKeys {
				return nil, stats, fmt.Errorf("more than %d certificate-days in one log: not one server's access log", maxUsageKeys)
			}
			t = usageTally{first: unix, last: unix}
			usage.order = append(usage.order, key)
		}
		t.count++
		t.first, t.last = min(t.first, unix), max(t.last, unix)
		usage.tally[key] = t
	}
	return usage, stats, nil
}

// parseFingerprint reads a logged fingerprint (hex, any case, colons
// allowed; SHA-1 or SHA-256 by its length) into key. present is false
// for none ("-", empty); ok, whether it is one.
func parseFingerprint(logged []byte, key *usageKey) (present, ok bool) {
	logged = bytes.TrimSpace(logged)
	if len(logged) == 0 || string(logged) == "-" {
		return false, false
	}
	var digits [64]byte
	n := 0
	for _, c := range logged {
		if c == ':' {
			continue
		}
		if n == len(digits) {
			return true, false
		}
		digits[n] = c
		n++
	}
	switch n {
	case 40:
		key.sha256 = false
	case 64:
		key.sha256 = true
	default:
		return true, false
	}
	_, err := hex.Decode(key.fingerprint[:n/2], digits[:n])
	return true, err == nil
}

var errLineTooLong = errors.New("line too long")

// readLogLine reads one line without its end; a line longer than
// maxLogLine is read to its end and reported as too long.
func readLogLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLogLine {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return []byte{0}, errLineTooLong
	}
	return bytes.TrimRight(line, "\r\n"), err
}

// readAccessLogFile streams a server's access log (a regular file,
// opened without blocking) through its format, hashing it as it goes:
// an unchanged log is not written again.
func readAccessLogFile(ctx context.Context, path string, logs []model.AccessLog, opts Options) model.FileResult {
	key := model.SourceKey(opts.Host, path)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	res := model.FileResult{Source: model.Source{Path: key, Kind: model.KindAccessLog, ImportedAt: now().UTC().Truncate(time.Second)}}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		res.Err = err
		return res
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		res.Err = fmt.Errorf("%s: not a regular file", path)
		return res
	}
	log, format, err := readableFormat(logs)
	if err != nil {
		res.Skipped = fmt.Sprintf("the access log of %s (%s): %v", log.Location, declaredFormat(log), err)
		return res
	}
	// A log is read up to its last complete line: the line a server is
	// writing is read with the rest the next time. A compressed rotation
	// is read whole.
	end, compressed, err := completeLines(f, info.Size())
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	// Hashed first: a log imported before is not parsed again (a
	// gigabyte hashes in seconds and parses in half a minute). A log that
	// grew since (what was read before is, byte for byte, its beginning)
	// is read from where that read ended.
	var before struct {
		ContentSHA256 string
		Size          int64
	}
	if opts.ReadBefore != nil && !compressed {
		before.ContentSHA256, before.Size, _ = opts.ReadBefore(key)
	}
	hash := sha256.New()
	hashed, grew := int64(0), false
	if before.Size > 0 && before.Size < end {
		if _, err := copyWithContext(ctx, hash, io.LimitReader(f, before.Size)); err != nil {
			res.Err = fmt.Errorf("%s: %w", path, err)
			return res
		}
		hashed, grew = before.Size, hex.EncodeToString(hash.Sum(nil)) == before.ContentSHA256
	}
	if _, err := copyWithContext(ctx, hash, io.LimitReader(f, end-hashed)); err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	res.Source.ContentSHA256, res.Source.Size = hex.EncodeToString(hash.Sum(nil)), end
	if opts.Known != nil && opts.Known(key, res.Source.ContentSHA256) {
		res.Unchanged = true
		return res
	}
	// What was hashed is what is read: a log written to meanwhile is
	// read as far as it was hashed.
	from := int64(0)
	if grew {
		from = before.Size
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	usage, stats, err := readAccessLog(ctx, io.LimitReader(f, end-from), format)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	res.AccessLog = &model.AccessLogRead{Log: log, Lines: stats.Lines, WithCertificate: stats.WithCertificate,
		Unparsed: stats.Unparsed + stats.TooLong, From: stats.From, Until: stats.Until, Days: usage.each, DayCount: len(usage.order)}
	if grew {
		res.AccessLog.Continues, res.AccessLog.ReadFrom = before.ContentSHA256, from
	}
	if stats.Lines > 0 && stats.Unparsed+stats.TooLong == stats.Lines {
		res.Problems = append(res.Problems, model.Problem{Path: path, Err: fmt.Errorf("none of its %d lines is in the format %s declares (%s)", stats.Lines, declaredFormat(log), log.Location)})
	}
	return res
}

// completeLines is where a log's last complete line ends: its size when
// it ends with a newline, or is gzip-compressed (a rotation, read whole,
// never continued); else after the last newline of its last maxLogLine
// bytes (none there: its size, a line too long to be one).
func completeLines(f *os.File, size int64) (end int64, compressed bool, err error) {
	if size == 0 {
		return 0, false, nil
	}
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return size, true, nil
	}
	tail := make([]byte, min(size, maxLogLine+1))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return 0, false, err
	}
	if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
		return size - int64(len(tail)) + int64(i) + 1, false, nil
	}
	return size, false, nil
}

// readableFormat is the first of a file's declared logs whose format
// certgov can read usage from, compiled; else the first, and why not.
func readableFormat(logs []model.AccessLog) (model.AccessLog, logFormat, error) {
	var first error
	for _, l := range logs {
		f, err := compileLogFormat(l)
		if err == nil {
			return l, f, nil
		}
		first = cmp.Or(first, err)
	}
	return logs[0], nil, first
}

// declaredFormat names the format a log is declared in, as its
// configuration does: "log_format mtls", "log-format", "json_format".
func declaredFormat(l model.AccessLog) string {
	if l.Dialect == "" || l.Dialect == model.LogDialectNginx {
		return "log_format " + directiveName(l.FormatName)
	}
	return directiveName(l.FormatName)
}

// copyWithContext copies r to w a megabyte at a time until ctx ends.
func copyWithContext(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		w.Write(buf[:k])
		n += int64(k)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
