package importers

import (
	"bytes"
	"errors"
	"sync"

	"certgov/model"
)

// A format is one kind of file certgov reads: its name, how sure it is
// that some content is of its kind, and its reader. Every format is
// registered here, in the table below; adding one is its own file (the
// sniffer and the reader) and one line in the table.
type format struct {
	kind model.SourceKind
	// sniff says how sure the content is this format: 0 for not at all;
	// the most confident format reads the file. The scale: a magic number
	// 100, a JSON document of a known shape 90+, a configuration's own
	// words 60-80, PEM armour 50, DER structure 40, a CSV header 30, a
	// list of hashes 20.
	sniff func(c *content) int
	read  func(r *reader, data []byte) error
	// notForced: the format is recognised only to explain why it is not
	// read (JCEKS); --kind does not offer it.
	notForced bool
}

// content is a file's bytes with the classifications several sniffers
// share, each computed at most once.
type content struct {
	data []byte
	// text is what the sniffers of text formats read: the first
	// sniffLimit bytes, to a line's end. A configuration says what it is
	// early; a pin list or CSV of a million lines is told by its start,
	// without a dozen patterns run over all of it.
	text     []byte
	json     bool
	derKind  func() model.SourceKind
	jsonKind func() model.SourceKind // which JSON document it is (detectJSON)
}

// sniffLimit bounds what text sniffers read (content.text).
const sniffLimit = 1 << 20

func newContent(data []byte) *content {
	text := data
	if len(text) > sniffLimit {
		text = text[:sniffLimit]
		if end := bytes.LastIndexByte(text, '\n'); end > 0 {
			text = text[:end+1]
		}
	}
	return &content{data: data, text: text, json: looksLikeJSON(data), derKind: sync.OnceValue(func() model.SourceKind {
		// Every DER structure certgov reads is longer than 127 bytes, so
		// its length is in long form (or BER's indefinite 0x80): a text
		// file that starts with "0" is not one.
		if len(data) < 2 || data[0] != 0x30 || data[1] < 0x80 || data[1] > 0x84 {
			return ""
		}
		return detectDER(data)
	}), jsonKind: sync.OnceValue(func() model.SourceKind { return detectJSON(data) })}
}

// confidenceIf is the confidence c if ok, else 0.
func confidenceIf(ok bool, c int) int {
	if ok {
		return c
	}
	return 0
}

