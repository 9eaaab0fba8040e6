package importers

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"certgov/model"
)

// HAProxy (2.6, as Debian ships it) decides client certificates per bind
// line: "verify none" (the default) asks for none; "optional" and
// "required" ask, and OpenSSL verifies the chain to the certificates of
// ca-file and ca-verify-file (self-signed roots: no partial chains), at
// OpenSSL's default depth, checking crl-file for every certificate of the
// chain when one is given. A verification failure aborts the handshake in
// both modes, unless ca-ignore-err and crt-ignore-err are both "all"
// (nothing is verified then; only some errors let through makes the bind
// unknown). Relative file names are read below ca-base (global); without
// it they are relative to the folder HAProxy was started in, which
// certgov cannot know. A crt-list (below crt-base) gives each of its
// lines, chosen by SNI, options of its own over the bind's.
//
// Rules that refuse a request on a client-certificate fetch (ssl_c_*)
// gate every bind of their frontend (gates, below), and so does routing
// when the default backend refuses (routing).

// haproxyLine is one configuration line, split into words as HAProxy
// splits them.
type haproxyLine struct {
	line  int
	words []string
}

// haproxySection is a section: global, defaults, frontend, listen,
// backend…, with its lines.
type haproxySection struct {
	kind, name string
	line       int
	lines      []haproxyLine
}

// haproxySectionKeywords start a section.
var haproxySectionKeywords = map[string]bool{"global": true, "defaults": true, "frontend": true, "listen": true, "backend": true,
	"userlist": true, "peers": true, "resolvers": true, "mailers": true, "program": true, "http-errors": true, "ring": true, "cache": true}

