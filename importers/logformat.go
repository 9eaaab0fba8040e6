package importers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"certgov/model"
)

// Access log formats: each server writes its requests in a format its
// configuration declares (nginx log_format, HAProxy log-format, Envoy's
// access_log log_format). certgov compiles that declaration into a
// reader of one line: when the request came, which client certificate
// (by fingerprint, as logged) and whether the server reports it verified.

// loggedRequest is what one line of an access log says.
type loggedRequest struct {
	at time.Time
	// fingerprint is the client certificate's fingerprint as logged
	// ("-" or empty for none).
	fingerprint []byte
	verified    bool
	// server is the name of the server that took the request, when the
	// format logs it (HAProxy's frontend, nginx's $server_name).
	server []byte
}

// logFormat reads one line of a log; ok is false when the line is not in
// the format.
type logFormat interface {
	read(line []byte) (req loggedRequest, ok bool)
}

// compileLogFormat compiles the format a log is declared in. It refuses
// one from which no client certificate or no time can be told.
func compileLogFormat(l model.AccessLog) (logFormat, error) {
	switch l.Dialect {
	case "", model.LogDialectNginx:
		return compileTemplate(l.Format, nginxVariable, nginxField, false)
	case model.LogDialectHAProxy:
		return compileTemplate(l.Format, haproxyVariable, haproxyField, true)
	case model.LogDialectEnvoy:
		if strings.HasPrefix(strings.TrimSpace(l.Format), "{") {
			return compileEnvoyJSON(l.Format)
		}
		// A text format ends its line with a newline; lines are read
		// without theirs.
		return compileTemplate(strings.TrimSuffix(l.Format, "\n"), envoyOperator, envoyField, false)
	}
	return nil, fmt.Errorf("certgov reads no %q access logs", l.Dialect)
}

// CheckLogFormat says whether certgov can read usage from logs declared
// as l: its format must log the client certificate's fingerprint and a
// time.
func CheckLogFormat(l model.AccessLog) error {
	_, err := compileLogFormat(l)
	return err
}

// A field is what a variable of a format gives certgov: the time (parsed
// by parseTime, the lower rank the better when a format has several),
// the fingerprint, or the verification outcome (verified says whether a
// value means verified).
type field struct {
	kind      fieldKind
	timeRank  int
	parseTime func(string) (time.Time, bool)
	verified  func(string) bool
}

type fieldKind int

const (
	fieldOther fieldKind = iota
	fieldTime
	fieldFingerprint
	fieldVerify
	fieldServer
)

// templateFormat is a format written as text with variables in it
// (nginx, HAProxy, Envoy's text format), compiled to a regular
// expression with one group per variable.
type templateFormat struct {
	re                              *regexp.Regexp
	at, fingerprint, verify, server int // groups, 0 when absent
	parseTime                       func(string) (time.Time, bool)
	verified                        func(string) bool
}

