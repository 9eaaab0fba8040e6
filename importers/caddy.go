package importers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"certgov/model"
)

// Caddy 2 (2.6, as Debian ships it) decides client certificates per TLS
// connection policy: a site's tls { client_auth { … } } in a Caddyfile,
// or tls_connection_policies[].client_authentication in its JSON. Go's
// crypto/tls does the work: require_and_verify and verify_if_given verify
// the chain with every trusted CA certificate as a root (partial chains,
// no depth bound, SHA-1 refused, the clientAuth purpose checked); require
// and request verify nothing. Trusted leaf certificates are pins: the
// leaf must be one of them, whatever the mode. What Caddy 2.6 really does,
// checked against it, differs from its documentation twice: without a
// mode it requires and verifies whenever a CA or a leaf is given (so a
// leaf list alone is verified against the machine's own CAs,
// caddyserver/caddy#4518), and its Caddyfile reads only the first
// certificate of a trusted_ca_cert_file or trusted_leaf_cert_file
// (caddyserver/caddy#5981). Relative paths are read from the folder Caddy
// runs in: certgov reads them from the configuration's folder, where
// `caddy run` is usually started.

// caddyLine is one line of a Caddyfile, with the block it opens.
type caddyLine struct {
	words []string
	line  int
	block []*caddyLine
	open  bool // it opens a block
}

// name is the line's first word: a directive or an address; "" for a
// block opened alone ("{").
func (l *caddyLine) name() string {
	if len(l.words) == 0 {
		return ""
	}
	return l.words[0]
}

// caddyWords splits a Caddyfile into lines of words: blanks separate,
// double quotes and backticks group, '#' at a word's start comments out
// the rest of the line.
func caddyWords(data []byte) ([]caddyLine, error) {
	var out []caddyLine
	for n, raw := range strings.Split(string(data), "\n") {
		var words []string
		text := raw
		for i := 0; i < len(text); {
			c := text[i]
			switch {
			case c == ' ' || c == '\t' || c == '\r':
				i++
			case c == '#':
				i = len(text)
			case c == '"' || c == '`':
				end := strings.IndexByte(text[i+1:], c)
				if end < 0 {
					return nil, fmt.Errorf("line %d: a quote is not closed", n+1)
				}
				words = append(words, text[i+1:i+1+end])
				i += end + 2
			default:
				j := i
				for j < len(text) && !strings.ContainsRune(" \t\r", rune(text[j])) {
					j++
				}
				words = append(words, text[i:j])
				i = j
			}
		}
		if len(words) > 0 {
			out = append(out, caddyLine{words: words, line: n + 1})
		}
	}
	return out, nil
}

// caddyTree nests the lines into blocks: a line ending in "{" opens one,
// a "}" alone closes it.
func caddyTree(lines []caddyLine) ([]*caddyLine, error) {
	var stack [][]*caddyLine
	var parents []*caddyLine
	var list []*caddyLine
	for i := range lines {
		l := &lines[i]
		if len(l.words) == 1 && l.words[0] == "}" {
			if len(parents) == 0 {
				return nil, fmt.Errorf("line %d: } closes no block", l.line)
			}
			parents[len(parents)-1].block = list
			list = stack[len(stack)-1]
			stack, parents = stack[:len(stack)-1], parents[:len(parents)-1]
			continue
		}
		list = append(list, l)
		if l.words[len(l.words)-1] == "{" {
			l.words, l.open = l.words[:len(l.words)-1], true
			stack, parents = append(stack, list), append(parents, l)
			list = nil
		}
	}
	if len(parents) > 0 {
		return nil, fmt.Errorf("line %d: a block is never closed", parents[len(parents)-1].line)
	}
	return list, nil
}