// haproxyWords splits a line as HAProxy does: words separated by blanks,
// '#' starts a comment, double and single quotes group, a backslash
// escapes the next character. ok is false for an unterminated quote.
func haproxyWords(text string) (words []string, ok bool) {
	var b strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == '\'':
			b.WriteByte(c)
		case c == '\\' && i+1 < len(text):
			i++
			b.WriteByte(text[i])
			inWord = true
		case quote == '"':
			b.WriteByte(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == '#':
			i = len(text)
		case c == ' ' || c == '\t' || c == '\r':
			if inWord {
				words, inWord = append(words, b.String()), false
				b.Reset()
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, false
	}
	if inWord {
		words = append(words, b.String())
	}
	return words, true
}

// haproxySections splits a configuration into its sections; conditional
// blocks (.if) are reported, since which branch HAProxy takes depends on
// its environment.
func (r *reader) haproxySections(data []byte) (sections []*haproxySection, conditional bool) {
	for n, raw := range strings.Split(string(data), "\n") {
		if n%4096 == 0 && r.interrupted() {
			return nil, false
		}
		words, ok := haproxyWords(raw)
		if !ok {
			r.problem(n+1, "line", errors.New("a quote is not closed (haproxy -c refuses it)"))
			continue
		}
		if len(words) == 0 {
			continue
		}
		if strings.HasPrefix(words[0], ".") {
			conditional = conditional || words[0] == ".if"
			continue
		}
		if haproxySectionKeywords[words[0]] {
			s := &haproxySection{kind: words[0], line: n + 1}
			if len(words) > 1 {
				s.name = words[1]
			}
			sections = append(sections, s)
			continue
		}
		if len(sections) > 0 {
			last := sections[len(sections)-1]
			last.lines = append(last.lines, haproxyLine{line: n + 1, words: words})
		}
	}
	return sections, conditional
}

// haproxyConfig is a configuration being read.
type haproxyConfig struct {
	r      *reader
	refs   *configFiles
	caBase string // global ca-base, resolved; "" when unset
	// crtBase is global crt-base, resolved: where a relative crt-list
	// (and the certificates it names) are read from.
	crtBase string
	// backends by name (use_backend, default_backend), and the defaults
	// section (a default_backend may be set there).
	backends map[string]*haproxySection
	defaults *haproxySection
	global   *haproxySection
}

func (r *reader) readHAProxy(data []byte) error {
	sections, conditional := r.haproxySections(data)
	if r.interrupted() {
		return r.ctx.Err()
	}
	if len(sections) == 0 {
		return errors.New("haproxy: no sections (global, defaults, frontend, listen…)")
	}
	h := &haproxyConfig{r: r, refs: newConfigFiles(r, r.path), backends: map[string]*haproxySection{}}
	for _, s := range sections {
		if s.kind == "backend" || s.kind == "listen" {
			h.backends[s.name] = s
		}
		if s.kind == "defaults" {
			h.defaults = s // the last one before the frontends: certgov reads one
		}
		if s.kind == "global" {
			h.global = s
		}
	}
	for _, s := range sections {
		if s.kind != "global" {
			continue
		}
		for _, l := range s.lines {
			if (l.words[0] == "ca-base" || l.words[0] == "crt-base") && len(l.words) == 2 {
				if !filepath.IsAbs(l.words[1]) {
					r.problemIn(r.path, l.line, l.words[0], errors.New("a relative folder: HAProxy reads it from the folder it was started in"))
					continue
				}
				base, err := r.referencedPath(l.words[1], r.path)
				if err != nil {
					r.problemIn(r.path, l.line, l.words[0], err)
					continue
				}
				if l.words[0] == "ca-base" {
					h.caBase = base
				} else {
					h.crtBase = base
				}
			}
		}
	}
	for _, s := range sections {
		if s.kind != "frontend" && s.kind != "listen" {
			continue
		}
		gate := h.gates(s)
		logs := h.accessLogs(s)
		for _, l := range s.lines {
			if l.words[0] != "bind" {
				continue
			}
			for _, srv := range h.binds(s, l, gate) {
				srv.AccessLogs = logs
				if conditional && srv.Mode != model.VerifyOff {
					srv.Unknown = strings.TrimPrefix(srv.Unknown+"; the configuration has .if blocks, which depend on HAProxy's environment", "; ")
				}
				r.res.Servers = append(r.res.Servers, srv)
			}
		}
	}
	return nil
}

// haproxySyslogLog is where a frontend's requests reach a file: HAProxy
// sends them to syslog, and Debian's rsyslog rule for it
// (/etc/rsyslog.d/49-haproxy.conf) writes them there, each after a
// syslog header, rotated daily by logrotate.
const haproxySyslogLog = "/var/log/haproxy.log"

// HAProxy's predefined formats (option tcplog, httplog, httpslog): none
// logs the client certificate.
var haproxyOptionFormats = map[string]string{
	"tcplog":   `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`,
	"httplog":  `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`,
	"httpslog": `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`,
}

// accessLogs is the log a frontend writes its requests to, in the
// format its log-format (or option tcplog, httplog) sets, its own over
// its defaults section's; its lines bear its name (%f, %ft). It logs when it has a log line sending to
// syslog ("log global": the global section's), its defaults' included
// unless "no log" drops them; stdout, stderr and rings write no file.
func (h *haproxyConfig) accessLogs(s *haproxySection) []model.AccessLog {
	logged := false
	var log model.AccessLog
	for _, sec := range []*haproxySection{h.defaults, s} {
		if sec == nil {
			continue
		}
		for _, l := range sec.lines {
			switch {
			case l.words[0] == "log" && len(l.words) > 1:
				logged = logged || h.sendsToSyslog(l.words[1])
			case l.words[0] == "no" && len(l.words) > 1 && l.words[1] == "log":
				logged = false
			case l.words[0] == "log-format" && len(l.words) > 1:
				log = model.AccessLog{FormatName: "log-format", Format: strings.Join(l.words[1:], " "), Location: h.refs.where(h.r.path, l.line)}
			case l.words[0] == "option" && len(l.words) > 1 && haproxyOptionFormats[l.words[1]] != "":
				log = model.AccessLog{FormatName: "option " + l.words[1], Format: haproxyOptionFormats[l.words[1]], Location: h.refs.where(h.r.path, l.line)}
			}
		}
	}
	if !logged || log.Format == "" {
		return nil
	}
	log.Path, log.Written, log.Dialect, log.LoggedAs = haproxySyslogLog, haproxySyslogLog, model.LogDialectHAProxy, s.name
	return []model.AccessLog{log}
}

// sendsToSyslog reports whether a log line's target is a syslog server
// (a UNIX socket such as /dev/log, or an address): "global" is, when the
// global section's log lines are.
func (h *haproxyConfig) sendsToSyslog(target string) bool {
	if target == "global" {
		if h.global == nil {
			return false
		}
		for _, l := range h.global.lines {
			if l.words[0] == "log" && len(l.words) > 1 && l.words[1] != "global" && h.sendsToSyslog(l.words[1]) {
				return true
			}
		}
		return false
	}
	return target != "stdout" && target != "stderr" && !strings.HasPrefix(target, "ring@") && !strings.HasPrefix(target, "fd@")
}

// haproxyRefusals are the rule actions that refuse a request or a
// connection.
var haproxyRefusals = []string{"deny", "reject", "tarpit", "silent-drop", "auth"}

// haproxyACL is one acl line: its fetch with converters, its flags, and
// the values it matches (written, or read from -f files).
type haproxyACL struct {
	line       int
	fetch      string
	ignoreCase bool
	method     string
	values     []string
	files      []string // the -f lists its values were read from
	problem    string   // why its values cannot be known
}

// haproxyACLs reads a section's acl lines by name (lines of one name are
// alternatives), reading -f files.
func (h *haproxyConfig) haproxyACLs(s *haproxySection) map[string][]haproxyACL {
	acls := map[string][]haproxyACL{}
	for _, l := range s.lines {
		if l.words[0] != "acl" || len(l.words) < 3 {
			continue
		}
		acls[l.words[1]] = append(acls[l.words[1]], h.acl(l.line, l.words[2:]))
	}
	return acls
}

// acl reads an ACL's fetch, flags and values.
func (h *haproxyConfig) acl(line int, words []string) haproxyACL {
	a := haproxyACL{line: line, fetch: words[0]}
	flags := true
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case flags && w == "--":
			flags = false
		case flags && w == "-i":
			a.ignoreCase = true
		case flags && (w == "-m" || w == "-f" || w == "-M") && i+1 < len(words):
			i++
			if w == "-m" {
				a.method = words[i]
			} else if w == "-f" {
				values, path, err := h.listFile(words[i])
				if err != nil {
					a.problem = "-f " + words[i] + ": " + err.Error()
					h.r.problemIn(h.r.path, line, "acl", errors.New(a.problem))
				}
				a.values = append(a.values, values...)
				if path != "" {
					a.files = append(a.files, path)
				}
			} else {
				a.problem = "-M map files are not read"
			}
		case flags && strings.HasPrefix(w, "-") && len(w) > 1:
			a.problem = "the flag " + w + " is not read"
		default:
			flags = false
			a.values = append(a.values, w)
		}
	}
	return a
}