var formats = []format{
	{kind: model.KindPEM, read: (*reader).readPEMFile,
		sniff: func(c *content) int { return confidenceIf(!c.json && bytes.Contains(c.data, pemBegin), 50) }},
	{kind: model.KindDER, read: (*reader).readDER,
		sniff: func(c *content) int { return confidenceIf(!c.json && c.derKind() == model.KindDER, 40) }},
	{kind: model.KindPKCS7, read: (*reader).readPKCS7,
		sniff: func(c *content) int { return confidenceIf(!c.json && c.derKind() == model.KindPKCS7, 40) }},
	{kind: model.KindPKCS12, read: (*reader).readPKCS12,
		sniff: func(c *content) int { return confidenceIf(!c.json && c.derKind() == model.KindPKCS12, 40) }},
	{kind: model.KindJKS, read: (*reader).readJKS,
		sniff: func(c *content) int { return confidenceIf(bytes.HasPrefix(c.data, jksMagic), 100) }},
	{kind: model.KindCABundle, read: (*reader).readCABundle,
		sniff: func(*content) int { return 0 }}, // a PEM file the PEM reader finds to hold anchors
	{kind: model.KindPinList, read: (*reader).readPinList,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikePinList(c.text), 20) }},
	{kind: model.KindOAuth, read: (*reader).readOAuthClients,
		sniff: func(c *content) int { return confidenceIf(c.json && c.jsonKind() == model.KindOAuth, 90) }},
	{kind: model.KindKeycloak, read: (*reader).readKeycloak,
		sniff: func(c *content) int { return confidenceIf(c.json && c.jsonKind() == model.KindKeycloak, 90) }},
	{kind: model.KindNginx, read: (*reader).readNginx,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikeNginx(c.text), 70) }},
	{kind: model.KindHAProxy, read: (*reader).readHAProxy,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikeHAProxy(c.text), 70) }},
	{kind: model.KindApache, read: (*reader).readApache,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikeApache(c.text), 70) }},
	{kind: model.KindStunnel, read: (*reader).readStunnel,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikeStunnel(c.text), 65) }},
	{kind: model.KindPostgreSQL, read: (*reader).readPostgreSQL,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikePostgreSQL(c.text), 70) }},
	{kind: model.KindCaddy, read: (*reader).readCaddy,
		sniff: func(c *content) int {
			// A Caddyfile's client_auth block names trusted_ca_cert_file,
			// which Envoy's sniffer takes for its trusted_ca.
			if c.json && bytes.Contains(c.data, []byte(`"tls_connection_policies"`)) || caddyClientAuthPattern.Match(c.text) {
				return 95
			}
			return confidenceIf(looksLikeCaddy(c.text), 72)
		}},
	{kind: model.KindEnvoy, read: (*reader).readEnvoy,
		sniff: func(c *content) int {
			if c.json {
				return confidenceIf(c.jsonKind() == model.KindEnvoy, 90)
			}
			// A PEM file that quotes an Envoy setting in its comments is PEM.
			return confidenceIf(looksLikeEnvoy(c.text) && !bytes.HasPrefix(bytes.TrimSpace(c.data), pemBegin), 60)
		}},
	{kind: model.KindKubernetes, read: (*reader).readKubernetes,
		sniff: func(c *content) int {
			if c.json {
				return confidenceIf(c.jsonKind() == model.KindKubernetes, 90)
			}
			return confidenceIf(looksLikeKubernetes(c.text), 80)
		}},
	{kind: model.KindCRL, read: func(r *reader, data []byte) error { return r.readCRL(data, 0, "") },
		sniff: func(c *content) int { return confidenceIf(!c.json && c.derKind() == model.KindCRL, 40) }},
	{kind: model.KindCSV, read: (*reader).readCSV,
		sniff: func(c *content) int { return confidenceIf(!c.json && looksLikeCSV(c.text), 30) }},
	{kind: kindJCEKS, notForced: true, read: func(*reader, []byte) error {
		return errors.New("JCEKS keystores are not supported: convert with keytool -importkeystore -deststoretype pkcs12")
	}, sniff: func(c *content) int { return confidenceIf(bytes.HasPrefix(c.data, jceksMagic), 100) }},
}

// Kinds lists the formats that --kind accepts, in the table's order.
var Kinds = func() []string {
	var kinds []string
	for _, f := range formats {
		if !f.notForced {
			kinds = append(kinds, string(f.kind))
		}
	}
	return kinds
}()

// formatOf is the registered format of a kind.
func formatOf(kind model.SourceKind) (format, bool) {
	for _, f := range formats {
		if f.kind == kind {
			return f, true
		}
	}
	return format{}, false
}

// Detect names the format of data by its content, not its file name
// (.crt and .cer files are PEM as often as DER): the most confident
// sniffer's, or "" when none claims it.
func Detect(data []byte) model.SourceKind {
	if pemOnly(data) {
		// Nothing but PEM blocks: no configuration hides in it, and the
		// dozen text sniffers cost a third of importing 10,000 of them.
		return model.KindPEM
	}
	c := newContent(data)
	best, kind := 0, model.SourceKind("")
	for _, f := range formats {
		if n := f.sniff(c); n > best {
			best, kind = n, f.kind
		}
	}
	return kind
}

// pemOnly reports whether data is PEM blocks and blank lines, nothing
// else (no comment, no configuration around them).
func pemOnly(data []byte) bool {
	rest := bytes.TrimSpace(data)
	if len(rest) == 0 {
		return false
	}
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, pemBegin) {
			return false
		}
		end := bytes.Index(rest, pemEnd)
		if end < 0 {
			return false
		}
		eol := bytes.IndexByte(rest[end:], '\n')
		if eol < 0 {
			return true // the END line is the last
		}
		rest = bytes.TrimSpace(rest[end+eol:])
	}
	return true
}
