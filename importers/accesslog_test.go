package importers

import (
	"bytes"
	"compress/gzip"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// A log_format with the client certificate's fingerprint and verify
// result: lines are aggregated per certificate, day and outcome; lines
// without a certificate, unparsable or overlong ones are counted, not
// kept; a gzip-compressed log reads the same.
func TestReadNginxAccessLog(t *testing.T) {
	format := `$remote_addr [$time_local] "$request" $status "$ssl_client_fingerprint" "$ssl_client_verify" "${ssl_client_s_dn}"`
	f, err := compileNginxLogFormat(format, "default")
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
		usage, stats, err := readNginxAccessLog(context.Background(), bytes.NewReader(data), f)
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
		if d6.FingerprintSHA1 != fp1 || d6.Day != time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC) || d6.Count != 1 || !d6.Verified {
			t.Errorf("%s: the 6th: %+v", name, d6)
		}
		if d7.Count != 2 || !d7.First.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) || !d7.Last.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: the 7th: %+v", name, d7)
		}
		if failed.FingerprintSHA1 != fp2 || failed.Verified {
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
		if _, err := compileNginxLogFormat(bad, ""); err == nil {
			t.Errorf("%q compiles: no certificate or no time can be told from it", bad)
		}
	}
	iso, err := compileNginxLogFormat(`$time_iso8601|$ssl_client_fingerprint|$msec`, "")
	if err != nil {
		t.Fatal(err)
	}
	usage, _, err := readNginxAccessLog(context.Background(), strings.NewReader("2026-12-07T10:00:00+02:00|"+fp1+"|1.0\n"), iso)
	if err != nil || len(usage.order) != 1 || slices.Collect(usage.each)[0].Last.Hour() != 8 {
		t.Errorf("ISO 8601 time: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := readNginxAccessLog(ctx, strings.NewReader(log), f); err == nil {
		t.Error("a cancelled read goes on")
	}
}
