package model

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Verification modes, as nginx's ssl_verify_client names them. Other
// servers map onto them: an Envoy context that requires a client
// certificate, a Java service with client auth needed, is "on".
const (
	// VerifyOn requires a certificate whose chain verifies.
	VerifyOn = "on"
	// VerifyOptional verifies a certificate when one is presented: a
	// presented certificate that does not verify is refused as under on.
	VerifyOptional = "optional"
	// VerifyOptionalNoCA asks for a certificate and does not verify it:
	// only the server's gates (maps on fingerprint, DN, serial) decide.
	VerifyOptionalNoCA = "optional_no_ca"
	// VerifyOff asks for no certificate.
	VerifyOff = "off"
	// VerifyRegistered compares the certificate with the ones registered
	// (RFC 8705 self_signed_tls_client_auth) and builds no chain.
	VerifyRegistered = "registered"
)

// Server is one listener that decides which client certificates get in:
// an nginx server block, an Envoy filter chain, a Keycloak realm client,
// an OAuth registration, an ingress with client-certificate annotations,
// a Java service over a truststore. Its trust entries are those of its
// source with its Scope; they state its anchors and gates, and its policy
// here says how the chain to those anchors is checked.
type Server struct {
	// Scope is the Scope of its trust entries in its source.
	Scope string `json:"scope"`
	// Kind says what it is: "nginx server", "envoy filter chain"…
	Kind string `json:"kind"`
	// Host is the machine the configuration came from (import --host).
	Host   string   `json:"host,omitempty"`
	Names  []string `json:"names,omitempty"`  // server_name, realm client, listener name
	Listen []string `json:"listen,omitempty"` // nginx listen addresses as written
	// Location is where it is configured ("sites-enabled/api.conf:12").
	Location string `json:"location"`
	Mode     string `json:"mode"`
	// Depth bounds the CA certificates between a leaf and its anchor as
	// OpenSSL's verify depth does (nginx ssl_verify_depth, default 1: one
	// intermediate); -1 when the server sets no bound.
	Depth int `json:"depth"`
	// DepthSetting is the depth as the server's configuration writes it,
	// when it counts otherwise ("SSLVerifyDepth 2" is Depth 1).
	DepthSetting string `json:"depth_setting,omitempty"`
	// AcceptsSHA1: it takes a client certificate signed with SHA-1 by a
	// private CA, as Java's PKIX does (its disabledAlgorithms refuse SHA-1
	// only for chains to the JDK's own roots); OpenSSL 3 refuses it.
	AcceptsSHA1 bool `json:"accepts_sha1,omitempty"`
	// CRLs names the revocation lists it checks (nginx ssl_crl), and
	// CRLIssuers the issuers (normalized DNs) of the lists in them.
	CRLs       []string `json:"crls,omitempty"`
	CRLIssuers []string `json:"crl_issuers,omitempty"`
	// CRLLeafOnly: only the leaf's revocation is checked (Apache
	// SSLCARevocationCheck leaf), not every certificate of the chain.
	CRLLeafOnly bool `json:"crl_leaf_only,omitempty"`
	// CRLMissingOK: a certificate whose issuer has no CRL there passes
	// (Apache no_crl_for_cert_ok); OpenSSL otherwise refuses it.
	CRLMissingOK bool `json:"crl_missing_ok,omitempty"`
	// Anchors names its anchor files as configured ("ssl_client_certificate
	// ca.pem"); CANames are the subject DNs it asks clients for (the
	// certificate_authorities of its CertificateRequest), RFC 4514.
	Anchors []string `json:"anchors,omitempty"`
	CANames []string `json:"ca_names,omitempty"`
	// AnchorFiles are the anchor files' paths as read (resolved from
	// nginx's prefix): a CA file a server names is that server's, not a
	// trust store of its own.
	AnchorFiles []string `json:"anchor_files,omitempty"`
	// Gates describe, for people, what it checks beyond the chain: each
	// map an if/return tests, each pin or name list.
	Gates []string `json:"gates,omitempty"`
	// IgnoresVerifyErrors: no verification error refuses a certificate
	// there, not even expiry (stunnel without verifyChain: requireCert
	// alone, or verifyPeer, which only compares the certificate with its
	// store).
	IgnoresVerifyErrors bool `json:"ignores_verify_errors,omitempty"`
	// AdmitsAny: it asks for a certificate, verifies nothing and gates
	// nothing (optional_no_ca alone): any certificate gets in.
	AdmitsAny bool `json:"admits_any,omitempty"`
	// SpoofableNames: it admits by a DN or SAN without verifying a chain
	// (optional_no_ca with a name map): anyone can present that name.
	SpoofableNames []string `json:"spoofable_names,omitempty"`
	// Login is, for a database server (a PostgreSQL pg_hba.conf line),
	// how the certificates it admits log in: as which roles, where.
	Login *Login `json:"login,omitempty"`
	// Unknown says why what it admits cannot be known (a CA file it names
	// cannot be read, a gate certgov cannot model); it then has no trust
	// entries, and never inherits another context's instead.
	Unknown string `json:"unknown,omitempty"`
	// AccessLogs are the logs it writes its requests to, with their
	// formats: where certgov reads which certificates it was presented.
	AccessLogs []AccessLog `json:"access_logs,omitempty"`
	// Source is the file it was imported from (set by the store).
	Source string `json:"source"`
}