// listFile reads the values of an ACL's -f file: one a line, '#'
// comments. HAProxy reads a relative name from the folder it was started
// in.
func (h *haproxyConfig) listFile(written string) (values []string, path string, err error) {
	if !filepath.IsAbs(written) {
		return nil, "", errors.New("a relative path: HAProxy reads it from the folder it was started in")
	}
	if path, err = h.r.referencedPath(written, h.r.path); err != nil {
		return nil, "", err
	}
	data, err := h.r.readReferenced(path)
	if err != nil {
		return nil, "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v := strings.TrimSpace(line); v != "" && !strings.HasPrefix(v, "#") {
			values = append(values, v)
		}
	}
	return values, path, nil
}

// test is what one ACL line decides on, as a gate's test.
func (a haproxyACL) test(where string) gateTest {
	if a.problem != "" {
		return gateTest{kind: "acl at line " + strconv.Itoa(a.line) + " (" + a.problem + ")"}
	}
	fetch := strings.ToLower(a.fetch)
	if a.method != "" && a.method != "str" && !(fetch == "ssl_c_verify" && a.method == "int") {
		return gateTest{kind: "acl at line " + strconv.Itoa(a.line) + " matching with -m " + a.method}
	}
	switch {
	case fetch == "ssl_c_used":
		return gateTest{kind: "true"}
	case fetch == "ssl_c_verify":
		if slices.Equal(a.values, []string{"0"}) {
			return gateTest{kind: "verify"}
		}
	case fetch == "ssl_c_sha1,hex" || fetch == "ssl_c_sha1,hex,lower" || fetch == "ssl_c_serial,hex" || fetch == "ssl_c_serial,hex,lower":
		return a.pins(fetch, where)
	case fetch == "ssl_c_der,sha2,hex" || fetch == "ssl_c_der,sha2,hex,lower" || fetch == "ssl_c_der,sha2(256),hex" || fetch == "ssl_c_der,sha2(256),hex,lower":
		return a.pins(fetch, where) // the SHA-256 of the certificate
	case strings.HasPrefix(fetch, "ssl_c_s_dn(") && strings.HasSuffix(fetch, ")"):
		attr := apacheDNAttributes[strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(fetch, "ssl_c_s_dn("), ")"))]
		if attr == "" {
			break
		}
		t := gateTest{kind: "names"}
		for _, v := range a.values {
			pattern := model.AttributePattern(attr, v)
			if a.ignoreCase {
				pattern = "(?i)" + pattern
			}
			t.entries = append(t.entries, model.TrustEntry{Kind: model.EntrySubjectDN, Value: pattern, Match: model.MatchSearch,
				Label: a.fetch + " " + v, Location: where})
			t.names = append(t.names, attr+"="+v)
		}
		return t
	case !strings.Contains(fetch, "ssl_c_"):
		return gateTest{kind: "the fetch " + a.fetch + ", not the client certificate"}
	}
	return gateTest{kind: "the fetch " + a.fetch}
}

