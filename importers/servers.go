package importers

import (
	"path/filepath"
	"slices"
	"strings"

	"certgov/model"
)

// Every gateway reader (nginx, HAProxy, Apache httpd, Caddy, stunnel,
// PostgreSQL) ends the same way: a server with its mode, depth and CRLs
// set, the anchor files it names, and what its rules gate on. settle
// turns them into the server's trust entries, one all-of scope per
// server, so that every gateway is decided by the same rules.

// serverAnchors is one file of anchors a server names, as read.
type serverAnchors struct {
	directive, written string // as configured: "SSLCACertificateFile", "ca.pem"
	at                 string // where it is configured: "apache2.conf:12"
	read               configFile
	// caNames: its certificates' subjects are the CA names the server
	// sends in its CertificateRequest.
	caNames bool
	// match is the anchors' model.MatchPartialChain when every certificate
	// of the file is an anchor (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN).
	match string
}

// serverGates is what a server's rules make of the client certificate
// beyond its chain: allow-list entries (pins, names), whether a rule
// demands a verified chain, and what cannot be modelled.
type serverGates struct {
	entries []model.TrustEntry
	// requireVerify: a rule refuses unless the chain verified, so where
	// the server does not verify (optional_no_ca) its CA files decide
	// after all.
	requireVerify bool
	none          bool // a rule admits no certificate at all
	// names says the name rules for people ("CN=x"), where the entries'
	// values are patterns made from them; nil: the entries' values.
	names   []string
	unknown string
	texts   []string
	// files are the lists its rules read (HAProxy -f pin lists): the
	// server's, not trust stores of their own.
	files []string
}

// verifies reports whether a server in mode verifies the chain, given
// its gates: not under optional_no_ca (unless a gate demands it), nor
// where it compares the certificate with the ones it holds (registered).
func (g serverGates) verifies(mode string) bool {
	return mode != model.VerifyOptionalNoCA && mode != model.VerifyRegistered || g.requireVerify
}

// unknownBecause adds why to what a server admits cannot be known.
func unknownBecause(srv *model.Server, why string) {
	srv.Unknown = strings.TrimPrefix(srv.Unknown+"; "+why, "; ")
}

// settle completes srv with its anchors and gates and adds its trust
// entries: each anchor certificate (when the server verifies chains) and
// each gate entry, all conditions of one scope. A server that asks for no
// certificate gets none; one whose answer cannot be known gets none
// either, so that it never admits what the real server refuses.
func (r *reader) settle(srv *model.Server, anchors []serverAnchors, gate serverGates) {
	if srv.Mode == model.VerifyOff {
		return
	}
	srv.Gates = append(srv.Gates, gate.texts...)
	for _, f := range gate.files {
		srv.AnchorFiles = append(srv.AnchorFiles, model.SourceKey(r.opts.Host, f))
	}
	if gate.unknown != "" {
		unknownBecause(srv, gate.unknown)
	}
	verifies := gate.verifies(srv.Mode)
	if verifies && len(anchors) == 0 {
		unknownBecause(srv, "it verifies client certificates without a CA file")
	}
	var entries []model.TrustEntry
	for _, a := range anchors {
		srv.Anchors = append(srv.Anchors, a.directive+" "+a.written)
		if a.read.path != "" {
			srv.AnchorFiles = append(srv.AnchorFiles, model.SourceKey(r.opts.Host, a.read.path))
		}
		if a.read.err != nil || a.read.path == "" {
			unknownBecause(srv, a.directive+" "+a.written+" cannot be read")
			continue
		}
		for _, c := range a.read.certs {
			if a.caNames {
				srv.CANames = append(srv.CANames, c.Subject)
			}
			if verifies {
				entries = append(entries, model.TrustEntry{Kind: model.EntryCA, Value: c.FingerprintSHA256, HashAlgorithm: "sha256",
					Match: a.match, Label: a.directive + " " + filepath.Base(a.written), Location: a.at + ": " + a.directive})
			}
		}
	}
	if srv.Unknown != "" || gate.none {
		return // never the entries of some other context instead
	}
	entries = append(entries, gate.entries...)
	if !verifies {
		if len(gate.entries) == 0 {
			srv.AdmitsAny = true
			entries = append(entries, model.TrustEntry{Kind: model.EntryAny, Value: "*",
				Label: "any certificate (" + srv.PolicyText() + ", no gate)", Location: srv.Location})
		}
		srv.SpoofableNames = gate.names
		for _, e := range gate.entries {
			if gate.names == nil && (e.Kind == model.EntrySubjectDN || e.Kind == model.EntrySAN) {
				srv.SpoofableNames = append(srv.SpoofableNames, e.Value)
			}
		}
	}
	for i := range entries {
		entries[i].Scope, entries[i].AllOf = srv.Scope, true
	}
	r.res.TrustEntries = append(r.res.TrustEntries, entries...)
}

// gateTest is one test of a gate's condition: what it decides on
// ("verify": the chain verified; "names": the subject or SANs; "pins":
// the certificate itself, its key or serial; "true", "false"; anything
// else names what certgov cannot read), the allow-list entries it holds
// for, and for names how people say them ("CN=x").
type gateTest struct {
	kind    string
	entries []model.TrustEntry
	names   []string
	err     error    // why its entries cannot be stated
	files   []string // the lists its entries were read from
}

// demand adds the clauses that must all hold, each held when any one of
// its tests does, as certgov's all-of scopes state them: at most one
// clause of names and one of pins; a clause of "verify" demands a
// verified chain. Any other shape makes the gate unknown.
func (g *serverGates) demand(clauses [][]gateTest) {
	var names, pins bool
	for _, clause := range clauses {
		// A test that never holds adds nothing to its alternatives; one
		// that always holds makes its clause hold.
		if slices.ContainsFunc(clause, func(t gateTest) bool { return t.kind == "true" }) {
			continue
		}
		clause = slices.DeleteFunc(slices.Clone(clause), func(t gateTest) bool { return t.kind == "false" })
		if len(clause) == 0 {
			g.none = true
			return
		}
		kind := ""
		for _, t := range clause {
			if kind != "" && t.kind != kind {
				g.unknown = "a condition mixes tests certgov keeps apart (" + kind + " and " + t.kind + ")"
				return
			}
			kind = t.kind
		}
		switch kind {
		case "verify":
			g.requireVerify = true
			continue
		case "true":
			continue
		case "false":
			g.none = true
			return
		case "names", "pins":
			held := &names
			if kind == "pins" {
				held = &pins
			}
			if *held {
				g.unknown = "more than one condition on the certificate's " + kind + " must hold"
				return
			}
			*held = true
		default:
			g.unknown = "a condition certgov cannot read: " + kind
			return
		}
		for _, t := range clause {
			if t.err != nil {
				g.unknown = t.err.Error()
				return
			}
			g.entries = append(g.entries, t.entries...)
			g.files = append(g.files, t.files...)
			if kind == "names" {
				g.names = append(g.names, t.names...)
			}
		}
	}
}
