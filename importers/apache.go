package importers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"certgov/model"
)

// Apache httpd 2.4 with mod_ssl decides client certificates per virtual
// host (SNI picks the host, and with it the verification settings):
// SSLVerifyClient none (the default) asks for none; optional and require
// verify the chain to SSLCACertificateFile / SSLCACertificatePath within
// SSLVerifyDepth (default 1: a leaf issued by an anchor) and abort the
// handshake when it fails; optional_no_ca asks and verifies nothing.
// Settings outside any virtual host are inherited by each, one directive
// at a time. CRLs are checked only when SSLCARevocationCheck says so
// (chain or leaf; none is the default). What a request may do is then
// decided by Require expr and SSLRequire in the host's <Location />
// (or the <Directory> of its DocumentRoot). Relative paths are read below
// ServerRoot, which is the folder of apache2.conf (or httpd.conf) unless
// the configuration sets it.

// apacheDirective is one directive, or a section with its directives.
type apacheDirective struct {
	name    string // lower case: Apache's directive names are case-blind
	written string // the name as written, for messages
	args    []string
	raw     string // the arguments as written: expressions are read from it
	file    string
	line    int
	section bool
	block   []*apacheDirective
}

// apacheParser reads a configuration with its includes.
type apacheParser struct {
	r          *reader
	serverRoot string
	defines    map[string]string
	included   int
	active     []string // the include chain, to refuse loops
}

// apacheWords splits a directive's line as Apache does: words separated
// by blanks, double or single quotes group, a backslash escapes a quote
// inside them. ok is false for an unterminated quote.
func apacheWords(text string) (words []string, ok bool) {
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			i++
			for i < len(text) && text[i] != c {
				if text[i] == '\\' && i+1 < len(text) && (text[i+1] == c || text[i+1] == '\\') {
					i++
				}
				b.WriteByte(text[i])
				i++
			}
			if i >= len(text) {
				return nil, false
			}
			i++
			words = append(words, b.String())
		default:
			start := i
			for i < len(text) && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' {
				i++
			}
			words = append(words, text[start:i])
		}
	}
	return words, true
}

