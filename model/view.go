package model

import (
	"fmt"
	"time"
)

// RecordJSON is the stable JSON shape of a certificate record, as
// `certgov ls -o json` prints it. Later fields are added, never renamed.
type RecordJSON struct {
	FingerprintSHA256  string         `json:"fingerprint_sha256"`
	FingerprintSHA1    string         `json:"fingerprint_sha1"`
	SPKISHA256         string         `json:"spki_sha256"`
	Subject            string         `json:"subject"`
	Issuer             string         `json:"issuer"`
	CommonName         OptionalString `json:"common_name"`
	Serial             string         `json:"serial"`
	NotBefore          string         `json:"not_before"`
	NotAfter           string         `json:"not_after"`
	KeyAlgorithm       string         `json:"key_algorithm"`
	KeySize            int            `json:"key_size"`
	KeyCurve           string         `json:"key_curve,omitempty"`
	SignatureAlgorithm string         `json:"signature_algorithm"`
	SelfSigned         bool           `json:"self_signed"`
	SelfIssued         bool           `json:"self_issued"`
	CA                 bool           `json:"ca"`
	BasicConstraintsCA bool           `json:"basic_constraints_ca"`
	Malformed          string         `json:"malformed,omitempty"`
	SANs               SANs           `json:"sans"`
	KeyUsage           []string       `json:"key_usage"`
	ExtKeyUsage        []string       `json:"ext_key_usage"`
	SubjectKeyID       OptionalString `json:"subject_key_id"`
	AuthorityKeyID     OptionalString `json:"authority_key_id"`
	Identity           string         `json:"identity"`
	IdentityKey        string         `json:"identity_key"`
	Sources            []string       `json:"sources"`
	Current            bool           `json:"current"`
	Findings           []string       `json:"findings"`
	Trust              []TrustRef     `json:"trust"`
	TrustModel         string         `json:"trust_model"`
	Revoked            bool           `json:"revoked"`
	Owner              OptionalString `json:"owner"`
	ExpiresAt          *string        `json:"expires_at"`
	Exception          *ExceptionJSON `json:"exception"`
	// LastSeen is when a server's access log last shows it, null when
	// none does (certgov show says where).
	LastSeen *string `json:"last_seen"`
	// LogsCover is the period the access logs of the servers that admit
	// it cover, null when none of them had its logs imported: a null
	// last_seen with logs_cover is evidence it was not presented; without,
	// no evidence either way.
	LogsCover *LogsCoverJSON `json:"logs_cover"`
}

// LogsCoverJSON is a period access logs cover (RFC 3339).
type LogsCoverJSON struct {
	From  string `json:"from"`
	Until string `json:"until"`
}

