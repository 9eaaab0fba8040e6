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

// nginx configuration: the CA files of ssl_client_certificate and
// ssl_trusted_certificate (read relative to the configuration), the
// ssl_verify_client mode, and map blocks keyed on $ssl_client_fingerprint
// (SHA-1 hex), $ssl_client_s_dn (RFC 2253, "~" for a regular expression) or
// $ssl_client_serial.

type nginxToken struct {
	text   string
	line   int
	quoted bool
}

// nginxTokens splits a configuration into words, ";", "{" and "}", with
// their lines; comments are dropped and quotes resolved.
func nginxTokens(data []byte) ([]nginxToken, error) {
	var tokens []nginxToken
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			tokens = append(tokens, nginxToken{text: string(c), line: line})
			i++
		case c == '"' || c == '\'':
			start, quote := line, c
			var b strings.Builder
			i++
			for i < len(data) && data[i] != quote {
				if data[i] == '\\' && i+1 < len(data) {
					i++
				}
				if data[i] == '\n' {
					line++
				}
				b.WriteByte(data[i])
				i++
			}
			if i >= len(data) {
				return nil, fmt.Errorf("line %d: unclosed quote", start)
			}
			i++
			tokens = append(tokens, nginxToken{text: b.String(), line: start, quoted: true})
		default:
			start := i
			for i < len(data) && !bytes.ContainsRune([]byte(" \t\r\n;{}#\"'"), rune(data[i])) {
				i++
			}
			tokens = append(tokens, nginxToken{text: string(data[start:i]), line: line})
		}
	}
	return tokens, nil
}

// nginxDirective is one directive of a parsed configuration, with the
// block it opens (server { … }) and the file it was written in (include
// splices other files in).
type nginxDirective struct {
	name  string
	args  []string
	line  int
	file  string
	block []*nginxDirective
	// tokens of a map block, read by nginxMap.
	mapTokens []nginxToken
	isBlock   bool
}

// Bounds on include: how deep includes may nest and how many files one
// configuration may pull in (a glob over a large folder, an include loop).
const (
	nginxMaxIncludeDepth = 8
	nginxMaxIncludeFiles = 256
)

type nginxParser struct {
	r        *reader
	included int
	active   []string // the include chain, to refuse loops
}

// parse turns a file's tokens into directives, following include.
func (p *nginxParser) parse(file string, data []byte, depth int) ([]*nginxDirective, error) {
	tokens, err := nginxTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p.active = append(p.active, file)
	defer func() { p.active = p.active[:len(p.active)-1] }()
	list, rest, err := p.block(file, tokens, depth)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("line %d: unbalanced }", rest[0].line)
	}
	return list, nil
}

// block reads directives up to an unmatched "}" and returns what follows
// it (nothing at the end of the file).
func (p *nginxParser) block(file string, tokens []nginxToken, depth int) ([]*nginxDirective, []nginxToken, error) {
	var out []*nginxDirective
	for len(tokens) > 0 {
		t := tokens[0]
		if !t.quoted && t.text == "}" {
			return out, tokens, nil
		}
		if !t.quoted && (t.text == "{" || t.text == ";") {
			tokens = tokens[1:]
			continue
		}
		j := 1
		for j < len(tokens) && !(!tokens[j].quoted && (tokens[j].text == ";" || tokens[j].text == "{" || tokens[j].text == "}")) {
			j++
		}
		if j >= len(tokens) || tokens[j].text == "}" {
			return nil, nil, fmt.Errorf("line %d: %s is not ended by ; or {", t.line, directiveName(t.text))
		}
		d := &nginxDirective{name: t.text, line: t.line, file: file}
		for _, a := range tokens[1:j] {
			d.args = append(d.args, a.text)
		}
		if tokens[j].text == ";" {
			tokens = tokens[j+1:]
			if d.name == "include" && len(d.args) == 1 {
				included, err := p.include(file, d, depth)
				if err != nil {
					return nil, nil, err
				}
				out = append(out, included...)
				continue
			}
			out = append(out, d)
			continue
		}
		// A block: map blocks hold key/value pairs, not directives.
		d.isBlock = true
		body := tokens[j+1:]
		if d.name == "map" {
			end := closingBrace(body)
			if end < 0 {
				return nil, nil, fmt.Errorf("line %d: map is not closed", d.line)
			}
			d.mapTokens, tokens = body[:end], body[end+1:]
			out = append(out, d)
			continue
		}
		inner, rest, err := p.block(file, body, depth)
		if err != nil {
			return nil, nil, err
		}
		if len(rest) == 0 {
			return nil, nil, fmt.Errorf("line %d: %s { is not closed", d.line, directiveName(d.name))
		}
		d.block = inner
		tokens = rest[1:]
		out = append(out, d)
	}
	return out, nil, nil
}