// parse reads one file's directives, splicing in what it includes.
func (p *apacheParser) parse(file string, data []byte, depth int) ([]*apacheDirective, error) {
	p.active = append(p.active, file)
	defer func() { p.active = p.active[:len(p.active)-1] }()
	type open struct {
		d    *apacheDirective
		list []*apacheDirective
	}
	var stack []open
	var list []*apacheDirective
	lines := strings.Split(string(data), "\n")
	for n := 0; n < len(lines); n++ {
		if n%4096 == 0 && p.r.interrupted() {
			return nil, p.r.ctx.Err()
		}
		first := n + 1
		text := strings.TrimSpace(lines[n])
		for strings.HasSuffix(text, "\\") && n+1 < len(lines) { // a continued line
			n++
			text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(lines[n])
		}
		if text == "" || text[0] == '#' {
			continue
		}
		if strings.HasPrefix(text, "</") {
			name := strings.ToLower(strings.TrimSpace(strings.Trim(text, "</>")))
			if len(stack) == 0 || stack[len(stack)-1].d.name != name {
				return nil, fmt.Errorf("line %d: </%s> closes no open section (apachectl configtest refuses it)", first, name)
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			top.d.block, list = list, top.list
			continue
		}
		section := strings.HasPrefix(text, "<")
		if section {
			if !strings.HasSuffix(text, ">") {
				return nil, fmt.Errorf("line %d: a section is not closed with '>'", first)
			}
			text = text[1 : len(text)-1]
		}
		words, ok := apacheWords(text)
		if !ok {
			return nil, fmt.Errorf("line %d: a quote is not closed", first)
		}
		if len(words) == 0 {
			continue
		}
		d := &apacheDirective{name: strings.ToLower(words[0]), written: words[0], args: p.expand(words[1:]), file: file, line: first, section: section,
			raw: strings.TrimSpace(strings.TrimPrefix(text, words[0]))}
		switch {
		case section:
			list = append(list, d)
			stack = append(stack, open{d: d, list: list})
			list = nil
		case d.name == "define" && len(d.args) > 0:
			p.defines[d.args[0]] = strings.Join(d.args[1:], " ")
		case d.name == "serverroot" && len(d.args) == 1:
			if root, err := p.r.referencedPath(d.args[0], file); err == nil {
				p.serverRoot = root
			}
		case (d.name == "include" || d.name == "includeoptional") && len(d.args) == 1:
			included := p.include(d, depth)
			list = append(list, included...)
		default:
			list = append(list, d)
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1].d
		return nil, fmt.Errorf("line %d: <%s> is never closed", top.line, top.name)
	}
	return list, nil
}

// apacheVariable is a ${NAME} Apache substitutes from Define and its
// environment.
var apacheVariable = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// expand substitutes the variables the configuration defines; others
// (from envvars, the environment) are left as written.
func (p *apacheParser) expand(args []string) []string {
	for i, a := range args {
		if strings.Contains(a, "${") {
			args[i] = apacheVariable.ReplaceAllStringFunc(a, func(v string) string {
				if value, ok := p.defines[v[2:len(v)-1]]; ok {
					return value
				}
				return v
			})
		}
	}
	return args
}

// path resolves a path as Apache does: relative ones below ServerRoot.
func (p *apacheParser) path(written, file string) (string, error) {
	if strings.Contains(written, "${") {
		return "", errors.New("names a variable the configuration does not define (Apache's envvars or environment)")
	}
	if filepath.IsAbs(written) {
		return p.r.referencedPath(written, file)
	}
	return filepath.Join(p.serverRoot, written), nil
}

// include reads the files an Include or IncludeOptional names: globs, a
// folder for every file in it; IncludeOptional is silent when nothing
// matches.
func (p *apacheParser) include(d *apacheDirective, depth int) []*apacheDirective {
	pattern, err := p.path(d.args[0], d.file)
	if err != nil {
		p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s: %w", d.args[0], err))
		return nil
	}
	if depth >= maxIncludeDepth {
		p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("includes nest deeper than %d", maxIncludeDepth))
		return nil
	}
	if fi, err := os.Stat(pattern); err == nil && fi.IsDir() {
		pattern = filepath.Join(pattern, "*")
	}
	matches, err := boundedGlob(p.r.ctx, pattern, maxIncludeFiles-p.included+1)
	if errors.Is(err, errGlobTooLarge) {
		p.r.problemIn(d.file, d.line, d.written, err)
	}
	if len(matches) == 0 && d.name == "include" && !strings.ContainsAny(d.args[0], "*?[") {
		p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s: no such file (apachectl configtest refuses it)", d.args[0]))
	}
	var out []*apacheDirective
	for _, m := range matches {
		if fi, err := os.Stat(m); err != nil || fi.IsDir() {
			continue
		}
		if slices.Contains(p.active, m) {
			p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s includes itself", m))
			continue
		}
		if p.included++; p.included > maxIncludeFiles {
			p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("more than %d included files", maxIncludeFiles))
			return out
		}
		data, err := p.r.readReferenced(m)
		if err != nil {
			p.r.problemIn(d.file, d.line, d.written, err)
			continue
		}
		list, err := p.parse(m, data, depth+1)
		if err != nil {
			p.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s: %w", m, err))
			continue
		}
		out = append(out, list...)
	}
	return out
}

// apacheConditional sections are read as if their condition held: mod_ssl
// is loaded wherever its directives matter.
var apacheConditional = map[string]bool{"ifmodule": true, "ifdefine": true, "ifversion": true, "iffile": true, "ifdirective": true, "ifsection": true}

// apacheSettings are the directives in force in a context: each set by
// the context itself or inherited from the server's.
type apacheSettings map[string]*apacheDirective

// apacheSSLDirectives are what decides client certificates.
var apacheSSLDirectives = []string{"sslengine", "sslverifyclient", "sslverifydepth", "sslcacertificatefile", "sslcacertificatepath",
	"sslcadnrequestfile", "sslcadnrequestpath", "sslcarevocationfile", "sslcarevocationpath", "sslcarevocationcheck", "ssloptions"}

