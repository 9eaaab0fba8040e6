package importers

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"certgov/model"
)

// PostgreSQL (15, as Debian ships it) decides client certificates in
// three files. postgresql.conf turns SSL on and names the CA file
// (ssl_ca_file: with it the server asks every client for a certificate
// and refuses the handshake when a presented one does not verify, to any
// depth, CRLs of ssl_crl_file / ssl_crl_dir checked for every certificate
// of the chain), pg_hba.conf (hba_file) and pg_ident.conf (ident_file).
// In pg_hba.conf the first line matching a connection's type, database,
// role and address decides it; a cert line, or one with clientcert=
// verify-full, lets in a certificate whose name (its CN, or its DN with
// clientname=DN) is the role, or maps to it in the line's pg_ident map;
// clientcert=verify-ca asks only that the certificate verify. Each such
// line is a server here, with its reach (model.Login): the roles, the
// databases, the addresses. PostgreSQL refuses to load a pg_hba.conf with
// an error in any line (it does not start, or keeps its old rules), and
// loads no map from a pg_ident.conf with one.

// pgSetting is one postgresql.conf setting as written.
type pgSetting struct {
	value string
	file  string
	line  int
}

// pgConfig reads postgresql.conf and the files it includes.
type pgConfig struct {
	r        *reader
	settings map[string]pgSetting // by lower-case name; the last one written wins
	included int
	active   []string // the files being read, to refuse include loops
}

func (r *reader) readPostgreSQL(data []byte) error {
	c := &pgConfig{r: r, settings: map[string]pgSetting{}}
	c.active = []string{r.path}
	if err := c.parse(r.path, data, 0); err != nil {
		return err
	}
	c.servers()
	return nil
}

// pgSettingLine is "name = value" or "name value", the value quoted or
// not, then an optional comment.
var pgSettingLine = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#']*)\s*(?:#.*)?$`)

// parse reads one configuration file's settings; include, include_if_exists
// and include_dir name files relative to the including file's folder.
func (c *pgConfig) parse(file string, data []byte, depth int) error {
	for n, raw := range strings.Split(string(data), "\n") {
		if n%4096 == 0 && c.r.interrupted() {
			return c.r.ctx.Err()
		}
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		m := pgSettingLine.FindStringSubmatch(line)
		if m == nil {
			// PostgreSQL refuses to start on a syntax error.
			c.r.problemIn(file, n+1, "line", errors.New("not \"name = value\" (PostgreSQL refuses the file)"))
			continue
		}
		name, value := strings.ToLower(m[1]), pgUnquote(m[2])
		switch name {
		case "include", "include_if_exists", "include_dir":
			c.include(name, value, file, n+1, depth)
		default:
			c.settings[name] = pgSetting{value: value, file: file, line: n + 1}
		}
	}
	return nil
}

