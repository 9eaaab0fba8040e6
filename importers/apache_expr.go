package importers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"certgov/model"
)

// Apache's expressions (ap_expr, as Require expr and SSLRequire write
// them), the part that decides on a client certificate: comparisons of
// %{SSL_CLIENT_*} with strings ("==", "eq", "!=", "ne", "in {…}",
// "=~ /re/"), joined by "&&"/"and", "||"/"or", in parentheses. certgov
// reads an expression as clauses that must all hold, each a list of tests
// any one of which holds; what does not fit that shape, or tests what
// certgov cannot tell from a certificate, is reported, never guessed.
// Read: the subject's DN and its attributes, the issuer's (the leaf's
// issuer name), the first DNS and email SAN, the serial, and whether the
// chain verified.

// apacheTest is one comparison: a variable against values (any of them)
// or a regular expression.
type apacheTest struct {
	variable string
	values   []string
	re       string // Go syntax, case folding as "(?i)"
	constant string // "true" or "false" for a literal
	at       string // where the expression is written
}

// apacheClause holds when any of its tests does.
type apacheClause []apacheTest

type apacheToken struct {
	kind  string // var, str, re, op, (, ), {, }, ",", word
	value string
}

// apacheTokens splits an expression into tokens.
func apacheTokens(text string) ([]apacheToken, error) {
	var out []apacheToken
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.HasPrefix(text[i:], "%{"):
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return nil, errors.New("a %{ is not closed")
			}
			out = append(out, apacheToken{"var", text[i+2 : i+end]})
			i += end + 1
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(text) && text[j] != c; j++ {
				if text[j] == '\\' && j+1 < len(text) {
					j++
				}
				b.WriteByte(text[j])
			}
			if j >= len(text) {
				return nil, errors.New("a quote is not closed")
			}
			if strings.Contains(b.String(), "%{") {
				return nil, errors.New("a string with a variable in it")
			}
			out = append(out, apacheToken{"str", b.String()})
			i = j + 1
		case c == '/' || (c == 'm' && i+1 < len(text) && strings.ContainsRune("#/|!", rune(text[i+1]))) && len(out) > 0 && out[len(out)-1].kind == "op":
			delim, start := c, i+1
			if c == 'm' {
				delim, start = text[i+1], i+2
			}
			end := strings.IndexByte(text[start:], delim)
			if end < 0 {
				return nil, errors.New("a regular expression is not closed")
			}
			pattern := text[start : start+end]
			i = start + end + 1
			if i < len(text) && text[i] == 'i' {
				pattern = "(?i)" + pattern
				i++
			}
			out = append(out, apacheToken{"re", pattern})
		case strings.ContainsRune("(){},", rune(c)):
			out = append(out, apacheToken{string(c), ""})
			i++
		case strings.ContainsRune("=!<>&|", rune(c)):
			j := i
			for j < len(text) && strings.ContainsRune("=!<>&|~", rune(text[j])) {
				j++
			}
			out = append(out, apacheToken{"op", text[i:j]})
			i = j
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t(){},\"'=!<>&|", rune(text[j])) {
				j++
			}
			word := text[i:j]
			switch strings.ToLower(word) {
			case "and", "or", "not", "eq", "ne", "in", "-in":
				out = append(out, apacheToken{"op", strings.ToLower(word)})
			default:
				out = append(out, apacheToken{"word", word})
			}
			i = j
		}
	}
	return out, nil
}

// apacheExprParser reads tokens into clauses.
type apacheExprParser struct {
	tokens []apacheToken
	at     int
}

func (p *apacheExprParser) peek() apacheToken {
	if p.at < len(p.tokens) {
		return p.tokens[p.at]
	}
	return apacheToken{}
}

func (p *apacheExprParser) next() apacheToken {
	t := p.peek()
	p.at++
	return t
}

// parseApacheExpr reads an expression as clauses that must all hold.
func parseApacheExpr(text string) ([]apacheClause, error) {
	tokens, err := apacheTokens(text)
	if err != nil {
		return nil, err
	}
	p := &apacheExprParser{tokens: tokens}
	clauses, err := p.and()
	if err == nil && p.at < len(tokens) {
		err = fmt.Errorf("%q is not understood here", p.peek().kind+" "+p.peek().value)
	}
	return clauses, err
}

