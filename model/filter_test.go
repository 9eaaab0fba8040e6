package model_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"certgov/model"
)

func record(cn string, mutate func(*model.Record)) *model.Record {
	r := &model.Record{Certificate: model.Certificate{
		CommonName: cn, Subject: "CN=" + cn + ",O=Example", Issuer: "CN=Example CA,O=Example",
		IdentityName: cn, KeyAlgorithm: "ECDSA", FingerprintSHA256: "ab12cd34" + "00000000000000000000000000000000000000000000000000000000",
		NotBefore: day.AddDate(0, -1, 0), NotAfter: day.AddDate(0, 0, 100),
		SANs: model.SANs{URI: []string{"spiffe://corp.example/ns/payments/sa/" + cn}},
	}}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func TestFilterMatches(t *testing.T) {
	ledger := record("ledger", func(r *model.Record) { r.Current = true })
	expiring := record("refunds", func(r *model.Record) { r.NotAfter = day.AddDate(0, 0, 10) })
	expired := record("old", func(r *model.Record) { r.NotAfter, r.Findings = day.AddDate(0, 0, -1), []string{"expired"} })
	partner := record("partner-acme", func(r *model.Record) {
		r.SelfSigned, r.KeyAlgorithm, r.Issuer, r.Owner = true, "RSA", r.Subject, "alice@example.com"
	})
	ca := record("Root CA", func(r *model.Record) { r.IsCA, r.ActsAsCA = true, true })
	all := []*model.Record{ledger, expiring, expired, partner, ca}

	cases := map[string][]*model.Record{
		"":                         all,
		"ledger":                   {ledger},
		"LEDGER":                   {ledger},
		"\"root ca\"":              {ca},
		"expired":                  {expired},
		"expires<30d":              {expiring, expired},
		"expires<30d !expired":     {expiring},
		"expires>60d":              {ledger, partner, ca},
		"selfsigned":               {partner},
		"!selfsigned !ca":          {ledger, expiring, expired},
		"ca":                       {ca},
		"issuer:\"example ca\"":    {ledger, expiring, expired, ca},
		"key:rsa":                  {partner},
		"key:ECDSA":                {ledger, expiring, expired, ca},
		"owner:none":               {ledger, expiring, expired, ca},
		"owner:alice":              {partner},
		"san:ns/payments":          all,
		"spiffe://corp.example/ns": all,
		"fp:ab12cd34":              all,
		"fp:ab:12":                 all,
		"fp:ffff":                  {},
		"subject:o=example ledger": {ledger},
		"finding:expired":          {expired},
		"finding:any":              {expired},
		"current":                  {ledger},
	}
	for expr, want := range cases {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", expr, err)
			continue
		}
		var got []string
		for _, r := range all {
			if f.Match(r, day) {
				got = append(got, r.CommonName)
			}
		}
		var wantNames []string
		for _, r := range want {
			wantNames = append(wantNames, r.CommonName)
		}
		if len(got) != len(wantNames) {
			t.Errorf("%q matched %v, want %v", expr, got, wantNames)
			continue
		}
		for i := range got {
			if got[i] != wantNames[i] {
				t.Errorf("%q matched %v, want %v", expr, got, wantNames)
				break
			}
		}
	}
}

func TestFilterErrorsPointAtTheTerm(t *testing.T) {
	cases := map[string]struct {
		term   string
		column int
	}{
		"expired expires<3x": {"expires<3x", 9},
		"key:dsa2":           {"key:dsa2", 1},
		"ledger colour:blue": {"colour:blue", 8},
		"expires=30d":        {"expires=30d", 1},
		"!":                  {"!", 1},
		"issuer:":            {"issuer:", 1},
		"  \"unclosed":       {"\"unclosed", 3},
		"finding:bogus":      {"finding:bogus", 1},
	}
	for expr, want := range cases {
		_, err := model.ParseFilter(expr)
		var fe *model.FilterError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFilter(%q) = %v, want a FilterError", expr, err)
			continue
		}
		if fe.Term != want.term || fe.Column != want.column {
			t.Errorf("ParseFilter(%q): term %q column %d, want %q column %d (%v)", expr, fe.Term, fe.Column, want.term, want.column, err)
		}
	}
}

// Findings about trust entries have no certificate: finding:CODE selects
// them, any other term leaves them out.
func TestFilterEntryFindings(t *testing.T) {
	now := time.Now()
	for expr, want := range map[string]bool{
		"":                                 true,
		"finding:pin-without-certificate":  true,
		"finding:any":                      true,
		"!finding:expired":                 true,
		"finding:expired":                  false,
		"!finding:pin-without-certificate": false,
		"finding:pin-without-certificate owner:none": false,
	} {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.MatchEntryFinding(model.FindingPinWithoutCert, now); got != want {
			t.Errorf("%q: %v, want %v", expr, got, want)
		}
	}
	// trust:MODEL is exact: tls_client_auth is a suffix of the self-signed model.
	f, _ := model.ParseFilter("trust:tls_client_auth")
	if f.Match(&model.Record{TrustModel: model.TrustModelSelfSigned}, now) {
		t.Error("trust:tls_client_auth matched a self-signed certificate")
	}
}

