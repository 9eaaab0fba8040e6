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

type usageKey struct {
	fingerprint string
	day         int64
	verified    bool
}

// readNginxAccessLog reads a log (gzip-compressed or not) in format f
// and returns its usage per certificate, day and outcome, oldest first.
// It holds one line and the aggregates, whatever the log's size, and
// stops when ctx ends.
func readNginxAccessLog(ctx context.Context, r io.Reader, f *nginxLogFormat) ([]model.UsageDay, accessLogStats, error) {
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
	days := map[usageKey]*model.UsageDay{}
	var order []usageKey
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
		fp := normalizeFingerprint(string(m[f.fingerprint]))
		if fp == "" {
			continue // no client certificate on that request
		}
		if len(fp) != 40 {
			stats.Unparsed++
			continue
		}
		stats.WithCertificate++
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		key := usageKey{fingerprint: fp, day: day.Unix(), verified: f.verify == 0 || string(m[f.verify]) == "SUCCESS"}
		u := days[key]
		if u == nil {
			if len(days) >= maxUsageKeys {
				return nil, stats, fmt.Errorf("more than %d certificate-days in one log: not one server's access log", maxUsageKeys)
			}
			u = &model.UsageDay{FingerprintSHA1: fp, Day: day, First: at, Last: at, Verified: key.verified}
			days[key] = u
			order = append(order, key)
		}
		u.Count++
		if at.Before(u.First) {
			u.First = at
		}
		if at.After(u.Last) {
			u.Last = at
		}
	}
	out := make([]model.UsageDay, 0, len(order))
	for _, k := range order {
		out = append(out, *days[k])
	}
	return out, stats, nil
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

// normalizeFingerprint makes a logged fingerprint lower-case hex without
// separators; "" for none ("-", empty).
func normalizeFingerprint(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return ""
	}
	return strings.ToLower(strings.ReplaceAll(s, ":", ""))
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
		res.Skipped = fmt.Sprintf("the access log of %s (log_format %s): %v", log.Location, log.FormatName, err)
		return res
	}
	hash := sha256.New()
	counted := &countingReader{r: io.TeeReader(f, hash)}
	days, stats, err := readNginxAccessLog(ctx, counted, format)
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		return res
	}
	res.Source.ContentSHA256 = hex.EncodeToString(hash.Sum(nil))
	res.Source.Size = counted.n
	if opts.Known != nil && opts.Known(key, res.Source.ContentSHA256) {
		res.Unchanged = true
		return res
	}
	res.AccessLog = &model.AccessLogRead{Log: log, Lines: stats.Lines, WithCertificate: stats.WithCertificate,
		Unparsed: stats.Unparsed + stats.TooLong, From: stats.From, Until: stats.Until, Days: days}
	if stats.Lines > 0 && stats.Unparsed+stats.TooLong == stats.Lines {
		res.Problems = append(res.Problems, model.Problem{Path: path, Err: fmt.Errorf("none of its %d lines is in the format log_format %s declares (%s)", stats.Lines, log.FormatName, log.Location)})
	}
	return res
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
