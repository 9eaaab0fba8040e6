package importers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"certgov/model"
)

// OAuth 2.0 client registrations (RFC 7591) using mutual TLS (RFC 8705):
// one client object, an array of them, or an object holding such an array.
// tls_client_auth clients name exactly one subject DN or SAN to match;
// self_signed_tls_client_auth clients register their certificates in jwks
// (x5c, x5t#S256). jwks_uri is recorded, never fetched.

type oauthClient struct {
	ClientID                string `json:"client_id"`
	ClientName              string `json:"client_name"`
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	SubjectDN               string `json:"tls_client_auth_subject_dn"`
	SANDNS                  string `json:"tls_client_auth_san_dns"`
	SANURI                  string `json:"tls_client_auth_san_uri"`
	SANIP                   string `json:"tls_client_auth_san_ip"`
	SANEmail                string `json:"tls_client_auth_san_email"`
	JWKSURI                 string `json:"jwks_uri"`
	JWKS                    *struct {
		Keys []struct {
			X5C     []string `json:"x5c"`
			X5TS256 string   `json:"x5t#S256"`
			KID     string   `json:"kid"`
		} `json:"keys"`
	} `json:"jwks"`
}

func (r *reader) readOAuthClients(data []byte) error {
	raws, err := oauthClientObjects(data)
	if err != nil {
		return err
	}
	for i, raw := range raws {
		if r.interrupted() {
			return r.ctx.Err()
		}
		var c oauthClient
		if err := json.Unmarshal(raw, &c); err != nil {
			r.problem(0, fmt.Sprintf("client %d", i+1), err)
			continue
		}
		where := fmt.Sprintf("client %q", c.ClientID)
		if c.ClientID == "" {
			r.problem(0, fmt.Sprintf("client %d", i+1), errors.New("no client_id"))
			continue
		}
		before := len(r.res.TrustEntries)
		switch c.TokenEndpointAuthMethod {
		case "tls_client_auth":
			r.tlsClientAuth(c, where)
			r.clientServer("oauth client", "oauth "+c.ClientID, where, model.VerifyOn, before, "tls_client_auth")
		case "self_signed_tls_client_auth":
			r.selfSignedClientAuth(c, where)
			r.clientServer("oauth client", "oauth "+c.ClientID, where, model.VerifyRegistered, before, "self_signed_tls_client_auth")
		}
		// Other methods (client_secret_basic, private_key_jwt, …) are not
		// certificate trust; their secrets are never read.
	}
	return nil
}

func (r *reader) tlsClientAuth(c oauthClient, where string) {
	var entries []model.TrustEntry
	if c.SubjectDN != "" {
		entries = append(entries, model.TrustEntry{Kind: model.EntrySubjectDN, Value: c.SubjectDN})
	}
	for _, san := range []struct{ kind, value string }{{"dns", c.SANDNS}, {"uri", c.SANURI}, {"ip", c.SANIP}, {"email", c.SANEmail}} {
		if san.value != "" {
			entries = append(entries, model.TrustEntry{Kind: model.EntrySAN, SANType: san.kind, Value: san.value, Match: model.MatchExact})
		}
	}
	switch len(entries) {
	case 0:
		r.problem(0, where, errors.New("tls_client_auth without tls_client_auth_subject_dn or a tls_client_auth_san_* field"))
		return
	case 1:
	default:
		r.problem(0, where, errors.New("tls_client_auth with more than one of tls_client_auth_subject_dn and tls_client_auth_san_* (RFC 8705 §2.1.2 allows exactly one)"))
		return
	}
	if entries[0].Kind == model.EntrySubjectDN {
		if _, err := model.ParseDNString(c.SubjectDN); err != nil {
			r.problem(0, where, err)
			return
		}
	}
	entries[0].Label, entries[0].Location = c.ClientID, where
	r.res.TrustEntries = append(r.res.TrustEntries, entries[0])
}

func (r *reader) selfSignedClientAuth(c oauthClient, where string) {
	registered := 0
	if c.JWKS != nil {
		for k, key := range c.JWKS.Keys {
			keyWhere := fmt.Sprintf("%s, jwks key %d", where, k+1)
			if len(key.X5C) > 0 {
				// x5c holds standard base64 DER, the client's certificate first.
				der, err := base64.StdEncoding.DecodeString(key.X5C[0])
				if err != nil {
					r.problem(0, keyWhere, fmt.Errorf("x5c: %w", err))
					continue
				}
				r.addCertificate(der, 0, keyWhere)
				sum := sha256.Sum256(der)
				r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{
					Kind: model.EntryRegistered, Value: hex.EncodeToString(sum[:]), HashAlgorithm: "sha256", Label: c.ClientID, Location: keyWhere,
				})
				registered++
				continue
			}
			if key.X5TS256 != "" {
				sum, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key.X5TS256, "="))
				if err != nil || len(sum) != sha256.Size {
					r.problem(0, keyWhere, fmt.Errorf("x5t#S256 %q is not a base64url SHA-256", key.X5TS256))
					continue
				}
				r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{
					Kind: model.EntryRegistered, Value: hex.EncodeToString(sum), HashAlgorithm: "sha256", Label: c.ClientID, Location: keyWhere,
				})
				registered++
			}
		}
	}
	if c.JWKSURI != "" {
		r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{
			Kind: model.EntryJWKSURI, Value: c.JWKSURI, Label: c.ClientID, Location: where,
		})
		registered++
	}
	if registered == 0 {
		r.problem(0, where, errors.New("self_signed_tls_client_auth without a certificate in jwks (x5c or x5t#S256) or a jwks_uri"))
	}
}

// oauthClientObjects finds the client objects: the document itself, its
// elements, or the elements of the first array of client objects it holds.
func oauthClientObjects(data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("OAuth clients: %w", jsonErrorLine(data, err))
		}
		return list, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, fmt.Errorf("OAuth clients: %w", jsonErrorLine(data, err))
	}
	if _, ok := obj["client_id"]; ok {
		return []json.RawMessage{trimmed}, nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var list []map[string]json.RawMessage
		if json.Unmarshal(obj[k], &list) == nil && len(list) > 0 {
			if _, ok := list[0]["client_id"]; ok {
				var raws []json.RawMessage
				if err := json.Unmarshal(obj[k], &raws); err != nil {
					return nil, fmt.Errorf("OAuth clients %q: %w", k, err)
				}
				return raws, nil
			}
		}
	}
	return nil, errors.New("OAuth clients: no object with a client_id")
}

// jsonErrorLine adds the line to a JSON syntax error.
func jsonErrorLine(data []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line := 1 + bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte{'\n'})
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

func looksLikeJSON(data []byte) bool {
	trimmed := bytes.TrimSpace(data)
	return len(trimmed) > 1 && (trimmed[0] == '{' || trimmed[0] == '[')
}

// detectJSON tells Keycloak realm exports, OAuth client registrations,
// Envoy configurations and Kubernetes manifests apart.
func detectJSON(data []byte) model.SourceKind {
	switch {
	case looksLikeKubernetes(data):
		return model.KindKubernetes
	case looksLikeEnvoy(data):
		return model.KindEnvoy
	case bytes.Contains(data, []byte(`"clientAuthenticatorType"`)) || bytes.Contains(data, []byte(`"realm"`)):
		return model.KindKeycloak
	case bytes.Contains(data, []byte(`"client_id"`)):
		return model.KindOAuth
	}
	return ""
}
