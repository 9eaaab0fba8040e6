package importers

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"certgov/model"
)

// nginx configuration: the CA files of ssl_client_certificate and
// ssl_trusted_certificate (read relative to the configuration), the
// ssl_verify_client mode, and map blocks keyed on $ssl_client_fingerprint
// (SHA-1 hex), $ssl_client_s_dn (RFC 2253, "~" for a regular expression) or
// $ssl_client_serial.

type nginxToken struct {
	text   string
	line   int
	quoted bool
}

// nginxTokens splits a configuration into words, ";", "{" and "}", with
// their lines; comments are dropped and quotes resolved.
func nginxTokens(data []byte) ([]nginxToken, error) {
	var tokens []nginxToken
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			tokens = append(tokens, nginxToken{text: string(c), line: line})
			i++
		case c == '"' || c == '\'':
			start, quote := line, c
			var b strings.Builder
			i++
			for i < len(data) && data[i] != quote {
				if data[i] == '\\' && i+1 < len(data) {
					i++
				}
				if data[i] == '\n' {
					line++
				}
				b.WriteByte(data[i])
				i++
			}
			if i >= len(data) {
				return nil, fmt.Errorf("line %d: unclosed quote", start)
			}
			i++
			tokens = append(tokens, nginxToken{text: b.String(), line: start, quoted: true})
		default:
			start := i
			for i < len(data) && !bytes.ContainsRune([]byte(" \t\r\n;{}#\"'"), rune(data[i])) {
				i++
			}
			tokens = append(tokens, nginxToken{text: string(data[start:i]), line: line})
		}
	}
	return tokens, nil
}

func (r *reader) readNginx(data []byte) error {
	tokens, err := nginxTokens(data)
	if err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	verify := "" // the ssl_verify_client mode in force where a CA file is named
	depth := 0
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t.text == "{" && !t.quoted:
			depth++
			continue
		case t.text == "}" && !t.quoted:
			depth--
			if depth < 0 {
				return fmt.Errorf("nginx: line %d: unbalanced }", t.line)
			}
			continue
		}
		// A directive: its words up to ";" or "{".
		j := i + 1
		for j < len(tokens) && !(!tokens[j].quoted && (tokens[j].text == ";" || tokens[j].text == "{")) {
			j++
		}
		if j >= len(tokens) {
			return fmt.Errorf("nginx: line %d: %q is not ended by ; or {", t.line, t.text)
		}
		args := tokens[i+1 : j]
		switch t.text {
		case "ssl_verify_client":
			if len(args) == 1 {
				verify = args[0].text
			}
		case "ssl_client_certificate", "ssl_trusted_certificate":
			if len(args) == 1 {
				r.nginxCAFile(t.text, args[0].text, t.line, verify)
			}
		case "map":
			if tokens[j].text == "{" && len(args) == 2 {
				end := skipBlock(tokens, j+1)
				if trustMapVariables[args[0].text] {
					var err error
					if end, err = r.nginxMap(args[0].text, tokens, j+1); err != nil {
						return err
					}
				}
				i = end
				continue
			}
		}
		if tokens[j].text == "{" {
			depth++
		}
		i = j
	}
	if depth != 0 {
		return errors.New("nginx: unbalanced { }")
	}
	return nil
}

// nginxCAFile reads the CA file a directive names: its CAs become trust
// anchors of this configuration, and its certificates are inventoried.
// With ssl_verify_client optional_no_ca no chain is verified, so the file
// admits nobody and only its certificates are inventoried.
func (r *reader) nginxCAFile(directive, file string, line int, verify string) {
	location := fmt.Sprintf("line %d: %s", line, directive)
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(r.path), path)
	}
	data, err := readLimited(path)
	if err != nil {
		r.problem(line, directive, fmt.Errorf("CA file %s: %w", file, err))
		return
	}
	label := filepath.Base(file)
	if verify != "" {
		label += " (ssl_verify_client " + verify + ")"
	}
	before := len(r.res.TrustEntries)
	r.trustCAData(path, data, line, location+" "+file, label)
	for i := before; i < len(r.res.TrustEntries); i++ {
		r.res.TrustEntries[i].Location = location
	}
	if verify == "optional_no_ca" {
		r.res.TrustEntries = r.res.TrustEntries[:before]
	}
}

