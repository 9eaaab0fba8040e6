package importers

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"certgov/model"
)

// Envoy CertificateValidationContext, in YAML or JSON, anywhere inside a
// configuration: trusted_ca (filename, inline_string or inline_bytes),
// verify_certificate_hash, verify_certificate_spki,
// match_typed_subject_alt_names and the legacy match_subject_alt_names.
// YAML is read with go.yaml.in/yaml/v3 (which reads JSON too), keeping line
// numbers for every problem.

// maxYAMLNodes bounds what a YAML file may make the decoder build: a
// node tree costs tens of times the text it comes from (8 MB of small
// nodes took 715 MiB), and gateway configs and Secret lists hold far
// fewer nodes than this.
const maxYAMLNodes = 250_000

// yamlDocuments decodes every document of a (multi-document) YAML file.
func yamlDocuments(data []byte) ([]*yaml.Node, error) {
	// Every node but the first of a line or a document starts after a
	// separator: counting them bounds the nodes before any is built.
	if n := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{','}) + bytes.Count(data, []byte{':'}) +
		bytes.Count(data, []byte{'['}) + bytes.Count(data, []byte{'{'}) + bytes.Count(data, []byte{'-'}); n > 2*maxYAMLNodes {
		return nil, fmt.Errorf("YAML: too many elements (about %d; certgov reads configs of up to %d)", n/2, maxYAMLNodes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("YAML: %w", err)
		}
		docs = append(docs, &doc)
	}
}

// yamlGet returns the value of key in a mapping node, or nil.
func yamlGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlWalk visits every mapping node below n, depth first, without
// following aliases.
func yamlWalk(n *yaml.Node, depth int, visit func(*yaml.Node)) {
	if n == nil || depth > 64 {
		return
	}
	if n.Kind == yaml.MappingNode {
		visit(n)
	}
	for _, c := range n.Content {
		yamlWalk(c, depth+1, visit)
	}
}

var validationContextKeys = []string{"trusted_ca", "verify_certificate_hash", "verify_certificate_spki", "match_typed_subject_alt_names", "match_subject_alt_names"}

func isValidationContext(n *yaml.Node) bool {
	for _, k := range validationContextKeys {
		if yamlGet(n, k) != nil {
			return true
		}
	}
	return false
}

func (r *reader) readEnvoy(data []byte) error {
	docs, err := yamlDocuments(data)
	if err != nil {
		return fmt.Errorf("envoy: %w", err)
	}
	found := 0
	for _, doc := range docs {
		listeners := envoyListeners(doc)
		yamlWalk(doc, 0, func(n *yaml.Node) {
			if isValidationContext(n) && !r.interrupted() {
				found++
				r.envoyValidationContext(n)
				if l, ok := listeners[n]; ok {
					r.envoyServer(n, l)
				}
			}
		})
	}
	if found == 0 {
		return errors.New("envoy: no CertificateValidationContext (trusted_ca, verify_certificate_hash, …) found")
	}
	return nil
}

// envoyListener is the listener filter chain a validation context
// verifies clients for.
type envoyListener struct {
	name, port string
	chain      int // index among the listener's filter chains
	chains     int
	require    bool // require_client_certificate
	// accessLogs are the access_log entries that log its requests: the
	// listener's own and its chain's HTTP connection manager's.
	accessLogs []*yaml.Node
}

// envoyListeners finds, for each validation context inside a listener's
// filter chain, that listener and chain. A validation context elsewhere
// (a cluster's, verifying upstream servers) verifies no client.
func envoyListeners(doc *yaml.Node) map[*yaml.Node]envoyListener {
	out := map[*yaml.Node]envoyListener{}
	yamlWalk(doc, 0, func(n *yaml.Node) {
		chains := yamlSequence(yamlGet(n, "filter_chains"))
		if len(chains) == 0 {
			return
		}
		port := yamlString(yamlGet(yamlGet(n, "address"), "socket_address"), "port_value")
		for i, chain := range chains {
			l := envoyListener{name: yamlString(n, "name"), port: port, chain: i, chains: len(chains)}
			l.accessLogs = yamlSequence(yamlGet(n, "access_log"))
			yamlWalk(chain, 0, func(m *yaml.Node) {
				if yamlString(m, "require_client_certificate") == "true" {
					l.require = true
				}
				l.accessLogs = append(l.accessLogs, yamlSequence(yamlGet(m, "access_log"))...)
			})
			yamlWalk(chain, 0, func(m *yaml.Node) {
				if isValidationContext(m) {
					out[m] = l
				}
			})
		}
	})
	return out
}

