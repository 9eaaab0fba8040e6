package importers

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"certgov/model"
)

// Kubernetes manifests (multi-document YAML, List objects): Secrets of
// type kubernetes.io/tls or with tls.crt / ca.crt keys, base64 in data or
// plain in stringData. A tls.key is a private key: its fact is recorded,
// never the key. A Secret's ca.crt is a client-certificate trust anchor
// when an Ingress in the same file names the Secret in ingress-nginx's
// auth-tls-secret annotation. Other kinds are ignored.

type k8sSecret struct {
	namespace, name string
	line            int
	values          map[string][]byte
	lines           map[string]int
}

func (r *reader) readKubernetes(data []byte) error {
	docs, err := yamlDocuments(data)
	if err != nil {
		return fmt.Errorf("kubernetes: %w", err)
	}
	var secrets []k8sSecret
	clientCAs := map[string][]model.Server{} // namespace/name of Secrets used as client CAs
	var visit func(obj *yaml.Node)
	visit = func(obj *yaml.Node) {
		switch yamlString(obj, "kind") {
		case "List":
			for _, item := range yamlSequence(yamlGet(obj, "items")) {
				visit(item)
			}
		case "Secret":
			if s, ok := r.k8sSecret(obj); ok {
				secrets = append(secrets, s)
			}
		case "Ingress":
			meta := yamlGet(obj, "metadata")
			annotations := yamlGet(meta, "annotations")
			ref := yamlString(annotations, "nginx.ingress.kubernetes.io/auth-tls-secret")
			if ref != "" {
				if !strings.Contains(ref, "/") {
					ref = namespaceOf(meta) + "/" + ref
				}
				clientCAs[ref] = append(clientCAs[ref], r.k8sIngress(obj, meta, annotations))
			}
		}
	}
	for _, doc := range docs {
		if len(doc.Content) > 0 {
			visit(doc.Content[0])
		}
	}
	defer func() {
		// Ingresses whose secret is not in this file: certgov does not
		// guess their anchors.
		for _, ref := range slices.Sorted(maps.Keys(clientCAs)) {
			for _, srv := range clientCAs[ref] {
				srv.Unknown = "its auth-tls-secret " + ref + " (ca.crt) is not in this file"
				r.res.Servers = append(r.res.Servers, srv)
			}
		}
	}()
	for _, s := range secrets {
		if r.interrupted() {
			return r.ctx.Err()
		}
		where := fmt.Sprintf("secret %s/%s", s.namespace, s.name)
		if crt, ok := s.values["tls.crt"]; ok {
			r.k8sCertificates(crt, s.lines["tls.crt"], where+" tls.crt", nil)
		}
		if ca, ok := s.values["ca.crt"]; ok {
			r.k8sCertificates(ca, s.lines["ca.crt"], where+" ca.crt", clientCAs[s.namespace+"/"+s.name])
			delete(clientCAs, s.namespace+"/"+s.name)
		}
		if key, ok := s.values["tls.key"]; ok {
			block, _ := pem.Decode(key)
			if block == nil {
				r.problem(s.lines["tls.key"], where+" tls.key", fmt.Errorf("not a PEM private key"))
				continue
			}
			if fact, ok := privateKeyFromPEM(block); ok {
				fact.Location = where + " tls.key"
				r.res.Keys = append(r.res.Keys, fact)
			}
			clear(key)
		}
	}
	return nil
}

// k8sCertificates inventories a Secret's certificates; a ca.crt that
// ingresses name in auth-tls-secret is the anchors of each of them.
func (r *reader) k8sCertificates(data []byte, line int, where string, ingresses []model.Server) {
	ca := &reader{ctx: r.ctx, path: r.path, opts: r.opts, res: &model.FileResult{}}
	ca.readPEM(data)
	location := fmt.Sprintf("line %d: %s", line, where)
	for _, c := range ca.res.Certificates {
		c.Location = location
		r.res.Certificates = append(r.res.Certificates, c)
	}
	for _, p := range ca.res.Problems {
		r.problem(line, where, p.Err)
	}
	for _, srv := range ingresses {
		if len(ca.res.Certificates) == 0 {
			srv.Unknown = "its auth-tls-secret holds no readable CA certificate"
		} else if srv.Mode == model.VerifyOn || srv.Mode == model.VerifyOptional {
			r.anchors(ca.res.Certificates, "auth-tls-secret", location, srv.Scope, "")
		} else if srv.AdmitsAny {
			r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{Kind: model.EntryAny, Value: "*",
				Label: "any certificate (auth-tls-verify-client optional_no_ca)", Location: srv.Location, Scope: srv.Scope})
		}
		srv.Anchors = []string{"auth-tls-secret " + where}
		r.res.Servers = append(r.res.Servers, srv)
	}
}