// settings reads a context's directives (looking into conditional
// sections) over the inherited ones.
func (s apacheSettings) over(list []*apacheDirective) apacheSettings {
	out := apacheSettings{}
	for k, v := range s {
		out[k] = v
	}
	var walk func([]*apacheDirective)
	walk = func(list []*apacheDirective) {
		for _, d := range list {
			switch {
			case d.section && apacheConditional[d.name]:
				walk(d.block)
			case d.section || len(d.args) == 0: // apachectl configtest refuses a directive without arguments
			case slices.Contains(apacheSSLDirectives, d.name), d.name == "servername", d.name == "documentroot":
				out[d.name] = d
			}
		}
	}
	walk(list)
	return out
}

// arg is the first argument of a setting, or "".
func (s apacheSettings) arg(name string) string {
	if d := s[name]; d != nil && len(d.args) > 0 {
		return d.args[0]
	}
	return ""
}

// apacheConfOf finds the main configuration a file belongs to:
// apache2.conf (Debian) or httpd.conf in its folder or up to two above
// (sites-enabled/, conf.d/, conf/ lie beside or below it).
func apacheConfOf(path string) string {
	if base := filepath.Base(path); base == "apache2.conf" || base == "httpd.conf" {
		return path
	}
	dir := filepath.Dir(path)
	for range 3 {
		for _, name := range []string{"apache2.conf", "httpd.conf", "conf/httpd.conf"} {
			candidate := filepath.Join(dir, name)
			if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() {
				return candidate
			}
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
		}
	}
	return path
}

// apacheServerRoot is the ServerRoot a configuration sets (the first one:
// the includes that follow depend on it), else the folder of the main
// configuration (Red Hat's conf/httpd.conf: the folder above).
var apacheServerRoot = regexp.MustCompile(`(?mi)^\s*ServerRoot\s+"?([^"\s]+)"?\s*$`)

func (r *reader) readApache(data []byte) error {
	conf := apacheConfOf(r.path)
	if conf != r.path && r.inTree(conf) {
		return &partOfError{whole: conf, server: "Apache httpd"}
	}
	root := filepath.Dir(conf)
	if filepath.Base(root) == "conf" && filepath.Base(conf) == "httpd.conf" {
		root = filepath.Dir(root)
	}
	p := &apacheParser{r: r, serverRoot: root, defines: map[string]string{}}
	main := data
	if conf != r.path { // a part read alone: its main configuration says where ServerRoot is
		main, _ = ReadBounded(conf, MaxFileSize)
	}
	if m := apacheServerRoot.FindSubmatch(main); m != nil {
		if root, err := r.referencedPath(string(m[1]), conf); err == nil {
			p.serverRoot = root
		}
	}
	top, err := p.parse(r.path, data, 0)
	if err != nil {
		return fmt.Errorf("apache: %w", err)
	}
	a := &apacheConfig{r: r, p: p, refs: newConfigFiles(r, r.path)}
	server := apacheSettings{}.over(top)
	var vhosts []*apacheDirective
	var collect func([]*apacheDirective)
	collect = func(list []*apacheDirective) {
		for _, d := range list {
			switch {
			case d.section && d.name == "virtualhost":
				vhosts = append(vhosts, d)
			case d.section && apacheConditional[d.name]:
				collect(d.block)
			}
		}
	}
	collect(top)
	for _, v := range vhosts {
		if r.interrupted() {
			return r.ctx.Err()
		}
		a.virtualHost(v, server.over(v.block))
	}
	return nil
}

// apacheConfig is a configuration being read.
type apacheConfig struct {
	r    *reader
	p    *apacheParser
	refs *configFiles
}