// compileTemplate compiles a template whose variables variable finds,
// each given meaning by fieldOf. With afterPrefix, a line may carry a
// prefix before the format's text: the syslog header ("Dec  7 10:00:00
// gw haproxy[812]: ") that HAProxy's messages reach a file with.
func compileTemplate(format string, variable *regexp.Regexp, fieldOf func(string) field, afterPrefix bool) (*templateFormat, error) {
	f := &templateFormat{}
	var expr strings.Builder
	expr.WriteString("^")
	if afterPrefix {
		expr.WriteString(`(?:.*?: )??`)
	}
	at, group, timeRank := 0, 0, 0
	matches := variable.FindAllStringSubmatchIndex(format, -1)
	for i, m := range matches {
		expr.WriteString(regexp.QuoteMeta(format[at:m[0]]))
		group++
		switch v := fieldOf(variableName(format, m)); v.kind {
		case fieldFingerprint:
			f.fingerprint = group
		case fieldVerify:
			f.verify, f.verified = group, v.verified
		case fieldServer:
			f.server = group
		case fieldTime:
			if f.at == 0 || v.timeRank < timeRank {
				f.at, f.parseTime, timeRank = group, v.parseTime, v.timeRank
			}
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
		return nil, errors.New("its format logs no client certificate fingerprint: no client certificate can be told from it")
	}
	if f.at == 0 {
		return nil, errors.New("its format logs no time certgov reads")
	}
	re, err := regexp.Compile(expr.String())
	if err != nil {
		return nil, err
	}
	f.re = re
	return f, nil
}

// variableName is the name a variable match gives: its first group that
// matched.
func variableName(format string, m []int) string {
	for g := 2; g+1 < len(m); g += 2 {
		if m[g] >= 0 {
			return format[m[g]:m[g+1]]
		}
	}
	return format[m[0]:m[1]]
}

func (f *templateFormat) read(line []byte) (loggedRequest, bool) {
	m := f.re.FindSubmatch(line)
	if m == nil {
		return loggedRequest{}, false
	}
	at, ok := f.parseTime(string(unquoted(m[f.at])))
	if !ok {
		return loggedRequest{}, false
	}
	req := loggedRequest{at: at, fingerprint: unquoted(m[f.fingerprint]), verified: true}
	if f.verify > 0 {
		req.verified = f.verified(string(unquoted(m[f.verify])))
	}
	if f.server > 0 {
		// HAProxy's %ft marks a frontend that speaks TLS with a "~".
		req.server = bytes.TrimSuffix(unquoted(m[f.server]), []byte("~"))
	}
	return req, true
}

// unquoted is a value without the double quotes HAProxy's +Q flag
// (%{+Q}[…]) writes around it.
func unquoted(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// Time layouts the servers write.
func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err == nil
}

func parseCommonLogTime(s string) (time.Time, bool) {
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", s)
	return t.UTC(), err == nil
}

// parseEpoch reads seconds since 1970, with a fraction or not (nginx
// $msec, HAProxy %Ts, Envoy %START_TIME(%s)%).
func parseEpoch(s string) (time.Time, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e11 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(v * 1000)).UTC(), true
}

