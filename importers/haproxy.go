package importers

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"certgov/model"
)

// HAProxy (2.6, as Debian ships it) decides client certificates per bind
// line: "verify none" (the default) asks for none; "optional" and
// "required" ask, and OpenSSL verifies the chain to the certificates of
// ca-file and ca-verify-file (self-signed roots: no partial chains), at
// OpenSSL's default depth, checking crl-file for every certificate of the
// chain when one is given. A verification failure aborts the handshake in
// both modes (unless ca-ignore-err or crt-ignore-err say otherwise, which
// certgov does not read yet: such a bind is unknown). Relative file names
// are read below ca-base (global); without it they are relative to the
// folder HAProxy was started in, which certgov cannot know.
//
// Rules that refuse a request on a client-certificate fetch (ssl_c_*)
// gate the bind; certgov does not evaluate them yet, so a frontend with
// one is unknown rather than guessed. crt-list files carry options per
// certificate and SNI and are not read yet either.

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
}

func (r *reader) readHAProxy(data []byte) error {
	sections, conditional := r.haproxySections(data)
	if r.interrupted() {
		return r.ctx.Err()
	}
	if len(sections) == 0 {
		return errors.New("haproxy: no sections (global, defaults, frontend, listen…)")
	}
	h := &haproxyConfig{r: r, refs: newConfigFiles(r, r.path)}
	for _, s := range sections {
		if s.kind != "global" {
			continue
		}
		for _, l := range s.lines {
			if l.words[0] == "ca-base" && len(l.words) == 2 {
				if !filepath.IsAbs(l.words[1]) {
					r.problemIn(r.path, l.line, "ca-base", errors.New("a relative folder: HAProxy reads it from the folder it was started in"))
					continue
				}
				base, err := r.referencedPath(l.words[1], r.path)
				if err != nil {
					r.problemIn(r.path, l.line, "ca-base", err)
					continue
				}
				h.caBase = base
			}
		}
	}
	for _, s := range sections {
		if s.kind != "frontend" && s.kind != "listen" {
			continue
		}
		gate := haproxyCertificateGate(s)
		for _, l := range s.lines {
			if l.words[0] == "bind" {
				srv := h.bind(s, l, gate)
				if conditional && srv.Mode != model.VerifyOff {
					srv.Unknown = strings.TrimPrefix(srv.Unknown+"; the configuration has .if blocks, which depend on HAProxy's environment", "; ")
				}
				r.res.Servers = append(r.res.Servers, srv)
			}
		}
	}
	return nil
}

// haproxyRefusals are the rule actions that refuse a request or a
// connection.
var haproxyRefusals = []string{"deny", "reject", "tarpit", "silent-drop", "return", "auth", "redirect"}

// haproxyGate is a frontend rule that refuses on the client certificate:
// its line and what it says.
type haproxyGate struct {
	line int
	text string
}

// haproxyCertificateGate says how a frontend's rules gate on the client
// certificate: a rule that refuses on a ssl_c_* fetch (directly or
// through a named ACL), or refuses every request. Zero when none does.
func haproxyCertificateGate(s *haproxySection) haproxyGate {
	certACLs := map[string]string{} // name → its definition
	for _, l := range s.lines {
		if l.words[0] == "acl" && len(l.words) > 2 && strings.Contains(strings.Join(l.words[2:], " "), "ssl_c_") {
			certACLs[l.words[1]] = strings.Join(l.words[1:], " ")
		}
	}
	for _, l := range s.lines {
		if (l.words[0] != "http-request" && l.words[0] != "tcp-request") || len(l.words) < 2 {
			continue
		}
		rule := l.words[1:]
		if l.words[0] == "tcp-request" && len(rule) > 1 {
			rule = rule[1:] // connection, session, content
		}
		if len(rule) == 0 || !slices.Contains(haproxyRefusals, rule[0]) {
			continue
		}
		cond := slices.IndexFunc(rule, func(w string) bool { return w == "if" || w == "unless" })
		if cond < 0 {
			if rule[0] == "return" || rule[0] == "redirect" {
				continue // answers requests; refuses no certificate
			}
			return haproxyGate{line: l.line, text: fmt.Sprintf("line %d: %s %s every request", l.line, l.words[0], rule[0])}
		}
		for _, w := range rule[cond+1:] {
			fetch := certACLs[strings.TrimPrefix(w, "!")]
			if strings.Contains(w, "ssl_c_") {
				fetch = w
			}
			if fetch != "" {
				return haproxyGate{line: l.line, text: fmt.Sprintf("line %d: %s %s %s, on %s", l.line, l.words[0], rule[0], strings.Join(rule[cond:], " "), fetch)}
			}
		}
	}
	return haproxyGate{}
}

// bind reads one bind line of a frontend as HAProxy decides its clients.
func (h *haproxyConfig) bind(s *haproxySection, l haproxyLine, gate haproxyGate) model.Server {
	r := h.r
	srv := model.Server{Kind: "haproxy " + s.kind, Host: r.opts.Host, Location: h.refs.where(r.path, l.line), Mode: model.VerifyOff, Depth: -1}
	srv.Scope = "bind " + srv.Location
	if s.name != "" {
		srv.Names = []string{s.name}
	}
	opts := l.words[1:]
	if len(opts) > 0 {
		srv.Listen = []string{opts[0]}
		opts = opts[1:]
	}
	value := func(name string) (string, bool) {
		i := slices.Index(opts, name)
		if i < 0 || i+1 >= len(opts) {
			return "", false
		}
		return opts[i+1], true
	}
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
	for _, ignored := range []string{"ca-ignore-err", "crt-ignore-err"} {
		if v, ok := value(ignored); ok {
			unknownBecause(&srv, ignored+" "+v+": verification errors it lets through are not read yet")
		}
	}
	if slices.Contains(opts, "crt-list") {
		unknownBecause(&srv, "crt-list: options per certificate and SNI are not read yet")
	}
	var gates serverGates
	if gate.line > 0 {
		gates.unknown = fmt.Sprintf("it gates on the client certificate (line %d), which certgov does not evaluate yet", gate.line)
		gates.texts = append(gates.texts, gate.text)
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