// envoyServer records the listener filter chain that uses validation
// context n: Envoy verifies a presented certificate whether or not it
// requires one (require_client_certificate: on, else optional), to the
// depth max_verify_depth sets (unbounded otherwise; its 0, the leaf alone,
// is taken as a chain straight from an anchor).
func (r *reader) envoyServer(n *yaml.Node, l envoyListener) {
	name := "envoy " + cmp.Or(l.name, "listener")
	if l.chains > 1 {
		name = fmt.Sprintf("%s chain %d", name, l.chain+1)
	}
	srv := model.Server{Kind: "envoy listener", Host: r.opts.Host, Names: []string{name}, Location: fmt.Sprintf("%s:%d", filepath.Base(r.path), n.Line),
		Mode: model.VerifyOptional, Depth: -1, Scope: fmt.Sprintf("validation context line %d", n.Line)}
	if l.port != "" {
		srv.Listen = []string{l.port}
	}
	if l.require {
		srv.Mode = model.VerifyOn
	}
	if v := yamlString(n, "max_verify_depth"); v != "" {
		if depth, err := strconv.Atoi(v); err == nil && depth >= 0 {
			// Envoy counts the anchor ("1 allows the leaf and one CA
			// certificate"); OpenSSL's depth counts the CAs between.
			srv.Depth = max(depth-1, 0)
		} else {
			r.problem(yamlGet(n, "max_verify_depth").Line, "max_verify_depth", fmt.Errorf("%q is not a depth", v))
		}
	}
	for _, key := range validationContextKeys {
		if yamlGet(n, key) != nil {
			srv.Gates = append(srv.Gates, key)
		}
	}
	if ca := yamlGet(n, "trusted_ca"); ca != nil {
		srv.Anchors = []string{"trusted_ca " + cmp.Or(yamlString(ca, "filename"), "(inline)")}
	}
	for _, entry := range l.accessLogs {
		if log, ok := r.envoyAccessLog(entry); ok {
			srv.AccessLogs = append(srv.AccessLogs, log)
		}
	}
	r.res.Servers = append(r.res.Servers, srv)
}

// envoyAccessLog reads one access_log entry: a file logger's path and
// format (log_format's json_format, as JSON, or its text format; the
// legacy format and json_format beside path). Envoy's default format,
// used when none is set, logs no client certificate. Standard output
// and other loggers write no file certgov can read.
func (r *reader) envoyAccessLog(entry *yaml.Node) (model.AccessLog, bool) {
	config := yamlGet(entry, "typed_config")
	path := yamlString(config, "path")
	if path == "" || strings.HasPrefix(path, "/dev/") {
		return model.AccessLog{}, false
	}
	log := model.AccessLog{Path: path, Written: path, Dialect: model.LogDialectEnvoy, FormatName: "default format", Format: envoyDefaultFormat,
		Location: fmt.Sprintf("%s:%d", filepath.Base(r.path), entry.Line)}
	format := cmp.Or(yamlGet(config, "log_format"), config)
	if text := yamlString(yamlGet(format, "text_format_source"), "inline_string"); text != "" {
		log.FormatName, log.Format = "text_format_source", text
	} else if text := cmp.Or(yamlString(format, "text_format"), yamlString(config, "format")); text != "" {
		log.FormatName, log.Format = "text_format", text
	}
	if tree := yamlGet(format, "json_format"); tree != nil {
		var fields map[string]any
		if err := tree.Decode(&fields); err != nil {
			r.problem(tree.Line, "json_format", err)
			return model.AccessLog{}, false
		}
		encoded, err := json.Marshal(fields)
		if err != nil {
			r.problem(tree.Line, "json_format", err)
			return model.AccessLog{}, false
		}
		log.FormatName, log.Format = "json_format", string(encoded)
	}
	return log, true
}

// envoyDefaultFormat is Envoy's format for a file logger that sets none.
const envoyDefaultFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

// envoyValidationContext reads one CertificateValidationContext. Envoy
// admits a certificate there only when every condition the context states
// holds: its chain verifies to trusted_ca (when set), one SAN matcher
// matches (when any), one hash or SPKI pin matches (when any). So its
// entries share a scope and are all-of conditions.
func (r *reader) envoyValidationContext(n *yaml.Node) {
	before := len(r.res.TrustEntries)
	defer func() {
		for i := before; i < len(r.res.TrustEntries); i++ {
			r.res.TrustEntries[i].Scope = fmt.Sprintf("validation context line %d", n.Line)
			r.res.TrustEntries[i].AllOf = true
		}
	}()
	if ca := yamlGet(n, "trusted_ca"); ca != nil {
		r.envoyTrustedCA(ca)
	}
	for _, h := range yamlSequence(yamlGet(n, "verify_certificate_hash")) {
		value, algorithm, err := model.ParseFingerprintPin(h.Value)
		if err != nil {
			r.problem(h.Line, "verify_certificate_hash", err)
			continue
		}
		r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{Kind: model.EntryFingerprint, Value: value, HashAlgorithm: algorithm,
			Label: "verify_certificate_hash", Location: fmt.Sprintf("line %d", h.Line)})
	}
	for _, h := range yamlSequence(yamlGet(n, "verify_certificate_spki")) {
		value, err := model.ParseSPKIPin(h.Value)
		if err != nil {
			r.problem(h.Line, "verify_certificate_spki", err)
			continue
		}
		r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{Kind: model.EntrySPKI, Value: value, HashAlgorithm: "sha256",
			Label: "verify_certificate_spki", Location: fmt.Sprintf("line %d", h.Line)})
	}
	for _, m := range yamlSequence(yamlGet(n, "match_typed_subject_alt_names")) {
		sanType, ok := envoySANTypes[yamlString(m, "san_type")]
		if !ok {
			r.problem(m.Line, "match_typed_subject_alt_names", fmt.Errorf("san_type %q (DNS, URI, EMAIL, IP_ADDRESS)", yamlString(m, "san_type")))
			continue
		}
		r.envoyMatcher(yamlGet(m, "matcher"), sanType, m.Line)
	}
	for _, m := range yamlSequence(yamlGet(n, "match_subject_alt_names")) {
		r.envoyMatcher(m, "", m.Line)
	}
}