// pgUnquote is a setting's value: a quoted one without its quotes, ”
// and backslash escapes undone.
func pgUnquote(v string) string {
	if len(v) < 2 || v[0] != '\'' {
		return v
	}
	v = v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\'' && i+1 < len(v) && v[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case v[i] == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// include reads an included file, or every *.conf file of an included
// folder in name order, as PostgreSQL does.
func (c *pgConfig) include(kind, written, file string, line, depth int) {
	if depth >= maxIncludeDepth {
		c.r.problemIn(file, line, kind, fmt.Errorf("includes nest deeper than %d", maxIncludeDepth))
		return
	}
	path, err := c.r.referencedPath(written, file)
	if err != nil {
		c.r.problemIn(file, line, kind, fmt.Errorf("%s: %w", written, err))
		return
	}
	files := []string{path}
	if kind == "include_dir" {
		entries, err := os.ReadDir(path)
		if err != nil {
			c.r.problemIn(file, line, kind, fmt.Errorf("%s: %w", written, err))
			return
		}
		files = nil
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".conf") && !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	for _, f := range files {
		if slices.Contains(c.active, f) {
			c.r.problemIn(file, line, kind, fmt.Errorf("%s includes itself", written))
			continue
		}
		if c.included++; c.included > maxIncludeFiles {
			c.r.problemIn(file, line, kind, fmt.Errorf("more than %d included files", maxIncludeFiles))
			return
		}
		data, err := c.r.readReferenced(f)
		if err != nil {
			if kind != "include_if_exists" || !errors.Is(err, os.ErrNotExist) {
				c.r.problemIn(file, line, kind, fmt.Errorf("%s: %w", written, err))
			}
			continue
		}
		c.active = append(c.active, f)
		if err := c.parse(f, data, depth+1); err != nil {
			c.r.problemIn(file, line, kind, err)
		}
		c.active = c.active[:len(c.active)-1]
	}
}

// setting is a setting's value, or def when the configuration does not
// set it.
func (c *pgConfig) setting(name, def string) (pgSetting, bool) {
	s, ok := c.settings[name]
	if !ok {
		return pgSetting{value: def, file: c.r.path}, false
	}
	return s, true
}

// pgBool reads a boolean setting as PostgreSQL does: on, off, true,
// false, yes, no, 1, 0, and unique prefixes of them ("of" is off:
// PostgreSQL compares at least two letters of on and off).
func pgBool(v string) (bool, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case v == "":
		return false, false
	case v == "1", v == "on", strings.HasPrefix("true", v), strings.HasPrefix("yes", v):
		return true, true
	case v == "0", v == "of", v == "off", strings.HasPrefix("false", v), strings.HasPrefix("no", v):
		return false, true
	}
	return false, false
}

// pgPaths resolves the files postgresql.conf names. The data folder is
// data_directory, or the configuration's own folder; ssl_* files are
// read from the data folder when relative; hba_file and ident_file
// default to the configuration's folder, and PostgreSQL reads a relative
// one from the folder it was started in, which certgov cannot know.
type pgPaths struct {
	c       *pgConfig
	dataDir string
	dataErr error
}

func (c *pgConfig) paths() pgPaths {
	p := pgPaths{c: c, dataDir: filepath.Dir(c.r.path)}
	if s, ok := c.setting("data_directory", ""); ok && s.value != "" {
		if !filepath.IsAbs(s.value) {
			p.dataErr = errors.New("data_directory is relative: PostgreSQL reads it from the folder it was started in")
			c.r.problemIn(s.file, s.line, "data_directory", p.dataErr)
		} else {
			p.dataDir, p.dataErr = c.r.referencedPath(s.value, s.file)
		}
	}
	return p
}

// inData resolves an ssl_* file.
func (p pgPaths) inData(written, file string) (string, error) {
	if filepath.IsAbs(written) {
		return p.c.r.referencedPath(written, file)
	}
	if p.dataErr != nil {
		return "", p.dataErr
	}
	return filepath.Join(p.dataDir, written), nil
}

// configFile resolves hba_file or ident_file.
func (p pgPaths) configFile(name, def string) (path string, set pgSetting, err error) {
	s, ok := p.c.setting(name, "")
	if !ok || s.value == "" {
		return filepath.Join(filepath.Dir(p.c.r.path), def), s, nil
	}
	if !filepath.IsAbs(s.value) {
		return "", s, errors.New("a relative path: PostgreSQL reads it from the folder it was started in")
	}
	path, err = p.c.r.referencedPath(s.value, s.file)
	return path, s, err
}

// servers makes a server of each pg_hba.conf line that asks for a
// certificate.
func (c *pgConfig) servers() {
	r := c.r
	paths := c.paths()
	refs := newConfigFiles(r, r.path)
	hbaPath, hbaSet, err := paths.configFile("hba_file", "pg_hba.conf")
	var hba []pgHBALine
	loaded := err == nil
	if err != nil {
		r.problemIn(hbaSet.file, hbaSet.line, "hba_file", fmt.Errorf("%s: %w", hbaSet.value, err))
	} else {
		data, readErr := r.readReferenced(hbaPath)
		if readErr != nil {
			r.problemIn(hbaSet.file, hbaSet.line, "hba_file", fmt.Errorf("%s: %w", filepath.Base(hbaPath), readErr))
			return
		}
		hba, loaded = parseHBA(r, hbaPath, data)
	}
	if err != nil {
		return
	}
	identPath, identSet, identErr := paths.configFile("ident_file", "pg_ident.conf")
	var maps map[string][]model.IdentRule
	mapsLoaded := false
	if slices.ContainsFunc(hba, func(l pgHBALine) bool { return l.usermap != "" }) {
		if identErr != nil {
			r.problemIn(identSet.file, identSet.line, "ident_file", fmt.Errorf("%s: %w", identSet.value, identErr))
		} else if data, err := r.readReferenced(identPath); err != nil {
			r.problemIn(identSet.file, identSet.line, "ident_file", fmt.Errorf("%s: %w", filepath.Base(identPath), err))
		} else {
			maps, mapsLoaded = parseIdent(r, identPath, data)
		}
	}

	ssl, _ := c.setting("ssl", "off")
	sslOn, _ := pgBool(ssl.value)
	port, _ := c.setting("port", "5432")
	listen, _ := c.setting("listen_addresses", "localhost")
	var addresses []string
	for _, a := range strings.Split(listen.value, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addresses = append(addresses, netJoin(a, port.value))
		}
	}
	caFile, caSet := c.setting("ssl_ca_file", "")
	var anchors []serverAnchors
	if caSet && caFile.value != "" {
		a := serverAnchors{directive: "ssl_ca_file", written: caFile.value, at: refs.where(caFile.file, caFile.line), caNames: true}
		if path, err := paths.inData(caFile.value, caFile.file); err != nil {
			r.problemIn(caFile.file, caFile.line, "ssl_ca_file", fmt.Errorf("%s: %w", caFile.value, err))
			a.read = configFile{err: err}
		} else {
			a.read = refs.readPath(path, caFile.value, caFile.file, caFile.line, "ssl_ca_file")
		}
		anchors = append(anchors, a)
	}
	var crlNames []string
	var crls []model.CRL
	crlUnread := ""
	for _, name := range []string{"ssl_crl_file", "ssl_crl_dir"} {
		s, ok := c.setting(name, "")
		if !ok || s.value == "" {
			continue
		}
		crlNames = append(crlNames, s.value)
		path, err := paths.inData(s.value, s.file)
		var read configFile
		switch {
		case err != nil:
			r.problemIn(s.file, s.line, name, fmt.Errorf("%s: %w", s.value, err))
			read.err = err
		case name == "ssl_crl_dir":
			read = refs.readHashedFolder(path, s.value, s.file, s.line, name)
		default:
			read = refs.readPath(path, s.value, s.file, s.line, name)
		}
		if read.err != nil {
			crlUnread = "its CRLs " + s.value + " cannot be read"
		}
		crls = append(crls, read.crls...)
	}

	var earlier []model.HBALine
	asking := 0
	defer func() {
		if asking > 0 || !loaded {
			return
		}
		// A server no line of which asks for a certificate is still
		// listed, so that people see it lets none in; with a CA file it
		// still asks for one in its handshake (what scan sees).
		srv := model.Server{Kind: "postgresql", Host: r.opts.Host, Location: refs.where(hbaPath, 1), Scope: "hba " + refs.where(hbaPath, 1),
			Listen: addresses, Mode: model.VerifyOff, Depth: -1}
		if sslOn && len(addresses) > 0 && len(anchors) > 0 {
			srv.Mode = model.VerifyOptional
		}
		r.settle(&srv, anchors, serverGates{none: true, texts: []string{"no pg_hba.conf line asks for a client certificate"}})
		if srv.Mode == model.VerifyOff {
			srv.Gates = []string{"no pg_hba.conf line asks for a client certificate"}
		}
		r.res.Servers = append(r.res.Servers, srv)
	}()
	for _, l := range hba {
		if !l.matchesSSL() {
			continue
		}
		if !l.asksCertificate() {
			earlier = append(earlier, l.HBALine)
			continue
		}
		asking++
		srv := model.Server{Kind: "postgresql " + l.Type, Host: r.opts.Host, Location: refs.where(l.file, l.Line), Listen: addresses, Mode: model.VerifyOn, Depth: -1, CRLs: crlNames}
		srv.Scope = "hba " + srv.Location
		for _, crl := range crls {
			srv.CRLIssuers = append(srv.CRLIssuers, crl.IssuerNormalized)
		}
		login := &model.Login{HBALine: l.HBALine, ClientName: l.clientName, Map: l.usermap, AnyName: l.clientCert == "verify-ca", Password: l.Method != "cert" && l.Method != "trust"}
		for _, e := range earlier {
			if e.Overlaps(l.HBALine) {
				login.Earlier = append(login.Earlier, e)
			}
		}
		if l.usermap != "" {
			login.Idents = maps[l.usermap]
		}
		srv.Login = login
		var gate serverGates
		gate.texts = append(gate.texts, l.describe())
		switch {
		case !loaded:
			unknownBecause(&srv, "PostgreSQL refuses to load its pg_hba.conf, which has an error")
		case !sslOn:
			srv.Mode = model.VerifyOff
			gate.texts = append(gate.texts, "ssl is off: no connection uses SSL")
		case len(addresses) == 0:
			srv.Mode = model.VerifyOff
			gate.texts = append(gate.texts, "listen_addresses is empty: no TCP connection")
		case len(anchors) == 0:
			// Without a CA file the server asks for no certificate, and
			// every login through the line fails.
			srv.Mode = model.VerifyOff
			gate.texts = append(gate.texts, "no ssl_ca_file: PostgreSQL asks for no certificate, and every login through this line fails")
		case crlUnread != "":
			unknownBecause(&srv, crlUnread)
		}
		if covering := l.coveredBy(earlier); covering != nil {
			gate.none = true
			gate.texts = append(gate.texts, fmt.Sprintf("never reached: line %d decides every connection it matches first", covering.Line))
		}
		if l.usermap != "" && !mapsLoaded && srv.Unknown == "" {
			gate.none = true
			gate.texts = append(gate.texts, "PostgreSQL loads no map from its pg_ident.conf (missing or with an error): no certificate logs in")
		}
		if !gate.none && srv.Mode == model.VerifyOn {
			pgNameGate(&gate, login, srv.Location, func(line int) string { return refs.where(identPath, line) })
		}
		if srv.Mode == model.VerifyOff {
			srv.Gates = gate.texts // settle adds nothing to a server that asks for no certificate
		}
		r.settle(&srv, anchors, gate)
		r.res.Servers = append(r.res.Servers, srv)
		earlier = append(earlier, l.HBALine)
	}
}

