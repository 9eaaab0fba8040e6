package importers

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	maxIncludeDepth = 8
	maxIncludeFiles = 256
)

type nginxParser struct {
	r *reader
	// conf is the nginx.conf whose folder is nginx's prefix: relative
	// paths resolve from there.
	conf     string
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
	pattern, err := p.r.referencedPath(d.args[0], p.conf)
	if err != nil {
		p.r.problemIn(file, d.line, "include", err)
		return nil, nil
	}
	if depth >= maxIncludeDepth {
		p.r.problemIn(file, d.line, "include", fmt.Errorf("includes nest deeper than %d", maxIncludeDepth))
		return nil, nil
	}
	matches, err := boundedGlob(p.r.ctx, pattern, maxIncludeFiles-p.included+1)
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
		if p.included++; p.included > maxIncludeFiles {
			p.r.problemIn(file, d.line, "include", fmt.Errorf("more than %d included files", maxIncludeFiles))
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
	verify, depth, crl *nginxDirective
	caFiles            map[string]*nginxDirective // ssl_client_certificate, ssl_trusted_certificate
	// accessLogs are the access_log directives in force: a context's own
	// replace all of the enclosing one's.
	accessLogs []*nginxDirective
}

func (t nginxTLS) inherit(block []*nginxDirective) nginxTLS {
	out := nginxTLS{verify: t.verify, depth: t.depth, crl: t.crl, caFiles: map[string]*nginxDirective{}, accessLogs: t.accessLogs}
	maps.Copy(out.caFiles, t.caFiles)
	var logs []*nginxDirective
	for _, d := range block {
		if d.name == "access_log" && !d.isBlock && len(d.args) > 0 {
			logs = append(logs, d)
		}
	}
	if logs != nil {
		out.accessLogs = logs
	}
	for _, d := range block {
		if d.isBlock || len(d.args) != 1 {
			continue
		}
		switch d.name {
		case "ssl_verify_client":
			out.verify = d
		case "ssl_verify_depth":
			out.depth = d
		case "ssl_crl":
			out.crl = d
		case "ssl_client_certificate", "ssl_trusted_certificate":
			out.caFiles[d.name] = d
		}
	}
	return out
}

func (r *reader) readNginx(data []byte) error {
	conf := nginxConfOf(r.path)
	if conf != r.path && r.inTree(conf) {
		return &partOfError{whole: conf, server: "nginx"}
	}
	p := &nginxParser{r: r, conf: conf}
	top, err := p.parse(r.path, data, 0)
	if err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	n := &nginxConfig{r: r, conf: conf, refs: newConfigFiles(r, conf), maps: map[string]*nginxDirective{}, logFormats: map[string]*nginxDirective{}}
	n.collectMaps(top)
	n.walk(top, nginxTLS{}, true)
	return nil
}

type nginxConfig struct {
	r    *reader
	conf string       // the nginx.conf whose folder is the prefix
	refs *configFiles // the CA and CRL files read so far
	// maps are the map blocks by the variable they set ("$allowed"):
	// nginx allows them in http only, and their variables are global.
	maps map[string]*nginxDirective
	// logFormats are the log_format directives by name (http only).
	logFormats map[string]*nginxDirective
}

// nginxConfOf finds the nginx.conf a file belongs to: the file itself
// when it is one, else an nginx.conf in its folder or up to two folders
// above (sites-enabled/, conf.d/, snippets/ lie beside it). nginx reads
// such a file through nginx.conf's includes, with nginx.conf's folder as
// the prefix of every relative path; without one, the file's own folder
// stands for the prefix.
func nginxConfOf(path string) string {
	if filepath.Base(path) == "nginx.conf" {
		return path
	}
	dir := filepath.Dir(path)
	for range 3 {
		candidate := filepath.Join(dir, "nginx.conf")
		if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() {
			return candidate
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
		}
	}
	return path
}

// partOfError skips a file that is part of a configuration imported in
// the same run: it is read there, through its includes, once.
type partOfError struct{ whole, server string }

func (e *partOfError) Error() string {
	return "part of the " + e.server + " configuration " + e.whole + ", read through its includes"
}

func (n *nginxConfig) collectMaps(list []*nginxDirective) {
	for _, d := range list {
		switch {
		case d.name == "map" && d.isBlock && len(d.args) == 2:
			n.maps[d.args[1]] = d
		case d.name == "log_format" && !d.isBlock && len(d.args) >= 2:
			n.logFormats[d.args[0]] = d
		case d.name == "http" && d.isBlock:
			n.collectMaps(d.block)
		}
	}
}

// walk evaluates a list of directives with the settings inherited from
// outside: each server block is a server of its own. A file without http
// or server blocks (a snippet imported by itself) is no server: the CA
// files it verifies with are a standalone anchor list.
func (n *nginxConfig) walk(list []*nginxDirective, outer nginxTLS, top bool) {
	here := outer.inherit(list)
	contexts := 0
	for _, d := range list {
		switch {
		case d.name == "http" && d.isBlock:
			n.walk(d.block, here, false)
			contexts++
		case d.name == "server" && d.isBlock:
			n.server(d, here.inherit(d.block))
			contexts++
		}
	}
	if contexts == 0 && top && here.verify != nil && (here.verify.args[0] == model.VerifyOn || here.verify.args[0] == model.VerifyOptional) {
		for _, name := range nginxCAFileDirectives {
			if d := here.caFiles[name]; d != nil {
				if f := n.file(d, name); f.err == nil {
					n.r.anchors(f.certs, name+" "+filepath.Base(d.args[0]), n.where(d.file, d.line)+": "+name, "", "")
				}
			}
		}
	}
}

var nginxCAFileDirectives = []string{"ssl_client_certificate", "ssl_trusted_certificate"}

// where names a place in the configuration for people.
func (n *nginxConfig) where(file string, line int) string { return n.refs.where(file, line) }

// file reads a CA or CRL file a directive names, once: paths relative to
// nginx's prefix (the folder of nginx.conf), whichever file the directive
// is written in.
func (n *nginxConfig) file(d *nginxDirective, name string) configFile {
	return n.refs.read(d.args[0], d.file, d.line, name)
}

// server reads one server block as nginx decides its clients: the mode
// and depth of ssl_verify_client and ssl_verify_depth, the anchors of its
// CA files (both directives anchor; only ssl_client_certificate's are sent
// as CA names), its CRL, and the maps its if/return tests. All of its
// entries are all-of conditions: a chain to an anchor (unless the mode
// verifies none), then each gate.
func (n *nginxConfig) server(d *nginxDirective, tls nginxTLS) {
	srv := model.Server{Kind: "nginx server", Host: n.r.opts.Host, Location: n.where(d.file, d.line), Mode: model.VerifyOff, Depth: 1}
	srv.Scope = "server " + srv.Location
	for _, x := range d.block {
		switch {
		case x.name == "server_name" && !x.isBlock:
			srv.Names = append(srv.Names, x.args...)
		case x.name == "listen" && !x.isBlock && len(x.args) > 0:
			srv.Listen = append(srv.Listen, x.args[0])
		}
	}
	srv.AccessLogs = n.accessLogs(tls.accessLogs)
	if len(srv.Names) > 0 {
		for i := range srv.AccessLogs {
			srv.AccessLogs[i].LoggedAs = srv.Names[0] // as $server_name logs it
		}
	}
	defer func() { n.r.res.Servers = append(n.r.res.Servers, srv) }()

	if v := tls.verify; v != nil {
		switch mode := v.args[0]; mode {
		case model.VerifyOn, model.VerifyOptional, model.VerifyOptionalNoCA, model.VerifyOff:
			srv.Mode = mode
		default:
			n.r.problemIn(v.file, v.line, "ssl_verify_client", fmt.Errorf("unknown mode %q (nginx -t refuses it)", directiveName(mode)))
			unknownBecause(&srv, "ssl_verify_client has an unknown mode")
		}
	}
	if v := tls.depth; v != nil {
		depth, err := strconv.Atoi(v.args[0])
		if err != nil || depth < 0 {
			n.r.problemIn(v.file, v.line, "ssl_verify_depth", fmt.Errorf("%q is not a depth (nginx -t refuses it)", directiveName(v.args[0])))
			unknownBecause(&srv, "ssl_verify_depth is not a number")
		}
		srv.Depth = depth
	}
	// Every file is read, whatever the mode, so that its certificates are
	// inventoried and what cannot be read is reported.
	var anchorFiles []*nginxDirective
	files := map[*nginxDirective]configFile{}
	for _, name := range nginxCAFileDirectives {
		if f := tls.caFiles[name]; f != nil {
			anchorFiles = append(anchorFiles, f)
			files[f] = n.file(f, name)
		}
	}
	if c := tls.crl; c != nil {
		srv.CRLs = append(srv.CRLs, c.args[0])
		f := n.file(c, "ssl_crl")
		if f.err != nil && srv.Mode != model.VerifyOff {
			unknownBecause(&srv, "its CRL "+c.args[0]+" cannot be read")
		}
		for _, crl := range f.crls {
			srv.CRLIssuers = append(srv.CRLIssuers, crl.IssuerNormalized)
		}
	}
	if srv.Mode == model.VerifyOff {
		return // no certificate is asked for
	}
	gate := n.gates(d)
	if gate.verifies(srv.Mode) && len(anchorFiles) == 0 {
		n.r.problemIn(d.file, d.line, "server", errors.New("ssl_verify_client "+srv.Mode+" without ssl_client_certificate or ssl_trusted_certificate (nginx -t refuses it)"))
	}
	var anchors []serverAnchors
	for _, f := range anchorFiles {
		anchors = append(anchors, serverAnchors{directive: f.name, written: f.args[0], at: n.where(f.file, f.line), read: files[f],
			caNames: f.name == "ssl_client_certificate"})
	}
	n.r.settle(&srv, anchors, gate)
}

// accessLogs are the logs a server writes its requests to, each with its
// format's pattern: what certgov reads usage from. "off" and syslog
// destinations write no file.
func (n *nginxConfig) accessLogs(list []*nginxDirective) []model.AccessLog {
	var out []model.AccessLog
	for _, d := range list {
		written := d.args[0]
		if written == "off" || strings.HasPrefix(written, "syslog:") {
			continue
		}
		log := model.AccessLog{Written: written, Path: written, FormatName: "combined", Format: nginxCombined, Location: n.where(d.file, d.line)}
		if !filepath.IsAbs(written) {
			log.Path = filepath.Join(filepath.Dir(n.conf), written)
		}
		if len(d.args) > 1 && !strings.Contains(d.args[1], "=") {
			log.FormatName = d.args[1]
		}
		if log.FormatName != "combined" {
			def := n.logFormats[log.FormatName]
			if def == nil {
				n.r.problemIn(d.file, d.line, "access_log", fmt.Errorf("log_format %q is not defined (nginx -t refuses it)", directiveName(log.FormatName)))
				continue
			}
			parts := def.args[1:]
			if escape, ok := strings.CutPrefix(parts[0], "escape="); ok {
				log.Escape, parts = escape, parts[1:]
			}
			log.Format = strings.Join(parts, "")
		}
		out = append(out, log)
	}
	return out
}

// gates reads the server's if blocks that refuse (return 4xx, 444), in
// the server block and in its "location /" (every request that no other
// location takes): each tests a variable; a map on a client-certificate
// variable gates the server with the keys whose value the ifs let
// through.
func (n *nginxConfig) gates(server *nginxDirective) serverGates {
	var g serverGates
	tests := map[string][]nginxCondition{} // by map variable, in order
	var order []string
	ifs := server.block
	for _, x := range server.block {
		if x.name == "location" && x.isBlock && slices.Equal(x.args, []string{"/"}) {
			ifs = append(slices.Clone(ifs), x.block...)
		}
	}
	for _, x := range ifs {
		if x.name != "if" || !x.isBlock || !refuses(x.block) {
			continue
		}
		cond, ok := parseNginxCondition(x.args)
		where := n.where(x.file, x.line)
		switch {
		case !ok:
			if strings.Contains(strings.Join(x.args, " "), "$ssl_client") {
				g.unknown = "the if at " + where + " is not a condition certgov reads"
			}
		case cond.variable == "$ssl_client_verify":
			if cond.op == "!=" && cond.value == "SUCCESS" {
				g.requireVerify = true
				g.texts = append(g.texts, "if $ssl_client_verify != SUCCESS at "+where)
			}
		case cond.bad:
			g.unknown = "the if at " + where + " has a regular expression certgov cannot read"
		case n.maps[cond.variable] != nil:
			if tests[cond.variable] == nil {
				order = append(order, cond.variable)
			}
			cond.where = where
			tests[cond.variable] = append(tests[cond.variable], cond)
		case strings.HasPrefix(cond.variable, "$ssl_client_"):
			g.unknown = "the if at " + where + " tests " + cond.variable + " itself: certgov reads maps on it"
		}
	}
	for _, variable := range order {
		n.mapGate(n.maps[variable], tests[variable], &g)
	}
	return g
}

// mapGate turns one map, tested by conds, into the allow list it is.
func (n *nginxConfig) mapGate(d *nginxDirective, conds []nginxCondition, g *serverGates) {
	source, result := d.args[0], d.args[1]
	var wheres []string
	for _, c := range conds {
		wheres = append(wheres, c.where)
	}
	text := fmt.Sprintf("map %s %s (%s), tested at %s", source, result, n.where(d.file, d.line), strings.Join(wheres, ", "))
	refused := func(value string) bool {
		for _, c := range conds {
			if c.holds(value) {
				return true
			}
		}
		return false
	}
	pairs, fallback := nginxMapPairs(d)
	if !trustMapVariables[source] {
		if strings.HasPrefix(source, "$ssl_client_") {
			g.unknown = "map on " + source + " gates it: certgov reads maps on $ssl_client_fingerprint, $ssl_client_s_dn and $ssl_client_serial"
		}
		g.texts = append(g.texts, text+": not on the client certificate")
		return
	}
	var allowed []nginxMapPair
	deny := 0
	for _, p := range pairs {
		if n.r.interrupted() {
			return
		}
		if strings.HasPrefix(p.value, "$") {
			g.unknown = "map " + result + " sets a variable's value: certgov cannot tell what it admits"
			return
		}
		if refused(p.value) {
			deny++
		} else {
			allowed = append(allowed, p)
		}
	}
	switch {
	case !refused(fallback) && deny > 0:
		g.unknown = "map " + result + " admits by default and refuses the certificates it lists: certgov reads allow lists"
		return
	case !refused(fallback):
		g.texts = append(g.texts, text+": admits every certificate by default")
		return
	case len(allowed) == 0:
		g.none = true
		g.texts = append(g.texts, text+": admits no certificate")
		return
	}
	g.texts = append(g.texts, text)
	for _, p := range allowed {
		entry, err := nginxMapEntry(source, p.key)
		if err != nil {
			n.r.problemIn(d.file, p.line, "map "+source, err)
			continue
		}
		entry.Label = fmt.Sprintf("map %s %s = %s", source, result, p.value)
		entry.Location = n.where(d.file, p.line) + ": map " + source
		g.entries = append(g.entries, entry)
	}
}

// refuses reports whether an if block ends the request with an error
// status (return 4xx or 5xx, or 444, which closes the connection).
func refuses(block []*nginxDirective) bool {
	for _, d := range block {
		if d.name == "return" && len(d.args) > 0 {
			if code, err := strconv.Atoi(d.args[0]); err == nil && code >= 400 {
				return true
			}
		}
	}
	return false
}

// nginxCondition is an if's condition on a variable: "($v)", "(!$v)",
// "($v = x)", "($v != x)", "($v ~ re)" and its negated and case-blind
// forms.
type nginxCondition struct {
	variable, op, value, where string
	re                         *regexp.Regexp // for ~ and its forms, compiled once
	bad                        bool           // a regular expression Go cannot compile
}

func parseNginxCondition(args []string) (nginxCondition, bool) {
	text := strings.TrimSpace(strings.Join(args, " "))
	if !strings.HasPrefix(text, "(") || !strings.HasSuffix(text, ")") {
		return nginxCondition{}, false
	}
	fields := strings.Fields(strings.TrimSpace(text[1 : len(text)-1]))
	switch len(fields) {
	case 1:
		if v, ok := strings.CutPrefix(fields[0], "!"); ok && strings.HasPrefix(v, "$") {
			return nginxCondition{variable: v, op: "!"}, true
		}
		if strings.HasPrefix(fields[0], "$") {
			return nginxCondition{variable: fields[0]}, true
		}
	case 2, 3:
		value := ""
		if len(fields) == 3 {
			value = fields[2]
		}
		switch fields[1] {
		case "=", "!=":
			if strings.HasPrefix(fields[0], "$") {
				return nginxCondition{variable: fields[0], op: fields[1], value: value}, true
			}
		case "~", "~*", "!~", "!~*":
			if strings.HasPrefix(fields[0], "$") {
				c := nginxCondition{variable: fields[0], op: fields[1], value: value}
				pattern := value
				if strings.HasSuffix(c.op, "*") {
					pattern = "(?i)" + pattern
				}
				var err error
				if c.re, err = regexp.Compile(pattern); err != nil {
					c.bad = true
				}
				return c, true
			}
		}
	}
	return nginxCondition{}, false
}

// holds says whether the condition is true for a variable's value, as
// nginx decides it: a bare variable is true unless empty or "0".
func (c nginxCondition) holds(value string) bool {
	switch c.op {
	case "":
		return value != "" && value != "0"
	case "!":
		return value == "" || value == "0"
	case "=":
		return value == c.value
	case "!=":
		return value != c.value
	}
	if c.re == nil {
		return false
	}
	return c.re.MatchString(value) != strings.HasPrefix(c.op, "!")
}

// nginxMapPair is one key/value line of a map block.
type nginxMapPair struct {
	key, value string
	line       int
}

// nginxMapPairs reads a map block's pairs and its default ("" when none,
// as nginx sets).
func nginxMapPairs(d *nginxDirective) (pairs []nginxMapPair, fallback string) {
	tokens := d.mapTokens
	for i := 0; i < len(tokens); {
		j := i
		for j < len(tokens) && !(tokens[j].text == ";" && !tokens[j].quoted) {
			j++
		}
		words := tokens[i:min(j, len(tokens))]
		i = j + 1
		if len(words) == 2 && !words[0].quoted && words[0].text == "default" {
			fallback = words[1].text
			continue
		}
		if len(words) != 2 || (!words[0].quoted && (words[0].text == "hostnames" || words[0].text == "volatile" || words[0].text == "include")) {
			continue
		}
		pairs = append(pairs, nginxMapPair{key: words[0].text, value: words[1].text, line: words[0].line})
	}
	return pairs, fallback
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

// trustMapVariables are the map keys that decide which certificates get in.
var trustMapVariables = map[string]bool{"$ssl_client_fingerprint": true, "$ssl_client_s_dn": true, "$ssl_client_serial": true}

func nginxMapEntry(variable, key string) (model.TrustEntry, error) {
	switch variable {
	case "$ssl_client_fingerprint":
		// nginx looks the SHA-1 hex up as it is (case aside): a key
		// with colons, or a SHA-256, never matches.
		value := strings.ToLower(key)
		if len(value) != 40 || strings.Trim(value, "0123456789abcdef") != "" {
			return model.TrustEntry{}, fmt.Errorf("key %q never matches: $ssl_client_fingerprint is 40 hex digits of SHA-1 without colons", key)
		}
		return model.TrustEntry{Kind: model.EntryFingerprint, Value: value, HashAlgorithm: "sha1"}, nil
	case "$ssl_client_s_dn":
		if pattern, ok := strings.CutPrefix(key, "~*"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: "(?i)" + pattern, Match: model.MatchSearch}, nil
		}
		if pattern, ok := strings.CutPrefix(key, "~"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: pattern, Match: model.MatchSearch}, nil
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

// nginxDirectivePattern finds the directives certgov reads, at the start
// of a line (a comment or a pin list's label that names them does not
// count).
var nginxDirectivePattern = regexp.MustCompile(`(?m)^\s*(ssl_client_certificate|ssl_trusted_certificate|ssl_verify_client)\s|^\s*map\s+\$ssl_client_(fingerprint|s_dn|serial)\s`)

// nginxMainPattern finds a main configuration's contexts: an nginx.conf
// whose client-certificate settings all lie in included files has events
// and http blocks of its own.
var nginxMainPattern = regexp.MustCompile(`(?m)^\s*events\s*\{[\s\S]*^\s*http\s*\{`)

func looksLikeNginx(data []byte) bool {
	// The regular expressions are slow on large files: most are not nginx.
	if bytes.Contains(data, []byte("ssl_")) && nginxDirectivePattern.Match(data) {
		return true
	}
	return bytes.Contains(data, []byte("events")) && bytes.Contains(data, []byte("http")) && nginxMainPattern.Match(data)
}
