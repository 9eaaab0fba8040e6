// Package importers turns files into model values: certificates (PEM,
// DER, PKCS#7, PKCS#12, JKS, truststores), trust configurations (CA
// bundles, pin lists, OAuth mTLS client registrations, Keycloak realms,
// nginx and Envoy configs, Kubernetes Secrets and Ingresses), CRLs and CSV
// inventories (Kinds lists them; Detect tells them apart by content). It
// reads files but never touches the database, and it never keeps private
// key material: a key found on the way becomes a model.PrivateKeyFact and
// is dropped.
package importers

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// Options steer an import.
type Options struct {
	// Kind forces a format (pem, der, pkcs7, pkcs12, jks) instead of
	// detecting it from the content.
	Kind model.SourceKind
	// AccessLogFor gives the access logs a file is (or a rotation of),
	// as the imported servers declare them (servers may share a file, in
	// formats of their own); none when it is no log. Such a file is
	// streamed, whatever its size, never read whole, in the first of
	// their formats certgov can read usage from.
	AccessLogFor func(path string) []model.AccessLog
	// OnlyAccessLogs reads access logs alone: the second pass of an
	// import, once the configurations that name them are stored. Other
	// files are passed by unread (Skipped, Kind empty).
	OnlyAccessLogs bool
	// Password is the keystore password configured by the user, if any.
	Password []byte
	// PasswordFor gives the password a per-file map configures for the
	// keystore at path, nil when it names none; it is tried first.
	PasswordFor func(path string) []byte
	// Prompt asks for a keystore password interactively; nil when there is
	// no terminal.
	Prompt func(path string) ([]byte, error)
	// Known reports whether this content of this path was imported before;
	// such files are not parsed again.
	Known func(path, contentSHA256 string) bool
	// ReadBefore gives what an import read of a log before (by its source
	// key): its content's hash and size. A log that grew since is read
	// from where that read ended.
	ReadBefore func(path string) (contentSHA256 string, size int64, ok bool)
	// Now stamps the sources; time.Now when zero.
	Now func() time.Time
	// Host names the gateway or machine the files came from; it prefixes
	// every source key (model.SourceKey).
	Host string
	// Root is where a copy of Host's files lies: an absolute path a
	// configuration names (/etc/nginx/ca.pem) is read under it. Without
	// it, a copied configuration (Host set) may name absolute paths
	// inside the imported tree only: this machine's /etc is not Host's.
	Root string
	// Tree is the canonical paths being imported (Walk sets it).
	Tree []string
	// Server names the service that uses the imported anchor list or
	// truststore (a Tomcat, Kafka or Spring service over a Java
	// truststore): the file then configures that server, instead of
	// standing alone as a trust store.
	Server string

	// seen remembers self-issued certificates already classified in this
	// walk: CA certificates repeat in every bundle, and checking their
	// signature costs far more than parsing them.
	seen *factsCache
}

// ErrWrongPassword is returned when no password opens a keystore.
var ErrWrongPassword = errors.New("wrong keystore password (set CERTGOV_KEYSTORE_PASSWORD or use --password-file)")

// errNotCertificateMaterial marks content that is no certificate format at
// all; inside a folder such files are skipped rather than failed.
var errNotCertificateMaterial = errors.New("unknown format: not PEM, DER, PKCS#7, PKCS#12 or JKS")

// certificateExtensions are names that promise certificate material, so a
// file with one of them that cannot be read is an error, not a skip.
var certificateExtensions = map[string]bool{
	".pem": true, ".crt": true, ".cer": true, ".der": true, ".cert": true,
	".p7b": true, ".p7c": true, ".p12": true, ".pfx": true, ".jks": true,
	".keystore": true, ".truststore": true, ".ca-bundle": true,
}