// netJoin is a listen address with the port: "127.0.0.1:5432",
// "[::1]:5432", "*:5432".
func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// pgNameGate states a line's name rule as trust entries: the name is a
// role the line takes (no map), or a map row's system name whose role
// the line takes. A line for every role (all, +group) without a map only
// needs a name: the role is the name.
func pgNameGate(g *serverGates, l *model.Login, hbaAt string, identAt func(line int) string) {
	if l.AnyName {
		return // clientcert=verify-ca: the chain alone
	}
	entry := func(pattern, label, at string) model.TrustEntry {
		e := model.TrustEntry{Kind: model.EntrySubjectDN, Value: pattern, Match: model.MatchCommonName, Label: label, Location: at}
		if l.ClientName == "DN" {
			e.Match = model.MatchSearch
		}
		return e
	}
	openRoles := slices.ContainsFunc(l.Roles, func(r string) bool { return r == "all" || strings.HasPrefix(r, "+") })
	if l.Map == "" {
		if openRoles {
			if l.ClientName != "DN" {
				g.entries = append(g.entries, entry(".", "any CN: the role it logs in as", hbaAt))
			}
			return
		}
		for _, role := range l.Roles {
			g.entries = append(g.entries, entry("^"+regexp.QuoteMeta(role)+"$", l.ClientName+" = role "+role, hbaAt))
		}
		return
	}
	for _, row := range l.Idents {
		if !openRoles && !strings.Contains(row.Role, `\1`) && !slices.Contains(l.Roles, row.Role) {
			continue
		}
		_, isRegex, err := row.Regex()
		switch {
		case err != nil:
			g.unknown = fmt.Sprintf("pg_ident.conf line %d: a regular expression certgov cannot read", row.Line)
			return
		case isRegex:
			g.entries = append(g.entries, entry(row.System[1:], "map "+l.Map, identAt(row.Line)))
		default:
			g.entries = append(g.entries, entry("^"+regexp.QuoteMeta(row.System)+"$", "map "+l.Map, identAt(row.Line)))
		}
	}
	if len(g.entries) == 0 {
		g.none = true
		g.texts = append(g.texts, "map "+l.Map+" has no row for a role the line takes in")
	}
}