var envoySANTypes = map[string]string{"DNS": "dns", "URI": "uri", "EMAIL": "email", "IP_ADDRESS": "ip"}

// envoyMatcher reads a StringMatcher: exact, prefix, suffix, contains or
// safe_regex.regex.
func (r *reader) envoyMatcher(m *yaml.Node, sanType string, line int) {
	entry := model.TrustEntry{Kind: model.EntrySAN, SANType: sanType, Label: "match_subject_alt_names", Location: fmt.Sprintf("line %d", line)}
	for _, match := range []string{model.MatchExact, model.MatchPrefix, model.MatchSuffix, model.MatchContains} {
		if v := yamlGet(m, match); v != nil {
			entry.Match, entry.Value = match, v.Value
		}
	}
	if yamlGet(yamlGet(m, "safe_regex"), "regex") != nil {
		entry.Match, entry.Value = model.MatchRegex, yamlString(yamlGet(m, "safe_regex"), "regex")
	}
	if entry.Match == "" {
		r.problem(line, "subject alt name matcher", errors.New("no exact, prefix, suffix, contains or safe_regex"))
		return
	}
	if yamlString(m, "ignore_case") == "true" && entry.Match == model.MatchRegex {
		entry.Value = "(?i)" + entry.Value
	}
	r.res.TrustEntries = append(r.res.TrustEntries, entry)
}

// envoyTrustedCA reads a DataSource of CA certificates.
func (r *reader) envoyTrustedCA(ds *yaml.Node) {
	location := fmt.Sprintf("line %d: trusted_ca", ds.Line)
	var data []byte
	caPath := r.path
	switch {
	case yamlGet(ds, "inline_string") != nil:
		data = []byte(yamlString(ds, "inline_string"))
	case yamlGet(ds, "inline_bytes") != nil:
		decoded, err := base64.StdEncoding.DecodeString(yamlString(ds, "inline_bytes"))
		if err != nil {
			r.problem(ds.Line, "trusted_ca", fmt.Errorf("inline_bytes: %w", err))
			return
		}
		data = decoded
	case yamlGet(ds, "filename") != nil:
		var err error
		if caPath, err = r.referencedPath(yamlString(ds, "filename"), r.path); err != nil {
			r.problem(ds.Line, "trusted_ca", err)
			return
		}
		if data, err = r.readReferenced(caPath); err != nil {
			r.problem(ds.Line, "trusted_ca", err)
			return
		}
	default:
		r.problem(ds.Line, "trusted_ca", errors.New("no filename, inline_string or inline_bytes"))
		return
	}
	// Envoy sets X509_V_FLAG_PARTIAL_CHAIN: an intermediate in trusted_ca
	// is an anchor by itself.
	r.trustCAData(caPath, data, ds.Line, location, "trusted_ca", "", model.MatchPartialChain)
}

// trustCAData reads the PEM anchor list that a configuration names or
// embeds: its certificates are inventoried, and each becomes an anchor
// entry of the configuration, in scope (the server or validation context
// that uses it), with match "" (OpenSSL's rules) or
// model.MatchPartialChain. Problems inside name the file they are in.
func (r *reader) trustCAData(path string, data []byte, line int, location, label, scope, match string) {
	ca := &reader{ctx: r.ctx, path: path, opts: r.opts, res: &model.FileResult{}}
	if err := ca.readPEM(data); err != nil {
		r.problem(line, label, err)
		return
	}
	if len(ca.res.Certificates) == 0 && len(ca.res.Problems) == 0 {
		r.problem(line, label, errors.New("no certificates"))
	}
	r.res.Problems = append(r.res.Problems, ca.res.Problems...)
	for _, c := range ca.res.Certificates {
		c.Location = strings.TrimSuffix(location+", "+c.Location, ", ")
		r.res.Certificates = append(r.res.Certificates, c)
	}
	r.anchors(ca.res.Certificates, label, location, scope, match)
}

// yamlString is the scalar value of key in a mapping, or "".
func yamlString(n *yaml.Node, key string) string {
	if v := yamlGet(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func yamlSequence(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// looksLikeEnvoy: YAML or JSON naming validation context fields.
func looksLikeEnvoy(data []byte) bool {
	for _, k := range validationContextKeys {
		if bytes.Contains(data, []byte(k)) {
			return true
		}
	}
	return false
}
