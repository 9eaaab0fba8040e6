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

// stunnel (5, as Debian's stunnel4 ships it) decides client certificates
// per service section in server mode. verifyChain verifies the chain to
// CAfile / CApath (OpenSSL's default depth: no bound); verifyPeer admits
// only a certificate that is itself in that store (pinning: every
// certificate of CAfile is a pin), and with verifyChain as well both must
// hold; either implies requireCert, which otherwise only asks. The legacy
// verify = 0…4 maps onto them. CRLfile / CRLpath are checked for every
// certificate of the chain. checkHost, checkEmail and checkIP admit only
// certificates naming one of them. Options written before the first
// section are every service's defaults; a relative path is read from the
// folder stunnel was started in, so certgov reports it rather than guess.

// stunnelOption is one "name = value" line.
type stunnelOption struct {
	name, value string
	line        int
}

// stunnelService is a section with its options, the global ones first.
type stunnelService struct {
	name    string
	line    int
	options []stunnelOption
}

// all returns the values of an option, in order (a service's own after
// the global defaults, which they replace for single-valued options).
func (s *stunnelService) all(name string) []stunnelOption {
	var out []stunnelOption
	for _, o := range s.options {
		if strings.EqualFold(o.name, name) {
			out = append(out, o)
		}
	}
	return out
}

// last is the option's value in force: the last one written.
func (s *stunnelService) last(name string) (stunnelOption, bool) {
	all := s.all(name)
	if len(all) == 0 {
		return stunnelOption{}, false
	}
	return all[len(all)-1], true
}

// yes reports whether a yes/no option is on.
func (s *stunnelService) yes(name string) bool {
	o, ok := s.last(name)
	return ok && strings.EqualFold(o.value, "yes")
}

func (r *reader) readStunnel(data []byte) error {
	var global []stunnelOption
	var services []*stunnelService
	for n, raw := range strings.Split(string(data), "\n") {
		if n%4096 == 0 && r.interrupted() {
			return r.ctx.Err()
		}
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			s := &stunnelService{name: strings.TrimSpace(line[1 : len(line)-1]), line: n + 1, options: slices.Clone(global)}
			services = append(services, s)
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			r.problem(n+1, "line", errors.New("not \"option = value\" (stunnel refuses it)"))
			continue
		}
		o := stunnelOption{name: strings.TrimSpace(name), value: strings.TrimSpace(value), line: n + 1}
		if strings.EqualFold(o.name, "include") {
			r.problem(n+1, "include", errors.New("included folders are not read: import the files in it"))
			continue
		}
		if len(services) == 0 {
			global = append(global, o)
		} else {
			last := services[len(services)-1]
			last.options = append(last.options, o)
		}
	}
	if len(services) == 0 {
		return errors.New("stunnel: no service section ([name])")
	}
	refs := newConfigFiles(r, r.path)
	for _, s := range services {
		if s.yes("client") {
			continue // it presents a certificate; it decides on none
		}
		r.res.Servers = append(r.res.Servers, r.stunnelService(s, refs))
	}
	return nil
}

