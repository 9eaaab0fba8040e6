package importers

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certgov/model"
)

// A log_format with the client certificate's fingerprint and verify
// result: lines are aggregated per certificate, day and outcome; lines
// without a certificate, unparsable or overlong ones are counted, not
// kept; a gzip-compressed log reads the same.
func TestReadNginxAccessLog(t *testing.T) {
	format := `$remote_addr [$time_local] "$request" $status "$ssl_client_fingerprint" "$ssl_client_verify" "${ssl_client_s_dn}"`
	f, err := compileLogFormat(model.AccessLog{Format: format, Escape: "default"})
	if err != nil {
		t.Fatal(err)
	}
	fp1, fp2 := strings.Repeat("ab", 20), strings.Repeat("0c", 20)
	log := strings.Join([]string{
		`10.0.0.1 [06/Dec/2026:23:59:58 +0000] "GET / HTTP/1.1" 200 "` + fp1 + `" "SUCCESS" "CN=ledger,O=Example"`,
		`10.0.0.1 [07/Dec/2026:01:00:00 +0100] "GET /a HTTP/1.1" 200 "` + strings.ToUpper(fp1) + `" "SUCCESS" "CN=ledger,O=Example"`,
		`10.0.0.2 [07/Dec/2026:09:30:00 +0000] "GET / HTTP/1.1" 400 "` + fp2 + `" "FAILED:certificate has expired" "CN=old"`,
		`10.0.0.3 [07/Dec/2026:09:31:00 +0000] "GET / HTTP/1.1" 200 "-" "NONE" "-"`,
		`garbage that no format matches`,
		`10.0.0.1 [07/Dec/2026:10:00:00 +0000] "GET /x\x22y HTTP/1.1" 200 "` + fp1 + `" "SUCCESS" "CN=ledger,O=Example"`,
		`10.0.0.1 [07/Dec/2026:10:00:00 +0000] "GET /` + strings.Repeat("a", maxLogLine) + `" 200 "` + fp1 + `" "SUCCESS" "x"`,
	}, "\n") + "\n"
	check := func(name string, data []byte) {
		t.Helper()
		usage, stats, err := readAccessLog(context.Background(), bytes.NewReader(data), f)
		if err != nil {
			t.Fatal(err)
		}
		days := slices.Collect(usage.each)
		if stats.Lines != 7 || stats.WithCertificate != 4 || stats.Unparsed != 1 || stats.TooLong != 1 {
			t.Errorf("%s: stats %+v", name, stats)
		}
		if len(days) != 3 {
			t.Fatalf("%s: %d aggregates: %+v", name, len(days), days)
		}
		// 01:00 +0100 is midnight UTC: the second line is the 7th's.
		d6, d7, failed := days[0], days[1], days[2]
		if d6.Fingerprint != fp1 || d6.Day != time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) || d6.Count != 1 || !d6.Verified {
			t.Errorf("%s: the 6th: %+v", name, d6)
		}
		if d7.Count != 2 || !d7.First.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) || !d7.Last.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: the 7th: %+v", name, d7)
		}
		if failed.Fingerprint != fp2 || failed.Verified {
			t.Errorf("%s: the refused one: %+v", name, failed)
		}
		if !stats.Until.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: until %v", name, stats.Until)
		}
	}
	check("plain", []byte(log))
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(log))
	w.Close()
	check("gzip", gz.Bytes())

	for _, bad := range []string{nginxCombined, `$ssl_client_fingerprint $status`} {
		if _, err := compileLogFormat(model.AccessLog{Format: bad}); err == nil {
			t.Errorf("%q compiles: no certificate or no time can be told from it", bad)
		}
	}
	iso, err := compileLogFormat(model.AccessLog{Format: `$time_iso8601|$ssl_client_fingerprint|$msec`})
	if err != nil {
		t.Fatal(err)
	}
	usage, _, err := readAccessLog(context.Background(), strings.NewReader("2026-12-07T10:00:00+02:00|"+fp1+"|1.0\n"), iso)
	if err != nil || len(usage.order) != 1 || slices.Collect(usage.each)[0].Last.Hour() != 8 {
		t.Errorf("ISO 8601 time: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := readAccessLog(ctx, strings.NewReader(log), f); err == nil {
		t.Error("a cancelled read goes on")
	}
}