// nginxVariable matches a variable in a log_format: $name or ${name}.
var nginxVariable = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))`)

// nginxCombined is nginx's predefined format, used by an access_log that
// names none: it logs no client certificate.
const nginxCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

func nginxField(name string) field {
	switch name {
	case "ssl_client_fingerprint":
		return field{kind: fieldFingerprint}
	case "ssl_client_verify":
		// SUCCESS; else FAILED:reason, or NONE.
		return field{kind: fieldVerify, verified: func(v string) bool { return v == "SUCCESS" }}
	case "server_name":
		return field{kind: fieldServer}
	case "time_iso8601":
		return field{kind: fieldTime, timeRank: 0, parseTime: parseRFC3339}
	case "time_local":
		return field{kind: fieldTime, timeRank: 1, parseTime: parseCommonLogTime}
	case "msec":
		return field{kind: fieldTime, timeRank: 2, parseTime: parseEpoch}
	}
	return field{}
}

// haproxyVariable matches a variable in a log-format: %[sample,conv…],
// or %alias (letters), either after {flags}. The sample expression is
// group 1, the alias group 2.
var haproxyVariable = regexp.MustCompile(`%(?:\{[^}]*\})?(?:\[([^\]]*)\]|([A-Za-z]+))`)

// haproxyField gives HAProxy's variables their meaning. %t and %tr are
// local time without a zone: certgov reads them as UTC (the day may be
// off by the server's offset); %Ts, %T, %Tl, %trg and %trl are exact.
func haproxyField(name string) field {
	switch strings.ReplaceAll(name, " ", "") {
	case "ssl_c_sha1,hex", "ssl_c_sha1,hex,lower", "ssl_c_der,sha1,hex", "ssl_c_der,sha1,hex,lower",
		"ssl_c_der,sha2,hex", "ssl_c_der,sha2(256),hex", "ssl_c_der,sha2,hex,lower", "ssl_c_der,sha2(256),hex,lower":
		return field{kind: fieldFingerprint}
	case "f", "ft", "fe_name":
		return field{kind: fieldServer}
	case "ssl_c_verify":
		// OpenSSL's verification result: 0 is X509_V_OK.
		return field{kind: fieldVerify, verified: func(v string) bool { return v == "0" }}
	case "Ts", "date":
		return field{kind: fieldTime, timeRank: 0, parseTime: parseEpoch}
	case "T", "Tl", "trg", "trl":
		return field{kind: fieldTime, timeRank: 1, parseTime: parseCommonLogTime}
	case "t", "tr":
		return field{kind: fieldTime, timeRank: 2, parseTime: func(s string) (time.Time, bool) {
			t, err := time.Parse("02/Jan/2006:15:04:05.000", s)
			return t, err == nil
		}}
	}
	return field{}
}

// envoyOperator matches a command operator in an Envoy format:
// %NAME%, %NAME(arg)%, %NAME(arg):length%. The name with its argument
// is group 1.
var envoyOperator = regexp.MustCompile(`%([A-Z0-9_]+(?:\([^)]*\))?)(?::[0-9]+)?%`)

// envoyField gives Envoy's command operators their meaning. Envoy logs
// no verification outcome: it refuses a certificate that fails
// verification in the handshake, before any request is logged.
func envoyField(name string) field {
	switch name {
	case "DOWNSTREAM_PEER_FINGERPRINT_256", "DOWNSTREAM_PEER_FINGERPRINT_1":
		return field{kind: fieldFingerprint}
	case "START_TIME":
		return field{kind: fieldTime, timeRank: 0, parseTime: parseRFC3339}
	case "START_TIME(%s)", "START_TIME(%s.%3f)", "START_TIME(%s.%6f)", "START_TIME(%s.%9f)":
		return field{kind: fieldTime, timeRank: 1, parseTime: parseEpoch}
	}
	return field{}
}

// envoyJSONFormat is an Envoy json_format: each line a JSON object whose
// fields (paths of keys) hold the operators' values.
type envoyJSONFormat struct {
	at, fingerprint []string
	parseTime       func(string) (time.Time, bool)
}

// compileEnvoyJSON compiles a json_format, given as the JSON object it
// is (the importer turns the YAML mapping into JSON): a field that holds
// one operator alone is read.
func compileEnvoyJSON(format string) (*envoyJSONFormat, error) {
	var tree map[string]any
	if err := json.Unmarshal([]byte(format), &tree); err != nil {
		return nil, fmt.Errorf("its json_format: %w", err)
	}
	f := &envoyJSONFormat{}
	timeRank := 0
	var walk func(path []string, v any)
	walk = func(path []string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				walk(append(path[:len(path):len(path)], k), sub)
			}
		case string:
			m := envoyOperator.FindStringSubmatchIndex(v)
			if m == nil || m[0] != 0 || m[1] != len(v) {
				return
			}
			switch fd := envoyField(v[m[2]:m[3]]); fd.kind {
			case fieldFingerprint:
				f.fingerprint = path
			case fieldTime:
				if f.at == nil || fd.timeRank < timeRank {
					f.at, f.parseTime, timeRank = path, fd.parseTime, fd.timeRank
				}
			}
		}
	}
	walk(nil, tree)
	if f.fingerprint == nil {
		return nil, errors.New("its json_format logs no %DOWNSTREAM_PEER_FINGERPRINT_256% (or _1%): no client certificate can be told from it")
	}
	if f.at == nil {
		return nil, errors.New("its json_format logs no %START_TIME%")
	}
	return f, nil
}

func (f *envoyJSONFormat) read(line []byte) (loggedRequest, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return loggedRequest{}, false
	}
	var obj map[string]any
	if json.Unmarshal(line, &obj) != nil {
		return loggedRequest{}, false
	}
	at, ok := jsonPath(obj, f.at)
	if !ok {
		return loggedRequest{}, false
	}
	t, ok := f.parseTime(at)
	if !ok {
		return loggedRequest{}, false
	}
	// An absent value is null (or "-" in older Envoys).
	fp, _ := jsonPath(obj, f.fingerprint)
	return loggedRequest{at: t, fingerprint: []byte(fp), verified: true}, true
}

// jsonPath is the string (or number, as written) at path in obj.
func jsonPath(obj map[string]any, path []string) (string, bool) {
	var v any = obj
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = m[k]
	}
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}
