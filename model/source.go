package model

import (
	"fmt"
	"iter"
	"strings"
	"time"
	"unicode/utf8"
)

// SourceKey is how a source is known: its canonical absolute path, with
// the host it came from in front ("gw-eu-1:/etc/nginx/nginx.conf"), so
// that the same path on two gateways is two sources and one file read by
// two paths is one.
func SourceKey(host, path string) string {
	if host == "" {
		return path
	}
	return host + ":" + path
}

// SplitSourceKey undoes SourceKey. A key without a host is a path, which
// starts with "/" (or is relative, in databases from before sources were
// keyed by canonical path).
func SplitSourceKey(key string) (host, path string) {
	if h, p, ok := strings.Cut(key, ":/"); ok && h != "" && !strings.Contains(h, "/") {
		return h, "/" + p
	}
	return "", key
}

// CheckHost refuses a host name that would make source keys ambiguous.
func CheckHost(host string) error {
	if host == "" || len(host) > 100 || strings.ContainsAny(host, ":/\\ ") || strings.IndexFunc(host, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
		return fmt.Errorf("--host %q: use a host or gateway name of letters, digits, dots and dashes (no spaces, colons or slashes)", Printable(host))
	}
	return nil
}

// SourceKind is the format a file was read as.
type SourceKind string

// Source kinds: the formats certificates are read from.
const (
	KindPEM    SourceKind = "pem"
	KindDER    SourceKind = "der"
	KindPKCS7  SourceKind = "pkcs7"
	KindPKCS12 SourceKind = "pkcs12"
	KindJKS    SourceKind = "jks"
	// KindTrustStore is a JKS or PKCS#12 file holding only trusted
	// certificates, as keytool -importcert writes them: an anchor list
	// with Java's rules (every entry is an anchor).
	KindTrustStore SourceKind = "truststore"
	// Trust configurations.
	KindCABundle   SourceKind = "ca-bundle"
	KindPinList    SourceKind = "pinlist"
	KindOAuth      SourceKind = "oauth-clients"
	KindKeycloak   SourceKind = "keycloak"
	KindNginx      SourceKind = "nginx"
	KindHAProxy    SourceKind = "haproxy"
	KindApache     SourceKind = "apache"
	KindCaddy      SourceKind = "caddy"
	KindStunnel    SourceKind = "stunnel"
	KindPostgreSQL SourceKind = "postgresql"
	KindEnvoy      SourceKind = "envoy"
	KindKubernetes SourceKind = "kubernetes"
	KindCRL        SourceKind = "crl"
	KindCSV        SourceKind = "csv-inventory"
	// KindTLSScan is what certgov scan saw at a live endpoint: the
	// server's own chain and the CA names it asks clients for.
	KindTLSScan SourceKind = "tls-scan"
	// KindAccessLog is a server's access log, read in the format its
	// configuration declares (usage evidence).
	KindAccessLog SourceKind = "access-log"
)

// Source is one file certificates were found in, at one content version.
type Source struct {
	// Path is the source's key: the file's canonical absolute path
	// (symlinks resolved), prefixed "HOST:" when the import named the
	// gateway or machine the files came from (SourceKey).
	Path          string
	Kind          SourceKind
	ContentSHA256 string
	Size          int64
	ImportedAt    time.Time
}

// FoundCertificate is a certificate and where in its source it stands
// ("line 12", "alias partner-a", "bag 2").
type FoundCertificate struct {
	Certificate
	Location string
}

// PrivateKeyFact records that a private key was found, never the key: its
// type and the SHA-256 of its public key, which ties it to the
// certificates that carry that key.
type PrivateKeyFact struct {
	Location   string
	KeyType    string // "RSA 2048", "ECDSA P-256", "Ed25519", "encrypted", …
	SPKISHA256 string // empty when the key could not be read (encrypted)
}

// Problem is bad input at one place of a file: the rest of the file may
// still be usable.
type Problem struct {
	Path string
	Line int // 0 when the format has no lines
	Item string
	Err  error
}

func (p Problem) Error() string {
	where := p.Path
	if p.Line > 0 {
		where = fmt.Sprintf("%s:%d", p.Path, p.Line)
	}
	if p.Item != "" {
		where += ": " + p.Item
	}
	return fmt.Sprintf("%s: %v", where, p.Err)
}