func TestElideSource(t *testing.T) {
	for _, c := range []struct {
		key  string
		max  int
		want string
	}{
		{"/etc/nginx/nginx.conf", 40, "/etc/nginx/nginx.conf"},
		{"gw-eu-1:/srv/gateways/eu/etc/nginx/conf.d/mtls.conf", 36, "gw-eu-1:…/etc/nginx/conf.d/mtls.conf"},
		{"gw-eu-1:/srv/gateways/eu/etc/nginx/conf.d/mtls.conf", 26, "gw-eu-1:…/conf.d/mtls.conf"},
		{"/a/very-long-file-name-that-does-not-fit.pem", 12, "…not-fit.pem"},
	} {
		if got := model.ElideSource(c.key, c.max); got != c.want || len([]rune(got)) > c.max {
			t.Errorf("ElideSource(%q, %d) = %q, want %q", c.key, c.max, got, c.want)
		}
	}
	if h, p := model.SplitSourceKey("gw-eu-1:/etc/x"); h != "gw-eu-1" || p != "/etc/x" {
		t.Errorf("SplitSourceKey: %q %q", h, p)
	}
	if h, p := model.SplitSourceKey("/etc/x:/y"); h != "" || p != "/etc/x:/y" {
		t.Errorf("SplitSourceKey of a path with a colon: %q %q", h, p)
	}
}

// FuzzParseFilter: any expression is parsed or refused with a position,
// never a panic; a parsed filter matches without panicking too.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "selfsigned expires<30d !expired", `"two words" owner:none`, "exception-ends<7d", "source:gw-eu-1:", "!", `"unclosed`, "finding:any trust:mixed", "expires<", "fp:ab:cd"} {
		f.Add(s)
	}
	r := &model.Record{Certificate: model.Certificate{CommonName: "svc", SANs: model.SANs{DNS: []string{"a.example"}}}}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := model.ParseFilter(expr)
		if err != nil {
			var fe *model.FilterError
			if !errors.As(err, &fe) && !strings.Contains(err.Error(), "filter") {
				t.Fatalf("%q: error without a place: %v", expr, err)
			}
			return
		}
		flt.Match(r, time.Now())
		if again, err := model.ParseFilter(flt.String()); err != nil || again.String() != flt.String() {
			t.Fatalf("%q: String %q does not parse back (%v)", expr, flt.String(), err)
		}
	})
}

// Every term of the language's table parses (with a sample for its
// placeholder), so the table cannot describe a term the parser lacks.
func TestFilterTermsParse(t *testing.T) {
	samples := strings.NewReplacer("TEXT", "x", "HEX", "ab12", "NAME", "ops", "CODE", "expired", "MODEL", "mixed", "STATE", "pending")
	for _, term := range model.FilterTerms {
		expr := samples.Replace(term.Term)
		if _, err := model.ParseFilter(expr); err != nil {
			t.Errorf("FilterTerms %q (as %q): %v", term.Term, expr, err)
		}
	}
}

// filterSamples are records a filter may tell apart: expiring, expired,
// self-signed with an exception that runs out, CA-signed, a CA.
func filterSamples() []*model.Record {
	return []*model.Record{
		record("team-01.ledger", func(r *model.Record) { r.Current = true }),
		record("team-02.refunds", func(r *model.Record) { r.NotAfter = day.AddDate(0, 0, 10) }),
		record("team-10.old", func(r *model.Record) { r.NotAfter, r.Findings = day.AddDate(0, 0, -1), []string{"expired"} }),
		record("partner-acme", func(r *model.Record) {
			r.SelfSigned, r.Issuer, r.Owner = true, r.Subject, "ops@example.com"
			r.Trust = []model.TrustRef{{Explicit: true}}
			r.Exception = &model.Exception{State: model.ExceptionApproved, Until: day.AddDate(0, 0, 20)}
		}),
		record("Root CA", func(r *model.Record) { r.IsCA, r.ActsAsCA = true, true }),
	}
}