// JSON returns the record's stable JSON shape.
func (r *Record) JSON() RecordJSON {
	j := RecordJSON{
		FingerprintSHA256:  r.FingerprintSHA256,
		FingerprintSHA1:    r.FingerprintSHA1,
		SPKISHA256:         r.SPKISHA256,
		Subject:            r.Subject,
		Issuer:             r.Issuer,
		CommonName:         OptionalString(r.CommonName),
		Serial:             r.Serial,
		NotBefore:          r.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:           r.NotAfter.UTC().Format(time.RFC3339),
		KeyAlgorithm:       r.KeyAlgorithm,
		KeySize:            r.KeySize,
		KeyCurve:           r.KeyCurve,
		SignatureAlgorithm: r.SignatureAlgorithm,
		SelfSigned:         r.SelfSigned,
		SelfIssued:         r.SelfIssued,
		CA:                 r.ActsAsCA,
		BasicConstraintsCA: r.IsCA,
		Malformed:          r.Malformed,
		SANs:               SANs{DNS: nonNil(r.SANs.DNS), URI: nonNil(r.SANs.URI), IP: nonNil(r.SANs.IP), Email: nonNil(r.SANs.Email)},
		KeyUsage:           nonNil(r.KeyUsage),
		ExtKeyUsage:        nonNil(r.ExtKeyUsage),
		SubjectKeyID:       OptionalString(r.SubjectKeyID),
		AuthorityKeyID:     OptionalString(r.AuthorityKeyID),
		Identity:           r.IdentityName,
		IdentityKey:        r.IdentityKey,
		Sources:            nonNil(r.Sources),
		Current:            r.Current,
		Findings:           nonNil(r.Findings),
		Trust:              r.Trust,
		TrustModel:         r.TrustModel,
		Revoked:            r.Revoked,
		Owner:              OptionalString(r.Owner),
		Exception:          r.Exception.JSON(),
	}
	if !r.ExpiresAt.IsZero() {
		at := r.ExpiresAt.UTC().Format(time.RFC3339)
		j.ExpiresAt = &at
	}
	if !r.LastSeen.IsZero() {
		at := r.LastSeen.UTC().Format(time.RFC3339)
		j.LastSeen = &at
	}
	if !r.LogsFrom.IsZero() {
		j.LogsCover = &LogsCoverJSON{From: r.LogsFrom.UTC().Format(time.RFC3339), Until: r.LogsUntil.UTC().Format(time.RFC3339)}
	}
	if j.Trust == nil {
		j.Trust = []TrustRef{}
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// KeyLabel is a short description of the key: "RSA 2048", "ECDSA P-256".
func (c *Certificate) KeyLabel() string { return KeyLabel(c.KeyAlgorithm, c.KeySize, c.KeyCurve) }

// KeyLabel describes a key by algorithm and size or curve.
func KeyLabel(algorithm string, bits int, curve string) string {
	switch {
	case curve != "":
		return algorithm + " " + curve
	case algorithm == "RSA" || algorithm == "DSA":
		return fmt.Sprintf("%s %d", algorithm, bits)
	}
	return algorithm
}

// Signing says how the certificate is signed: by a CA (a server trusts it
// through its chain) or by itself (only explicit trust admits it).
func (c *Certificate) Signing() string {
	switch {
	case c.SelfSigned:
		return "self-signed"
	case c.SelfIssued:
		return "self-issued, not self-verifying"
	}
	return "CA-signed"
}

// SigningLabel says how the certificate is signed and whether it acts as
// a CA, for people.
func (r *Record) SigningLabel() string {
	label := r.Signing()
	if r.ActsAsCA {
		label += " (CA certificate)"
	}
	return label
}

// SigningShort is Signing for a table column: self-signed, self-issued
// or CA-signed, with " CA" for a certificate that acts as one.
func (r *Record) SigningShort() string {
	label := r.Signing()
	if r.SelfIssued && !r.SelfSigned {
		label = "self-issued"
	}
	if r.ActsAsCA {
		label += " CA"
	}
	return label
}

// TrustShort names how it is trusted, for a table column: explicit (a
// pin, a registration, its own CA-file listing), CA, mixed, or, when
// nothing admits it, self-signed or untrusted.
func (r *Record) TrustShort() string { return TrustShort(r.TrustModel, r.SelfSigned) }

// TrustShort is Record.TrustShort from its parts.
func TrustShort(trustModel string, selfSigned bool) string {
	switch trustModel {
	case TrustModelSelfSigned:
		return "explicit"
	case TrustModelCA:
		return "CA"
	case TrustModelMixed:
		return "mixed"
	case TrustModelUntrusted, "":
		if selfSigned {
			return "self-signed"
		}
		return "untrusted"
	}
	return trustModel
}

// CountOf counts things for people: "1 server", "2 servers".
func CountOf(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Relative renders the time from now to t as "in 5d", "3d ago", "in 4h".
func Relative(t, now time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	case d < 2*365*24*time.Hour:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	default:
		s = fmt.Sprintf("%dy", int(d.Hours()/24/365))
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// OrDash is s, or "-" when s is empty: how tables and reports show a
// value that is not there.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShortFingerprint is how tables and reports name a certificate: the
// first 16 hex digits of its SHA-256 fingerprint ("-" for none).
func ShortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return OrDash(fp)
}