// directiveName is a directive's name as an error may show it: only a
// word shaped like nginx's directives. An include may pull in any file
// (/proc/self/environ, /etc/passwd), and a parse error must never print
// its bytes.
func directiveName(word string) string {
	if directiveShape.MatchString(word) {
		return word
	}
	return "a directive"
}

var directiveShape = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// include reads the files an include directive names: relative to the
// including configuration, with glob patterns, within bounds on depth and
// count (the glob itself stops early: boundedGlob), refusing loops. A
// missing file is a problem of the directive, as nginx -t would report
// it.
func (p *nginxParser) include(file string, d *nginxDirective, depth int) ([]*nginxDirective, error) {
	pattern, err := p.r.referencedPath(d.args[0], file)
	if err != nil {
		p.r.problemIn(file, d.line, "include", err)
		return nil, nil
	}
	if depth >= nginxMaxIncludeDepth {
		p.r.problemIn(file, d.line, "include", fmt.Errorf("includes nest deeper than %d", nginxMaxIncludeDepth))
		return nil, nil
	}
	matches, err := boundedGlob(p.r.ctx, pattern, nginxMaxIncludeFiles-p.included+1)
	if errors.Is(err, errGlobTooLarge) {
		p.r.problemIn(file, d.line, "include", err)
	}
	if len(matches) == 0 {
		if !strings.ContainsAny(d.args[0], "*?[") {
			p.r.problemIn(file, d.line, "include", fmt.Errorf("%s: no such file", d.args[0]))
		}
		return nil, nil
	}
	var out []*nginxDirective
	for _, m := range matches {
		if slices.Contains(p.active, m) {
			p.r.problemIn(file, d.line, "include", fmt.Errorf("%s includes itself", m))
			continue
		}
		if p.included++; p.included > nginxMaxIncludeFiles {
			p.r.problemIn(file, d.line, "include", fmt.Errorf("more than %d included files", nginxMaxIncludeFiles))
			return out, nil
		}
		data, err := p.r.readReferenced(m)
		if err != nil {
			p.r.problemIn(file, d.line, "include", err)
			continue
		}
		list, err := p.parse(m, data, depth+1)
		if err != nil {
			// Named from the include, which is where the mistake is.
			p.r.problemIn(file, d.line, "include", fmt.Errorf("%s is not an nginx configuration: %w", m, err))
			continue
		}
		out = append(out, list...)
	}
	return out, nil
}

// nginxTLS is the client-certificate settings in force in one context.
// nginx inherits each directive from the enclosing context separately,
// unless the context sets its own; order inside a block does not matter.
type nginxTLS struct {
	verify  *nginxDirective
	caFiles map[string]*nginxDirective // ssl_client_certificate, ssl_trusted_certificate
}

func (t nginxTLS) inherit(block []*nginxDirective) nginxTLS {
	out := nginxTLS{verify: t.verify, caFiles: map[string]*nginxDirective{}}
	for k, v := range t.caFiles {
		out.caFiles[k] = v
	}
	for _, d := range block {
		switch d.name {
		case "ssl_verify_client":
			if len(d.args) == 1 {
				out.verify = d
			}
		case "ssl_client_certificate", "ssl_trusted_certificate":
			if len(d.args) == 1 {
				out.caFiles[d.name] = d
			}
		}
	}
	return out
}