func (p Problem) Unwrap() error { return p.Err }

// Empty reports whether the file yielded nothing at all.
func (r *FileResult) Empty() bool {
	return len(r.Certificates) == 0 && len(r.Keys) == 0 && r.TrustEntryCount() == 0 && len(r.CRLs) == 0 && len(r.Governance) == 0 && len(r.Servers) == 0
}

// EachTrustEntry yields the file's trust entries: those held, then those
// listed.
func (r *FileResult) EachTrustEntry() iter.Seq[TrustEntry] {
	return func(yield func(TrustEntry) bool) {
		for _, e := range r.TrustEntries {
			if !yield(e) {
				return
			}
		}
		if r.ListedEntries != nil {
			r.ListedEntries(yield)
		}
	}
}

// TrustEntryCount is how many entries EachTrustEntry yields.
func (r *FileResult) TrustEntryCount() int { return len(r.TrustEntries) + r.ListedCount }

// GovernanceValue is what an inventory spreadsheet says of a certificate:
// its owner, the date by which it must be reviewed, notes. The file it
// came from is its attribution.
type GovernanceValue struct {
	FingerprintSHA256 string
	Owner             string
	ExpiresAt         time.Time // zero when the sheet gives none
	Notes             string
	Location          string
}

// CRL is a certificate revocation list as read: who issued it, when, and
// which serial numbers it revokes. DER is kept to check its signature
// once the issuing CA is known.
type CRL struct {
	IssuerNormalized string
	Issuer           string
	ThisUpdate       time.Time
	NextUpdate       time.Time
	// Entries is the DER of its revokedCertificates, which Revocations
	// reads one at a time (a list of a million serials held as Revoked
	// values took 100 MB); RevokedCount is how many it holds.
	Entries      []byte
	RevokedCount int
	DER          []byte
	Location     string
}

// Revocations yields the serials the CRL revokes.
func (c *CRL) Revocations() iter.Seq2[Revoked, error] { return EachRevoked(c.Entries) }

// Revoked is one revoked serial number (lowercase hex, as Certificate.Serial).
type Revoked struct {
	Serial    string
	RevokedAt time.Time
}

// FileResult is what one input file yielded. When Err is set the file
// failed as a whole and nothing of it is stored. Skipped files are not
// certificate material (a README in a folder); Unchanged ones were imported
// before with the same content and were not parsed again.
type FileResult struct {
	Source       Source
	Certificates []FoundCertificate
	Keys         []PrivateKeyFact
	TrustEntries []TrustEntry
	// ListedEntries, when not nil, yields more trust entries: those of a
	// list too long to hold (a pin list of a million lines, 300 bytes an
	// entry held), read from the file's text again as they are stored.
	// ListedCount is how many it yields. EachTrustEntry yields both kinds.
	ListedEntries iter.Seq[TrustEntry]
	ListedCount   int
	// Servers are the listeners the file configures; their trust entries
	// are those of TrustEntries with their Scope.
	Servers    []Server
	CRLs       []CRL
	Governance []GovernanceValue
	Problems   []Problem
	// AccessLog is what a server's access log said, for a log.
	AccessLog *AccessLogRead
	Err       error
	Skipped   string // reason, when skipped
	Unchanged bool
}

// ElideSource shortens a source key to at most max characters from the
// left, keeping what tells files apart: the host, and the file name with
// as many of its parent folders as fit ("gw-eu-1:…/nginx/conf.d/mtls.conf").
func ElideSource(key string, max int) string {
	if utf8.RuneCountInString(key) <= max {
		return key
	}
	host, path := SplitSourceKey(key)
	prefix := ""
	if host != "" {
		prefix = host + ":"
	}
	parts := strings.Split(path, "/")
	kept := parts[len(parts)-1]
	for i := len(parts) - 2; i >= 0; i-- {
		next := parts[i] + "/" + kept
		if utf8.RuneCountInString(prefix+"…/"+next) > max {
			break
		}
		kept = next
	}
	out := prefix + "…/" + kept
	if n := utf8.RuneCountInString(out); n > max && max > 1 {
		r := []rune(out)
		return "…" + string(r[n-max+1:]) // even the file name is too long: its end
	}
	return out
}