// pins are the SHA-1 fingerprints or serials an ACL lists, as HAProxy's
// hex converter writes them: upper case unless lowered (or -i).
func (a haproxyACL) pins(fetch, where string) gateTest {
	t := gateTest{kind: "pins", files: a.files}
	lower := strings.HasSuffix(fetch, ",lower")
	for _, v := range a.values {
		if !a.ignoreCase && (lower && v != strings.ToLower(v) || !lower && v != strings.ToUpper(v)) {
			t.err = fmt.Errorf("%s value %q never matches: the hex converter writes %s case", a.fetch, v, map[bool]string{true: "lower", false: "upper"}[lower])
			return t
		}
		hexValue := strings.ToLower(v)
		entry := model.TrustEntry{Kind: model.EntrySerial, Value: strings.TrimLeft(hexValue, "0"), Label: a.fetch + " " + v, Location: where}
		algorithm, digits := "", 0
		switch {
		case strings.HasPrefix(fetch, "ssl_c_sha1"):
			algorithm, digits = "sha1", 40
		case strings.HasPrefix(fetch, "ssl_c_der,sha2"):
			algorithm, digits = "sha256", 64
		}
		if algorithm != "" {
			if len(hexValue) != digits || strings.Trim(hexValue, "0123456789abcdef") != "" {
				t.err = fmt.Errorf("%s value %q is not %d hex digits of %s", a.fetch, v, digits, strings.ToUpper(algorithm))
				return t
			}
			entry = model.TrustEntry{Kind: model.EntryFingerprint, Value: hexValue, HashAlgorithm: algorithm, Label: a.fetch + " " + v, Location: where}
		}
		t.entries = append(t.entries, entry)
	}
	return t
}

// gates reads the frontend's rules that refuse requests or connections
// (http-request and tcp-request deny, reject…) as what a certificate must
// satisfy to get in: each rule's condition, over its ACLs, becomes
// clauses that must all hold. What is not stated as allow lists (a deny
// list, a rule on the path or the source as well) makes the gate unknown.
func (h *haproxyConfig) gates(s *haproxySection) serverGates {
	var g serverGates
	acls := h.haproxyACLs(s)
	var clauses [][]gateTest
	for _, l := range s.lines {
		if (l.words[0] != "http-request" && l.words[0] != "tcp-request") || len(l.words) < 2 {
			continue
		}
		rule := l.words[1:]
		// tcp-request connection rules run before the TLS handshake: no
		// client certificate is known yet, so every ssl_c_* test fails.
		beforeHandshake := l.words[0] == "tcp-request" && rule[0] == "connection"
		if l.words[0] == "tcp-request" && len(rule) > 1 {
			rule = rule[1:] // connection, session, content
		}
		if len(rule) == 0 || !slices.Contains(haproxyRefusals, rule[0]) {
			continue
		}
		text := fmt.Sprintf("line %d: %s", l.line, strings.Join(l.words, " "))
		if beforeHandshake {
			text += " (before the TLS handshake: its ssl_c_* fetches are empty)"
		}
		cond := slices.IndexFunc(rule, func(w string) bool { return w == "if" || w == "unless" })
		if cond < 0 {
			g.none = true
			g.texts = append(g.texts, text+": refuses every request")
			continue
		}
		where := fmt.Sprintf("line %d: %s", l.line, l.words[0])
		test := func(a haproxyACL) gateTest {
			if beforeHandshake && strings.Contains(a.fetch, "ssl_c_") {
				return gateTest{kind: "false"}
			}
			return a.test(where)
		}
		demanded, err := haproxyCondition(rule[cond] == "unless", rule[cond+1:], func(name string) ([]gateTest, bool) {
			defined, ok := acls[name]
			var tests []gateTest
			for _, a := range defined {
				tests = append(tests, test(a))
			}
			return tests, ok
		}, func(words []string) gateTest { return test(h.acl(l.line, words)) })
		if err != nil {
			if strings.Contains(strings.Join(rule[cond+1:], " "), "ssl_c_") || certACLsIn(rule[cond+1:], acls) {
				g.unknown = text + ": " + err.Error()
				return g
			}
			continue // not on the client certificate
		}
		if !onCertificate(demanded) {
			continue
		}
		g.texts = append(g.texts, text)
		clauses = append(clauses, demanded...)
	}
	routed, err := h.routing(s, acls)
	if err != nil {
		g.unknown = err.Error()
		return g
	}
	if routed != nil {
		g.texts = append(g.texts, routed.text)
		if routed.none {
			g.none = true
		}
		if routed.clause != nil {
			clauses = append(clauses, routed.clause)
		}
	}
	g.demand(clauses)
	return g
}

