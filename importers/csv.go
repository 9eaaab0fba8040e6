package importers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"certgov/model"
)

// CSV inventories, the spreadsheets most teams keep today: columns are
// found by their header (case, spacing and punctuation ignored), rows are
// tied to certificates by fingerprint, and owners and review dates become
// governance values attributed to the file.

var csvColumns = map[string][]string{
	"fingerprint": {"fingerprint", "fingerprintsha256", "sha256", "sha256fingerprint", "thumbprint", "certfingerprint", "certificatefingerprint"},
	"owner":       {"owner", "owners", "team", "responsible", "contact"},
	"expires":     {"expires", "expiry", "expiration", "expiresat", "expirydate", "reviewby", "reviewdate", "nextreview"},
	"notes":       {"notes", "note", "comment", "comments", "purpose"},
}

func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// csvHeaderColumns maps our column names to their indexes in header.
func csvHeaderColumns(header []string) map[string]int {
	cols := map[string]int{}
	for i, h := range header {
		n := normalizeHeader(h)
		for name, aliases := range csvColumns {
			for _, a := range aliases {
				if n == a {
					if _, seen := cols[name]; !seen {
						cols[name] = i
					}
				}
			}
		}
	}
	return cols
}

func csvSeparator(data []byte) rune {
	firstLine, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(firstLine, []byte(";")) > bytes.Count(firstLine, []byte(",")) {
		return ';'
	}
	return ','
}

func (r *reader) readCSV(data []byte) error {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.Comma = csvSeparator(data)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("CSV header: %w", err)
	}
	cols := csvHeaderColumns(header)
	fpCol, ok := cols["fingerprint"]
	if !ok {
		return errors.New("CSV: no fingerprint column (fingerprint, sha256, thumbprint)")
	}
	if _, owner := cols["owner"]; !owner {
		if _, exp := cols["expires"]; !exp {
			return errors.New("CSV: neither an owner nor an expiry column")
		}
	}
	field := func(row []string, name string) string {
		if i, ok := cols[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	for !r.interrupted() {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// FieldPos is only valid after a successful Read: a parse
			// error carries its own line.
			line := 0
			var parseErr *csv.ParseError
			if errors.As(err, &parseErr) {
				line = parseErr.Line
			}
			r.problem(line, "", err)
			continue
		}
		line, _ := cr.FieldPos(0)
		if fpCol >= len(row) || strings.TrimSpace(strings.Join(row, "")) == "" {
			continue
		}
		fp, algorithm, err := model.ParseFingerprintPin(row[fpCol])
		if err == nil && algorithm != "sha256" {
			err = fmt.Errorf("fingerprint %q is SHA-1; inventories are matched by SHA-256", row[fpCol])
		}
		if err != nil {
			r.problem(line, "", err)
			continue
		}
		v := model.GovernanceValue{FingerprintSHA256: fp, Owner: field(row, "owner"), Notes: field(row, "notes"), Location: fmt.Sprintf("line %d", line)}
		if text := field(row, "expires"); text != "" {
			if v.ExpiresAt, err = model.ParseDay(text); err != nil {
				r.problem(line, "", err)
				continue
			}
		}
		r.res.Governance = append(r.res.Governance, v)
	}
	return r.ctx.Err()
}

// looksLikeCSV: a first line naming a fingerprint column and an owner or
// expiry column.
func looksLikeCSV(data []byte) bool {
	firstLine, _, _ := bytes.Cut(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(firstLine))
	cr.Comma = csvSeparator(data)
	header, err := cr.Read()
	if err != nil {
		return false
	}
	cols := csvHeaderColumns(header)
	_, fp := cols["fingerprint"]
	_, owner := cols["owner"]
	_, expires := cols["expires"]
	return fp && (owner || expires)
}