// pgHBALine is one pg_hba.conf line as read.
type pgHBALine struct {
	model.HBALine
	file       string
	clientCert string // "", verify-ca, verify-full
	clientName string // CN, DN
	usermap    string
}

// matchesSSL reports whether the line can match a TCP connection over
// SSL: host, hostssl and hostnogssenc lines can.
func (l pgHBALine) matchesSSL() bool {
	return l.Type == "host" || l.Type == "hostssl" || l.Type == "hostnogssenc"
}

// asksCertificate reports whether a certificate decides the line: cert,
// or clientcert=verify-ca / verify-full.
func (l pgHBALine) asksCertificate() bool { return l.Method == "cert" || l.clientCert != "" }

// coveredBy is the earlier line that matches every connection l matches,
// if one does: l is then never reached.
func (l pgHBALine) coveredBy(earlier []model.HBALine) *model.HBALine {
	for i, e := range earlier {
		rolesOK := slices.Contains(e.Roles, "all") || !slices.ContainsFunc(l.Roles, func(r string) bool { return !slices.Contains(e.Roles, r) })
		dbsOK := slices.Contains(e.Databases, "all") || !slices.ContainsFunc(l.Databases, func(d string) bool { return !slices.Contains(e.Databases, d) })
		addrOK := e.Address == "all" || e.Address == l.Address
		if ep, err := netip.ParsePrefix(e.Address); err == nil {
			if lp, err := netip.ParsePrefix(l.Address); err == nil {
				addrOK = ep.Bits() <= lp.Bits() && ep.Contains(lp.Addr())
			}
		}
		if rolesOK && dbsOK && addrOK && !slices.Contains(l.Databases, "replication") {
			return &earlier[i]
		}
	}
	return nil
}