// haproxyRoute is what a frontend's backends make of the client
// certificate: the one clause (any of its tests) a request must meet to
// reach a backend that serves it, or none at all.
type haproxyRoute struct {
	text   string
	clause []gateTest
	none   bool
}

// routing reads use_backend and default_backend as a gate when the
// default backend refuses (an unconditional deny or return of 4xx/5xx,
// or no servers: 503): then only the certificates some use_backend sends
// to a backend that serves get in. It is nil when routing decides nothing
// (the frontend answers itself first, or the default backend serves and
// no certificate is routed to one that refuses).
func (h *haproxyConfig) routing(s *haproxySection, acls map[string][]haproxyACL) (*haproxyRoute, error) {
	var routes []haproxyLine
	defaultBackend := ""
	if h.defaults != nil && s.kind == "frontend" {
		for _, l := range h.defaults.lines {
			if l.words[0] == "default_backend" && len(l.words) == 2 {
				defaultBackend = l.words[1]
			}
		}
	}
	for _, l := range s.lines {
		switch {
		case l.words[0] == "http-request" && len(l.words) > 1 && l.words[1] == "return" && !slices.Contains(l.words, "if") && !slices.Contains(l.words, "unless"):
			return nil, nil // it answers every request itself, before any backend
		case l.words[0] == "use_backend" && len(l.words) > 1:
			routes = append(routes, l)
		case l.words[0] == "default_backend" && len(l.words) == 2:
			defaultBackend = l.words[1]
		}
	}
	switch {
	case s.kind == "listen" && len(routes) == 0:
		return nil, nil // it is its own backend
	case s.kind == "listen":
		defaultBackend = s.name
	case len(routes) == 0 && defaultBackend == "":
		// No backend named at all: an excerpt, or a frontend that answers
		// itself; certgov does not guess a 503.
		return nil, nil
	}
	serves := func(name string) (bool, error) {
		b, ok := h.backends[name]
		if !ok {
			return false, fmt.Errorf("the backend %q is not defined (haproxy -c refuses it)", name)
		}
		return backendServes(b)
	}
	defaultServes := false
	if defaultBackend != "" {
		var err error
		if defaultServes, err = serves(defaultBackend); err != nil {
			return nil, err
		}
	}
	var clause []gateTest
	var texts []string
	for _, l := range routes {
		backend, rule := l.words[1], l.words[2:]
		ok, err := serves(backend)
		if err != nil {
			return nil, err
		}
		cond := slices.IndexFunc(rule, func(w string) bool { return w == "if" || w == "unless" })
		if cond < 0 {
			// Every request goes there: later routes and the default are
			// never used.
			if !ok && clause == nil && !defaultServes {
				return &haproxyRoute{text: fmt.Sprintf("line %d: use_backend %s, which refuses every request", l.line, backend), none: true}, nil
			}
			if !ok {
				return nil, fmt.Errorf("line %d: use_backend %s refuses what earlier routes do not take, which certgov does not state", l.line, backend)
			}
			return nil, nil
		}
		if ok == defaultServes {
			continue // it makes no difference to who gets in
		}
		if !ok {
			return nil, fmt.Errorf("line %d: use_backend %s refuses what its condition matches: a deny list, which certgov does not state", l.line, backend)
		}
		// "use_backend b if C": served when C holds.
		demanded, err := haproxyCondition(rule[cond] == "if", rule[cond+1:], func(name string) ([]gateTest, bool) {
			var tests []gateTest
			for _, a := range acls[name] {
				tests = append(tests, a.test(fmt.Sprintf("line %d: use_backend", l.line)))
			}
			return tests, len(acls[name]) > 0
		}, func(words []string) gateTest {
			return h.acl(l.line, words).test(fmt.Sprintf("line %d: use_backend", l.line))
		})
		if err != nil || len(demanded) != 1 {
			return nil, fmt.Errorf("line %d: use_backend %s on a condition certgov does not state as one allow list", l.line, backend)
		}
		clause = append(clause, demanded[0]...)
		texts = append(texts, fmt.Sprintf("line %d: %s", l.line, strings.Join(l.words, " ")))
	}
	switch {
	case defaultServes:
		return nil, nil
	case clause == nil:
		return &haproxyRoute{text: "no backend serves: every request is refused", none: true}, nil
	}
	text := strings.Join(texts, "; ") + "; any other request goes to a backend that refuses it"
	if defaultBackend == "" {
		text = strings.Join(texts, "; ") + "; no default_backend: any other request gets 503"
	}
	return &haproxyRoute{text: text, clause: clause}, nil
}

