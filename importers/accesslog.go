package importers

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"certgov/model"
)

// Access logs: the servers' own record of the client certificates they
// were presented. A log is read in the format its server's configuration
// declares (nginx log_format), a line at a time, and kept aggregated per
// certificate, day and verification outcome: never the lines themselves.

// nginxLogFormat is a compiled nginx log_format: a regular expression
// with one group per variable, and the groups of the variables certgov
// reads (0 when the format lacks it).
type nginxLogFormat struct {
	re                                   *regexp.Regexp
	fingerprint, verify                  int
	timeLocal, timeISO8601, msec, serial int
	escape                               string
}

// nginxVariable matches a variable in a log_format: $name or ${name}.
var nginxVariable = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))`)

// compileNginxLogFormat compiles a log_format's pattern. It refuses a
// format from which no certificate can be told: without
// $ssl_client_fingerprint, or without a time.
func compileNginxLogFormat(format, escape string) (*nginxLogFormat, error) {
	f := &nginxLogFormat{escape: escape}
	var expr strings.Builder
	expr.WriteString("^")
	at, group := 0, 0
	matches := nginxVariable.FindAllStringSubmatchIndex(format, -1)
	for i, m := range matches {
		expr.WriteString(regexp.QuoteMeta(format[at:m[0]]))
		var name string
		if m[2] >= 0 {
			name = format[m[2]:m[3]] // ${name}
		} else {
			name = format[m[4]:m[5]]
		}
		group++
		switch name {
		case "ssl_client_fingerprint":
			f.fingerprint = group
		case "ssl_client_verify":
			f.verify = group
		case "ssl_client_serial":
			f.serial = group
		case "time_local":
			f.timeLocal = group
		case "time_iso8601":
			f.timeISO8601 = group
		case "msec":
			f.msec = group
		}
		if i == len(matches)-1 && m[1] == len(format) {
			expr.WriteString("(.*)")
		} else {
			expr.WriteString("(.*?)")
		}
		at = m[1]
	}
	expr.WriteString(regexp.QuoteMeta(format[at:]))
	expr.WriteString("$")
	if f.fingerprint == 0 {
		return nil, errors.New("its format logs no $ssl_client_fingerprint: no client certificate can be told from it")
	}
	if f.timeLocal == 0 && f.timeISO8601 == 0 && f.msec == 0 {
		return nil, errors.New("its format logs no time ($time_local, $time_iso8601 or $msec)")
	}
	re, err := regexp.Compile(expr.String())
	if err != nil {
		return nil, err
	}
	f.re = re
	return f, nil
}

// nginxCombined is nginx's predefined format, used by an access_log that
// names none: it logs no client certificate.
const nginxCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

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
	fingerprint [20]byte
	day         int32 // days since 1970-01-01, UTC
	verified    bool
}

type usageTally struct{ count, first, last int64 }

// usageDays is a log's usage per certificate, day and outcome, in the
// order first met.
type usageDays struct {
	tally map[usageKey]usageTally
	order []usageKey
}

// each yields the usage as model values, made as they are taken.
func (u *usageDays) each(yield func(model.UsageDay) bool) {
	for _, k := range u.order {
		t := u.tally[k]
		d := model.UsageDay{FingerprintSHA1: hex.EncodeToString(k.fingerprint[:]), Day: time.Unix(int64(k.day)*86400, 0).UTC(),
			Count: t.count, First: time.Unix(t.first, 0).UTC(), Last: time.Unix(t.last, 0).UTC(), Verified: k.verified}
		if !yield(d) {
			return
		}
	}
}

// readNginxAccessLog reads a log (gzip-compressed or not) in format f
// and returns its usage per certificate, day and outcome. It holds one
// line and the tallies, whatever the log's size, and stops when ctx ends.
func readNginxAccessLog(ctx context.Context, r io.Reader, f *nginxLogFormat) (*usageDays, accessLogStats, error) {
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
	usage := &usageDays{tally: map[usageKey]usageTally{}}
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
		m := f.re.FindSubmatch(line)
		if m == nil {
			stats.Unparsed++
			continue
		}
		at, ok := f.time(m)
		if !ok {
			stats.Unparsed++
			continue
		}
		// What the log covers counts every request: a log of months in
		// which a certificate never appears is evidence too.
		if stats.From.IsZero() || at.Before(stats.From) {
			stats.From = at
		}
		if at.After(stats.Until) {
			stats.Until = at
		}
		key := usageKey{verified: f.verify == 0 || string(m[f.verify]) == "SUCCESS"}
		switch present, ok := parseFingerprint(m[f.fingerprint], &key.fingerprint); {
		case !present:
			continue // no client certificate on that request
		case !ok:
			stats.Unparsed++
			continue
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

// parseFingerprint reads a logged SHA-1 fingerprint (hex, any case,
// colons allowed) into fp. present is false for none ("-", empty); ok,
// whether it is one.
func parseFingerprint(logged []byte, fp *[20]byte) (present, ok bool) {
	logged = bytes.TrimSpace(logged)
	if len(logged) == 0 || string(logged) == "-" {
		return false, false
	}
	var digits [40]byte
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
	if n != len(digits) {
		return true, false
	}
	_, err := hex.Decode(fp[:], digits[:])
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

// time reads the line's time from whichever time variable the format has.
func (f *nginxLogFormat) time(m [][]byte) (time.Time, bool) {
	switch {
	case f.timeISO8601 > 0:
		t, err := time.Parse(time.RFC3339, string(m[f.timeISO8601]))
		return t.UTC(), err == nil
	case f.timeLocal > 0:
		t, err := time.Parse("02/Jan/2006:15:04:05 -0700", string(m[f.timeLocal]))
		return t.UTC(), err == nil
	default:
		v, err := strconv.ParseFloat(string(m[f.msec]), 64)
		if err != nil || v < 0 || v > 1e11 {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(v * 1000)).UTC(), true
	}
}

// CheckNginxLogFormat says whether certgov can read usage from logs in
// an nginx log_format (model.AccessLog.Format, .Escape): it must name
// the client certificate's fingerprint and a time.
func CheckNginxLogFormat(format, escape string) error {
	_, err := compileNginxLogFormat(format, escape)
	return err
}

// readAccessLogFile streams a server's access log (a regular file,
// opened without blocking) through its format, hashing it as it goes:
// an unchanged log is not written again.
func readAccessLogFile(ctx context.Context, path string, log model.AccessLog, opts Options) model.FileResult {
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
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		res.Err = fmt.Errorf("%s: not a regular file", path)
		return res
	}
	format, err := compileNginxLogFormat(log.Format, log.Escape)
	if err != nil {
		res.Skipped = fmt.Sprintf("the access log of %s (log_format %s): %v", log.Location, directiveName(log.FormatName), err)
		return res
	}
	// Hashed first: a log imported before is not parsed again (a
	// gigabyte hashes in seconds and parses in half a minute).
	hash := sha256.New()
	size, err := copyWithContext(ctx, hash, f)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	res.Source.ContentSHA256, res.Source.Size = hex.EncodeToString(hash.Sum(nil)), size
	if opts.Known != nil && opts.Known(key, res.Source.ContentSHA256) {
		res.Unchanged = true
		return res
	}
	// What was hashed is what is read: a log written to meanwhile is
	// read as far as it was hashed.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	usage, stats, err := readNginxAccessLog(ctx, io.LimitReader(f, size), format)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	res.AccessLog = &model.AccessLogRead{Log: log, Lines: stats.Lines, WithCertificate: stats.WithCertificate,
		Unparsed: stats.Unparsed + stats.TooLong, From: stats.From, Until: stats.Until, Days: usage.each, DayCount: len(usage.order)}
	if stats.Lines > 0 && stats.Unparsed+stats.TooLong == stats.Lines {
		res.Problems = append(res.Problems, model.Problem{Path: path, Err: fmt.Errorf("none of its %d lines is in the format log_format %s declares (%s)", stats.Lines, directiveName(log.FormatName), log.Location)})
	}
	return res
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