func (r *reader) readCaddy(data []byte) error {
	if looksLikeJSON(data) && json.Valid(data) {
		return r.readCaddyJSON(data)
	}
	lines, err := caddyWords(data)
	if err != nil {
		return fmt.Errorf("caddy: %w", err)
	}
	top, err := caddyTree(lines)
	if err != nil {
		return fmt.Errorf("caddy: %w", err)
	}
	snippets := map[string][]*caddyLine{}
	var sites []*caddyLine
	for _, l := range top {
		switch {
		case len(l.words) == 0 && l.open: // global options
		case len(l.words) == 1 && strings.HasPrefix(l.words[0], "(") && strings.HasSuffix(l.words[0], ")"):
			snippets[strings.Trim(l.words[0], "()")] = l.block
		case l.open:
			sites = append(sites, l)
		}
	}
	if len(sites) == 0 && len(top) > 0 && !top[0].open {
		// One site without braces: its address, then its directives.
		sites = append(sites, &caddyLine{words: top[0].words, line: top[0].line, block: top[1:]})
	}
	refs := newConfigFiles(r, r.path)
	for _, site := range sites {
		if r.interrupted() {
			return r.ctx.Err()
		}
		r.caddySite(site, snippets, refs)
	}
	return nil
}

// caddyClientAuth is a connection policy's client_authentication.
type caddyClientAuth struct {
	mode              string
	caFiles, leafFile []caddyRef
	caDER, leafDER    []caddyRef // inline base64 DER
	at                string     // where it is written
}

// caddyRef is a file or an inline certificate, with its line.
type caddyRef struct {
	value string
	line  int
}

// caddySite reads one site block: a server whose client_auth decides.
func (r *reader) caddySite(site *caddyLine, snippets map[string][]*caddyLine, refs *configFiles) {
	var addresses []string
	for _, w := range site.words {
		addresses = append(addresses, strings.Split(strings.Trim(w, ","), ",")...)
	}
	block := caddyExpand(site.block, snippets, 0)
	var auth *caddyClientAuth
	for _, d := range block {
		if d.name() != "tls" || !d.open {
			continue
		}
		for _, sub := range d.block {
			if sub.name() == "client_auth" && sub.open {
				auth = caddyReadClientAuth(sub, refs.where(r.path, sub.line))
			}
		}
	}
	if auth == nil {
		return // no client certificate is asked for
	}
	srv := model.Server{Kind: "caddy site", Host: r.opts.Host, Location: refs.where(r.path, site.line), Depth: -1}
	srv.Scope = "site " + srv.Location
	for _, a := range addresses {
		host, port := caddyAddress(a)
		if host != "" {
			srv.Names = append(srv.Names, host)
		}
		if port != "" && !slices.Contains(srv.Listen, port) {
			srv.Listen = append(srv.Listen, port)
		}
	}
	r.caddyPolicy(&srv, auth, refs, true)
	r.res.Servers = append(r.res.Servers, srv)
}