// and reads conjunctions: the clauses of each side must all hold.
func (p *apacheExprParser) and() ([]apacheClause, error) {
	var clauses []apacheClause
	for {
		part, err := p.or()
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, part...)
		if t := p.peek(); t.kind != "op" || (t.value != "&&" && t.value != "and") {
			return clauses, nil
		}
		p.next()
	}
}

// or reads disjunctions of single clauses: a disjunction of conjunctions
// is not a shape certgov's allow lists state.
func (p *apacheExprParser) or() ([]apacheClause, error) {
	var clause apacheClause
	for {
		part, err := p.primary()
		if err != nil {
			return nil, err
		}
		alternative := p.peek().kind == "op" && (p.peek().value == "||" || p.peek().value == "or")
		if len(part) != 1 && (alternative || clause != nil) {
			return nil, errors.New("an alternative of several conditions at once")
		}
		if !alternative && clause == nil {
			return part, nil
		}
		clause = append(clause, part[0]...)
		if !alternative {
			return []apacheClause{clause}, nil
		}
		p.next()
	}
}

// primary reads a parenthesised expression, a literal or a comparison.
func (p *apacheExprParser) primary() ([]apacheClause, error) {
	t := p.next()
	switch {
	case t.kind == "(":
		inner, err := p.and()
		if err != nil {
			return nil, err
		}
		if p.next().kind != ")" {
			return nil, errors.New("a parenthesis is not closed")
		}
		return inner, nil
	case t.kind == "word" && (t.value == "true" || t.value == "false"):
		return []apacheClause{{{constant: t.value}}}, nil
	case t.kind == "op" && (t.value == "!" || t.value == "not"):
		return nil, errors.New("a negation, which certgov's allow lists do not state")
	case t.kind != "var":
		return nil, fmt.Errorf("%q where a %%{VARIABLE} comparison should be", t.value)
	}
	test := apacheTest{variable: t.value}
	op := p.next()
	switch {
	case op.kind == "op" && (op.value == "==" || op.value == "eq" || op.value == "="):
		v := p.next()
		if v.kind != "str" && v.kind != "word" {
			return nil, fmt.Errorf("%%{%s} %s compares with something other than a string", t.value, op.value)
		}
		test.values = []string{v.value}
	case op.kind == "op" && (op.value == "in" || op.value == "-in"):
		if p.next().kind != "{" {
			return nil, errors.New("in wants a list in braces")
		}
		for {
			v := p.next()
			if v.kind != "str" && v.kind != "word" {
				return nil, errors.New("a list in braces holds strings")
			}
			test.values = append(test.values, v.value)
			if sep := p.next(); sep.kind == "}" {
				break
			} else if sep.kind != "," {
				return nil, errors.New("a list in braces is not closed")
			}
		}
	case op.kind == "op" && op.value == "=~":
		v := p.next()
		if v.kind != "re" {
			return nil, errors.New("=~ wants a regular expression")
		}
		if _, err := regexp.Compile(v.value); err != nil {
			return nil, fmt.Errorf("a regular expression Go cannot read: %w", err)
		}
		test.re = v.value
	default:
		return nil, fmt.Errorf("the comparison %q, which admits what is not listed", op.value)
	}
	return []apacheClause{{test}}, nil
}

// apacheDNAttributes are mod_ssl's SSL_CLIENT_S_DN_x suffixes, by the
// name a DN's String gives the attribute.
var apacheDNAttributes = map[string]string{"C": "C", "ST": "ST", "SP": "ST", "L": "L", "O": "O", "OU": "OU", "CN": "CN",
	"T": "title", "I": "initials", "G": "GN", "S": "SN", "UID": "UID", "Email": "emailAddress"}

// apacheFirstSAN are the SAN variables of the first name of a type, by
// the type: mod_ssl numbers them from 0, and only the first is read (a
// test on a later one makes the gate unknown).
var apacheFirstSAN = map[string]string{"SSL_CLIENT_SAN_DNS_0": "dns", "SSL_CLIENT_SAN_Email_0": "email"}