// TestTimedTermsAreThoseThatDependOnTheTime: a term whose answer changes
// with the time must say so, or a dashboard would narrow a list filtered
// at another time.
func TestTimedTermsAreThoseThatDependOnTheTime(t *testing.T) {
	samples := strings.NewReplacer("TEXT", "team", "HEX", "ab12", "NAME", "ops", "CODE", "expired", "MODEL", "mixed")
	var exprs []string
	for _, term := range model.FilterTerms {
		if strings.Contains(term.Term, "STATE") {
			for _, st := range model.ExceptionStatuses {
				exprs = append(exprs, strings.ReplaceAll(term.Term, "STATE", string(st)))
			}
			continue
		}
		exprs = append(exprs, samples.Replace(term.Term))
	}
	times := []time.Time{day, day.AddDate(0, 0, -40), day.AddDate(0, 0, 15), day.AddDate(0, 0, 40), day.AddDate(2, 0, 0)}
	for _, expr := range exprs {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		changes := false
		for _, r := range filterSamples() {
			for _, at := range times {
				changes = changes || f.Match(r, at) != f.Match(r, day)
			}
		}
		if changes && !f.Timed() {
			t.Errorf("%q matches differently at other times, but is not Timed", expr)
		}
	}
}

// TestNarrowsOnlyWhatMatchesFewer: whenever Narrows says so, what the
// longer filter matches the shorter one matched.
func TestNarrowsOnlyWhatMatchesFewer(t *testing.T) {
	cases := []struct {
		prev, next string
		narrows    bool
	}{
		{"team", "team-0", true},
		{"team", "TEAM-0", true},
		{"eam-", "team-0", true},
		{"team", "team ledger", true},
		{"team selfsigned", "team-1 selfsigned", true},
		{"team", "team expired", true},
		{"team-0", "team", false},
		{"team", "!team-0", false},
		{"!team", "!team-0", false},
		{"ex", "expired", false},
		{"expired", "expired team", false}, // filtered a moment ago
		{"owner:op", "owner:ops", false},   // only free text is lengthened
		{"team", "", false},
		{"", "team", false},
		{"te", "\"team-0\"", true},
		{"team ledger", "team", false},
	}
	for _, c := range cases {
		prev, err := model.ParseFilter(c.prev)
		if err != nil {
			t.Fatal(err)
		}
		next, err := model.ParseFilter(c.next)
		if err != nil {
			t.Fatal(err)
		}
		if got := next.Narrows(prev); got != c.narrows {
			t.Errorf("%q narrows %q: %v, want %v", c.next, c.prev, got, c.narrows)
		}
		if !next.Narrows(prev) {
			continue
		}
		for _, r := range filterSamples() {
			for _, at := range []time.Time{day, day.AddDate(1, 0, 0)} {
				if next.Match(r, at) && !prev.Match(r, day) {
					t.Errorf("%q matches %s, %q did not", c.next, r.CommonName, c.prev)
				}
			}
		}
	}
}

// seen<D asks for a presentation within D of now; unseen>D for evidence
// of absence: its servers' logs span D or more and do not show it in
// their last D. No log is no evidence either way.
func TestSeenFilters(t *testing.T) {
	now := day
	seenLately := record("lately", func(r *model.Record) {
		r.LastSeen, r.LogsFrom, r.LogsUntil = now.AddDate(0, 0, -3), now.AddDate(0, 0, -200), now.AddDate(0, 0, -1)
	})
	seenLongAgo := record("long-ago", func(r *model.Record) {
		r.LastSeen, r.LogsFrom, r.LogsUntil = now.AddDate(0, 0, -150), now.AddDate(0, 0, -200), now.AddDate(0, 0, -1)
	})
	neverSeen := record("never", func(r *model.Record) { r.LogsFrom, r.LogsUntil = now.AddDate(0, 0, -200), now.AddDate(0, 0, -1) })
	shortLogs := record("short-logs", func(r *model.Record) { r.LogsFrom, r.LogsUntil = now.AddDate(0, 0, -30), now.AddDate(0, 0, -1) })
	noLogs := record("no-logs", nil)
	all := []*model.Record{seenLately, seenLongAgo, neverSeen, shortLogs, noLogs}
	for expr, want := range map[string][]*model.Record{
		"seen<90d":    {seenLately},
		"seen<1y":     {seenLately, seenLongAgo},
		"!seen<90d":   {seenLongAgo, neverSeen, shortLogs, noLogs},
		"unseen>90d":  {seenLongAgo, neverSeen},
		"unseen>180d": {neverSeen},
		"unseen>1y":   nil,
	} {
		f, err := model.ParseFilter(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		var got []*model.Record
		for _, r := range all {
			if f.Match(r, now) {
				got = append(got, r)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d records, want %d", expr, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %s, want %s", expr, got[i].CommonName, want[i].CommonName)
			}
		}
	}
	for _, bad := range []string{"seen>90d", "unseen<90d", "seen<", "unseen>soon"} {
		if _, err := model.ParseFilter(bad); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
	if f, _ := model.ParseFilter("unseen>90d"); !strings.Contains(f.Describe(), "not presented in the last 90d") {
		t.Errorf("describe: %s", f.Describe())
	}
}