// HAProxy's lines reach a file after a syslog header; ssl_c_sha1,hex is
// upper-case; ssl_c_verify 0 is verified. Envoy's JSON lines carry the
// SHA-256 fingerprint where its json_format put it (null for none), its
// text lines where the template does.
func TestReadHAProxyAndEnvoyLogs(t *testing.T) {
	sha1, sha256 := strings.Repeat("AB", 20), strings.Repeat("cd", 32)
	haproxy, err := compileLogFormat(model.AccessLog{Dialect: model.LogDialectHAProxy, Format: `%ci [%tr] %ft %ST %[ssl_c_verify] %{+Q}[ssl_c_sha1,hex] %{+Q}[ssl_c_s_dn]`})
	if err != nil {
		t.Fatal(err)
	}
	envoyJSON, err := compileLogFormat(model.AccessLog{Dialect: model.LogDialectEnvoy, Format: `{"client":{"sha256":"%DOWNSTREAM_PEER_FINGERPRINT_256%"},"status":"%RESPONSE_CODE%","time":"%START_TIME%"}`})
	if err != nil {
		t.Fatal(err)
	}
	envoyText, err := compileLogFormat(model.AccessLog{Dialect: model.LogDialectEnvoy, Format: "[%START_TIME%] %RESPONSE_CODE% %DOWNSTREAM_PEER_FINGERPRINT_1%\n"})
	if err != nil {
		t.Fatal(err)
	}
	nginxShared, err := compileLogFormat(model.AccessLog{Format: `[$time_iso8601] $server_name $ssl_client_fingerprint`})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		format logFormat
		log    string
		want   []model.UsageDay
	}{
		{"nginx shared", nginxShared, "[2026-12-07T10:00:00+00:00] api.example " + strings.ToLower(sha1) + "\nbroken line\n",
			[]model.UsageDay{{Fingerprint: strings.ToLower(sha1), Count: 1, Verified: true, Server: "api.example"}}},
		{"haproxy", haproxy, strings.Join([]string{
			`Dec  7 10:00:00 gw haproxy[812]: 127.0.0.1:40112 [07/Dec/2026:10:00:00.123] mtls~ 200 0 "` + sha1 + `" "/CN=ledger"`,
			`Dec  7 10:05:00 gw haproxy[812]: 127.0.0.1:40113 [07/Dec/2026:10:05:00.001] mtls~ 200 10 "` + sha1 + `" "/CN=ledger"`,
			`Dec  7 10:06:00 gw haproxy[812]: 127.0.0.1:40114 [07/Dec/2026:10:06:00.001] mtls~ 200 0 "-" "-"`,
			`Dec  7 10:07:00 gw haproxy[812]: mtls/1: SSL handshake failure`,
		}, "\n"), []model.UsageDay{
			{Fingerprint: strings.ToLower(sha1), Count: 1, Verified: true, Server: "mtls"},
			{Fingerprint: strings.ToLower(sha1), Count: 1, Verified: false, Server: "mtls"},
		}},
		{"envoy json", envoyJSON, strings.Join([]string{
			`{"client":{"sha256":"` + sha256 + `"},"status":200,"time":"2026-12-07T10:00:00.123Z"}`,
			`{"client":{"sha256":null},"status":200,"time":"2026-12-07T10:01:00.000Z"}`,
			`{"client":{"sha256":"` + sha256 + `"},"status":403,"time":"2026-12-07T11:00:00.000Z"}`,
			`not json`,
		}, "\n"), []model.UsageDay{{Fingerprint: sha256, Count: 2, Verified: true}}},
		{"envoy text", envoyText, "[2026-12-07T10:00:00.000Z] 200 " + strings.ToLower(sha1) + "\n[2026-12-07T10:00:01.000Z] 200 -\n",
			[]model.UsageDay{{Fingerprint: strings.ToLower(sha1), Count: 1, Verified: true}}},
	} {
		usage, stats, err := readAccessLog(context.Background(), strings.NewReader(c.log), c.format)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		days := slices.Collect(usage.each)
		if len(days) != len(c.want) {
			t.Fatalf("%s: %+v (%+v)", c.name, days, stats)
		}
		for i, d := range days {
			w := c.want[i]
			if d.Fingerprint != w.Fingerprint || d.Count != w.Count || d.Verified != w.Verified || d.Server != w.Server || d.Day != time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) {
				t.Errorf("%s: day %d: %+v, want %+v", c.name, i, d, w)
			}
		}
		if stats.Unparsed != 1 && c.name != "envoy text" {
			t.Errorf("%s: unparsed %d", c.name, stats.Unparsed)
		}
	}
}