// k8sIngress is the server an Ingress with client-certificate annotations
// is, as ingress-nginx runs it: auth-tls-verify-client (default on) and
// auth-tls-verify-depth (default 1) become nginx's ssl_verify_client and
// ssl_verify_depth.
func (r *reader) k8sIngress(obj, meta, annotations *yaml.Node) model.Server {
	name := namespaceOf(meta) + "/" + yamlString(meta, "name")
	srv := model.Server{Kind: "ingress", Host: r.opts.Host, Location: fmt.Sprintf("%s:%d", filepath.Base(r.path), obj.Line),
		Mode: model.VerifyOn, Depth: 1, Scope: "ingress " + name}
	for _, rule := range yamlSequence(yamlGet(yamlGet(obj, "spec"), "rules")) {
		if host := yamlString(rule, "host"); host != "" {
			srv.Names = append(srv.Names, host)
		}
	}
	if len(srv.Names) == 0 {
		srv.Names = []string{name}
	}
	srv.Listen = []string{"443"}
	switch mode := yamlString(annotations, "nginx.ingress.kubernetes.io/auth-tls-verify-client"); mode {
	case "":
	case model.VerifyOn, model.VerifyOptional, model.VerifyOptionalNoCA, model.VerifyOff:
		srv.Mode = mode
	default:
		srv.Unknown = "auth-tls-verify-client has an unknown mode"
	}
	if v := yamlString(annotations, "nginx.ingress.kubernetes.io/auth-tls-verify-depth"); v != "" {
		depth, err := strconv.Atoi(v)
		if err != nil || depth < 0 {
			srv.Unknown = "auth-tls-verify-depth is not a number"
		}
		srv.Depth = depth
	}
	if srv.Mode == model.VerifyOptionalNoCA {
		srv.AdmitsAny = true
	}
	return srv
}

// k8sSecret reads a Secret's certificate keys; ok is false for Secrets
// that hold none.
func (r *reader) k8sSecret(obj *yaml.Node) (k8sSecret, bool) {
	meta := yamlGet(obj, "metadata")
	s := k8sSecret{namespace: namespaceOf(meta), name: yamlString(meta, "name"), line: obj.Line,
		values: map[string][]byte{}, lines: map[string]int{}}
	isTLS := yamlString(obj, "type") == "kubernetes.io/tls"
	for _, key := range []string{"tls.crt", "ca.crt", "tls.key"} {
		if v := yamlGet(yamlGet(obj, "data"), key); v != nil && v.Kind == yaml.ScalarNode {
			decoded, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v.Value), ""))
			if err != nil {
				r.problem(v.Line, fmt.Sprintf("secret %s/%s %s", s.namespace, s.name, key), fmt.Errorf("data is not base64: %w", err))
				continue
			}
			s.values[key], s.lines[key] = decoded, v.Line
		}
		if v := yamlGet(yamlGet(obj, "stringData"), key); v != nil && v.Kind == yaml.ScalarNode {
			s.values[key], s.lines[key] = []byte(v.Value), v.Line
		}
	}
	_, hasCert := s.values["tls.crt"]
	_, hasCA := s.values["ca.crt"]
	return s, isTLS || hasCert || hasCA
}

func namespaceOf(meta *yaml.Node) string {
	if ns := yamlString(meta, "namespace"); ns != "" {
		return ns
	}
	return "default"
}

var k8sKind = regexp.MustCompile(`(?m)^\s*"?kind"?\s*:\s*"?(Secret|List)"?\s*,?\s*$`)

// looksLikeKubernetes: a manifest with a Secret or a List.
func looksLikeKubernetes(data []byte) bool {
	return bytes.Contains(data, []byte("apiVersion")) && k8sKind.Match(data)
}