// virtualHost reads one <VirtualHost> as mod_ssl decides its clients.
func (a *apacheConfig) virtualHost(v *apacheDirective, set apacheSettings) {
	r := a.r
	if !strings.EqualFold(set.arg("sslengine"), "on") {
		return // plain HTTP: no certificate is asked for
	}
	srv := model.Server{Kind: "apache virtual host", Host: r.opts.Host, Location: a.refs.where(v.file, v.line), Mode: model.VerifyOff, Depth: 1,
		Listen: slices.Clone(v.args)}
	srv.Scope = "virtual host " + srv.Location
	if name := set.arg("servername"); name != "" {
		srv.Names = []string{strings.TrimPrefix(strings.TrimPrefix(name, "https://"), "http://")}
	}
	for _, d := range v.block {
		if d.name == "serveralias" && !d.section {
			srv.Names = append(srv.Names, d.args...)
		}
	}
	defer func() { r.res.Servers = append(r.res.Servers, srv) }()
	if d := set["sslverifyclient"]; d != nil {
		switch strings.ToLower(set.arg("sslverifyclient")) {
		case "none":
		case "optional":
			srv.Mode = model.VerifyOptional
		case "require":
			srv.Mode = model.VerifyOn
		case "optional_no_ca":
			srv.Mode = model.VerifyOptionalNoCA
		default:
			r.problemIn(d.file, d.line, "SSLVerifyClient", fmt.Errorf("%q is not a mode (none, optional, require, optional_no_ca)", directiveName(set.arg("sslverifyclient"))))
			unknownBecause(&srv, "SSLVerifyClient has an unknown mode")
		}
	}
	// mod_ssl refuses a chain whose anchor lies deeper than SSLVerifyDepth
	// (the leaf at 0): depth 1, the default, admits leaves an anchor
	// issued, one CA certificate fewer than OpenSSL's verify depth.
	srv.Depth, srv.DepthSetting = 0, "SSLVerifyDepth 1"
	if d := set["sslverifydepth"]; d != nil {
		depth, err := strconv.Atoi(set.arg("sslverifydepth"))
		switch {
		case err != nil || depth < 0:
			r.problemIn(d.file, d.line, "SSLVerifyDepth", fmt.Errorf("%q is not a depth", directiveName(set.arg("sslverifydepth"))))
			unknownBecause(&srv, "SSLVerifyDepth is not a number")
		case depth == 0:
			unknownBecause(&srv, "SSLVerifyDepth 0 admits self-signed certificates alone, which certgov does not model")
		default:
			srv.Depth, srv.DepthSetting = depth-1, "SSLVerifyDepth "+strconv.Itoa(depth)
		}
	}
	anchors := a.anchors(set, &srv)
	a.revocation(set, &srv)
	if srv.Mode == model.VerifyOff {
		return
	}
	gate := a.gates(v, set)
	if gate.verifies(srv.Mode) && len(anchors) == 0 {
		r.problemIn(v.file, v.line, "VirtualHost", errors.New("SSLVerifyClient "+set.arg("sslverifyclient")+" without SSLCACertificateFile or SSLCACertificatePath (mod_ssl refuses to start)"))
	}
	r.settle(&srv, anchors, gate)
}

// anchors reads SSLCACertificateFile and SSLCACertificatePath; the CA
// names sent are those of SSLCADNRequestFile when it is set.
func (a *apacheConfig) anchors(set apacheSettings, srv *model.Server) []serverAnchors {
	dnFile := set["sslcadnrequestfile"]
	if dnFile != nil {
		for _, c := range a.file(dnFile, srv).certs {
			srv.CANames = append(srv.CANames, c.Subject)
		}
	}
	var anchors []serverAnchors
	if d := set["sslcacertificatefile"]; d != nil {
		anchors = append(anchors, serverAnchors{directive: "SSLCACertificateFile", written: d.args[0], at: a.refs.where(d.file, d.line),
			read: a.file(d, srv), caNames: dnFile == nil})
	}
	if d := set["sslcacertificatepath"]; d != nil {
		anchors = append(anchors, serverAnchors{directive: "SSLCACertificatePath", written: d.args[0], at: a.refs.where(d.file, d.line),
			read: a.hashedFolder(d, srv), caNames: dnFile == nil})
	}
	return anchors
}