// stunnelService reads one server-mode service as stunnel decides its
// clients.
func (r *reader) stunnelService(s *stunnelService, refs *configFiles) model.Server {
	srv := model.Server{Kind: "stunnel service", Host: r.opts.Host, Location: refs.where(r.path, s.line), Mode: model.VerifyOff, Depth: -1,
		Names: []string{s.name}}
	srv.Scope = "service " + srv.Location
	if accept, ok := s.last("accept"); ok {
		srv.Listen = []string{accept.value}
	}
	chain, peer := s.yes("verifyChain"), s.yes("verifyPeer")
	require := s.yes("requireCert") || chain || peer
	if v, ok := s.last("verify"); ok {
		// The legacy levels, as stunnel maps them onto the options.
		levels := map[string][3]bool{"0": {false, false, true}, "1": {true, false, false}, "2": {true, false, true}, "3": {true, true, true}, "4": {false, true, true}}
		level, known := levels[v.value]
		if !known {
			r.problem(v.line, "verify", fmt.Errorf("%q is not a level 0 to 4", directiveName(v.value)))
			unknownBecause(&srv, "its verify level is not one stunnel knows")
		}
		chain, peer, require = level[0], level[1], level[2]
	}
	switch {
	case peer:
		srv.Mode = model.VerifyRegistered
		if chain {
			srv.Mode = model.VerifyOn
		}
	case chain && require:
		srv.Mode = model.VerifyOn
	case chain:
		srv.Mode = model.VerifyOptional
	case require:
		srv.Mode = model.VerifyOptionalNoCA
	}
	var store []serverAnchors
	for _, name := range []string{"CAfile", "CApath"} {
		o, ok := s.last(name)
		if !ok {
			continue
		}
		path, err := r.stunnelPath(o.value)
		read := configFile{err: err}
		switch {
		case err != nil:
			r.problem(o.line, name, fmt.Errorf("%s: %w", o.value, err))
			unknownBecause(&srv, name+" "+o.value+": "+err.Error())
		case name == "CApath":
			read = refs.readHashedFolder(path, o.value, r.path, o.line, name)
		default:
			read = refs.readPath(path, o.value, r.path, o.line, name)
		}
		store = append(store, serverAnchors{directive: name, written: o.value, at: refs.where(r.path, o.line), read: read, caNames: true})
	}
	var crls []model.CRL
	for _, name := range []string{"CRLfile", "CRLpath"} {
		if o, ok := s.last(name); ok {
			srv.CRLs = append(srv.CRLs, o.value)
			path, err := r.stunnelPath(o.value)
			if err != nil {
				r.problem(o.line, name, fmt.Errorf("%s: %w", o.value, err))
				unknownBecause(&srv, "its CRLs "+o.value+" cannot be read")
				continue
			}
			var read configFile
			if name == "CRLpath" {
				read = refs.readHashedFolder(path, o.value, r.path, o.line, name)
			} else {
				read = refs.readPath(path, o.value, r.path, o.line, name)
			}
			if read.err != nil && srv.Mode != model.VerifyOff {
				unknownBecause(&srv, "its CRLs "+o.value+" cannot be read")
			}
			crls = append(crls, read.crls...)
		}
	}
	for _, crl := range crls {
		srv.CRLIssuers = append(srv.CRLIssuers, crl.IssuerNormalized)
	}
	if srv.Mode == model.VerifyOff {
		return srv
	}
	// Without verifyChain stunnel's verify callback forgives every error
	// OpenSSL reports: an expired or SHA-1-signed certificate gets in.
	srv.IgnoresVerifyErrors = !chain
	gate := stunnelGates(s, chain || peer)
	if peer {
		// verifyPeer: the certificate itself must be in the store.
		for _, a := range store {
			if a.read.err != nil {
				unknownBecause(&srv, a.directive+" "+a.written+" cannot be read")
			}
			for _, c := range a.read.certs {
				gate.entries = append(gate.entries, model.TrustEntry{Kind: model.EntryFingerprint, Value: c.FingerprintSHA256, HashAlgorithm: "sha256",
					Label: "verifyPeer: " + a.directive + " " + filepath.Base(a.written), Location: a.at + ": " + a.directive})
			}
		}
		gate.texts = append(gate.texts, "verifyPeer: only the certificates of its CAfile / CApath")
		if len(gate.entries) == 0 && srv.Unknown == "" {
			gate.none = true
		}
	}
	if !chain {
		for i := range store {
			// No chain is built to them; they are pins or names only. stunnel
			// still sends their subjects as the CA names it asks for.
			for _, c := range store[i].read.certs {
				srv.CANames = append(srv.CANames, c.Subject)
			}
			store[i].read.certs = nil
		}
		for _, a := range store {
			srv.Anchors = append(srv.Anchors, a.directive+" "+a.written)
		}
		store = nil
	}
	r.settle(&srv, store, gate)
	return srv
}

// stunnelPath resolves a file an option names: stunnel reads a relative
// path from the folder it was started in, which certgov cannot know.
func (r *reader) stunnelPath(written string) (string, error) {
	if !filepath.IsAbs(written) {
		return "", errors.New("a relative path: stunnel reads it from the folder it was started in")
	}
	return r.referencedPath(written, r.path)
}

// stunnelGates reads checkHost, checkEmail and checkIP: the certificate
// must name one of them (X509_check_host and friends: a DNS SAN, or the
// CN when the certificate has none).
func stunnelGates(s *stunnelService, verifies bool) serverGates {
	var g serverGates
	for _, check := range []string{"checkHost", "checkEmail", "checkIP"} {
		for _, o := range s.all(check) {
			if !verifies {
				g.unknown = check + " without verifyChain or verifyPeer is not checked by stunnel"
				return g
			}
			g.texts = append(g.texts, fmt.Sprintf("%s = %s (line %d)", check, o.value, o.line))
			where := fmt.Sprintf("line %d: %s", o.line, check)
			switch check {
			case "checkHost":
				g.entries = append(g.entries,
					model.TrustEntry{Kind: model.EntrySAN, SANType: "dns", Value: strings.ToLower(o.value), Label: check + " " + o.value, Location: where},
					model.TrustEntry{Kind: model.EntrySubjectDN, Value: "(?i)" + model.AttributePattern("CN", o.value), Match: model.MatchSearch, Label: check + " " + o.value + " (the CN)", Location: where})
			case "checkEmail":
				g.entries = append(g.entries,
					model.TrustEntry{Kind: model.EntrySAN, SANType: "email", Value: o.value, Label: check + " " + o.value, Location: where},
					model.TrustEntry{Kind: model.EntrySubjectDN, Value: "(?i)" + model.AttributePattern("emailAddress", o.value), Match: model.MatchSearch, Label: check + " " + o.value + " (the DN's emailAddress)", Location: where})
			case "checkIP":
				g.entries = append(g.entries, model.TrustEntry{Kind: model.EntrySAN, SANType: "ip", Value: o.value, Label: check + " " + o.value, Location: where})
			}
			g.names = append(g.names, check+" "+o.value)
		}
	}
	return g
}

// stunnelSection is a service section header; stunnelAccept an accept
// option.
var (
	stunnelSection = regexp.MustCompile(`(?m)^\s*\[[^\]\n]+\]\s*$`)
	stunnelAccept  = regexp.MustCompile(`(?mi)^\s*(accept|connect)\s*=\s*\S+`)
)

// looksLikeStunnel recognises an stunnel configuration: a [service]
// section and accept or connect options.
func looksLikeStunnel(data []byte) bool {
	return bytes.Contains(data, []byte("=")) && stunnelSection.Match(data) && stunnelAccept.Match(data)
}