// describe writes the line for people without its other options (an
// ldapbindpasswd, a radiussecrets are secrets).
func (l pgHBALine) describe() string {
	parts := []string{fmt.Sprintf("pg_hba.conf line %d:", l.Line), l.Type, strings.Join(l.Databases, ","), strings.Join(l.Roles, ","), l.Address, l.Method}
	if l.clientCert != "" && l.Method != "cert" {
		parts = append(parts, "clientcert="+l.clientCert)
	}
	if l.clientName == "DN" {
		parts = append(parts, "clientname=DN")
	}
	if l.usermap != "" {
		parts = append(parts, "map="+l.usermap)
	}
	return strings.Join(parts, " ")
}

// pgToken is one token of pg_hba.conf or pg_ident.conf: quoted tokens
// are never keywords.
type pgToken struct {
	text   string
	quoted bool
}

// pgFields splits a line into fields, each a comma-separated list of
// tokens, as PostgreSQL's tokenizer does: a # outside quotes starts a
// comment.
func pgFields(line string) ([][]pgToken, error) {
	var fields [][]pgToken
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return fields, nil
		}
		var field []pgToken
		for {
			var tok pgToken
			var b strings.Builder
			inQuote := false
			for i < len(line) {
				ch := line[i]
				if !inQuote && (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',' || ch == '#') {
					break
				}
				if ch == '"' {
					if inQuote && i+1 < len(line) && line[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					inQuote = !inQuote
					tok.quoted = true
					i++
					continue
				}
				b.WriteByte(ch)
				i++
			}
			if inQuote {
				return nil, errors.New("a quote is never closed")
			}
			tok.text = b.String()
			field = append(field, tok)
			if i < len(line) && line[i] == ',' {
				// The list goes on after the comma, past any blanks.
				for i++; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
				}
				continue
			}
			break
		}
		fields = append(fields, field)
	}
}

