package model

import "time"

// Usage evidence: what the servers' own access logs say about which
// client certificates they were presented, and when. certgov keeps it
// aggregated (per certificate, day and outcome), never the lines.

// AccessLog is a log a server writes its requests to, and the format it
// writes them in, as its configuration declares them.
type AccessLog struct {
	// Path is the log's path as the server resolves it (nginx: relative
	// paths from its prefix); Written is the path as configured.
	Path    string `json:"path"`
	Written string `json:"written,omitempty"`
	// FormatName names the format ("combined", "mtls"); Format is its
	// pattern as the configuration writes it, variables and all.
	FormatName string `json:"format_name"`
	Format     string `json:"format"`
	// Escape is how the server escapes values in the line (nginx
	// log_format escape=default|json|none).
	Escape string `json:"escape,omitempty"`
	// Location is where the access_log directive is.
	Location string `json:"location"`
}

// UsageDay is what one log says of one client certificate on one day
// (UTC): how often it was presented, when first and last, and whether
// the server verified it.
type UsageDay struct {
	// FingerprintSHA1 is the certificate's SHA-1 fingerprint, lower-case
	// hex, as nginx logs $ssl_client_fingerprint.
	FingerprintSHA1 string
	Day             time.Time // midnight UTC
	Count           int64
	First, Last     time.Time
	// Verified: the server reported the chain verified (SUCCESS); else
	// it took the certificate without verifying it, or refused it.
	Verified bool
}