// Parse reads one file's content. explicit says whether the user named
// the file (an unknown format is then an error) or it was found in a folder
// (an unknown format without a certificate extension is skipped). Every
// loop over the file's items checks ctx: an interrupted import stops in
// the middle of a big or hostile file, which then yields only ctx's error.
func Parse(ctx context.Context, path string, data []byte, opts Options, explicit bool) model.FileResult {
	sum := sha256.Sum256(data)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	key := model.SourceKey(opts.Host, path)
	contentSHA256 := hex.EncodeToString(sum[:])
	if opts.Server != "" {
		// The same bytes serving a named service are another reading.
		contentSHA256 = dependentHash(sum, []string{"server\x00" + opts.Server})
	}
	res := model.FileResult{Source: model.Source{
		Path:          key,
		ContentSHA256: contentSHA256,
		Size:          int64(len(data)),
		ImportedAt:    now().UTC().Truncate(time.Second),
	}}
	if opts.Known != nil && opts.Known(key, res.Source.ContentSHA256) {
		res.Unchanged = true
		return res
	}
	promisesCertificates := explicit || certificateExtensions[strings.ToLower(filepath.Ext(path))]
	if len(data) == 0 {
		if promisesCertificates {
			res.Err = fmt.Errorf("%s: empty file", path)
		} else {
			res.Skipped = "empty file"
		}
		return res
	}
	kind := opts.Kind
	if kind == "" {
		kind = Detect(data)
		if kind == model.KindPinList && !pinListNamed(path) && !markedPins(data) {
			kind = "" // could be a secret key file (pinListNamed)
		}
	}
	res.Source.Kind = kind
	if configKinds[kind] && len(data) > maxConfigSize {
		res.Err = fmt.Errorf("%s: a %s file of %s is over the %s certgov reads for configurations (the decoded tree costs several times the text)", path, kind, sizeLabel(int64(len(data))), sizeLabel(maxConfigSize))
		return res
	}
	r := &reader{ctx: ctx, path: path, opts: opts, res: &res}
	var err error
	switch f, ok := formatOf(kind); {
	case kind == "":
		err = errNotCertificateMaterial
	case !ok:
		err = fmt.Errorf("unknown kind %q (one of %s)", kind, strings.Join(Kinds, ", "))
	default:
		err = f.read(r, data)
	}
	if err == nil && opts.Server != "" {
		r.serve(opts.Server)
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	// Configurations are recognised by the words they use, which a README
	// or a runbook may use too: a file taken for one that is not (no
	// validation context, not YAML at all) is no certificate material,
	// skipped in a walk, rather than a broken configuration.
	if err != nil && opts.Kind == "" && configKinds[kind] && res.Empty() && ctx.Err() == nil {
		err = fmt.Errorf("%w: read as %s: %v", errNotCertificateMaterial, kind, err)
	}
	if len(r.depends) > 0 {
		// The files the configuration names are part of its content: a
		// changed CA file makes a changed configuration.
		if opts.Server != "" {
			r.depends = append(r.depends, "server\x00"+opts.Server)
		}
		res.Source.ContentSHA256 = dependentHash(sum, r.depends)
		if err == nil && opts.Known != nil && opts.Known(key, res.Source.ContentSHA256) {
			return model.FileResult{Source: res.Source, Unchanged: true}
		}
	}
	if r.unlisted > 0 {
		r.res.Problems = append(r.res.Problems, model.Problem{Path: path, Err: fmt.Errorf("%d more problems not listed", r.unlisted)})
	}
	var part *partOfError
	if errors.As(err, &part) {
		res.Skipped = part.Error()
		return res
	}
	if errors.Is(err, errNotCertificateMaterial) && !promisesCertificates {
		res.Skipped = "not certificate material"
		return res
	}
	if err == nil && res.Empty() && len(res.Problems) > 0 {
		// Nothing usable: the file failed, and is read again next time.
		err = res.Problems[0].Err
		if item := res.Problems[0].Item; item != "" {
			err = fmt.Errorf("%s: %w", item, err)
		}
		if n := len(res.Problems); n > 1 {
			err = fmt.Errorf("%w (and %d more problems)", err, n-1)
		}
		if line := res.Problems[0].Line; line > 0 {
			path = fmt.Sprintf("%s:%d", path, line)
		}
	}
	if err == nil && res.Empty() && len(res.Problems) == 0 {
		if promisesCertificates {
			err = errors.New("no certificates found")
		} else {
			res.Skipped = "no certificates or keys"
			return res
		}
	}
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		// A failed file yields nothing: it is read again next time, whole.
		res = model.FileResult{Source: res.Source, Err: res.Err}
	}
	return res
}