// backendServes reports whether a backend answers requests: it has a
// server, or its first unconditional http-request rule returns a status
// under 400; an unconditional deny, a 4xx/5xx return, or no server at
// all (503) refuse. A backend that decides on the client certificate
// itself is not read.
func backendServes(b *haproxySection) (bool, error) {
	hasServer := false
	for _, l := range b.lines {
		switch l.words[0] {
		case "server":
			hasServer = true
		case "http-request":
			if strings.Contains(strings.Join(l.words, " "), "ssl_c_") {
				return false, fmt.Errorf("the backend %q decides on the client certificate, which certgov does not read", b.name)
			}
			if len(l.words) < 2 || slices.Contains(l.words, "if") || slices.Contains(l.words, "unless") {
				continue
			}
			switch action := l.words[1]; {
			case slices.Contains(haproxyRefusals, action):
				return false, nil
			case action == "return":
				status := 200
				if i := slices.Index(l.words, "status"); i >= 0 && i+1 < len(l.words) {
					if n, err := strconv.Atoi(l.words[i+1]); err == nil {
						status = n
					}
				}
				return status < 400, nil
			}
		}
	}
	return hasServer, nil
}

// certACLsIn reports whether a condition names an ACL on the client
// certificate.
func certACLsIn(words []string, acls map[string][]haproxyACL) bool {
	for _, w := range words {
		for _, a := range acls[strings.TrimPrefix(w, "!")] {
			if strings.Contains(a.fetch, "ssl_c_") {
				return true
			}
		}
	}
	return false
}

// onCertificate reports whether clauses test the client certificate.
func onCertificate(clauses [][]gateTest) bool {
	for _, c := range clauses {
		for _, t := range c {
			if !strings.HasSuffix(t.kind, "not the client certificate") {
				return true
			}
		}
	}
	return false
}

// haproxyCondition turns a rule's condition into the clauses that let a
// request through: "unless C" demands C, "if C" demands its negation. C
// is terms joined by "||" (or), each term an ACL name or an anonymous
// { fetch values } ACL, '!' negating it, terms side by side all holding.
func haproxyCondition(unless bool, words []string, acl func(string) ([]gateTest, bool), anonymous func([]string) gateTest) ([][]gateTest, error) {
	type term struct {
		negated bool
		tests   []gateTest
	}
	var groups [][]term // alternatives of terms that must all hold
	var group []term
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "||" || w == "or":
			groups, group = append(groups, group), nil
			continue
		case w == "!": // negates the next term
			continue
		}
		negated := strings.HasPrefix(w, "!") || i > 0 && words[i-1] == "!"
		name := strings.TrimPrefix(w, "!")
		var tests []gateTest
		if name == "{" || name == "" {
			end := slices.Index(words[i:], "}")
			if end < 0 {
				return nil, errors.New("an anonymous ACL is not closed")
			}
			inner := words[i+1 : i+end]
			if len(inner) == 0 {
				return nil, errors.New("an empty anonymous ACL")
			}
			tests = []gateTest{anonymous(inner)}
			i += end
		} else {
			var ok bool
			if tests, ok = acl(name); !ok {
				return nil, fmt.Errorf("the ACL %q is not defined in this section", name)
			}
		}
		group = append(group, term{negated: negated, tests: tests})
	}
	groups = append(groups, group)
	negate := func(t term) ([]gateTest, error) {
		for _, test := range t.tests {
			switch {
			case test.kind == "true":
				return []gateTest{{kind: "false"}}, nil
			case test.kind == "false":
				return []gateTest{{kind: "true"}}, nil
			case strings.HasSuffix(test.kind, "not the client certificate"):
				return []gateTest{test}, nil
			default:
				return nil, errors.New("a negated test on the certificate is a deny list, which certgov does not state")
			}
		}
		return nil, nil
	}
	var clauses [][]gateTest
	switch {
	case unless && len(groups) == 1: // every term must hold
		for _, t := range groups[0] {
			if t.negated {
				c, err := negate(t)
				if err != nil {
					return nil, err
				}
				clauses = append(clauses, c)
				continue
			}
			clauses = append(clauses, t.tests)
		}
	case unless: // one of the alternatives, each a single term
		var clause []gateTest
		for _, g := range groups {
			if len(g) != 1 || g[0].negated {
				return nil, errors.New("alternatives of several tests at once")
			}
			clause = append(clause, g[0].tests...)
		}
		clauses = append(clauses, clause)
	default: // if: refused when any alternative holds, so each must fail
		for _, g := range groups {
			var clause []gateTest // one of its terms fails
			for _, t := range g {
				if !t.negated {
					c, err := negate(t)
					if err != nil {
						return nil, err
					}
					clause = append(clause, c...)
					continue
				}
				clause = append(clause, t.tests...)
			}
			clauses = append(clauses, clause)
		}
	}
	return clauses, nil
}