func (r *reader) readNginx(data []byte) error {
	p := &nginxParser{r: r}
	top, err := p.parse(r.path, data, 0)
	if err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	n := &nginxConfig{r: r, read: map[string][]model.FoundCertificate{}}
	n.walk(top, nginxTLS{}, true)
	return nil
}

type nginxConfig struct {
	r    *reader
	read map[string][]model.FoundCertificate // CA files read so far, by path
}

// walk evaluates a list of directives with the settings inherited from
// outside: each server block is a scope of its own; a file without http or
// server blocks (a snippet included into a server) is one scope.
func (n *nginxConfig) walk(list []*nginxDirective, outer nginxTLS, top bool) {
	here := outer.inherit(list)
	servers := 0
	for _, d := range list {
		switch {
		case d.name == "map" && len(d.args) == 2 && trustMapVariables[d.args[0]]:
			n.r.nginxMap(d)
		case d.name == "http" && d.isBlock:
			n.walk(d.block, here, false)
			servers++
		case d.name == "server" && d.isBlock:
			n.server(d, here.inherit(d.block))
			servers++
		}
	}
	if servers == 0 && top {
		n.apply(here, "")
	}
}

func (n *nginxConfig) server(d *nginxDirective, tls nginxTLS) {
	scope := fmt.Sprintf("server line %d", d.line)
	if d.file != n.r.path {
		scope = fmt.Sprintf("server %s:%d", d.file, d.line)
	}
	n.apply(tls, scope)
}

// apply reads the CA files in force in one scope. With ssl_verify_client
// on or optional they are the scope's anchors; with off (nginx's default)
// no certificate is requested, and with optional_no_ca none is verified,
// so the files admit nobody there and are only inventoried.
func (n *nginxConfig) apply(tls nginxTLS, scope string) {
	mode := "off"
	if tls.verify != nil {
		mode = tls.verify.args[0]
	}
	for _, name := range []string{"ssl_client_certificate", "ssl_trusted_certificate"} {
		d := tls.caFiles[name]
		if d == nil {
			continue
		}
		path, err := n.r.referencedPath(d.args[0], d.file)
		if err != nil {
			n.r.problemIn(d.file, d.line, name, fmt.Errorf("CA file: %w", err))
			continue
		}
		location := fmt.Sprintf("line %d: %s", d.line, name)
		if d.file != n.r.path {
			location = fmt.Sprintf("%s:%d: %s", d.file, d.line, name)
		}
		certs, seen := n.read[path]
		if !seen && n.r.interrupted() {
			return
		}
		if !seen {
			data, err := n.r.readReferenced(path)
			if err != nil {
				n.r.problemIn(d.file, d.line, name, fmt.Errorf("CA file %s: %w", d.args[0], err))
				n.read[path] = nil
				continue
			}
			ca := &reader{ctx: n.r.ctx, path: path, opts: n.r.opts, res: &model.FileResult{}}
			if err := ca.readPEM(data); err != nil {
				n.r.problemIn(d.file, d.line, name, err)
			}
			n.r.res.Problems = append(n.r.res.Problems, ca.res.Problems...)
			for _, c := range ca.res.Certificates {
				c.Location = strings.TrimSuffix(location+" "+d.args[0]+", "+c.Location, ", ")
				n.r.res.Certificates = append(n.r.res.Certificates, c)
				certs = append(certs, c)
			}
			n.read[path] = certs
		}
		if mode == "on" || mode == "optional" {
			n.r.anchors(certs, name+" "+filepath.Base(d.args[0])+" (ssl_verify_client "+mode+")", location, scope, "")
		}
	}
}