// pgLines joins continued lines (a backslash at the end) and returns
// each logical line with its first line number.
func pgLines(data []byte) (lines []string, numbers []int) {
	var cur strings.Builder
	start := 0
	for n, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimRight(raw, "\r")
		if cur.Len() == 0 {
			start = n + 1
		}
		if strings.HasSuffix(raw, "\\") {
			cur.WriteString(raw[:len(raw)-1] + " ")
			continue
		}
		cur.WriteString(raw)
		lines, numbers = append(lines, cur.String()), append(numbers, start)
		cur.Reset()
	}
	if cur.Len() > 0 {
		lines, numbers = append(lines, cur.String()), append(numbers, start)
	}
	return lines, numbers
}

// maxConfigLines bounds the lines read of a list a configuration names
// (pg_hba.conf, pg_ident.conf, an HAProxy crt-list).
const maxConfigLines = 100_000

// parseHBA reads pg_hba.conf. loaded is false when a line has an error:
// PostgreSQL then loads none of it.
func parseHBA(r *reader, path string, data []byte) (out []pgHBALine, loaded bool) {
	loaded = true
	lists := &pgLists{r: r, files: map[string][]string{}}
	lines, numbers := pgLines(data)
	for i, text := range lines {
		if i%4096 == 0 && r.interrupted() {
			return out, false
		}
		if i >= maxConfigLines {
			r.problemIn(path, numbers[i], "pg_hba.conf", fmt.Errorf("more than %d lines; the rest are not read", maxConfigLines))
			return out, false
		}
		fields, err := pgFields(text)
		if err == nil && len(fields) > 0 {
			var l pgHBALine
			l, err = parseHBALine(lists, path, numbers[i], fields)
			if err == nil && l.Type != "" {
				out = append(out, l)
			}
		}
		if err != nil {
			r.problemIn(path, numbers[i], "pg_hba.conf", fmt.Errorf("%w (PostgreSQL loads no line of the file)", err))
			loaded = false
		}
	}
	return out, loaded
}

// pgConnectionTypes are PostgreSQL 15's; include lines came in 16.
var pgConnectionTypes = []string{"local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"}

