// Package importers turns certificate files (PEM, DER, PKCS#7, PKCS#12,
// JKS) into model values. It reads files but never touches the database,
// and it never keeps private key material: a key found on the way becomes
// a model.PrivateKeyFact and is dropped.
package importers

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"certgov/model"
)

// Options steer an import.
type Options struct {
	// Kind forces a format (pem, der, pkcs7, pkcs12, jks) instead of
	// detecting it from the content.
	Kind string
	// Password is the keystore password configured by the user, if any.
	Password []byte
	// Prompt asks for a keystore password interactively; nil when there is
	// no terminal.
	Prompt func(path string) ([]byte, error)
	// Known reports whether this content of this path was imported before;
	// such files are not parsed again.
	Known func(path, contentSHA256 string) bool
	// Now stamps the sources; time.Now when zero.
	Now func() time.Time
}

// Kinds lists the formats that --kind accepts.
var Kinds = []string{model.KindPEM, model.KindDER, model.KindPKCS7, model.KindPKCS12, model.KindJKS}

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
	".keystore": true, ".truststore": true, ".ts": false, ".ca-bundle": true,
}

// Parse reads one file's content. explicit says whether the user named
// the file (an unknown format is then an error) or it was found in a folder
// (an unknown format without a certificate extension is skipped).
func Parse(path string, data []byte, opts Options, explicit bool) model.FileResult {
	sum := sha256.Sum256(data)
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	res := model.FileResult{Source: model.Source{
		Path:          path,
		ContentSHA256: hex.EncodeToString(sum[:]),
		Size:          int64(len(data)),
		ImportedAt:    now().UTC().Truncate(time.Second),
	}}
	if opts.Known != nil && opts.Known(path, res.Source.ContentSHA256) {
		res.Unchanged = true
		return res
	}
	kind := opts.Kind
	if kind == "" {
		kind = Detect(data)
	}
	res.Source.Kind = kind
	r := &reader{path: path, opts: opts, res: &res}
	var err error
	switch kind {
	case model.KindPEM:
		err = r.readPEM(data)
	case model.KindDER:
		err = r.readDER(data)
	case model.KindPKCS7:
		err = r.readPKCS7(data)
	case model.KindPKCS12:
		err = r.readPKCS12(data)
	case model.KindJKS:
		err = r.readJKS(data)
	case kindJCEKS:
		err = errors.New("JCEKS keystores are not supported: convert with keytool -importkeystore -deststoretype pkcs12")
	case kindCRL:
		res.Skipped = "certificate revocation list, not a certificate"
		return res
	case "":
		err = errNotCertificateMaterial
	default:
		err = fmt.Errorf("unknown kind %q (one of %s)", kind, strings.Join(Kinds, ", "))
	}
	if errors.Is(err, errNotCertificateMaterial) && !explicit && !certificateExtensions[strings.ToLower(filepath.Ext(path))] {
		res.Skipped = "not certificate material"
		return res
	}
	if err == nil && len(res.Certificates) == 0 && len(res.Keys) == 0 && len(res.Problems) == 0 {
		if explicit || certificateExtensions[strings.ToLower(filepath.Ext(path))] {
			err = errors.New("no certificates found")
		} else {
			res.Skipped = "no certificates or keys"
			return res
		}
	}
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path, err)
		res.Certificates, res.Keys, res.Problems = nil, nil, nil
	}
	return res
}

const (
	kindJCEKS = "jceks"
	kindCRL   = "crl"
)

var (
	jksMagic   = []byte{0xfe, 0xed, 0xfe, 0xed}
	jceksMagic = []byte{0xce, 0xce, 0xce, 0xce}
	pemBegin   = []byte("-----BEGIN ")
	oidData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSigned  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// Detect names the format of data by its content, not its file name:
// .crt and .cer files are PEM as often as DER.
func Detect(data []byte) string {
	switch {
	case bytes.HasPrefix(data, jksMagic):
		return model.KindJKS
	case bytes.HasPrefix(data, jceksMagic):
		return kindJCEKS
	case bytes.Contains(data, pemBegin):
		return model.KindPEM
	case len(data) > 0 && data[0] == 0x30:
		return detectDER(data)
	}
	return ""
}

// detectDER tells certificate, CRL, PKCS#7 and PKCS#12 apart by the first
// element inside the outer SEQUENCE.
func detectDER(data []byte) string {
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(data, &outer); err != nil || outer.Tag != asn1.TagSequence {
		// BER with indefinite lengths (some PKCS#7 and PKCS#12 writers)
		// fails DER decoding; peek at the raw bytes instead.
		return detectIndefinite(data)
	}
	var firstElem asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &firstElem); err != nil {
		return ""
	}
	switch {
	case firstElem.Class == asn1.ClassUniversal && firstElem.Tag == asn1.TagInteger:
		return model.KindPKCS12
	case firstElem.Class == asn1.ClassUniversal && firstElem.Tag == asn1.TagOID:
		return model.KindPKCS7
	case firstElem.Class == asn1.ClassUniversal && firstElem.Tag == asn1.TagSequence:
		var tbsFirst asn1.RawValue
		if _, err := asn1.Unmarshal(firstElem.Bytes, &tbsFirst); err != nil {
			return ""
		}
		// A TBSCertificate starts with [0] version or the serial INTEGER;
		// a TBSCertList with an optional INTEGER version then an
		// AlgorithmIdentifier SEQUENCE. Disambiguate by trying to parse.
		if tbsFirst.Class == asn1.ClassContextSpecific && tbsFirst.Tag == 0 {
			return model.KindDER
		}
		if looksLikeCRL(data) {
			return kindCRL
		}
		return model.KindDER
	}
	return ""
}

func detectIndefinite(data []byte) string {
	// 30 80 (SEQUENCE, indefinite) then 02 01 03 (INTEGER 3) is a PFX;
	// 30 80 06 09 2a 86 48 86 f7 0d 01 07 is a PKCS#7 ContentInfo.
	if len(data) < 5 || data[0] != 0x30 {
		return ""
	}
	body := data[2:]
	if data[1] > 0x80 {
		n := int(data[1] & 0x7f)
		if len(data) < 2+n+3 {
			return ""
		}
		body = data[2+n:]
	}
	switch {
	case bytes.HasPrefix(body, []byte{0x02, 0x01, 0x03}):
		return model.KindPKCS12
	case bytes.HasPrefix(body, []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07}):
		return model.KindPKCS7
	}
	return ""
}

// reader carries the state of reading one file.
type reader struct {
	path string
	opts Options
	res  *model.FileResult
}

func (r *reader) addCertificate(der []byte, line int, location string) {
	cert, err := model.ParseCertificate(der)
	if err != nil {
		r.problem(line, location, fmt.Errorf("certificate cannot be parsed: %w", err))
		return
	}
	r.res.Certificates = append(r.res.Certificates, model.FoundCertificate{Certificate: cert, Location: location})
}

func (r *reader) problem(line int, item string, err error) {
	r.res.Problems = append(r.res.Problems, model.Problem{Path: r.path, Line: line, Item: item, Err: err})
}

// passwords yields the keystore passwords to try, in order: the one the
// user configured, then the empty one and Java's default "changeit" (most
// truststores in the wild), then, on a terminal, one typed at a prompt.
func (r *reader) tryPasswords(open func(password []byte) error) error {
	candidates := [][]byte{}
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