// nginxMap reads the pairs of a map block on a client-certificate
// variable. Each allowing pair is a trust entry labelled with what it is:
// the map, its variable and the value it sets.
func (r *reader) nginxMap(d *nginxDirective) {
	variable, result := d.args[0], d.args[1]
	tokens := d.mapTokens
	for i := 0; i < len(tokens); {
		j := i
		for j < len(tokens) && !(tokens[j].text == ";" && !tokens[j].quoted) {
			j++
		}
		words := tokens[i:min(j, len(tokens))]
		i = j + 1
		if len(words) != 2 || (!words[0].quoted && (words[0].text == "default" || words[0].text == "hostnames" || words[0].text == "volatile" || words[0].text == "include")) {
			continue
		}
		key, value, line := words[0].text, words[1].text, words[0].line
		if denies(value) {
			continue
		}
		entry, err := nginxMapEntry(variable, key)
		if err != nil {
			r.problemIn(d.file, line, "map "+variable, err)
			continue
		}
		entry.Label = fmt.Sprintf("map %s %s = %s", variable, result, value)
		entry.Location = fmt.Sprintf("line %d: map %s", line, variable)
		if d.file != r.path {
			entry.Location = fmt.Sprintf("%s:%d: map %s", d.file, line, variable)
		}
		r.res.TrustEntries = append(r.res.TrustEntries, entry)
	}
}

// closingBrace is the index of the first unquoted "}" in tokens, or -1.
func closingBrace(tokens []nginxToken) int {
	for i, t := range tokens {
		if t.text == "}" && !t.quoted {
			return i
		}
	}
	return -1
}

// denies reports map values that mean "not allowed".
func denies(value string) bool {
	switch strings.ToLower(value) {
	case "", "0", "off", "no", "false", "deny":
		return true
	}
	return false
}

// trustMapVariables are the map keys that decide which certificates get in.
var trustMapVariables = map[string]bool{"$ssl_client_fingerprint": true, "$ssl_client_s_dn": true, "$ssl_client_serial": true}

func nginxMapEntry(variable, key string) (model.TrustEntry, error) {
	switch variable {
	case "$ssl_client_fingerprint":
		value, algorithm, err := model.ParseFingerprintPin(key)
		if err != nil {
			return model.TrustEntry{}, err
		}
		return model.TrustEntry{Kind: model.EntryFingerprint, Value: value, HashAlgorithm: algorithm}, nil
	case "$ssl_client_s_dn":
		if pattern, ok := strings.CutPrefix(key, "~*"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: "(?i)" + pattern, Match: model.MatchRegex}, nil
		}
		if pattern, ok := strings.CutPrefix(key, "~"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: pattern, Match: model.MatchRegex}, nil
		}
		if _, err := model.ParseDNString(key); err != nil {
			return model.TrustEntry{}, err
		}
		return model.TrustEntry{Kind: model.EntrySubjectDN, Value: key, Match: model.MatchExact}, nil
	case "$ssl_client_serial":
		serial := strings.ToLower(strings.TrimLeft(strings.ReplaceAll(key, ":", ""), "0"))
		if serial == "" || strings.Trim(serial, "0123456789abcdef") != "" {
			return model.TrustEntry{}, fmt.Errorf("serial %q is not hex", key)
		}
		return model.TrustEntry{Kind: model.EntrySerial, Value: serial}, nil
	}
	return model.TrustEntry{}, fmt.Errorf("map on %s", variable)
}

// nginxDirective finds the directives certgov reads, at the start of a
// line (a comment or a pin list's label that names them does not count).
var nginxDirectivePattern = regexp.MustCompile(`(?m)^\s*(ssl_client_certificate|ssl_trusted_certificate|ssl_verify_client)\s|^\s*map\s+\$ssl_client_(fingerprint|s_dn|serial)\s`)

func looksLikeNginx(data []byte) bool {
	// The regular expression is slow on large files: most are not nginx.
	return bytes.Contains(data, []byte("ssl_")) && nginxDirectivePattern.Match(data)
}
