package importers

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"certgov/model"
)

// Plain pin lists: one pin per line, "#" comments, an optional label after
// the pin. A pin is a certificate fingerprint (SHA-256 or SHA-1 hex, colons
// and a "sha256:" prefix allowed) or an SPKI hash (base64, "sha256/"
// prefix allowed).

// readPinList reads a pin list. Every line is checked here, and each bad
// one reported, but the entries are not held: a list of a million pins
// held 300 MB of them. ListedEntries reads them from data again as the
// store writes them, so data is not to change after Parse. With --server
// (serve gives each entry the server's scope) they are held.
func (r *reader) readPinList(data []byte) error {
	held := r.opts.Server != ""
	for entry := range pinListEntries(r.ctx, data, r.problem) {
		if held {
			r.res.TrustEntries = append(r.res.TrustEntries, entry)
		} else {
			r.res.ListedCount++
		}
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if !held {
		ctx := r.ctx
		r.res.ListedEntries = func(yield func(model.TrustEntry) bool) {
			for entry := range pinListEntries(ctx, data, nil) {
				if !yield(entry) {
					return
				}
			}
		}
	}
	return nil
}

// pinListEntries yields a pin list's entries, reporting each line that is
// not a pin to problem (when not nil). It stops when ctx is done.
func pinListEntries(ctx context.Context, data []byte, problem func(line int, item string, err error)) iter.Seq[model.TrustEntry] {
	return func(yield func(model.TrustEntry) bool) {
		for line := range pinListLines(data) {
			if ctx.Err() != nil {
				return
			}
			if line.text == "" {
				continue
			}
			pin, label, _ := strings.Cut(line.text, " ")
			entry, err := parsePin(pin)
			if err != nil {
				if problem != nil {
					problem(line.number, "", err)
				}
				continue
			}
			entry.Label = strings.TrimSpace(label)
			entry.Location = "line " + strconv.Itoa(line.number)
			if !yield(entry) {
				return
			}
		}
	}
}

type pinLine struct {
	number int
	text   string // without comment and surrounding space; tabs as spaces
}

// pinListLines yields the lines one at a time: a list of a million pins
// is never held twice.
func pinListLines(data []byte) iter.Seq[pinLine] {
	return func(yield func(pinLine) bool) {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), MaxFileSize)
		for n := 1; sc.Scan(); n++ {
			line, _, _ := bytes.Cut(sc.Bytes(), []byte("#"))
			text := strings.TrimSpace(strings.ReplaceAll(string(line), "\t", " "))
			if !yield(pinLine{number: n, text: text}) {
				return
			}
		}
	}
}

func parsePin(pin string) (model.TrustEntry, error) {
	if value, algorithm, err := model.ParseFingerprintPin(pin); err == nil {
		return model.TrustEntry{Kind: model.EntryFingerprint, Value: value, HashAlgorithm: algorithm}, nil
	}
	if value, err := model.ParseSPKIPin(pin); err == nil {
		return model.TrustEntry{Kind: model.EntrySPKI, Value: value, HashAlgorithm: "sha256"}, nil
	}
	return model.TrustEntry{}, fmt.Errorf("%q is neither a certificate fingerprint (hex SHA-256 or SHA-1) nor an SPKI hash (base64 SHA-256)", pin)
}

// pinListNamed: the file's name says it holds pins. A bare 64-digit hex
// string or a 44-character base64 one is also what a secret key file
// holds (`openssl rand -hex 32`, `wg genkey`): such content is taken as
// pins only from a file so named, with pins marked as such
// (markedPins), or with --kind pinlist, so that a secret is never stored
// as a trust entry nor printed.
func pinListNamed(path string) bool {
	name := strings.ToLower(filepath.Base(path))
	for _, word := range []string{"pin", "fingerprint", "thumbprint", "allow", "trust"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// markedPins: every pin of the list says what it is (sha256/…, sha256:…,
// pin-sha256=…, or colon-separated hex as openssl prints fingerprints).
func markedPins(data []byte) bool {
	for line := range pinListLines(data) {
		if line.text == "" {
			continue
		}
		pin, _, _ := strings.Cut(line.text, " ")
		lower := strings.ToLower(pin)
		if !strings.HasPrefix(lower, "sha256/") && !strings.HasPrefix(lower, "sha256:") && !strings.HasPrefix(lower, "sha1:") &&
			!strings.HasPrefix(lower, "pin-sha256") && strings.Count(pin, ":") < 15 {
			return false
		}
	}
	return true
}

// looksLikePinList: UTF-8 text whose lines, apart from comments and blank
// ones, mostly start with a pin.
func looksLikePinList(data []byte) bool {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return false
	}
	pins, others := 0, 0
	for line := range pinListLines(data) {
		if line.text == "" {
			continue
		}
		pin, _, _ := strings.Cut(line.text, " ")
		if _, err := parsePin(pin); err == nil {
			pins++
		} else {
			others++
		}
	}
	return pins > 0 && pins >= others
}
