package model

import (
	"fmt"
	"iter"
	"strings"
	"time"
)

// Usage evidence: what the servers' own access logs say about which
// client certificates they were presented, and when. certgov keeps it
// aggregated (per certificate, day and outcome), never the lines.

// AccessLog is a log a server writes its requests to, and the format it
// writes them in, as its configuration declares them.
type AccessLog struct {
	// Path is the log's path as the server resolves it (nginx: relative
	// paths from its prefix); Written is the path as configured. HAProxy
	// writes to syslog: its log is where Debian's rsyslog rule for it
	// writes, /var/log/haproxy.log.
	Path    string `json:"path"`
	Written string `json:"written,omitempty"`
	// FormatName names the format ("combined", "mtls"; "log-format",
	// "json_format"); Format is its pattern as the configuration writes
	// it, variables and all (an Envoy json_format as a JSON object).
	FormatName string `json:"format_name"`
	Format     string `json:"format"`
	// Escape is how the server escapes values in the line (nginx
	// log_format escape=default|json|none).
	Escape string `json:"escape,omitempty"`
	// Dialect is whose format it is: nginx (also when empty), haproxy or
	// envoy.
	Dialect string `json:"dialect,omitempty"`
	// Location is where the directive naming the log is.
	Location string `json:"location"`
	// LoggedAs is the name this server's lines carry in a log several
	// servers share (HAProxy's %f/%ft: its frontend; nginx's
	// $server_name: its first server_name): its usage is then the lines
	// bearing it.
	LoggedAs string `json:"logged_as,omitempty"`
}

// Access log dialects: whose configuration declared the format.
const (
	LogDialectNginx   = "nginx"
	LogDialectHAProxy = "haproxy"
	LogDialectEnvoy   = "envoy"
)

// UsageDay is what one log says of one client certificate on one day
// (UTC): how often it was presented, when first and last, and whether
// the server verified it.
type UsageDay struct {
	// Fingerprint is the certificate's fingerprint as the server logs
	// it, in lower-case hex: SHA-1 (nginx $ssl_client_fingerprint,
	// HAProxy ssl_c_sha1) or SHA-256 (Envoy
	// %DOWNSTREAM_PEER_FINGERPRINT_256%), told apart by length.
	Fingerprint string
	Day         time.Time // midnight UTC
	Count       int64
	First, Last time.Time
	// Verified: the server reported the chain verified (SUCCESS); else
	// it took the certificate without verifying it, or refused it.
	Verified bool
	// Server is the server name the lines carry (HAProxy's frontend,
	// nginx's $server_name): "" when the format logs none, and the log's
	// usage is then every server's that writes it.
	Server string
}

// AccessLogRead is what reading one access log gave: its usage per
// certificate and day, and what it covers.
type AccessLogRead struct {
	// Log is the log as its server's configuration declares it.
	Log AccessLog
	// Lines read; those naming a client certificate; those the format
	// did not match (or too long).
	Lines, WithCertificate, Unparsed int64
	// From and Until are the first and last times its lines carry.
	From, Until time.Time
	// Days yields the usage, DayCount of them: made as they are stored.
	Days     iter.Seq[UsageDay]
	DayCount int
	// Continues is, for a log that grew, the content hash of the version
	// read before, which this read goes on from (at byte ReadFrom): what
	// it says is that version's usage and this read's together.
	Continues string
	ReadFrom  int64
}

// ServerUsage is what one server's access logs say of a certificate:
// the period they cover, and when it was last presented there (zero:
// never, in that period) and last accepted (its chain verified).
type ServerUsage struct {
	Server    string `json:"server"`
	ServerKey string `json:"-"`
	// From and Until are the first and last times the server's logs
	// carry.
	From  time.Time `json:"logs_from"`
	Until time.Time `json:"logs_until"`
	// LastSeen is the last time it was presented; LastAccepted, the last
	// time the server let it through: reported its chain verified, or, at
	// a server that verifies nothing (optional_no_ca, every error
	// ignored), presented at all.
	LastSeen     *time.Time `json:"last_seen"`
	LastAccepted *time.Time `json:"last_accepted"`
	Count        int64      `json:"requests"`
}

// Finding codes about usage.
const (
	FindingUnusedTrust         = "unused-trust"
	FindingUsedWhileExpired    = "used-while-expired"
	FindingUsedAfterRevocation = "used-after-revocation"
	FindingUnknownClient       = "unknown-client"
)

func init() {
	for _, t := range []FindingType{
		{FindingUnusedTrust, SeverityMedium, "a server admits it, its access logs cover the policy's unused_after and it was not presented there: a revoke candidate", []string{"NHI1:2025", "NHI5:2025", "ID.AM-08"}},
		{FindingUnknownClient, SeverityHigh, "a server's access log shows a client certificate that no imported certificate is: one outside the inventory", []string{"NHI1:2025", "ID.AM-08", "DE.CM-09"}},
		{FindingUsedAfterRevocation, SeverityCritical, "a server's access log shows it accepted after its CA revoked it: the server does not check the CRL", []string{"NHI1:2025", "PR.AA-03", "DE.CM-09"}},
		{FindingUsedWhileExpired, SeverityCritical, "a server's access log shows it accepted after it expired: the server does not check what it should", []string{"NHI7:2025", "PR.AA-03", "DE.CM-09"}},
	} {
		FindingTypes[t.Code] = t
	}
}