const kindJCEKS model.SourceKind = "jceks"

var (
	jksMagic   = []byte{0xfe, 0xed, 0xfe, 0xed}
	jceksMagic = []byte{0xce, 0xce, 0xce, 0xce}
	pemBegin   = []byte("-----BEGIN ")
	oidData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSigned  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// looksLikeTrustStore reports whether a PEM file is a CA bundle rather than
// client certificates: all its certificates are CAs, and either they all
// may sign certificates (keyCertSign) or the file is named like a trust
// store. "All CAs" alone is not enough: `openssl req -x509` marks the
// self-signed client certificates it makes CA:TRUE.
func looksLikeTrustStore(path string, certs []model.FoundCertificate) bool {
	if len(certs) == 0 {
		return false
	}
	signers := true
	for _, c := range certs {
		if !c.IsCA {
			return false
		}
		signers = signers && slices.Contains(c.KeyUsage, "keyCertSign")
	}
	name := strings.ToLower(filepath.Base(path))
	for _, hint := range []string{"ca-", "ca.", "cacert", "bundle", "trust", "root", "anchor"} {
		if strings.Contains(name, hint) {
			return true
		}
	}
	return signers
}

// readPEMFile reads a PEM file; one whose certificates are all CAs that
// may sign (or that is named like a trust store) is an anchor list, unless
// the user forced the kind.
func (r *reader) readPEMFile(data []byte) error {
	if err := r.readPEM(data); err != nil {
		return err
	}
	if r.opts.Kind == "" && looksLikeTrustStore(r.path, r.res.Certificates) {
		r.res.Source.Kind = model.KindCABundle
		r.trustCAs()
	}
	return nil
}

// serve makes the file's anchors those of one server, the named service
// that uses it: Java's PKIX (a truststore) and OpenSSL-based services (a
// CA file) set no depth bound of their own.
func (r *reader) serve(name string) {
	srv := model.Server{Kind: "service", Names: []string{name}, Host: r.opts.Host, Location: filepath.Base(r.path),
		Mode: model.VerifyOn, Depth: -1, Scope: "service " + name}
	if r.res.Source.Kind == model.KindJKS || r.res.Source.Kind == model.KindPKCS12 || r.res.Source.Kind == model.KindTrustStore {
		srv.Kind, srv.AcceptsSHA1 = "java service", true
	}
	n := 0
	for i := range r.res.TrustEntries {
		if e := &r.res.TrustEntries[i]; e.Scope == "" {
			e.Scope = srv.Scope
			n++
		}
	}
	if n == 0 {
		r.problem(0, "--server "+name, errors.New("the file holds no anchors for a server to use"))
		return
	}
	srv.Anchors = []string{filepath.Base(r.path)}
	srv.AnchorFiles = []string{r.res.Source.Path}
	r.res.Servers = append(r.res.Servers, srv)
}

// readCABundle reads a PEM file whose every certificate is an anchor.
func (r *reader) readCABundle(data []byte) error {
	if err := r.readPEM(data); err != nil {
		return err
	}
	r.trustCAs()
	return nil
}

// trustCAs makes the file an anchor list: every certificate read so far
// is an anchor, a self-signed client certificate as much as a CA (a
// server given this file as its CA file admits both).
func (r *reader) trustCAs() {
	r.anchors(r.res.Certificates, filepath.Base(r.path), "", "", "")
}

// anchors records certs as one anchor list: label names the list, location
// and scope the place that trusts it; match is "" (OpenSSL's CAfile rules)
// or model.MatchPartialChain (Java's truststore rules).
func (r *reader) anchors(certs []model.FoundCertificate, label, location, scope, match string) {
	for _, c := range certs {
		r.res.TrustEntries = append(r.res.TrustEntries, model.TrustEntry{
			Kind: model.EntryCA, Value: c.FingerprintSHA256, HashAlgorithm: "sha256", Match: match,
			Label: label, Location: location, Scope: scope,
		})
	}
}

// detectDER tells certificate, CRL, PKCS#7 and PKCS#12 apart by the tag
// of the first element inside the outer SEQUENCE. It reads only headers,
// so truncated files and BER with indefinite lengths are still told apart
// and then fail in their own parser with a precise error.
func detectDER(data []byte) model.SourceKind {
	inner, ok := skipHeader(data)
	if !ok || len(inner) == 0 {
		return ""
	}
	switch inner[0] {
	case 0x02: // PFX version INTEGER
		return model.KindPKCS12
	case 0x06: // ContentInfo contentType OID
		return model.KindPKCS7
	case 0x30: // TBSCertificate or TBSCertList
		tbs, ok := skipHeader(inner)
		switch {
		case !ok || len(tbs) == 0:
			return model.KindDER
		case tbs[0] == 0x30: // a v1 CRL starts with its signature algorithm
			return model.KindCRL
		case tbs[0] == 0x02 && looksLikeCRL(data): // v2 CRL version, or v1 certificate serial
			return model.KindCRL
		}
		return model.KindDER
	}
	return ""
}

// skipHeader returns what follows a BER tag-length header.
func skipHeader(b []byte) ([]byte, bool) {
	if len(b) < 2 {
		return nil, false
	}
	switch l := b[1]; {
	case l <= 0x80: // short form, or indefinite length
		return b[2:], true
	default:
		n := int(l & 0x7f)
		if n > 4 || len(b) < 2+n {
			return nil, false
		}
		return b[2+n:], true
	}
}

// configKinds are the formats decoded into a tree (YAML, JSON): they get
// the smaller maxConfigSize.
var configKinds = map[model.SourceKind]bool{model.KindEnvoy: true, model.KindKubernetes: true, model.KindOAuth: true, model.KindKeycloak: true}

// maxConfigSize bounds YAML and JSON files: decoding builds a tree several
// times the size of the text, and the largest real ones (a cluster's
// Secret list, a realm export) are a few MiB.
const maxConfigSize = 32 << 20

// reader carries the state of reading one file.
type reader struct {
	ctx  context.Context
	path string
	opts Options
	res  *model.FileResult
	// unlisted counts the problems past maxProblems: a hostile file can
	// hold a problem a line, and each would be a line on the terminal.
	unlisted int
	// depends lists the files the configuration names, each with the
	// SHA-256 of what was read ("missing" when it could not be).
	depends []string
}

// referencedPath is where a path a configuration names is read from:
// a relative one from the naming file's folder; an absolute one as it is
// for this machine's own configuration, under Root for a copy of Host's,
// and otherwise only inside the imported tree (OutsideTreeError).
func (r *reader) referencedPath(path, from string) (string, error) {
	if !filepath.IsAbs(path) {
		return filepath.Join(filepath.Dir(from), path), nil
	}
	if r.opts.Host == "" {
		return path, nil
	}
	if r.opts.Root != "" {
		return filepath.Join(r.opts.Root, path), nil
	}
	if r.inTree(path) {
		return path, nil
	}
	return "", &OutsideTreeError{Path: path, Host: r.opts.Host}
}

// OutsideTreeError is an absolute path in a copied configuration that
// lies outside what was imported: read from this machine, it would be
// this machine's file, not the host's.
type OutsideTreeError struct {
	Path, Host string
}

func (e *OutsideTreeError) Error() string {
	return fmt.Sprintf("names %s, not imported: this machine's file is not %s's; pass --root DIR, the folder holding a copy of %s's files", e.Path, e.Host, e.Host)
}

// inTree reports whether path lies in what is being imported (Walk's
// roots).
func (r *reader) inTree(path string) bool {
	for _, top := range r.opts.Tree {
		if rel, err := filepath.Rel(top, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}

// readReferenced reads a file the configuration names (a CA file, an
// include) and notes its content, which becomes part of the
// configuration's content hash.
func (r *reader) readReferenced(path string) ([]byte, error) {
	data, err := ReadBounded(path, MaxFileSize)
	sum := "missing"
	if err == nil {
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
	}
	r.depends = append(r.depends, path+"\x00"+sum)
	return data, err
}

// dependentHash is the content hash of a configuration with the files it
// names: SHA-256 over its own hash and theirs, in the order they were read.
func dependentHash(own [32]byte, depends []string) string {
	h := sha256.New()
	h.Write(own[:])
	for _, d := range depends {
		h.Write([]byte("\n" + d))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// maxProblems is how many problems a file lists.
const maxProblems = 100

func (r *reader) addCertificate(der []byte, line int, location string) {
	cert, ok := r.opts.seen.lookup(der)
	var err error
	if !ok {
		cert, err = model.ParseCertificate(der)
		if err == nil && cert.SelfIssued {
			r.opts.seen.store(cert)
		}
	}
	if err != nil {
		// Go refuses some certificates that OpenSSL and gateways use: keep
		// what can be read, with a malformed finding. Only bytes that are
		// no certificate at all are a problem of the file.
		malformed, perr := model.ParseMalformed(der, err)
		if perr != nil {
			r.problem(line, location, fmt.Errorf("certificate cannot be parsed: %w", err))
			return
		}
		cert = malformed
	}
	r.res.Certificates = append(r.res.Certificates, model.FoundCertificate{Certificate: cert, Location: location})
}

// interrupted reports whether the import was stopped (Ctrl-C, SIGTERM):
// every loop over a file's items asks, so that a big or hostile file
// stops at once instead of when it is done.
func (r *reader) interrupted() bool { return r.ctx.Err() != nil }

func (r *reader) problem(line int, item string, err error) {
	r.problemIn(r.path, line, item, err)
}

// problemIn reports a problem in another file than the one being read: a
// file the configuration includes or names.
func (r *reader) problemIn(path string, line int, item string, err error) {
	if len(r.res.Problems) >= maxProblems {
		r.unlisted++
		return
	}
	r.res.Problems = append(r.res.Problems, model.Problem{Path: path, Line: line, Item: item, Err: err})
}

// passwords yields the keystore passwords to try, in order: the one the
// user configured, then the empty one and Java's default "changeit" (most
// truststores in the wild), then, on a terminal, one typed at a prompt.
func (r *reader) tryPasswords(open func(password []byte) error) error {
	candidates := [][]byte{}
	if r.opts.PasswordFor != nil {
		if pw := r.opts.PasswordFor(r.path); pw != nil {
			candidates = append(candidates, pw)
		}
	}
	if r.opts.Password != nil {
		candidates = append(candidates, r.opts.Password)
	}
	candidates = append(candidates, []byte{}, []byte("changeit"))
	for _, pw := range candidates {
		err := open(pw)
		if !errors.Is(err, ErrWrongPassword) {
			return err
		}
	}
	if r.opts.Prompt != nil && r.opts.Password == nil {
		pw, err := r.opts.Prompt(r.path)
		if err != nil {
			return err
		}
		return open(pw)
	}
	return ErrWrongPassword
}
