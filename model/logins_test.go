package model

import "testing"

// A pg_hba.conf line matches a connection as PostgreSQL's check_hba
// does: keywords, names, groups, CIDR addresses; and a reach lets a
// certificate in only where no earlier line decides first.
func TestHBALineMatches(t *testing.T) {
	line := HBALine{Line: 4, Type: "hostssl", Databases: []string{"app", "sameuser"}, Roles: []string{"web", "+ops"}, Address: "10.0.0.0/8", Method: "cert"}
	for _, c := range []struct {
		db, role, addr string
		want           bool
	}{
		{"app", "web", "10.1.2.3", true},
		{"web", "web", "10.1.2.3", true}, // sameuser
		{"other", "web", "10.1.2.3", false},
		{"app", "anyone-in-ops", "10.1.2.3", true}, // a group: its members are not known, so it may hold them
		{"app", "web", "192.168.1.1", false},
		{"app", "web", "::ffff:10.0.0.1", true}, // an IPv4-mapped address
		{"app", "web", "not-an-ip", false},
	} {
		if got := line.Matches(c.db, c.role, c.addr); got != c.want {
			t.Errorf("%s as %s from %s: %v, want %v", c.db, c.role, c.addr, got, c.want)
		}
	}
	if (HBALine{Databases: []string{"replication"}, Roles: []string{"all"}, Address: "all"}).Matches("replication", "x", "127.0.0.1") {
		t.Error("the replication keyword matches no database connection")
	}
	if !(HBALine{Databases: []string{`"all"`}, Roles: []string{"all"}, Address: "samehost"}).Matches(`"all"`, "x", "127.0.0.1") {
		t.Error("a quoted all is a database of that name")
	}

	earlier := HBALine{Line: 2, Type: "hostssl", Databases: []string{"all"}, Roles: []string{"web"}, Address: "10.1.0.0/16", Method: "reject"}
	if !earlier.Overlaps(line) || earlier.Overlaps(HBALine{Databases: []string{"all"}, Roles: []string{"db"}, Address: "all"}) ||
		earlier.Overlaps(HBALine{Databases: []string{"all"}, Roles: []string{"all"}, Address: "192.168.0.0/16"}) {
		t.Error("Overlaps: by role, database and address")
	}
	login := Login{HBALine: line, ClientName: "CN", Earlier: []HBALine{earlier}}
	reach := login.ReachOf(&Certificate{CommonName: "web"})
	if len(reach) != 1 || !reach[0].Allows("web", "app", "10.2.0.1") || reach[0].Allows("web", "app", "10.1.0.1") || reach[0].Allows("ops", "app", "10.2.0.1") {
		t.Errorf("reach %+v: web from 10.2/16 yes, from 10.1/16 (line 2 rejects first) no, another role no", reach)
	}
	if got := reach[0].String(); got != "logs in as web to app,sameuser from 10.0.0.0/8 (line 4); line 2 decides first for any database as web from 10.1.0.0/16 (reject)" {
		t.Errorf("String: %q", got)
	}
	if len(login.ReachOf(&Certificate{CommonName: "db"})) != 1 {
		t.Error("a CN that may be a member of the line's group reaches")
	}
	named := Login{HBALine: earlier, ClientName: "CN"}
	if len(named.ReachOf(&Certificate{CommonName: "db"})) != 0 || len(named.ReachOf(&Certificate{})) != 0 {
		t.Error("a CN that is no role the line names, or no CN, reaches nothing")
	}

	mapped := Login{HBALine: HBALine{Databases: []string{"all"}, Roles: []string{"all"}, Address: "all"}, ClientName: "CN", Map: "m",
		Idents: []IdentRule{{System: `/^(.*)\.svc$`, Role: `\1`}, {System: `/^x`, Role: `\1`}, {System: "exact.svc", Role: "exact_ro"}}}
	var roles []string
	for _, r := range mapped.ReachOf(&Certificate{CommonName: "exact.svc"}) {
		roles = append(roles, r.Role)
	}
	if len(roles) != 2 || roles[0] != "exact" || roles[1] != "exact_ro" {
		t.Errorf("a regex with \\1, a \\1 without a group (no role), an exact row: %q", roles)
	}
}