// FuzzAccessLogLine: any declared format and any line, in each dialect,
// compile or are refused, and read or do not, without a panic; a line
// read names a fingerprint no longer than the line.
func FuzzAccessLogLine(f *testing.F) {
	f.Add(uint8(0), `$remote_addr [$time_local] "$ssl_client_fingerprint" $ssl_client_verify`, `1.2.3.4 [07/Dec/2026:10:00:00 +0000] "`+strings.Repeat("ab", 20)+`" SUCCESS`)
	f.Add(uint8(1), `%ci [%tr] %[ssl_c_verify] %[ssl_c_sha1,hex]`, `Dec  7 10:00:00 gw haproxy[1]: 1.2.3.4 [07/Dec/2026:10:00:00.000] 0 `+strings.Repeat("AB", 20))
	f.Add(uint8(2), `{"t":"%START_TIME%","c":{"fp":"%DOWNSTREAM_PEER_FINGERPRINT_256%"}}`, `{"t":"2026-12-07T10:00:00Z","c":{"fp":"`+strings.Repeat("cd", 32)+`"}}`)
	f.Add(uint8(2), `[%START_TIME%] %DOWNSTREAM_PEER_FINGERPRINT_1%`, `[2026-12-07T10:00:00Z] -`)
	f.Fuzz(func(t *testing.T, dialect uint8, format, line string) {
		dialects := []string{model.LogDialectNginx, model.LogDialectHAProxy, model.LogDialectEnvoy}
		lf, err := compileLogFormat(model.AccessLog{Dialect: dialects[int(dialect)%len(dialects)], Format: format})
		if err != nil {
			return
		}
		if req, ok := lf.read([]byte(line)); ok && len(req.fingerprint) > len(line) {
			t.Errorf("a fingerprint of %d bytes from a line of %d", len(req.fingerprint), len(line))
		}
	})
}

// A log is read to its last complete line; once it grew, what was read
// is recognised byte for byte and only the rest is read, the line that
// was being written included. A log whose beginning changed is read
// whole.
func TestReadGrownLog(t *testing.T) {
	format := model.AccessLog{Format: `[$time_iso8601] $ssl_client_fingerprint`}
	fp := strings.Repeat("ab", 20)
	line := func(hour int) string { return fmt.Sprintf("[2026-12-07T%02d:00:00+00:00] %s\n", hour, fp) }
	path := filepath.Join(t.TempDir(), "access.log")
	os.WriteFile(path, []byte(line(1)+line(2)+"[2026-12-07T03:00"), 0o600)
	first := readAccessLogFile(context.Background(), path, []model.AccessLog{format}, Options{})
	if first.Err != nil || first.AccessLog == nil || first.AccessLog.Lines != 2 || first.Source.Size != int64(2*len(line(1))) || first.AccessLog.Continues != "" {
		t.Fatalf("first read: %+v %v", first.AccessLog, first.Err)
	}
	before := func(string) (string, int64, bool) { return first.Source.ContentSHA256, first.Source.Size, true }
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line(3)[len("[2026-12-07T03:00"):] + line(4))
	f.Close()
	grown := readAccessLogFile(context.Background(), path, []model.AccessLog{format}, Options{ReadBefore: before})
	if grown.Err != nil || grown.AccessLog == nil || grown.AccessLog.Continues != first.Source.ContentSHA256 || grown.AccessLog.ReadFrom != first.Source.Size ||
		grown.AccessLog.Lines != 2 || grown.AccessLog.Unparsed != 0 || grown.AccessLog.From.Hour() != 3 {
		t.Fatalf("grown: %+v %v", grown.AccessLog, grown.Err)
	}
	os.WriteFile(path, []byte(line(5)+line(1)+line(2)+line(3)), 0o600)
	changed := readAccessLogFile(context.Background(), path, []model.AccessLog{format}, Options{ReadBefore: before})
	if changed.Err != nil || changed.AccessLog == nil || changed.AccessLog.Continues != "" || changed.AccessLog.Lines != 4 {
		t.Fatalf("changed: %+v %v", changed.AccessLog, changed.Err)
	}
	// A compressed rotation is read whole, whatever was read before.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(line(1) + line(2)))
	w.Close()
	os.WriteFile(path, gz.Bytes(), 0o600)
	small := func(string) (string, int64, bool) { return "", 2, true }
	rotated := readAccessLogFile(context.Background(), path, []model.AccessLog{format}, Options{ReadBefore: small})
	if rotated.Err != nil || rotated.AccessLog == nil || rotated.AccessLog.Continues != "" || rotated.AccessLog.Lines != 2 || rotated.Source.Size != int64(gz.Len()) {
		t.Fatalf("gzip: %+v %v", rotated.AccessLog, rotated.Err)
	}
}
