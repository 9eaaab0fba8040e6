package model

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Printable is the one output sanitizer: every string that comes from a
// file, the database or a person goes through it before it reaches a
// terminal, a text table, Markdown, HTML or CSV. What could act on a
// terminal or on the reader instead of being read shows as an escape a
// reviewer can see: C0 and C1 control characters, DEL and ESC (\x1b:
// colours, cursor moves, OSC 52 clipboard writes, OSC 8 links, titles),
// newlines and tabs (a fake line, a fake column), bidirectional controls
// (\u202e: text that reads other than it is stored), zero-width and other
// invisible format characters, and bytes that are not UTF-8 (\xff).
// Backslashes are doubled, so an escape in the data cannot pass for one
// Printable made. Truncate after Printable, never before: cutting first
// could split an escape sequence.
func Printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case hidden(r) && r > 0xffff:
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(`\U` + strings.Repeat("0", 8-len(h)) + h)
		case hidden(r):
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(`\u` + strings.Repeat("0", 4-len(h)) + h)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// hidden reports runes that act on the display or are invisible: C1
// controls, bidirectional marks, embeddings, overrides and isolates,
// zero-width characters, line and paragraph separators, the byte order
// mark, interlinear annotation, and every default-ignorable or blank code
// point that lets one name pass for another (soft hyphen, combining
// grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and
// other variation selectors, braille blank, tag characters).
func hidden(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1, including CSI (0x9b) and OSC (0x9d)
		return true
	case r == 0x00ad, r == 0x034f, r == 0x061c: // soft hyphen, CGJ, Arabic letter mark
		return true
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0: // Hangul fillers
		return true
	case r == 0x17b4, r == 0x17b5: // Khmer inherent vowels
		return true
	case r >= 0x180b && r <= 0x180f: // Mongolian variation selectors and vowel separator
		return true
	case r >= 0x200b && r <= 0x200f: // zero-width space, joiners, LRM, RLM
		return true
	case r >= 0x2028 && r <= 0x202e: // line/paragraph separators, embeddings, overrides
		return true
	case r >= 0x2060 && r <= 0x206f: // word joiner, invisible operators, isolates
		return true
	case r == 0x2800: // braille pattern blank
		return true
	case r >= 0xfe00 && r <= 0xfe0f: // variation selectors
		return true
	case r == 0xfeff, r >= 0xfff9 && r <= 0xfffb: // BOM, interlinear annotation
		return true
	case r >= 0xe0000 && r <= 0xe0fff: // tags and variation selectors supplement
		return true
	}
	return false
}

// TypedText checks a value a person types (an owner, a reason, a comment,
// an actor, a campaign name) before it is stored: it refuses what
// Printable would have to escape, so that what is stored reads as typed.
func TypedText(what, s string) error {
	for i, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || hidden(r) {
			return &TypedTextError{What: what, Offset: i, Rune: r}
		}
	}
	return nil
}

// TypedTextError names the value and the character it refuses.
type TypedTextError struct {
	What   string
	Offset int
	Rune   rune
}

func (e *TypedTextError) Error() string {
	return e.What + ": control or invisible character " + Printable(string(e.Rune)) + " at byte " + strconv.Itoa(e.Offset) + " is not allowed"
}

// CSVCell makes a printable value safe as a spreadsheet cell: a cell that
// starts with = + - @, a tab or a carriage return is a formula to Excel,
// LibreOffice and Google Sheets (=HYPERLINK(…) exfiltrates, =cmd|… runs),
// so it is prefixed with a single quote (OWASP's CSV injection advice).
func CSVCell(s string) string {
	s = Printable(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// PrintableRecord returns r with every string made printable, for views
// that draw many fields (the dashboard). r and its slices are left as they
// were: a slice is copied only when one of its values changes, so clean
// records (nearly all) cost no allocation. Printable is one-to-one, so
// printable values still tell records apart.
func PrintableRecord(r Record) Record {
	c := &r.Certificate
	for _, s := range []*string{&c.FingerprintSHA256, &c.FingerprintSHA1, &c.SPKISHA256, &c.Subject, &c.Issuer,
		&c.SubjectNormalized, &c.IssuerNormalized, &c.CommonName, &c.Serial, &c.KeyAlgorithm, &c.KeyCurve,
		&c.SignatureAlgorithm, &c.SubjectKeyID, &c.AuthorityKeyID, &c.IdentityKey, &c.IdentityName, &c.Malformed,
		&r.Owner, &r.TrustModel, &r.RevokedBy, &r.Chain.Problem} {
		*s = Printable(*s)
	}
	for _, list := range []*[]string{&c.SANs.DNS, &c.SANs.URI, &c.SANs.IP, &c.SANs.Email, &c.KeyUsage, &c.ExtKeyUsage,
		&r.Sources, &r.MatchesWithoutChain, &r.Mimics} {
		*list = printableList(*list)
	}
	copied := false
	for i, t := range r.Trust {
		p := TrustRef{Server: Printable(t.Server), Source: Printable(t.Source), Kind: EntryKind(Printable(string(t.Kind))), Entry: Printable(t.Entry),
			Location: Printable(t.Location), Anchor: Printable(t.Anchor), Explicit: t.Explicit, RefusedNow: Printable(t.RefusedNow), Reach: Printable(t.Reach), ServerKey: t.ServerKey}
		if p == t {
			continue
		}
		if !copied {
			r.Trust, copied = append([]TrustRef(nil), r.Trust...), true
		}
		r.Trust[i] = p
	}
	if r.Exception != nil {
		e := *r.Exception
		e.Reason, e.DecidedBy = Printable(e.Reason), Printable(e.DecidedBy)
		r.Exception = &e
	}
	return r
}

// printableList is list with its values made printable; list itself when
// none changes.
func printableList(list []string) []string {
	out := list
	for i, s := range list {
		if p := Printable(s); p != s {
			if &out[0] == &list[0] {
				out = append([]string(nil), list...)
			}
			out[i] = p
		}
	}
	return out
}

// PrintableFinding returns f with its strings made printable.
func PrintableFinding(f Finding) Finding {
	f.Identity, f.Owner, f.Source, f.Message = Printable(f.Identity), Printable(f.Owner), Printable(f.Source), Printable(f.Message)
	return f
}

// MarkdownMarkup are the characters Markdown (CommonMark, and GitHub's
// tables, strikethrough and math) reads as markup anywhere in a line:
// escapes, code, emphasis, links and images, raw HTML and autolinks,
// entities, cells, strikes, math and closing heading marks.
const MarkdownMarkup = "\\`*_[]<>&|~$#"

// MarkdownText makes a printable value literal text in Markdown, escaping
// only what Markdown would read as markup (MarkdownMarkup); at the start,
// what would open a block inside a list item (a list, a quote); and the
// ":" of "://" and the "." of "www." that GitHub would make a link of.
// The rest reads as typed: "2026-12-04 14:36", "payments@example.com".
// A value cannot open a heading, a link, a `javascript:` URL, raw HTML,
// emphasis or a table cell of its own.
func MarkdownText(s string) string {
	s = Printable(s)
	var b strings.Builder
	digits := 0 // the digits the value starts with: "1." opens a list
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		escape := strings.IndexByte(MarkdownMarkup, c) >= 0
		switch {
		case i == 0 && (c == '-' || c == '+' || c == '='):
			escape = true
		case i == digits && digits > 0 && (c == '.' || c == ')'):
			escape = true
		case c == ':' && strings.HasPrefix(s[i+1:], "//"):
			escape = true
		case c == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			escape = true
		}
		if escape {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