// parseHBALine reads one line's fields, refusing what PostgreSQL refuses.
func parseHBALine(lists *pgLists, path string, number int, fields [][]pgToken) (pgHBALine, error) {
	l := pgHBALine{file: path, clientName: "CN"}
	l.Line = number
	single := func(f []pgToken, what string) (string, error) {
		if len(f) != 1 {
			return "", fmt.Errorf("more than one %s", what)
		}
		return f[0].text, nil
	}
	typ, err := single(fields[0], "connection type")
	if err != nil {
		return l, err
	}
	if !slices.Contains(pgConnectionTypes, typ) {
		return l, fmt.Errorf("%q is not a connection type of PostgreSQL 15", directiveName(typ))
	}
	l.Type = typ
	need := 4
	if typ != "local" {
		need = 5
	}
	if len(fields) < need {
		return l, errors.New("the line ends before its method")
	}
	at := 1
	if l.Databases, err = lists.expand(path, number, fields[at]); err != nil {
		return l, err
	}
	at++
	if l.Roles, err = lists.expand(path, number, fields[at]); err != nil {
		return l, err
	}
	at++
	if typ != "local" {
		addr, err := single(fields[at], "address")
		if err != nil {
			return l, err
		}
		at++
		l.Address, err = pgAddress(addr, fields, &at)
		if err != nil {
			return l, err
		}
	}
	if at >= len(fields) {
		return l, errors.New("the line ends before its method")
	}
	if l.Method, err = single(fields[at], "method"); err != nil {
		return l, err
	}
	if l.Method == "ident" && typ == "local" {
		l.Method = "peer"
	}
	if l.Method == "cert" && typ != "hostssl" {
		return l, errors.New("cert authentication is only supported on hostssl lines")
	}
	for _, f := range fields[at+1:] {
		for _, opt := range f {
			name, value, ok := strings.Cut(opt.text, "=")
			if !ok {
				return l, errors.New("an option not written name=value")
			}
			switch name {
			case "clientcert", "clientname":
				if typ != "hostssl" {
					return l, fmt.Errorf("%s only on hostssl lines", name)
				}
				if name == "clientname" {
					if value != "CN" && value != "DN" {
						return l, errors.New("clientname is CN or DN")
					}
					l.clientName = value
					continue
				}
				switch {
				case value == "verify-full":
					l.clientCert = value
				case value == "verify-ca" && l.Method == "cert":
					return l, errors.New("clientcert is only verify-full with cert authentication")
				case value == "verify-ca":
					l.clientCert = value
				default:
					return l, errors.New("clientcert is verify-ca or verify-full")
				}
			case "map":
				if !slices.Contains([]string{"ident", "peer", "gss", "sspi", "cert"}, l.Method) {
					return l, errors.New("map is only for ident, peer, gss, sspi and cert")
				}
				l.usermap = value
			}
		}
	}
	if l.Method == "cert" {
		l.clientCert = "verify-full"
	}
	return l, nil
}

// pgAddress reads a line's address: a keyword, a CIDR, an address and a
// mask in the next field, or a host name.
func pgAddress(addr string, fields [][]pgToken, at *int) (string, error) {
	switch addr {
	case "all", "samehost", "samenet":
		return addr, nil
	}
	if p, err := netip.ParsePrefix(addr); err == nil {
		return p.Masked().String(), nil
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr, nil // a host name
	}
	if *at >= len(fields) || len(fields[*at]) != 1 {
		return "", errors.New("an address without a mask")
	}
	mask, err := netip.ParseAddr(fields[*at][0].text)
	if err != nil || mask.BitLen() != ip.BitLen() {
		return "", errors.New("an invalid mask")
	}
	*at++
	bits := 0
	for _, b := range mask.AsSlice() {
		for ; b&0x80 != 0; b <<= 1 {
			bits++
		}
	}
	return netip.PrefixFrom(ip, bits).Masked().String(), nil
}

// pgLists expands the list fields of one pg_hba.conf: each @file read
// once, a file that names itself refused, and at most maxListTokens
// tokens in all (a file naming another twice at every level would
// otherwise grow without bound).
type pgLists struct {
	r         *reader
	files     map[string][]string // a file's tokens, expanded
	expanding []string
	tokens    int
}

const maxListTokens = 100_000

// pgName is a role or database name an @file may hold: PostgreSQL's
// identifier characters (a group's +, a quoted keyword's quotes), at most
// 63 bytes (NAMEDATALEN).
var pgName = regexp.MustCompile(`^(\+?[A-Za-z0-9_.\-]{1,63}|"[a-z]+")$`)

var errListTooLarge = fmt.Errorf("the @ files expand to more than %d names", maxListTokens)

// expand reads a list field: its tokens, with @file expanded (a file of
// tokens relative to the naming file's folder). Quoted keywords are
// names, kept in quotes so that they match no keyword.
func (p *pgLists) expand(path string, number int, field []pgToken) ([]string, error) {
	var out []string
	for _, t := range field {
		before := len(out)
		switch {
		case t.quoted && slices.Contains([]string{"all", "sameuser", "samerole", "samegroup", "replication"}, t.text):
			out = append(out, `"`+t.text+`"`)
		case !t.quoted && strings.HasPrefix(t.text, "@") && len(t.text) > 1:
			names, err := p.file(path, number, t.text)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
		default:
			out = append(out, t.text)
		}
		if p.tokens += len(out) - before; p.tokens > maxListTokens {
			return nil, errListTooLarge
		}
	}
	return out, nil
}