// Name is how people refer to the server: its host, then its first
// server name (or the kind) with the port it listens on, then where it is
// configured when it has no name: "gw-01 api.example.com:443".
func (s *Server) Name() string {
	var b strings.Builder
	if s.Host != "" {
		b.WriteString(s.Host + " ")
	}
	name := ""
	if len(s.Names) > 0 && s.Names[0] != "" && s.Names[0] != "_" {
		name = s.Names[0]
	}
	port := ""
	if len(s.Listen) > 0 {
		port = listenPort(s.Listen[0])
	}
	switch {
	case name != "" && port != "":
		b.WriteString(name + ":" + port)
	case name != "":
		b.WriteString(name)
	case port != "":
		b.WriteString(s.Kind + " :" + port)
	default:
		b.WriteString(s.Kind)
	}
	if name == "" {
		b.WriteString(" (" + s.Location + ")")
	}
	return b.String()
}

// listenPort is the port of an nginx listen address: "443", "[::]:443",
// "127.0.0.1:8443"; "" for a UNIX socket.
func listenPort(listen string) string {
	if strings.HasPrefix(listen, "unix:") {
		return ""
	}
	if _, port, err := net.SplitHostPort(listen); err == nil {
		return port
	}
	if strings.Trim(listen, "0123456789") == "" {
		return listen
	}
	return "80" // an address alone: nginx listens on port 80
}

// Key identifies the server among all imported ones: its source and scope.
func (s *Server) Key() string { return s.Source + "\x00" + s.Scope }

// PolicyText sums up its verification policy for people: "verify on,
// depth 1, CRL crl.pem".
func (s *Server) PolicyText() string {
	parts := []string{"verify " + s.Mode}
	switch {
	case s.Mode != VerifyOn && s.Mode != VerifyOptional:
	case s.DepthSetting != "":
		parts = append(parts, s.DepthSetting)
	case s.Depth >= 0:
		parts = append(parts, fmt.Sprintf("depth %d", s.Depth))
	}
	for _, c := range s.CRLs {
		parts = append(parts, "CRL "+c)
	}
	if s.IgnoresVerifyErrors {
		parts = append(parts, "verification errors ignored")
	}
	if len(s.CRLs) > 0 && s.CRLLeafOnly {
		parts = append(parts, "CRL of the leaf only")
	}
	if len(s.CRLs) > 0 && s.CRLMissingOK {
		parts = append(parts, "no CRL is no refusal")
	}
	return strings.Join(parts, ", ")
}

// Verdict is a server's answer for one certificate.
type Verdict struct {
	Server string `json:"server"` // its Name
	// Admitted: the configuration admits the certificate (Reasons say
	// how); RefusedNow says why a handshake would fail today all the same
	// (expired, revoked).
	Admitted   bool     `json:"admitted"`
	Reasons    []string `json:"reasons,omitempty"`
	RefusedNow string   `json:"refused_now,omitempty"`
	Unknown    string   `json:"unknown,omitempty"`
}