// nginxMap reads a map block from start (after "{") and returns the index
// of its closing "}".
func (r *reader) nginxMap(variable string, tokens []nginxToken, start int) (int, error) {
	i := start
	for i < len(tokens) {
		if t := tokens[i]; t.text == "}" && !t.quoted {
			return i, nil
		}
		j := i
		for j < len(tokens) && !(tokens[j].text == ";" && !tokens[j].quoted) {
			j++
		}
		if j >= len(tokens) {
			break
		}
		words := tokens[i:j]
		i = j + 1
		if len(words) != 2 || (!words[0].quoted && (words[0].text == "default" || words[0].text == "hostnames" || words[0].text == "volatile" || words[0].text == "include")) {
			continue
		}
		key, value, line := words[0].text, words[1].text, words[0].line
		if denies(value) {
			continue
		}
		entry, err := nginxMapEntry(variable, key)
		if err != nil {
			r.problem(line, "map "+variable, err)
			continue
		}
		entry.Label, entry.Location = value, fmt.Sprintf("line %d: map %s", line, variable)
		r.res.TrustEntries = append(r.res.TrustEntries, entry)
	}
	return 0, fmt.Errorf("nginx: map %s is not closed", variable)
}

func skipBlock(tokens []nginxToken, start int) int {
	for i := start; i < len(tokens); i++ {
		if tokens[i].text == "}" && !tokens[i].quoted {
			return i
		}
	}
	return len(tokens) - 1
}

// denies reports map values that mean "not allowed".
func denies(value string) bool {
	switch strings.ToLower(value) {
	case "", "0", "off", "no", "false", "deny":
		return true
	}
	return false
}

// trustMapVariables are the map keys that decide which certificates get in.
var trustMapVariables = map[string]bool{"$ssl_client_fingerprint": true, "$ssl_client_s_dn": true, "$ssl_client_serial": true}

func nginxMapEntry(variable, key string) (model.TrustEntry, error) {
	switch variable {
	case "$ssl_client_fingerprint":
		value, algorithm, err := model.ParseFingerprintPin(key)
		if err != nil {
			return model.TrustEntry{}, err
		}
		return model.TrustEntry{Kind: model.EntryFingerprint, Value: value, HashAlgorithm: algorithm}, nil
	case "$ssl_client_s_dn":
		if pattern, ok := strings.CutPrefix(key, "~*"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: "(?i)" + pattern, Match: model.MatchRegex}, nil
		}
		if pattern, ok := strings.CutPrefix(key, "~"); ok {
			return model.TrustEntry{Kind: model.EntrySubjectDN, Value: pattern, Match: model.MatchRegex}, nil
		}
		if _, err := model.ParseDNString(key); err != nil {
			return model.TrustEntry{}, err
		}
		return model.TrustEntry{Kind: model.EntrySubjectDN, Value: key, Match: model.MatchExact}, nil
	case "$ssl_client_serial":
		serial := strings.ToLower(strings.TrimLeft(strings.ReplaceAll(key, ":", ""), "0"))
		if serial == "" || strings.Trim(serial, "0123456789abcdef") != "" {
			return model.TrustEntry{}, fmt.Errorf("serial %q is not hex", key)
		}
		return model.TrustEntry{Kind: model.EntrySerial, Value: serial}, nil
	}
	return model.TrustEntry{}, fmt.Errorf("map on %s", variable)
}

// nginxDirective finds the directives certgov reads, at the start of a
// line (a comment or a pin list's label that names them does not count).
var nginxDirective = regexp.MustCompile(`(?m)^\s*(ssl_client_certificate|ssl_trusted_certificate|ssl_verify_client)\s|^\s*map\s+\$ssl_client_(fingerprint|s_dn|serial)\s`)

func looksLikeNginx(data []byte) bool {
	// The regular expression is slow on large files: most are not nginx.
	return bytes.Contains(data, []byte("ssl_")) && nginxDirective.Match(data)
}
