package importers

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// readPEM reads every PEM block of a file. Text around the blocks (an
// `openssl x509 -text` dump, comments) is ignored; block types that are
// not certificates or keys (CSRs, CRLs, parameters) are skipped.
//
// It is linear in the file's size, whatever the file holds: each block is
// decoded from its own bytes (BEGIN to the end of its END line), the next
// END marker is searched for once and reused until passed, and line
// numbers are counted as the scan moves on. A BEGIN with no END before the
// next BEGIN is reported and skipped.
func (r *reader) readPEM(data []byte) error {
	lines := lineCounter{data: data, line: 1}
	end := -1 // where the next "-----END" starts; len(data) when there is none
	for pos := 0; ; {
		if r.interrupted() {
			return r.ctx.Err()
		}
		i := bytes.Index(data[pos:], pemBegin)
		if i < 0 {
			return nil
		}
		start := pos + i
		body := start + len(pemBegin)
		line := lines.at(start)
		if end < body {
			if j := bytes.Index(data[body:], pemEnd); j >= 0 {
				end = body + j
			} else {
				end = len(data)
			}
		}
		// The scan for the next BEGIN stops there, so these scans do not
		// overlap from one block to the next.
		next := bytes.Index(data[body:], pemBegin)
		if end == len(data) || (next >= 0 && body+next < end) {
			r.problem(line, "", errors.New("malformed PEM block (no END line before the next block)"))
			pos = body
			continue
		}
		blockEnd := len(data)
		if eol := bytes.IndexByte(data[end:], '\n'); eol >= 0 {
			blockEnd = end + eol + 1
		}
		pos = blockEnd
		block, _ := pem.Decode(data[start:blockEnd])
		if block == nil {
			r.problem(line, "", errors.New("malformed PEM block (truncated, or bad base64)"))
			continue
		}
		r.readPEMBlock(block, line)
	}
}

var pemEnd = []byte("-----END")

// lineCounter numbers lines as a scan moves forward through data.
type lineCounter struct {
	data    []byte
	counted int // data[:counted] is counted
	line    int // the line of data[counted]
}

func (c *lineCounter) at(offset int) int {
	c.line += bytes.Count(c.data[c.counted:offset], []byte{'\n'})
	c.counted = offset
	return c.line
}

func (r *reader) readPEMBlock(block *pem.Block, line int) {
	location := fmt.Sprintf("line %d", line)
	switch block.Type {
	case "CERTIFICATE", "X509 CERTIFICATE":
		r.addCertificate(block.Bytes, line, location)
	case "TRUSTED CERTIFICATE":
		// OpenSSL's trusted form: the certificate followed by its trust
		// settings. Only the certificate counts.
		var cert asn1.RawValue
		if _, err := asn1.Unmarshal(block.Bytes, &cert); err != nil {
			r.problem(line, location, fmt.Errorf("trusted certificate cannot be parsed: %w", err))
			return
		}
		r.addCertificate(cert.FullBytes, line, location)
	case "X509 CRL":
		if err := r.readCRL(block.Bytes, line, location); err != nil {
			r.problem(line, location, err) // an issuer that does not parse
		}
	case "PKCS7", "CERTIFICATE CHAIN":
		ders, err := pkcs7Certificates(block.Bytes)
		if err != nil {
			r.problem(line, location, err)
			return
		}
		for i, der := range ders {
			r.addCertificate(der, line, fmt.Sprintf("line %d, certificate %d", line, i+1))
		}
	default:
		if fact, ok := privateKeyFromPEM(block); ok {
			fact.Location = location
			r.res.Keys = append(r.res.Keys, fact)
		}
	}
}
