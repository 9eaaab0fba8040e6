package model

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// PostgreSQL decides a login in two steps. The first pg_hba.conf line
// whose connection type, database, role and client address match the
// connection decides, whatever comes after it; then that line's method
// does. A certificate logs a client in where that line is a cert line
// (or asks clientcert=verify-full of another method) and the
// certificate's name (its CN, or its DN with clientname=DN) is the role
// asked for, or maps to it through the line's pg_ident.conf map; with
// clientcert=verify-ca the certificate only has to verify. The reach of a
// certificate is therefore a set of roles, each on some databases, from
// some addresses, minus what earlier lines decide first.

// HBALine is what one pg_hba.conf line matches a connection on, and its
// method.
type HBALine struct {
	Line      int      `json:"line"`
	Type      string   `json:"type"`      // host, hostssl
	Databases []string `json:"databases"` // as written: all, sameuser, samerole, replication, names
	Roles     []string `json:"roles"`     // as written: all, +group, names
	Address   string   `json:"address"`   // all, samehost, samenet, a CIDR, a host name
	Method    string   `json:"method"`
}

// Login is how one pg_hba.conf line lets certificates log in.
type Login struct {
	HBALine
	// ClientName is what of the certificate names the client: CN (the
	// default) or DN (clientname=DN, as OpenSSL's RFC 2253 form writes it).
	ClientName string `json:"client_name"`
	// Map is the line's pg_ident.conf map and Idents its rows; without a
	// map the name must equal the role.
	Map    string      `json:"map,omitempty"`
	Idents []IdentRule `json:"idents,omitempty"`
	// AnyName: the line names no one (clientcert=verify-ca): every
	// certificate that verifies logs in as any role the line names.
	AnyName bool `json:"any_name,omitempty"`
	// Password: the line's method asks a password too; the certificate is
	// one factor of two.
	Password bool `json:"password,omitempty"`
	// Earlier are the lines before it that match some of the connections
	// it matches: those connections they decide first.
	Earlier []HBALine `json:"earlier,omitempty"`
}

// IdentRule is one pg_ident.conf row of a map: a system name (the
// certificate's), exact or "/regex", and the role it may log in as ("\1"
// stands for the regex's first group).
type IdentRule struct {
	Line   int    `json:"line"`
	System string `json:"system"`
	Role   string `json:"role"`
}

// Regex is the row's regular expression, when its system name is one
// (written with a leading slash); PostgreSQL searches it unanchored.
// Compiled once per pattern: ReachOf runs for every certificate a
// database server admits, on every read.
func (r IdentRule) Regex() (*regexp.Regexp, bool, error) {
	if !strings.HasPrefix(r.System, "/") {
		return nil, false, nil
	}
	if c, ok := identRegexps.Load(r.System); ok {
		c := c.(compiledIdent)
		return c.re, true, c.err
	}
	re, err := regexp.Compile(r.System[1:])
	identRegexps.Store(r.System, compiledIdent{re, err})
	return re, true, err
}

// identRegexps are the pg_ident regexes compiled, by pattern: as many as
// the imported pg_ident.conf rows.
var identRegexps sync.Map

type compiledIdent struct {
	re  *regexp.Regexp
	err error
}

// Reach is one role a certificate logs in as through a line: where (the
// line's databases and addresses), whether a password is needed too, and
// the earlier lines that take some of those connections first. AnyRole:
// the line names no one (Login.AnyName), so the certificate logs in as
// any role the line's roles take in.
type Reach struct {
	Role     string    `json:"role,omitempty"`
	AnyRole  bool      `json:"any_role,omitempty"`
	Line     HBALine   `json:"line"`
	Password bool      `json:"password,omitempty"`
	Earlier  []HBALine `json:"earlier,omitempty"`
}

// NameOf is what PostgreSQL takes as the certificate's name: its common
// name, or with clientname=DN its subject as RFC 2253 writes it; "" when
// it has none.
func (l *Login) NameOf(c *Certificate) string {
	if l.ClientName == "DN" {
		return c.Subject
	}
	return c.CommonName
}

// ReachOf lists the roles c logs in as through the line (its chain
// verified), each once. With a map, a row maps c's name to a role; a
// role the line does not name is no reach. Roles named through a group
// ("+ops") reach only if the role is a member, which the configuration
// does not say: they are kept, the line's roles as written beside them.
func (l *Login) ReachOf(c *Certificate) []Reach {
	reach := func(role string) Reach {
		r := Reach{Role: role, AnyRole: role == "", Line: l.HBALine, Password: l.Password}
		for _, e := range l.Earlier {
			if r.AnyRole || e.namesRole(role) {
				r.Earlier = append(r.Earlier, e) // only the lines that can take this role's connections
			}
		}
		return r
	}
	if l.AnyName {
		return []Reach{reach("")}
	}
	name := l.NameOf(c)
	if name == "" {
		return nil // PostgreSQL refuses a certificate without a name
	}
	var roles []string
	if l.Map == "" {
		roles = []string{name}
	}
	for _, row := range l.Idents {
		re, isRegex, err := row.Regex()
		switch {
		case err != nil:
		case !isRegex && row.System == name:
			roles = append(roles, row.Role)
		case isRegex:
			m := re.FindStringSubmatch(name)
			if m == nil {
				continue
			}
			role := row.Role
			if strings.Contains(role, `\1`) {
				if len(m) < 2 {
					continue // PostgreSQL refuses a \1 without a group
				}
				role = strings.Replace(role, `\1`, m[1], 1)
			}
			roles = append(roles, role)
		}
	}
	var out []Reach
	for _, role := range roles {
		if l.namesRole(role) && !slices.ContainsFunc(out, func(r Reach) bool { return r.Role == role }) {
			out = append(out, reach(role))
		}
	}
	return out
}