// revocation reads the CRLs and, when SSLCARevocationCheck checks them,
// sets the server's CRL policy.
func (a *apacheConfig) revocation(set apacheSettings, srv *model.Server) {
	var crls []model.CRL
	var names []string
	if d := set["sslcarevocationfile"]; d != nil {
		crls = append(crls, a.file(d, srv).crls...)
		names = append(names, d.args[0])
	}
	if d := set["sslcarevocationpath"]; d != nil {
		f := a.hashedFolder(d, srv)
		crls = append(crls, f.crls...)
		names = append(names, d.args[0]+"/")
	}
	check := set["sslcarevocationcheck"]
	if check == nil || strings.EqualFold(check.args[0], "none") {
		return // Apache checks no CRL unless told to
	}
	switch strings.ToLower(check.args[0]) {
	case "chain":
	case "leaf":
		srv.CRLLeafOnly = true
	default:
		a.r.problemIn(check.file, check.line, "SSLCARevocationCheck", fmt.Errorf("%q is not none, chain or leaf", directiveName(check.args[0])))
		unknownBecause(srv, "SSLCARevocationCheck has an unknown mode")
	}
	srv.CRLMissingOK = len(check.args) > 1 && strings.EqualFold(check.args[1], "no_crl_for_cert_ok")
	if len(names) == 0 {
		a.r.problemIn(check.file, check.line, "SSLCARevocationCheck", errors.New("checks CRLs, but no SSLCARevocationFile or SSLCARevocationPath gives any (every certificate is then refused)"))
		unknownBecause(srv, "it checks CRLs without any")
		return
	}
	srv.CRLs = names
	for _, crl := range crls {
		srv.CRLIssuers = append(srv.CRLIssuers, crl.IssuerNormalized)
	}
}

// file reads the file a directive names, relative to ServerRoot.
func (a *apacheConfig) file(d *apacheDirective, srv *model.Server) configFile {
	path, err := a.p.path(d.args[0], d.file)
	if err != nil {
		a.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s: %w", d.args[0], err))
		unknownBecause(srv, d.args[0]+": "+err.Error())
		return configFile{err: err}
	}
	return a.refs.readPath(path, d.args[0], d.file, d.line, d.written)
}

// hashedFolder reads a CA or CRL folder as OpenSSL looks it up: its
// hashed names only (a file not rehashed is never found, and is reported).
func (a *apacheConfig) hashedFolder(d *apacheDirective, srv *model.Server) configFile {
	dir, err := a.p.path(d.args[0], d.file)
	if err != nil {
		a.r.problemIn(d.file, d.line, d.written, fmt.Errorf("%s: %w", d.args[0], err))
		unknownBecause(srv, d.args[0]+": "+err.Error())
		return configFile{err: err}
	}
	return a.refs.readHashedFolder(dir, d.args[0], d.file, d.line, d.written)
}