// file is the expanded tokens of an @file.
func (p *pgLists) file(path string, number int, written string) ([]string, error) {
	file, err := p.r.referencedPath(written[1:], path)
	if err != nil {
		// PostgreSQL logs it and reads the list as empty.
		p.r.problemIn(path, number, "pg_hba.conf", fmt.Errorf("%s: %w", written, err))
		return nil, nil
	}
	if names, ok := p.files[file]; ok {
		return names, nil
	}
	if slices.Contains(p.expanding, file) || len(p.expanding) >= maxIncludeDepth {
		return nil, fmt.Errorf("%s names itself, or @ files nest deeper than %d", written, maxIncludeDepth)
	}
	data, err := p.r.readReferenced(file)
	if err != nil {
		p.r.problemIn(path, number, "pg_hba.conf", fmt.Errorf("%s: %w", written, err))
		p.files[file] = nil
		return nil, nil
	}
	p.expanding = append(p.expanding, file)
	defer func() { p.expanding = p.expanding[:len(p.expanding)-1] }()
	var names []string
	for n, line := range strings.Split(string(data), "\n") {
		if n >= maxConfigLines {
			break
		}
		if n%4096 == 0 && p.r.interrupted() {
			return nil, p.r.ctx.Err()
		}
		fields, err := pgFields(line)
		if err != nil {
			continue
		}
		for _, f := range fields {
			more, err := p.expand(file, number, f)
			if err != nil {
				return nil, err
			}
			for _, name := range more {
				if !pgName.MatchString(name) {
					// Never a word of some other file (an @/etc/shadow)
					// in what certgov stores and prints.
					return nil, fmt.Errorf("%s line %d: not a role or database name", written, n+1)
				}
			}
			names = append(names, more...)
		}
	}
	p.files[file] = names
	return names, nil
}

// parseIdent reads pg_ident.conf's maps. loaded is false when a line has
// an error: PostgreSQL then loads no map.
func parseIdent(r *reader, path string, data []byte) (maps map[string][]model.IdentRule, loaded bool) {
	maps, loaded = map[string][]model.IdentRule{}, true
	lines, numbers := pgLines(data)
	for i, text := range lines {
		if i >= maxConfigLines || i%4096 == 0 && r.interrupted() {
			return nil, false
		}
		fields, err := pgFields(text)
		if err == nil && len(fields) == 0 {
			continue
		}
		if err == nil && len(fields) != 3 {
			err = errors.New("not MAPNAME SYSTEM-USERNAME PG-USERNAME")
		}
		if err == nil && slices.ContainsFunc(fields, func(f []pgToken) bool { return len(f) != 1 }) {
			err = errors.New("a list where one name is expected")
		}
		if err == nil {
			row := model.IdentRule{Line: numbers[i], System: fields[1][0].text, Role: fields[2][0].text}
			if _, _, reErr := row.Regex(); reErr != nil {
				err = errors.New("a regular expression certgov cannot read")
			}
			maps[fields[0][0].text] = append(maps[fields[0][0].text], row)
		}
		if err != nil {
			r.problemIn(path, numbers[i], "pg_ident.conf", fmt.Errorf("%w (PostgreSQL loads no map of the file)", err))
			loaded = false
		}
	}
	return maps, loaded
}

// pgConfigWords are settings only postgresql.conf has; two of them, set
// or in the commented defaults initdb and Debian write, make one.
var pgConfigWords = regexp.MustCompile(`(?m)^[ \t]*#?[ \t]*(max_connections|shared_buffers|hba_file|ident_file|ssl_ca_file|data_directory|max_wal_size|listen_addresses)[ \t]*=`)

// looksLikePostgreSQL recognises a postgresql.conf.
func looksLikePostgreSQL(data []byte) bool {
	seen := map[string]bool{}
	for _, m := range pgConfigWords.FindAllSubmatch(data, 64) {
		seen[string(m[1])] = true
	}
	return len(seen) >= 2
}