// namesRole reports whether the line's roles may include role: by name,
// all, or a group (whose members the configuration does not say).
func (h HBALine) namesRole(role string) bool {
	for _, r := range h.Roles {
		if r == "all" || r == role || strings.HasPrefix(r, "+") {
			return true
		}
	}
	return false
}

// Matches reports whether the line matches a connection to database as
// role from address (an IP address), as PostgreSQL's check_hba does. A
// group (+ops, samerole) is taken as holding the role, a host name as
// matching no address: the configuration does not say.
func (h HBALine) Matches(database, role, address string) bool {
	roleOK := slices.ContainsFunc(h.Roles, func(r string) bool { return r == "all" || r == role || strings.HasPrefix(r, "+") })
	dbOK := slices.ContainsFunc(h.Databases, func(d string) bool {
		switch d {
		case "all", database:
			return d != "replication" // a keyword, matching only replication connections
		case "sameuser":
			return database == role
		case "samerole", "samegroup":
			return true
		}
		return false
	})
	return roleOK && dbOK && h.MatchesAddress(address)
}

// MatchesAddress reports whether the line's address matches a client's.
// samehost and samenet are taken as matching the loopback (the server's
// own address).
func (h HBALine) MatchesAddress(address string) bool {
	addr, err := netip.ParseAddr(address)
	if err != nil {
		return false
	}
	switch h.Address {
	case "all":
		return true
	case "samehost", "samenet":
		return addr.IsLoopback()
	}
	prefix, err := netip.ParsePrefix(h.Address)
	if err != nil {
		return false // a host name
	}
	return prefix.Contains(addr.Unmap())
}

// Allows reports whether the reach lets the certificate log in to
// database as role from address: the line matches, and no earlier line
// decides that connection first.
func (r Reach) Allows(role, database, address string) bool {
	if !r.AnyRole && r.Role != role {
		return false
	}
	if !r.Line.Matches(database, role, address) {
		return false
	}
	for _, e := range r.Earlier {
		if e.Matches(database, role, address) {
			return false
		}
	}
	return true
}

// String says the reach for people: "logs in as app_rw to app from
// 10.0.0.0/8 (line 12), unless line 3 decides first (…)".
func (r Reach) String() string {
	var b strings.Builder
	switch {
	case r.AnyRole:
		b.WriteString("logs in as " + orAnyRole(r.Line.Roles))
	default:
		b.WriteString("logs in as " + r.Role)
	}
	fmt.Fprintf(&b, " to %s from %s (line %d", databaseText(r.Line.Databases), r.Line.Address, r.Line.Line)
	if r.Password {
		b.WriteString(", with the role's password too: " + r.Line.Method)
	}
	b.WriteString(")")
	for _, e := range r.Earlier {
		fmt.Fprintf(&b, "; line %d decides first for %s as %s from %s (%s)", e.Line, databaseText(e.Databases), strings.Join(e.Roles, ","), e.Address, e.Method)
	}
	return b.String()
}

// databaseText writes a line's databases for people.
func databaseText(dbs []string) string {
	if slices.Contains(dbs, "all") {
		return "any database"
	}
	return strings.Join(dbs, ",")
}

// Overlaps reports whether two lines can match one connection: the same
// database, role and address could satisfy both. Groups and host names
// are taken as able to.
func (h HBALine) Overlaps(o HBALine) bool {
	return overlapTokens(h.Roles, o.Roles, "all", "+") && overlapDatabases(h.Databases, o.Databases) && overlapAddresses(h.Address, o.Address)
}

func overlapTokens(a, b []string, all, group string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == all || y == all || x == y || strings.HasPrefix(x, group) || strings.HasPrefix(y, group) {
				return true
			}
		}
	}
	return false
}

func overlapDatabases(a, b []string) bool {
	wide := func(d string) bool { return d == "all" || d == "sameuser" || d == "samerole" || d == "samegroup" }
	for _, x := range a {
		for _, y := range b {
			if x == "replication" || y == "replication" {
				if x == y {
					return true
				}
				continue
			}
			if wide(x) || wide(y) || x == y {
				return true
			}
		}
	}
	return false
}

func overlapAddresses(a, b string) bool {
	pa, errA := netip.ParsePrefix(a)
	pb, errB := netip.ParsePrefix(b)
	if errA != nil || errB != nil {
		return true // all, samehost, samenet, a host name: may overlap
	}
	return pa.Overlaps(pb)
}

// printable is the line with what its file wrote made safe to print.
func (h HBALine) printable() HBALine {
	h.Type, h.Address, h.Method = Printable(h.Type), Printable(h.Address), Printable(h.Method)
	h.Databases, h.Roles = printableList(h.Databases), printableList(h.Roles)
	return h
}

func printableLines(lines []HBALine) []HBALine {
	out := slices.Clone(lines)
	for i := range out {
		out[i] = out[i].printable()
	}
	return out
}

// orAnyRole writes a line's roles for people.
func orAnyRole(roles []string) string {
	switch {
	case slices.Contains(roles, "all"):
		return "any role"
	case len(roles) == 1 && !strings.HasPrefix(roles[0], "+"):
		return roles[0]
	}
	return "any of " + strings.Join(roles, ",")
}