// gates reads what the host's requests are refused on: Require expr and
// SSLRequire in its <Location /> and in the <Directory> of its
// DocumentRoot. Gates under other paths are listed for people; they do
// not decide who gets in at "/".
func (a *apacheConfig) gates(v *apacheDirective, set apacheSettings) serverGates {
	var g serverGates
	docroot := strings.TrimSuffix(set.arg("documentroot"), "/")
	var sslRequires, requires []*apacheDirective
	// walk reads a section's directives; path is "" in the virtual host,
	// and the <Location> or <Directory> they are in otherwise.
	var walk func(list []*apacheDirective, path string)
	walk = func(list []*apacheDirective, path string) {
		for _, d := range list {
			root := path == "<Location />" || path == "<Directory "+docroot+">"
			switch {
			case d.section && apacheConditional[d.name]:
				walk(d.block, path)
			case d.section && (d.name == "location" || d.name == "directory") && len(d.args) == 1:
				arg := d.args[0]
				if d.name == "directory" {
					arg = strings.TrimSuffix(arg, "/")
				}
				walk(d.block, "<"+strings.ToUpper(d.name[:1])+d.name[1:]+" "+arg+">")
			case d.section:
				if certificateGate(d.block) {
					g.texts = append(g.texts, fmt.Sprintf("<%s %s> at %s: gates on the client certificate there only", d.name, strings.Join(d.args, " "), a.refs.where(d.file, d.line)))
				}
			case d.name == "sslverifyclient" && root:
				g.unknown = "SSLVerifyClient at " + a.refs.where(d.file, d.line) + " asks again per request (renegotiation, post-handshake authentication), which certgov does not model"
			case d.name == "sslverifyclient" && path != "":
				g.texts = append(g.texts, fmt.Sprintf("SSLVerifyClient %s at %s: in %s only, asked again per request", d.raw, a.refs.where(d.file, d.line), path))
			case d.name == "sslrequire" || d.name == "require":
				if !root {
					if strings.Contains(d.raw, "SSL_CLIENT") {
						g.texts = append(g.texts, fmt.Sprintf("%s %s at %s: in %s only", d.name, d.raw, a.refs.where(d.file, d.line), path))
					}
					continue
				}
				if d.name == "sslrequire" {
					sslRequires = append(sslRequires, d)
				} else {
					requires = append(requires, d)
				}
			}
		}
	}
	walk(v.block, "")
	var clauses []apacheClause
	for _, d := range sslRequires { // every SSLRequire must hold
		where := a.refs.where(d.file, d.line)
		parsed, err := parseApacheExpr(d.raw)
		if err != nil {
			g.unknown = "SSLRequire at " + where + ": " + err.Error()
			return g
		}
		g.texts = append(g.texts, "SSLRequire "+d.raw+" at "+where)
		clauses = append(clauses, placed(parsed, where)...)
	}
	// Require lines of one section: any one lets the request in.
	var anyOf apacheClause
	granted := false
	for _, d := range requires {
		where := a.refs.where(d.file, d.line)
		switch {
		case len(d.args) == 2 && strings.EqualFold(d.args[0], "all") && strings.EqualFold(d.args[1], "granted"):
			granted = true
		case len(d.args) == 2 && strings.EqualFold(d.args[0], "all") && strings.EqualFold(d.args[1], "denied"):
			g.texts = append(g.texts, "Require all denied at "+where)
		case len(d.args) > 1 && strings.EqualFold(d.args[0], "expr"):
			parsed, err := parseApacheExpr(strings.TrimSpace(d.raw[len("expr"):]))
			if err == nil && len(parsed) > 1 && len(requires) > 1 {
				err = errors.New("an expression of several conditions among other Require lines")
			}
			if err != nil {
				g.unknown = "Require at " + where + ": " + err.Error()
				return g
			}
			g.texts = append(g.texts, "Require "+d.raw+" at "+where)
			parsed = placed(parsed, where)
			if len(requires) == 1 {
				clauses = append(clauses, parsed...)
			} else {
				anyOf = append(anyOf, parsed[0]...)
			}
		default:
			g.unknown = "Require " + strings.Join(d.args, " ") + " at " + where + " decides on more than the certificate"
			return g
		}
	}
	switch {
	case granted:
	case len(requires) > 0 && len(anyOf) == 0 && len(clauses) == len(sslRequires):
		g.none = true // only Require all denied
	case len(anyOf) > 0:
		clauses = append(clauses, anyOf)
	}
	a.clausesToGates(clauses, &g)
	return g
}

// placed notes where the expression of the clauses is written.
func placed(clauses []apacheClause, where string) []apacheClause {
	for _, c := range clauses {
		for i := range c {
			c[i].at = where
		}
	}
	return clauses
}

// certificateGate reports whether a section's directives decide on the
// client certificate.
func certificateGate(list []*apacheDirective) bool {
	for _, d := range list {
		if d.name == "sslverifyclient" || (d.name == "sslrequire" || d.name == "require") && strings.Contains(strings.Join(d.args, " "), "SSL_CLIENT") {
			return true
		}
		if d.section && certificateGate(d.block) {
			return true
		}
	}
	return false
}

// clausesToGates turns the clauses that must all hold into the server's
// gates.
func (a *apacheConfig) clausesToGates(clauses []apacheClause, g *serverGates) {
	var demanded [][]gateTest
	for _, clause := range clauses {
		var tests []gateTest
		for _, t := range clause {
			test := gateTest{kind: t.kind()}
			if test.kind == "names" || test.kind == "pins" {
				test.entries, test.err = t.entries()
				test.names = t.names()
			}
			tests = append(tests, test)
		}
		demanded = append(demanded, tests)
	}
	g.demand(demanded)
}

// looksLikeApache recognises an Apache httpd configuration: a virtual
// host, mod_ssl's directives, or a main configuration's ServerRoot and
// includes.
var apachePattern = regexp.MustCompile(`(?mi)^\s*(<VirtualHost\s|SSL(VerifyClient|CACertificateFile|CACertificatePath|Engine)\s|ServerRoot\s|IncludeOptional\s)`)

func looksLikeApache(data []byte) bool {
	return bytes.Contains(data, []byte("<VirtualHost")) || apachePattern.Match(data)
}