// kind is what a test decides on: "verify" (the chain verified), "names"
// (the subject), "pins" (the serial), "false"/"true", or the variable
// certgov cannot read.
func (t apacheTest) kind() string {
	switch {
	case t.constant != "":
		return t.constant
	case t.variable == "SSL_CLIENT_VERIFY" && len(t.values) == 1 && t.values[0] == "SUCCESS":
		return "verify"
	case t.variable == "SSL_CLIENT_S_DN", t.variable == "SSL_CLIENT_I_DN":
		return "names"
	case (strings.HasPrefix(t.variable, "SSL_CLIENT_S_DN_") || strings.HasPrefix(t.variable, "SSL_CLIENT_I_DN_")) && t.re == "" && apacheDNAttributes[t.variable[len("SSL_CLIENT_S_DN_"):]] != "":
		return "names"
	case apacheFirstSAN[t.variable] != "" && t.re == "":
		return "names"
	case t.variable == "SSL_CLIENT_M_SERIAL" && t.re == "":
		return "pins"
	}
	return "%{" + t.variable + "}"
}

// entries are the allow-list entries of a names or pins test: the DN
// as mod_ssl writes it (RFC 2253, compared as a string), one attribute of
// it, or the serial (upper-case hex, as mod_ssl writes it).
func (t apacheTest) entries() ([]model.TrustEntry, error) {
	// The issuer's DN is searched as the subject's is matched.
	dnMatch, anchored := model.MatchSearch, model.MatchRegex
	if strings.HasPrefix(t.variable, "SSL_CLIENT_I_DN") {
		dnMatch, anchored = model.MatchIssuer, model.MatchIssuer
	}
	if t.re != "" {
		return []model.TrustEntry{{Kind: model.EntrySubjectDN, Value: t.re, Match: dnMatch,
			Label: "%{" + t.variable + "} =~ /" + t.re + "/", Location: t.at}}, nil
	}
	var out []model.TrustEntry
	for _, v := range t.values {
		var e model.TrustEntry
		switch {
		case t.variable == "SSL_CLIENT_S_DN", t.variable == "SSL_CLIENT_I_DN":
			e = model.TrustEntry{Kind: model.EntrySubjectDN, Value: "^" + regexp.QuoteMeta(v) + "$", Match: anchored}
		case apacheFirstSAN[t.variable] != "":
			e = model.TrustEntry{Kind: model.EntrySAN, SANType: apacheFirstSAN[t.variable], Value: v, Match: model.MatchFirst}
		case t.variable == "SSL_CLIENT_M_SERIAL":
			if v != strings.ToUpper(v) || len(v)%2 != 0 || strings.Trim(v, "0123456789ABCDEF") != "" {
				return nil, fmt.Errorf("serial %q never matches: mod_ssl writes it as upper-case hex, two digits a byte", v)
			}
			e = model.TrustEntry{Kind: model.EntrySerial, Value: strings.ToLower(v)}
		default:
			attr := apacheDNAttributes[t.variable[len("SSL_CLIENT_S_DN_"):]]
			e = model.TrustEntry{Kind: model.EntrySubjectDN, Value: model.AttributePattern(attr, v), Match: dnMatch}
		}
		e.Label, e.Location = "%{"+t.variable+"} == "+v, t.at
		out = append(out, e)
	}
	return out, nil
}

// names says a names test's rules for people: "CN=x", the DN, "/re/".
func (t apacheTest) names() []string {
	if t.re != "" {
		return []string{"/" + t.re + "/"}
	}
	var out []string
	for _, v := range t.values {
		switch {
		case apacheFirstSAN[t.variable] != "":
			v = apacheFirstSAN[t.variable] + ":" + v
		case strings.HasPrefix(t.variable, "SSL_CLIENT_I_DN"):
			v = "issuer " + strings.TrimPrefix(strings.TrimPrefix(t.variable, "SSL_CLIENT_I_DN"), "_") + "=" + v
		case t.variable != "SSL_CLIENT_S_DN":
			v = apacheDNAttributes[t.variable[len("SSL_CLIENT_S_DN_"):]] + "=" + v
		}
		out = append(out, v)
	}
	return out
}
