package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"certgov/model"
)

// The governance state (owners, review dates, exceptions, campaigns and
// their decisions) is written only together with its audit event, so it
// is a fold of the trail. The triggers keep the trail append-only and the
// hash chain shows any change to it; VerifyState replays it and names
// every value in the tables it does not explain: a row inserted, edited
// or deleted behind certgov's back.

// StateDifference is a governance value the audit trail does not explain.
type StateDifference struct {
	What    string `json:"what"`    // owner, review date, exception, campaign, decision
	Subject string `json:"subject"` // the identity (with its certificate) or campaign
	InTable string `json:"in_database"`
	InTrail string `json:"by_audit_trail"`
}

func (d StateDifference) String() string {
	return fmt.Sprintf("%s of %s: the database says %q, the audit trail %q", d.What, d.Subject, orNone(d.InTable), orNone(d.InTrail))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// trailException is an exception decision as its event states it.
type trailException struct {
	state, until, reason, by string
	at                       int64
}

func (e trailException) String() string {
	return fmt.Sprintf("%s until %s by %s at %s: %s", e.state, orNone(e.until), e.by, unixUTC(e.at).Format(time.RFC3339), e.reason)
}

// trailDecision is a campaign item's decision as its events state it.
type trailDecision struct {
	decision          model.Decision
	comment, reviewer string
	at                int64 // 0: none
}

func (d trailDecision) String() string {
	if d.at == 0 {
		return string(d.decision)
	}
	return fmt.Sprintf("%s by %s at %s: %s", d.decision, d.reviewer, unixUTC(d.at).Format(time.RFC3339), d.comment)
}

// trailCampaign is a campaign as its events state it.
type trailCampaign struct {
	// digests bind the items to the start event (since certgov 10;
	// empty for campaigns started before).
	digests                     itemDigests
	name, scope, due, startedBy string
	startedAt                   int64
	items                       int
	closed                      bool
	closedAt                    int64
	closedBy, statement         string
	decisions                   map[string]trailDecision // by fingerprint
	// reassigned: the items reassigned since the start, by fingerprint:
	// who reviewed each at the start, and who does now.
	reassigned map[string]*reassignment
}

type reassignment struct{ atStart, now string }

func (c *trailCampaign) String() string {
	s := fmt.Sprintf("%s: scope %q, due %s, %d items, started by %s at %s", c.name, c.scope, orNone(c.due), c.items, c.startedBy, unixUTC(c.startedAt).Format(time.RFC3339))
	if c.closed {
		s += fmt.Sprintf(", closed by %s at %s: %q", c.closedBy, unixUTC(c.closedAt).Format(time.RFC3339), c.statement)
	}
	return s
}

// governanceFold is the governance state the trail explains.
type governanceFold struct {
	owners     map[int64]string // identity id
	reviews    map[int64]string // identity id: review date, 2006-01-02
	exceptions map[string][]trailException
	campaigns  []*trailCampaign // in start order
	unplaced   []StateDifference
}

// foldTrail replays the events in order. identityOf maps a certificate to
// its identity's id.
func foldTrail(events []Event, identityOf map[string]int64) *governanceFold {
	f := &governanceFold{owners: map[int64]string{}, reviews: map[int64]string{}, exceptions: map[string][]trailException{}}
	open := map[string]*trailCampaign{}
	identity := func(e *Event) (int64, bool) {
		id, ok := identityOf[e.Fingerprint]
		if !ok {
			f.unplaced = append(f.unplaced, StateDifference{What: "event " + fmt.Sprint(e.Seq), Subject: e.Identity,
				InTable: "", InTrail: e.Action + " on certificate " + e.Fingerprint + ", which the database does not hold"})
		}
		return id, ok
	}
	for i := range events {
		e := &events[i]
		switch e.Action {
		case "owner.set", "owner.clear":
			if id, ok := identity(e); ok {
				f.owners[id] = e.After
			}
		case "expiry.set", "expiry.clear":
			if id, ok := identity(e); ok {
				f.reviews[id] = e.After
			}
		case "exception.approve", "exception.reject", "exception.revoke":
			state, until, _ := strings.Cut(e.After, " until ")
			f.exceptions[e.Fingerprint] = append(f.exceptions[e.Fingerprint], trailException{state: state, until: until, reason: e.Reason, by: e.Actor, at: e.At.Unix()})
		case "campaign.start":
			name, _ := e.CampaignOf()
			var after struct {
				Scope     string `json:"scope"`
				Items     int    `json:"items"`
				Due       string `json:"due"`
				Digest    string `json:"items_sha256"`
				Snapshots string `json:"snapshots_sha256"`
				Assignees string `json:"assignees_sha256"`
			}
			json.Unmarshal([]byte(e.After), &after)
			c := &trailCampaign{name: name, scope: after.Scope, due: after.Due, items: after.Items, startedBy: e.Actor, startedAt: e.At.Unix(),
				decisions: map[string]trailDecision{}, reassigned: map[string]*reassignment{},
				digests: itemDigests{items: after.Digest, snapshots: after.Snapshots, assignees: after.Assignees}}
			f.campaigns = append(f.campaigns, c)
			open[name] = c
		case "campaign.decide":
			name, comment := e.CampaignOf()
			if c := open[name]; c != nil {
				c.decisions[e.Fingerprint] = trailDecision{decision: model.Decision(e.After), comment: comment, reviewer: e.Actor, at: e.At.Unix()}
			}
		case "campaign.assign":
			name, _ := e.CampaignOf()
			if c := open[name]; c != nil {
				r := c.reassigned[e.Fingerprint]
				if r == nil {
					r = &reassignment{atStart: e.Before}
					c.reassigned[e.Fingerprint] = r
				}
				r.now = e.After
			}
		case "campaign.close":
			name, statement := e.CampaignOf()
			if c := open[name]; c != nil {
				c.closed, c.closedAt, c.closedBy = true, e.At.Unix(), e.Actor
				if e.Format >= 2 {
					c.statement = statement
				}
				delete(open, name)
			}
		}
	}
	return f
}

// VerifyState replays the audit trail and compares what it explains with
// the governance tables, returning every difference (none: the state is
// the trail's). Run it after VerifyAudit: a trail that does not chain
// explains nothing. It checks which identity and certificate each
// campaign item is about, but not what its snapshot held at launch:
// every command runs it, and the snapshots are most of a campaign's
// bytes. VerifyStateFull checks those too.
func (s *Store) VerifyState(ctx context.Context) ([]StateDifference, error) {
	events, err := s.AuditEvents(ctx, "")
	if err != nil {
		return nil, err
	}
	return s.verifyStateOf(ctx, events, false)
}

// VerifyStateFull is VerifyState with every campaign item's snapshot at
// launch checked too: what doctor, audit verify, export and db copy run.
func (s *Store) VerifyStateFull(ctx context.Context) ([]StateDifference, error) {
	events, err := s.AuditEvents(ctx, "")
	if err != nil {
		return nil, err
	}
	return s.verifyStateOf(ctx, events, true)
}

// verifyStateOf is VerifyState on events already read; full checks the
// items' snapshots too. It compares each kind of governance value the
// trail explains, in turn, with the tables.
func (s *Store) verifyStateOf(ctx context.Context, events []Event, full bool) ([]StateDifference, error) {
	c := &stateCheck{s: s, names: map[int64]string{}, identityOf: map[string]int64{}}
	if err := c.nameCertificates(ctx, events); err != nil {
		return nil, err
	}
	c.trail = foldTrail(events, c.identityOf)
	c.diffs = append([]StateDifference(nil), c.trail.unplaced...)
	for _, compare := range []func(context.Context) error{c.compareOwnersAndReviews, c.compareExceptions} {
		if err := compare(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.compareCampaigns(ctx, full); err != nil {
		return nil, err
	}
	return c.diffs, nil
}

// stateCheck is verifyStateOf under way: the trail folded into the values
// it explains, and the differences found so far.
type stateCheck struct {
	s          *Store
	trail      *governanceFold
	identityOf map[string]int64 // the certificates the trail and exceptions name → identity
	names      map[int64]string // identity names, for the differences' subjects
	diffs      []StateDifference
}

func (c *stateCheck) add(what, subject, inTable, inTrail string) {
	if inTable != inTrail {
		c.diffs = append(c.diffs, StateDifference{What: what, Subject: subject, InTable: inTable, InTrail: inTrail})
	}
}

func (c *stateCheck) identityName(id int64) string {
	if n, ok := c.names[id]; ok {
		return n
	}
	return fmt.Sprintf("identity #%d", id)
}

// nameCertificates finds the identity of each certificate the trail and
// the exceptions name: only those, since loading every certificate would
// cost most of the check at 100,000.
func (c *stateCheck) nameCertificates(ctx context.Context, events []Event) error {
	named := map[string]bool{}
	for i := range events {
		if events[i].Fingerprint != "" {
			named[events[i].Fingerprint] = true
		}
	}
	err := c.s.eachRow(ctx, `SELECT DISTINCT fingerprint_sha256 FROM exceptions`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp string
			if err := rows.Scan(&fp); err != nil {
				return err
			}
			named[fp] = true
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return inChunks(slices.Collect(maps.Keys(named)), func(in string, args []any) error {
		return c.s.eachRow(ctx, `SELECT c.fingerprint_sha256, i.id, i.name FROM certificates c JOIN identities i ON i.id = c.identity_id
			WHERE c.fingerprint_sha256 IN `+in, args, func(rows *sql.Rows) error {
			for rows.Next() {
				var fp, name string
				var id int64
				if err := rows.Scan(&fp, &id, &name); err != nil {
					return err
				}
				c.identityOf[fp], c.names[id] = id, name
			}
			return rows.Err()
		})
	})
}

// compareOwnersAndReviews compares owners and review dates.
func (c *stateCheck) compareOwnersAndReviews(ctx context.Context) error {
	f := c.trail
	seen := map[int64]bool{}
	err := c.s.eachRow(ctx, `SELECT id, name, coalesce(owner, ''), expires_at FROM identities WHERE owner IS NOT NULL OR expires_at IS NOT NULL`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var name, owner string
			var expires sql.NullInt64
			if err := rows.Scan(&id, &name, &owner, &expires); err != nil {
				return err
			}
			seen[id], c.names[id] = true, name
			c.add("owner", c.identityName(id), owner, f.owners[id])
			c.add("review date", c.identityName(id), dateText(expires), f.reviews[id])
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, m := range []struct {
		what   string
		values map[int64]string
	}{{"owner", f.owners}, {"review date", f.reviews}} {
		for id, v := range m.values {
			if !seen[id] {
				c.add(m.what, c.identityName(id), "", v)
			}
		}
	}
	return nil
}

// compareExceptions compares every exception decision, in order, per
// certificate.
func (c *stateCheck) compareExceptions(ctx context.Context) error {
	tableExceptions := map[string][]trailException{}
	err := c.s.eachRow(ctx, `SELECT fingerprint_sha256, state, reason, until, decided_by, decided_at FROM exceptions ORDER BY id`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp string
			var e trailException
			var until sql.NullInt64
			if err := rows.Scan(&fp, &e.state, &e.reason, &until, &e.by, &e.at); err != nil {
				return err
			}
			e.until = dateText(until)
			tableExceptions[fp] = append(tableExceptions[fp], e)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, fp := range sortedUnion(tableExceptions, c.trail.exceptions) {
		table, trail := tableExceptions[fp], c.trail.exceptions[fp]
		subject := c.identityName(c.identityOf[fp]) + " (" + model.ShortFingerprint(fp) + ")"
		for i := range max(len(table), len(trail)) {
			var inTable, inTrail string
			if i < len(table) {
				inTable = table[i].String()
			}
			if i < len(trail) {
				inTrail = trail[i].String()
			}
			c.add(fmt.Sprintf("exception decision %d", i+1), subject, inTable, inTrail)
		}
	}
	return nil
}

// compareCampaigns compares the campaigns, in start order, their items'
// decisions and the items they were started with (full: their snapshots
// too).
func (c *stateCheck) compareCampaigns(ctx context.Context, full bool) error {
	cs, err := c.s.Campaigns(ctx)
	if err != nil {
		return err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	for i := range max(len(cs), len(c.trail.campaigns)) {
		var inTable, inTrail string
		var trail *trailCampaign
		if i < len(cs) {
			inTable = campaignText(&cs[i])
		}
		if i < len(c.trail.campaigns) {
			trail = c.trail.campaigns[i]
			inTrail = trail.String()
		}
		c.add("campaign", fmt.Sprintf("campaign %d", i+1), inTable, inTrail)
		if i >= len(cs) || trail == nil {
			continue
		}
		if err := c.compareCampaignItems(ctx, &cs[i], trail, full); err != nil {
			return err
		}
	}
	return nil
}

func (c *stateCheck) compareCampaignItems(ctx context.Context, campaign *Campaign, trail *trailCampaign, full bool) error {
	subject := "campaign " + campaign.Name
	err := c.s.eachRow(ctx, `SELECT fingerprint, identity, decision, comment, reviewer, decided_at, assignee FROM campaign_items WHERE campaign_id = ?`, []any{campaign.ID}, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp, identity, assignee string
			var d trailDecision
			var at sql.NullInt64
			if err := rows.Scan(&fp, &identity, &d.decision, &d.comment, &d.reviewer, &at, &assignee); err != nil {
				return err
			}
			// Who reviews the item: a reassignment says; else the start's
			// digest below covers it, and a campaign started before items
			// had reviewers has none.
			if r, ok := trail.reassigned[fp]; ok {
				c.add("reviewer assigned", subject+", "+identity, orNone(assignee), orNone(r.now))
			} else if trail.digests.assignees == "" {
				c.add("reviewer assigned", subject+", "+identity, orNone(assignee), orNone(""))
			}
			d.at = at.Int64
			want, ok := trail.decisions[fp]
			if !ok && trail.closed {
				want = trailDecision{decision: DecisionUndecided}
			}
			c.add("decision", subject+", "+identity, d.String(), want.String())
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	if trail.digests.items == "" {
		return nil // started before certgov bound items to the trail
	}
	atStart := map[string]string{}
	for fp, r := range trail.reassigned {
		atStart[fp] = r.atStart
	}
	got, err := campaignItemDigests(ctx, c.s.db, campaign.ID, full, atStart)
	if err != nil {
		return err
	}
	if got.items != trail.digests.items {
		c.add("items", subject, "items whose identities or certificates hash to "+model.ShortFingerprint(got.items),
			"the items it was started with ("+model.ShortFingerprint(trail.digests.items)+")")
	}
	if trail.digests.assignees != "" && got.assignees != trail.digests.assignees {
		c.add("reviewers assigned", subject, "reviewers at launch that hash to "+model.ShortFingerprint(got.assignees),
			"the reviewers it was started with ("+model.ShortFingerprint(trail.digests.assignees)+")")
	}
	if full && got.snapshots != trail.digests.snapshots {
		c.add("snapshots at launch", subject, "snapshots that hash to "+model.ShortFingerprint(got.snapshots),
			"the snapshots it was started with ("+model.ShortFingerprint(trail.digests.snapshots)+")")
	}
	return nil
}

// campaignText is a campaign row in the words trailCampaign.String uses.
func campaignText(c *Campaign) string {
	t := &trailCampaign{name: c.Name, scope: c.Scope, items: c.Items, startedBy: c.StartedBy, startedAt: c.StartedAt.Unix(),
		closed: c.ClosedAt != nil, closedBy: c.ClosedBy, statement: c.Statement}
	if c.Due != nil {
		t.due = c.Due.Format("2006-01-02")
	}
	if c.ClosedAt != nil {
		t.closedAt = c.ClosedAt.Unix()
	}
	return t.String()
}

func sortedUnion[V any](a, b map[string]V) []string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
