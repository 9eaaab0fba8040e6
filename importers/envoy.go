package importers

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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
		yamlWalk(doc, 0, func(n *yaml.Node) {
			if isValidationContext(n) && !r.interrupted() {
				found++
				r.envoyValidationContext(n)
			}
		})
	}
	if found == 0 {
		return errors.New("envoy: no CertificateValidationContext (trusted_ca, verify_certificate_hash, …) found")
	}
	return nil
}

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
