package importers

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"certgov/model"
)

// Keycloak realm exports: clients with clientAuthenticatorType
// "client-x509" admit certificates by subject DN, compared as a regular
// expression when x509.allow.regex.pattern.comparison is "true" and
// exactly otherwise. Other clients are ignored; no secret is read.

type keycloakRealm struct {
	Realm   string `json:"realm"`
	Clients []struct {
		ClientID                string            `json:"clientId"`
		ClientAuthenticatorType string            `json:"clientAuthenticatorType"`
		Attributes              map[string]string `json:"attributes"`
	} `json:"clients"`
}

func (r *reader) readKeycloak(data []byte) error {
	var realm keycloakRealm
	if err := json.Unmarshal(data, &realm); err != nil {
		return fmt.Errorf("keycloak realm: %w", jsonErrorLine(data, err))
	}
	for _, c := range realm.Clients {
		if c.ClientAuthenticatorType != "client-x509" {
			continue
		}
		where := fmt.Sprintf("client %q", c.ClientID)
		dn := c.Attributes["x509.subjectdn"]
		if dn == "" {
			r.problem(0, where, errors.New("client-x509 without x509.subjectdn"))
			continue
		}
		entry := model.TrustEntry{Kind: model.EntrySubjectDN, Value: dn, Label: c.ClientID, Location: where, Match: model.MatchExact}
		if c.Attributes["x509.allow.regex.pattern.comparison"] == "true" {
			entry.Match = model.MatchRegex
		} else if _, err := model.ParseDNString(dn); err != nil {
			r.problem(0, where, err)
			continue
		}
		before := len(r.res.TrustEntries)
		r.res.TrustEntries = append(r.res.TrustEntries, entry)
		gate := "x509.subjectdn " + dn
		if entry.Match == model.MatchRegex {
			gate = "x509.subjectdn matches " + dn
		}
		r.clientServer("keycloak client", "keycloak "+realm.Realm+"/"+c.ClientID, where, model.VerifyOn, before, gate)
	}
	return nil
}

// clientServer makes the entries added since before the conditions of
// one client registration, a server of its own: an authorization
// server's client verifies the chain to its own truststore (which an
// export does not hold, so any imported anchor counts), then the name
// registered; a self-signed registration compares the certificate alone.
func (r *reader) clientServer(kind, name, where, mode string, before int, gates ...string) {
	if len(r.res.TrustEntries) == before {
		return
	}
	srv := model.Server{Kind: kind, Host: r.opts.Host, Names: []string{name}, Location: filepath.Base(r.path) + " " + where,
		Mode: mode, Depth: -1, Scope: name, Gates: gates, AcceptsSHA1: kind == "keycloak client"}
	for i := before; i < len(r.res.TrustEntries); i++ {
		r.res.TrustEntries[i].Scope = srv.Scope
	}
	r.res.Servers = append(r.res.Servers, srv)
}