// PassesNow reports whether a handshake with the certificate succeeds
// today at that server.
func (v Verdict) PassesNow() bool { return v.Admitted && v.RefusedNow == "" && v.Unknown == "" }

// Printable is the server with every string a configuration wrote made
// safe to print (Printable).
func (s Server) Printable() Server {
	for _, p := range []*string{&s.Scope, &s.Kind, &s.Host, &s.Location, &s.Mode, &s.DepthSetting, &s.Unknown, &s.Source} {
		*p = Printable(*p)
	}
	for _, list := range []*[]string{&s.Names, &s.Listen, &s.CRLs, &s.Anchors, &s.CANames, &s.AnchorFiles, &s.Gates, &s.SpoofableNames} {
		*list = printableList(*list)
	}
	if s.Login != nil {
		login := *s.Login
		login.HBALine = login.HBALine.printable()
		login.Map = Printable(login.Map)
		login.Idents = slices.Clone(login.Idents)
		for i := range login.Idents {
			login.Idents[i].System, login.Idents[i].Role = Printable(login.Idents[i].System), Printable(login.Idents[i].Role)
		}
		login.Earlier = printableLines(login.Earlier)
		s.Login = &login
	}
	return s
}

// Where names what holds the entry for people: its server and where that
// is configured, or the standalone trust store's file.
func (t TrustRef) Where() string {
	if t.Server != "" {
		return fmt.Sprintf("server %s (%s %q)", t.Server, t.Kind, t.Entry)
	}
	return fmt.Sprintf("%s %q in %s", t.Kind, t.Entry, t.Source)
}

// ServerAdmission is one server that admits a certificate, with the
// entries that do (anchor, then gates) and why it refuses it now, if it
// does.
type ServerAdmission struct {
	Server string `json:"server"`
	// ConfiguredIn is where: the server's file and its place there
	// ("/etc/nginx/nginx.conf, server nginx.conf:19").
	ConfiguredIn string   `json:"configured_in"`
	Key          string   `json:"-"`
	Reasons      []string `json:"reasons"`
	RefusedNow   string   `json:"refused_now,omitempty"`
	// Reach lists, at a database server, the roles the certificate logs
	// in as and where (TrustRef.Reach, a line each).
	Reach []string `json:"reach,omitempty"`
}

// AdmittingServers groups a certificate's trust references by server, in
// the order they come; references of standalone trust stores (no server)
// are left out.
func AdmittingServers(refs []TrustRef) []ServerAdmission {
	var out []ServerAdmission
	index := map[string]int{}
	for _, t := range refs {
		if t.ServerKey == "" {
			continue
		}
		i, ok := index[t.ServerKey]
		if !ok {
			i = len(out)
			index[t.ServerKey] = i
			where := t.Source
			if i := strings.LastIndex(t.Location, ", "); i >= 0 {
				where += ", " + t.Location[i+2:] // the entry's scope: the server's place
			}
			out = append(out, ServerAdmission{Server: t.Server, ConfiguredIn: where, Key: t.ServerKey, RefusedNow: t.RefusedNow})
			if t.Reach != "" {
				out[i].Reach = strings.Split(t.Reach, "\n")
			}
		}
		out[i].Reasons = append(out[i].Reasons, t.Reason())
	}
	return out
}

// Reason says, for people, how the entry admits: "anchor Root CA
// (sha256:…) in ssl_client_certificate root.pem (nginx.conf:12)", "map
// $ssl_client_fingerprint $ok = 1 (nginx.conf:4)".
func (t TrustRef) Reason() string {
	var b strings.Builder
	switch {
	case t.Kind == EntryCA && t.Anchor != "":
		b.WriteString("chain to " + t.Anchor + " in " + t.Entry)
	case t.Kind == EntryAny:
		b.WriteString(t.Entry)
	default:
		b.WriteString(string(t.Kind) + " " + t.Entry)
	}
	loc := t.Location
	if i := strings.LastIndex(loc, ", "); i >= 0 && t.ServerKey != "" {
		loc = loc[:i] // the server's place, which its admission names already
	}
	if loc != "" {
		b.WriteString(" (" + loc + ")")
	}
	return b.String()
}