// caddyExpand splices in the snippets a block imports.
func caddyExpand(block []*caddyLine, snippets map[string][]*caddyLine, depth int) []*caddyLine {
	var out []*caddyLine
	for _, l := range block {
		if l.name() == "import" && len(l.words) > 1 && depth < maxIncludeDepth {
			if s, ok := snippets[l.words[1]]; ok {
				out = append(out, caddyExpand(s, snippets, depth+1)...)
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// caddyReadClientAuth reads a client_auth block.
func caddyReadClientAuth(block *caddyLine, at string) *caddyClientAuth {
	auth := &caddyClientAuth{at: at}
	for _, l := range block.block {
		if len(l.words) < 2 {
			continue
		}
		for _, v := range l.words[1:] {
			ref := caddyRef{value: v, line: l.line}
			switch l.words[0] {
			case "mode":
				auth.mode = v
			case "trusted_ca_cert_file":
				auth.caFiles = append(auth.caFiles, ref)
			case "trusted_leaf_cert_file":
				auth.leafFile = append(auth.leafFile, ref)
			case "trusted_ca_cert":
				auth.caDER = append(auth.caDER, ref)
			case "trusted_leaf_cert":
				auth.leafDER = append(auth.leafDER, ref)
			}
		}
	}
	return auth
}

// caddyAddress splits a site address ("https://api.example.com:8443",
// ":443", "example.com") into its host and port (443 for https or none).
func caddyAddress(address string) (host, port string) {
	a := address
	scheme, rest, hasScheme := strings.Cut(a, "://")
	if hasScheme {
		a = rest
	}
	a, _, _ = strings.Cut(a, "/")
	if h, p, err := net.SplitHostPort(a); err == nil {
		return h, p
	}
	if hasScheme && scheme == "http" {
		return a, "80"
	}
	return a, "443"
}

// caddyPolicy decides a connection policy's clients as Go's crypto/tls
// under Caddy does; firstOnly: its files were named in a Caddyfile, whose
// adapter keeps the first certificate of each.
func (r *reader) caddyPolicy(srv *model.Server, auth *caddyClientAuth, refs *configFiles, firstOnly bool) {
	mode := auth.mode
	hasCA, hasLeaf := len(auth.caFiles)+len(auth.caDER) > 0, len(auth.leafFile)+len(auth.leafDER) > 0
	if mode == "" {
		mode = "require_and_verify"
		if !hasCA && !hasLeaf {
			srv.Mode = model.VerifyOff // nothing set: Caddy asks for no certificate
			return
		}
	}
	if !hasCA && (mode == "require_and_verify" || mode == "verify_if_given") {
		unknownBecause(srv, "client_auth "+mode+" without a trusted CA verifies against the machine's own CAs, which certgov does not read (caddyserver/caddy#4518: set mode require for a leaf list)")
	}
	read := func(name string, f caddyRef) configFile {
		file := refs.read(f.value, r.path, f.line, name)
		if firstOnly && len(file.certs) > 1 {
			r.problem(f.line, name, fmt.Errorf("%s holds %d certificates; Caddy 2.6's Caddyfile keeps only the first (caddyserver/caddy#5981)", f.value, len(file.certs)))
			file.certs = file.certs[:1]
		}
		return file
	}
	switch mode {
	case "require_and_verify":
		srv.Mode = model.VerifyOn
	case "verify_if_given":
		srv.Mode = model.VerifyOptional
	case "require", "request":
		// Go asks (and under require insists) but verifies nothing.
		srv.Mode, srv.IgnoresVerifyErrors = model.VerifyOptionalNoCA, true
	default:
		srv.Mode = model.VerifyOn
		unknownBecause(srv, fmt.Sprintf("client_auth mode %q is not one Caddy knows (caddy validate refuses it)", mode))
	}
	srv.Gates = append(srv.Gates, "client_auth mode "+mode+" at "+auth.at)
	var anchors []serverAnchors
	for _, f := range auth.caFiles {
		anchors = append(anchors, serverAnchors{directive: "trusted_ca_cert_file", written: f.value, at: refs.where(r.path, f.line),
			read: read("trusted_ca_cert_file", f), caNames: true, match: model.MatchPartialChain})
	}
	for _, d := range auth.caDER {
		anchors = append(anchors, serverAnchors{directive: "trusted_ca_cert", written: "(inline)", at: refs.where(r.path, d.line),
			read: r.caddyInline(d), caNames: true, match: model.MatchPartialChain})
	}
	var gate serverGates
	pin := func(name, written string, line int, read configFile) {
		if read.err != nil || len(read.certs) == 0 {
			unknownBecause(srv, name+" "+written+" cannot be read")
		}
		for _, c := range read.certs {
			gate.entries = append(gate.entries, model.TrustEntry{Kind: model.EntryFingerprint, Value: c.FingerprintSHA256, HashAlgorithm: "sha256",
				Label: name + " " + filepath.Base(written), Location: refs.where(r.path, line) + ": " + name})
		}
	}
	for _, f := range auth.leafFile {
		pin("trusted_leaf_cert_file", f.value, f.line, read("trusted_leaf_cert_file", f))
	}
	for _, d := range auth.leafDER {
		pin("trusted_leaf_cert", "(inline)", d.line, r.caddyInline(d))
	}
	if len(gate.entries) > 0 {
		gate.texts = append(gate.texts, "trusted leaf certificates: the client's must be one of them")
	}
	if !gate.verifies(srv.Mode) {
		for _, a := range anchors {
			srv.Anchors = append(srv.Anchors, a.directive+" "+a.written)
		}
		anchors = nil // listed, but no chain is built to them
	}
	r.settle(srv, anchors, gate)
}

// caddyInline reads a certificate written inline as base64 DER.
func (r *reader) caddyInline(d caddyRef) configFile {
	der, err := base64.StdEncoding.DecodeString(d.value)
	if err != nil {
		r.problem(d.line, "inline certificate", errors.New("not base64 DER"))
		return configFile{err: err}
	}
	before := len(r.res.Certificates)
	r.addCertificate(der, d.line, fmt.Sprintf("line %d", d.line))
	return configFile{path: r.path, certs: slices.Clone(r.res.Certificates[before:])}
}

// caddyJSON is the part of Caddy's JSON configuration that decides
// client certificates.
type caddyJSON struct {
	Apps struct {
		HTTP struct {
			Servers map[string]struct {
				Listen   []string `json:"listen"`
				Policies []struct {
					Match struct {
						SNI []string `json:"sni"`
					} `json:"match"`
					ClientAuth *struct {
						Mode         string   `json:"mode"`
						CACerts      []string `json:"trusted_ca_certs"`
						CAFiles      []string `json:"trusted_ca_certs_pem_files"`
						LeafCerts    []string `json:"trusted_leaf_certs"`
						LeafPEMFiles []string `json:"trusted_leaf_certs_pem_files"`
					} `json:"client_authentication"`
				} `json:"tls_connection_policies"`
			} `json:"servers"`
		} `json:"http"`
	} `json:"apps"`
}

// readCaddyJSON reads a Caddy JSON configuration: one server per
// connection policy with client_authentication.
func (r *reader) readCaddyJSON(data []byte) error {
	var conf caddyJSON
	if err := json.Unmarshal(data, &conf); err != nil {
		return fmt.Errorf("caddy: %w", err)
	}
	refs := newConfigFiles(r, r.path)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range conf.Apps.HTTP.Servers {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		s := conf.Apps.HTTP.Servers[name]
		for i, p := range s.Policies {
			if p.ClientAuth == nil {
				continue
			}
			where := fmt.Sprintf("server %q policy %d", name, i)
			srv := model.Server{Kind: "caddy policy", Host: r.opts.Host, Location: where, Depth: -1, Names: p.Match.SNI, Scope: where}
			for _, l := range s.Listen {
				srv.Listen = append(srv.Listen, strings.TrimPrefix(l, "tcp/"))
			}
			if len(srv.Names) == 0 {
				srv.Names = []string{name}
			}
			auth := &caddyClientAuth{mode: p.ClientAuth.Mode, at: where}
			for _, v := range p.ClientAuth.CAFiles {
				auth.caFiles = append(auth.caFiles, caddyRef{value: v})
			}
			for _, v := range p.ClientAuth.LeafPEMFiles {
				auth.leafFile = append(auth.leafFile, caddyRef{value: v})
			}
			for _, v := range p.ClientAuth.CACerts {
				auth.caDER = append(auth.caDER, caddyRef{value: v})
			}
			for _, v := range p.ClientAuth.LeafCerts {
				auth.leafDER = append(auth.leafDER, caddyRef{value: v})
			}
			r.caddyPolicy(&srv, auth, refs, false)
			r.res.Servers = append(r.res.Servers, srv)
		}
	}
	return nil
}

// caddyfilePattern finds a Caddyfile's client_auth block or its tls
// directive beside the directives every site has.
var (
	caddyClientAuthPattern = regexp.MustCompile(`(?m)^\s*client_auth\s*\{`)
	caddyTLSPattern        = regexp.MustCompile(`(?m)^\s*tls\s+\S`)
	caddySitePattern       = regexp.MustCompile(`(?m)^\s*(reverse_proxy|respond|file_server|encode|php_fastcgi)\b`)
)

// looksLikeCaddy recognises a Caddyfile, or Caddy's JSON.
func looksLikeCaddy(data []byte) bool {
	if bytes.Contains(data, []byte(`"tls_connection_policies"`)) {
		return true
	}
	return caddyClientAuthPattern.Match(data) || caddyTLSPattern.Match(data) && caddySitePattern.Match(data)
}