// usageFindings adds the findings the servers' logs give about s.
func usageFindings(s *CertificateSubject, p Policy, add func(code, message, source string)) {
	admits := map[string]bool{}
	for _, t := range s.Trust {
		if t.ServerKey != "" && t.RefusedNow == "" {
			admits[t.ServerKey] = true
		}
	}
	window := time.Duration(p.UnusedAfter)
	for _, u := range s.Usage {
		if u.LastAccepted != nil && u.LastAccepted.After(s.NotAfter) {
			add(FindingUsedWhileExpired, fmt.Sprintf("%s accepted it on %s, %s after it expired on %s",
				u.Server, u.LastAccepted.UTC().Format("2006-01-02"), daysText(u.LastAccepted.Sub(s.NotAfter)), s.NotAfter.UTC().Format("2006-01-02")), "")
		}
		if u.LastAccepted != nil && s.Revoked && !s.RevokedAt.IsZero() && !u.LastAccepted.Before(s.RevokedAt) {
			add(FindingUsedAfterRevocation, fmt.Sprintf("%s accepted it on %s, after its CA revoked it on %s (%s)",
				u.Server, u.LastAccepted.UTC().Format("2006-01-02 15:04"), s.RevokedAt.UTC().Format("2006-01-02 15:04"), s.RevokedBy), s.RevokedBy)
		}
		if !admits[u.ServerKey] || window <= 0 || u.Until.Sub(u.From) < window {
			continue
		}
		since := u.Until.Add(-window)
		switch {
		case u.LastSeen == nil:
			add(FindingUnusedTrust, fmt.Sprintf("%s admits it, yet its access logs (%s to %s, %s) never show it",
				u.Server, u.From.UTC().Format("2006-01-02"), u.Until.UTC().Format("2006-01-02"), daysText(u.Until.Sub(u.From))), "")
		case u.LastSeen.Before(since):
			add(FindingUnusedTrust, fmt.Sprintf("%s admits it, yet its access logs show it last on %s, %s before they end (%s)",
				u.Server, u.LastSeen.UTC().Format("2006-01-02"), daysText(u.Until.Sub(*u.LastSeen)), u.Until.UTC().Format("2006-01-02")), "")
		}
	}
}

// UsageText says, for people, what each server's access logs say of a
// certificate: "gw api:443 last 2026-12-01 (12 requests); gw
// partners:8444 never (logs 2026-06-01 to 2026-12-01)". Empty when no
// server's logs were imported.
func UsageText(usage []ServerUsage) string {
	parts := make([]string, 0, len(usage))
	for _, u := range usage {
		if u.LastSeen == nil {
			parts = append(parts, fmt.Sprintf("%s never (logs %s to %s)", Printable(u.Server), u.From.UTC().Format("2006-01-02"), u.Until.UTC().Format("2006-01-02")))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s last %s (%s)", Printable(u.Server), u.LastSeen.UTC().Format("2006-01-02"), CountOf(u.Count, "request")))
	}
	return strings.Join(parts, "; ")
}

// daysText is a duration in whole days, for people.
func daysText(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// UnknownClient is a client certificate a server's access log shows
// that no imported certificate is: by fingerprint, as logged (SHA-1 or
// SHA-256, by length).
type UnknownClient struct {
	Fingerprint, Server string
	First, Last         time.Time
	Count               int64
	// Accepted: the server let it through (ServerUsage.LastAccepted).
	Accepted bool
}

// UnknownClientFindings are the unknown-client findings: one per
// certificate and server.
func UnknownClientFindings(clients []UnknownClient) []Finding {
	t := FindingTypes[FindingUnknownClient]
	var out []Finding
	for _, c := range clients {
		verified := "refused or not verified"
		if c.Accepted {
			verified = "accepted"
		}
		algorithm, digest := "sha1", "SHA-1"
		if len(c.Fingerprint) == 64 {
			algorithm, digest = "sha256", "SHA-256"
		}
		out = append(out, Finding{Code: t.Code, Severity: t.Severity, Identity: algorithm + ":" + c.Fingerprint, Frameworks: t.Frameworks,
			Message: fmt.Sprintf("%s was presented a certificate no import holds (%s %s): %s from %s to %s, %s; import it or find out whose it is",
				c.Server, digest, c.Fingerprint, CountOf(c.Count, "request"), c.First.Format("2006-01-02"), c.Last.Format("2006-01-02"), verified)})
	}
	return out
}