// binds reads one bind line of a frontend: a server, or with crt-list a
// server per line of the list, each with the bind's options and its
// line's own, for the server names (SNI) its line filters on.
func (h *haproxyConfig) binds(s *haproxySection, l haproxyLine, gates serverGates) []model.Server {
	r := h.r
	at := h.refs.where(r.path, l.line)
	var listen string
	opts := l.words[1:]
	if len(opts) > 0 {
		listen, opts = opts[0], opts[1:]
	}
	names := []string{}
	if s.name != "" {
		names = []string{s.name}
	}
	list, ok := lastValue(opts, "crt-list")
	if !ok || !slices.Contains(opts, "ssl") {
		return []model.Server{h.bind(s.kind, names, listen, at, l.line, opts, gates)}
	}
	entries, err := h.crtList(list, l.line)
	if err != nil {
		srv := h.bind(s.kind, names, listen, at, l.line, opts, gates)
		unknownBecause(&srv, "crt-list "+list+": "+err.Error())
		return []model.Server{srv}
	}
	var out []model.Server
	for _, e := range entries {
		entryNames := names
		if len(e.snis) > 0 {
			entryNames = e.snis
		}
		out = append(out, h.bind(s.kind, entryNames, listen, e.at, l.line, append(slices.Clone(opts), e.opts...), gates))
	}
	return out
}

// crtListEntry is one line of a crt-list: its own bind options and the
// server names it is chosen for.
type crtListEntry struct {
	at   string // the list file and line
	opts []string
	snis []string
}

// crtList reads a crt-list file: "cert [options] [sni ...]" per line,
// # comments.
func (h *haproxyConfig) crtList(written string, line int) ([]crtListEntry, error) {
	path := written
	if !filepath.IsAbs(written) {
		if h.crtBase == "" {
			return nil, errors.New("a relative path without crt-base: HAProxy reads it from the folder it was started in")
		}
		path = filepath.Join(h.crtBase, written)
	} else {
		var err error
		if path, err = h.r.referencedPath(written, h.r.path); err != nil {
			return nil, err
		}
	}
	data, err := h.r.readReferenced(path)
	if err != nil {
		h.r.problemIn(h.r.path, line, "crt-list", fmt.Errorf("%s: %w", written, err))
		return nil, errors.New("cannot be read")
	}
	var out []crtListEntry
	for n, text := range strings.Split(string(data), "\n") {
		if n >= maxConfigLines || n%4096 == 0 && h.r.interrupted() {
			return nil, errors.New("not read whole")
		}
		text, _, _ = strings.Cut(text, "#")
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		e := crtListEntry{at: h.refs.where(path, n+1)}
		rest := words[1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
			end := slices.IndexFunc(rest, func(w string) bool { return strings.HasSuffix(w, "]") })
			if end < 0 {
				h.r.problemIn(path, n+1, "crt-list", errors.New("an option list [ that is never closed (haproxy -c refuses it)"))
				return nil, errors.New("a line HAProxy refuses")
			}
			inner := strings.Join(rest[:end+1], " ")
			e.opts = strings.Fields(strings.TrimSuffix(strings.TrimPrefix(inner, "["), "]"))
			rest = rest[end+1:]
		}
		for _, sni := range rest {
			if strings.HasPrefix(sni, "!") {
				// A negative filter only narrows a wildcard; the names it
				// is chosen for stay the positive ones.
				continue
			}
			e.snis = append(e.snis, sni)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("lists no certificate (haproxy -c refuses it)")
	}
	return out, nil
}

// lastValue is the value of an option in force: the last one written.
func lastValue(opts []string, name string) (string, bool) {
	for i := len(opts) - 2; i >= 0; i-- {
		if opts[i] == name {
			return opts[i+1], true
		}
	}
	return "", false
}

// bind reads one bind (or one crt-list line of it) as HAProxy decides
// its clients.
func (h *haproxyConfig) bind(kind string, names []string, listen, at string, line int, opts []string, gates serverGates) model.Server {
	r := h.r
	srv := model.Server{Kind: "haproxy " + kind, Host: r.opts.Host, Location: at, Mode: model.VerifyOff, Depth: -1, Names: names}
	srv.Scope = "bind " + srv.Location
	if listen != "" {
		srv.Listen = []string{listen}
	}
	l := haproxyLine{line: line}
	value := func(name string) (string, bool) { return lastValue(opts, name) }
	if !slices.Contains(opts, "ssl") {
		return srv // plain TCP or HTTP: no certificate is asked for
	}
	verify, _ := value("verify")
	switch verify {
	case "", "none":
	case "optional":
		srv.Mode = model.VerifyOptional
	case "required":
		srv.Mode = model.VerifyOn
	default:
		r.problemIn(r.path, l.line, "bind", fmt.Errorf("verify %q: HAProxy knows none, optional and required (haproxy -c refuses it)", verify))
		unknownBecause(&srv, "its verify mode is not one HAProxy knows")
		srv.Mode = model.VerifyOn
	}
	// Every file is read, whatever the mode, so that its certificates are
	// inventoried and what cannot be read is reported.
	files := map[string]configFile{}
	for _, name := range []string{"ca-file", "ca-verify-file", "crl-file"} {
		written, ok := value(name)
		if !ok {
			continue
		}
		if written == "@system-ca" {
			unknownBecause(&srv, name+" @system-ca: the machine's own CA store")
			continue
		}
		path, err := h.path(written)
		if err != nil {
			r.problemIn(r.path, l.line, name, err)
			unknownBecause(&srv, name+" "+written+": "+err.Error())
			continue
		}
		files[name] = h.refs.readPath(path, written, r.path, l.line, name)
	}
	if c, ok := value("crl-file"); ok {
		srv.CRLs = append(srv.CRLs, c)
		f := files["crl-file"]
		if f.err != nil && srv.Mode != model.VerifyOff {
			unknownBecause(&srv, "its CRL "+c+" cannot be read")
		}
		for _, crl := range f.crls {
			srv.CRLIssuers = append(srv.CRLIssuers, crl.IssuerNormalized)
		}
	}
	if srv.Mode == model.VerifyOff {
		return srv
	}
	caIgnored, _ := value("ca-ignore-err")
	crtIgnored, _ := value("crt-ignore-err")
	switch {
	case caIgnored == "" && crtIgnored == "":
	case caIgnored == "all" && crtIgnored == "all":
		// Every error of the chain and of the leaf is let through: the
		// certificate is asked for and nothing of it is verified.
		srv.Mode, srv.IgnoresVerifyErrors = model.VerifyOptionalNoCA, true
	default:
		var set []string
		for _, o := range [][2]string{{"ca-ignore-err", caIgnored}, {"crt-ignore-err", crtIgnored}} {
			if o[1] != "" {
				set = append(set, o[0]+" "+o[1])
			}
		}
		unknownBecause(&srv, strings.Join(set, ", ")+": some verification errors are let through and others not, which certgov does not model")
	}
	_, hasCA := value("ca-file")
	_, hasVerifyCA := value("ca-verify-file")
	if !hasCA && !hasVerifyCA {
		r.problemIn(r.path, l.line, "bind", errors.New("verify "+verify+" without ca-file (haproxy -c refuses it)"))
	}
	var anchors []serverAnchors
	for _, name := range []string{"ca-file", "ca-verify-file"} {
		if written, ok := value(name); ok && written != "@system-ca" {
			// ca-verify-file's certificates are not sent as CA names.
			anchors = append(anchors, serverAnchors{directive: name, written: written, at: srv.Location, read: files[name], caNames: name == "ca-file"})
		}
	}
	r.settle(&srv, anchors, gates)
	return srv
}

// path resolves a file a bind line names: below ca-base when it is
// relative and ca-base is set.
func (h *haproxyConfig) path(written string) (string, error) {
	if strings.Contains(written, "${") {
		return "", errors.New("names an environment variable, which depends on HAProxy's environment")
	}
	if filepath.IsAbs(written) {
		return h.r.referencedPath(written, h.r.path)
	}
	if h.caBase == "" {
		return "", errors.New("a relative path without ca-base: HAProxy reads it from the folder it was started in")
	}
	return filepath.Join(h.caBase, written), nil
}

// haproxySectionPattern is a frontend or listen section header.
var haproxySectionPattern = regexp.MustCompile(`(?m)^\s*(frontend|listen)\s+\S+\s*$`)

// haproxyBindPattern is a bind line.
var haproxyBindPattern = regexp.MustCompile(`(?m)^\s*bind\s+\S+`)

// looksLikeHAProxy recognises an HAProxy configuration: a frontend or
// listen section with a bind line, and no braces (nginx).
func looksLikeHAProxy(data []byte) bool {
	if !bytes.Contains(data, []byte("bind")) || bytes.Contains(data, []byte("{")) && bytes.Contains(data, []byte("server {")) {
		return false
	}
	return haproxySectionPattern.Match(data) && haproxyBindPattern.Match(data)
}
