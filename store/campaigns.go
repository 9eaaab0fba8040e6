package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"certgov/model"
)

// Campaign decisions (model.Decision).
const (
	DecisionCertify     = model.DecisionCertify
	DecisionRevoke      = model.DecisionRevoke
	DecisionNeedsChange = model.DecisionNeedsChange
	DecisionUndecided   = model.DecisionUndecided
)

// Campaign is one attestation campaign.
type Campaign struct {
	ID        int64      `json:"-"`
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	Due       *time.Time `json:"due,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	StartedBy string     `json:"started_by"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	ClosedBy  string     `json:"closed_by,omitempty"`
	// Statement is what the closer declared (campaign close --statement).
	Statement string `json:"statement,omitempty"`
	Items     int    `json:"items"`
	Decided   int    `json:"decided"`
}

// CampaignJSON is a campaign's JSON: what it does not have (a scope, a
// due date, a closer, a statement) is null, as absent values are in
// certgov's JSON.
type CampaignJSON struct {
	Name      string               `json:"name"`
	Scope     model.OptionalString `json:"scope"`
	Due       *time.Time           `json:"due"`
	StartedAt time.Time            `json:"started_at"`
	StartedBy string               `json:"started_by"`
	ClosedAt  *time.Time           `json:"closed_at"`
	ClosedBy  model.OptionalString `json:"closed_by"`
	Statement model.OptionalString `json:"statement"`
	Items     int                  `json:"items"`
	Decided   int                  `json:"decided"`
}

// JSON is c's CampaignJSON.
func (c *Campaign) JSON() CampaignJSON {
	return CampaignJSON{Name: c.Name, Scope: model.OptionalString(c.Scope), Due: c.Due, StartedAt: c.StartedAt, StartedBy: c.StartedBy,
		ClosedAt: c.ClosedAt, ClosedBy: model.OptionalString(c.ClosedBy), Statement: model.OptionalString(c.Statement), Items: c.Items, Decided: c.Decided}
}

// MarshalJSON writes c.JSON().
func (c Campaign) MarshalJSON() ([]byte, error) { return json.Marshal(c.JSON()) }

// CampaignItem is one identity under review, with what it looked like at
// launch and the decision on it.
type CampaignItem struct {
	IdentityID  int64           `json:"-"`
	IdentityKey string          `json:"-"`
	Identity    string          `json:"identity"`
	Fingerprint string          `json:"fingerprint_sha256"`
	Snapshot    json.RawMessage `json:"snapshot"`
	Decision    model.Decision  `json:"decision"`
	Comment     string          `json:"comment"`
	Reviewer    string          `json:"reviewer"`
	DecidedAt   *time.Time      `json:"decided_at"`
	// Assignee is who reviews the item (campaign start --assign, campaign
	// assign); empty: anyone may.
	Assignee string `json:"assignee"`
	// Campaign names the item's campaign where items of several are
	// listed (review --mine).
	Campaign string `json:"campaign,omitempty"`
}

// MarshalJSON writes what the item does not have yet (a decision, a
// comment, a reviewer, an assignee) as null.
func (it CampaignItem) MarshalJSON() ([]byte, error) {
	type plain CampaignItem
	return json.Marshal(struct {
		plain
		Decision model.OptionalString `json:"decision"`
		Comment  model.OptionalString `json:"comment"`
		Reviewer model.OptionalString `json:"reviewer"`
		Assignee model.OptionalString `json:"assignee"`
	}{plain(it), model.OptionalString(it.Decision), model.OptionalString(it.Comment), model.OptionalString(it.Reviewer), model.OptionalString(it.Assignee)})
}

func (it *CampaignItem) setDecidedAt(at sql.NullInt64) {
	if at.Valid {
		t := unixUTC(at.Int64)
		it.DecidedAt = &t
	}
}

// ErrCampaignExists is returned when an open campaign has the name already.
var ErrCampaignExists = errors.New("an open campaign has this name already")

// StartCampaign snapshots the identities in scope (the filter; all when
// empty) as review items: their current certificate, owner, trust
// entries, exception and findings at launch. The assignment gives each
// item its reviewer, by the identity's owner at launch.
func (s *Store) StartCampaign(ctx context.Context, name string, due time.Time, filter *model.Filter, assign model.Assignment, policy model.Policy, ch Change) (int, error) {
	ch = s.authenticated(ch)
	if name == "" {
		return 0, errors.New("a campaign needs a name")
	}
	if err := ch.checkTyped("campaign name", name); err != nil {
		return 0, err
	}
	// Names end up in folder names (the dashboard's export) and reports.
	if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") || len(name) > 100 {
		return 0, fmt.Errorf("campaign name %q: use letters, digits, dashes and dots, not starting with a dot, at most 100 characters", model.Printable(name))
	}
	if !due.IsZero() && due.Before(ch.At) {
		return 0, fmt.Errorf("due date %s is in the past", due.Format("2006-01-02"))
	}
	type item struct {
		key, identity, fingerprint, assignee string
		snapshot                             []byte
	}
	var items []item
	turn := 0 // the round robin's, in identity order
	rv, err := s.NewReview(ctx)
	if err != nil {
		return 0, err
	}
	err = rv.Each(ctx, policy, ch.At, func(r *model.Record, _ []model.Finding) error {
		if !r.Current || !filter.Match(r, ch.At) {
			return nil
		}
		snap, err := json.Marshal(r.JSON())
		if err != nil {
			return err
		}
		items = append(items, item{r.IdentityKey, r.IdentityName, r.FingerprintSHA256, assign.ReviewerFor(r.Owner, &turn), snap})
		return nil
	})
	if err != nil {
		return 0, err
	}
	var dueValue any
	if !due.IsZero() {
		dueValue = due.Unix()
	}
	return len(items), s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var id int64
		assigned := 0
		err := tx.QueryRowContext(ctx, `INSERT INTO campaigns(name, scope, due, started_at, started_by) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			name, filter.String(), dueValue, ch.At.Unix(), ch.Actor).Scan(&id)
		if err != nil {
			if s.isUniqueViolation(err) {
				return nil, fmt.Errorf("campaign %q: %w", name, ErrCampaignExists)
			}
			return nil, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO campaign_items(campaign_id, identity_id, identity, fingerprint, snapshot, assignee)
			SELECT ?, id, ?, ?, ?, ? FROM identities WHERE key_hash = ?`)
		if err != nil {
			return nil, err
		}
		defer stmt.Close()
		for _, it := range items {
			if _, err := stmt.ExecContext(ctx, id, it.identity, it.fingerprint, string(it.snapshot), it.assignee, identityKeyHash(it.key)); err != nil {
				return nil, err
			}
			if it.assignee != "" {
				assigned++
			}
		}
		digests, err := campaignItemDigests(ctx, tx, id, true, nil)
		if err != nil {
			return nil, err
		}
		after, _ := json.Marshal(map[string]any{"scope": filter.String(), "items": len(items), "due": dueText(due),
			"items_sha256": digests.items, "snapshots_sha256": digests.snapshots,
			"assigned": assigned, "assignees_sha256": digests.assignees})
		return &Event{At: ch.At, Actor: ch.Actor, Action: "campaign.start", Campaign: name, After: string(after), Reason: ch.Reason}, nil
	})
}

// itemDigests bind a campaign's items to its start event: items covers
// each item's identity id, name and certificate; snapshots, what each
// looked like at launch. The state check recomputes them, so an item
// moved to another identity, or a finding taken out of its snapshot, is
// a difference the trail does not explain.
type itemDigests struct {
	items, snapshots string
	// assignees covers who reviews each item (since schema 16).
	assignees string
}

// campaignItemDigests computes a campaign's itemDigests from its rows
// (snapshots only when asked: they are most of the bytes). The assignees
// are those at launch: assignedAtStart gives them for the items
// reassigned since, by fingerprint.
func campaignItemDigests(ctx context.Context, q queryer, campaign int64, snapshots bool, assignedAtStart map[string]string) (itemDigests, error) {
	items, snaps := sha256.New(), sha256.New()
	column := "''"
	if snapshots {
		column = "snapshot"
	}
	err := eachRowOf(ctx, q, `SELECT identity_id, identity, fingerprint, `+column+` FROM campaign_items WHERE campaign_id = ? ORDER BY identity_id`,
		[]any{campaign}, func(rows *sql.Rows) error {
			for rows.Next() {
				var id int64
				var identity, fingerprint, snapshot string
				if err := rows.Scan(&id, &identity, &fingerprint, &snapshot); err != nil {
					return err
				}
				line, _ := json.Marshal([]any{id, identity, fingerprint})
				items.Write(append(line, '\n'))
				sum := sha256.Sum256([]byte(snapshot))
				line, _ = json.Marshal([]any{id, hex.EncodeToString(sum[:])})
				snaps.Write(append(line, '\n'))
			}
			return rows.Err()
		})
	if err != nil {
		return itemDigests{}, err
	}
	// By certificate, not identity: an item moved to another identity is
	// the items digest's difference alone.
	assignees := sha256.New()
	err = eachRowOf(ctx, q, `SELECT fingerprint, assignee FROM campaign_items WHERE campaign_id = ? ORDER BY fingerprint`,
		[]any{campaign}, func(rows *sql.Rows) error {
			for rows.Next() {
				var fingerprint, assignee string
				if err := rows.Scan(&fingerprint, &assignee); err != nil {
					return err
				}
				if start, ok := assignedAtStart[fingerprint]; ok {
					assignee = start
				}
				line, _ := json.Marshal([]any{fingerprint, assignee})
				assignees.Write(append(line, '\n'))
			}
			return rows.Err()
		})
	d := itemDigests{items: hex.EncodeToString(items.Sum(nil)), assignees: hex.EncodeToString(assignees.Sum(nil))}
	if snapshots {
		d.snapshots = hex.EncodeToString(snaps.Sum(nil))
	}
	return d, err
}

func dueText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// OpenCampaign finds the open campaign with the name.
func (s *Store) OpenCampaign(ctx context.Context, name string) (*Campaign, error) {
	c, err := s.campaign(ctx, `name = ? AND closed_at IS NULL`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("campaign %q: %w: no open campaign has that name", name, ErrNotFound)
	}
	return c, err
}

// CampaignByName finds the open campaign with the name, else the most
// recently closed one.
func (s *Store) CampaignByName(ctx context.Context, name string) (*Campaign, error) {
	c, err := s.campaign(ctx, `name = ? ORDER BY closed_at IS NULL DESC, id DESC`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("campaign %q: %w", name, ErrNotFound)
	}
	return c, err
}

func (s *Store) campaign(ctx context.Context, where string, args ...any) (*Campaign, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, name, scope, due, started_at, started_by, closed_at, coalesce(closed_by, ''), closed_statement,
		(SELECT count(*) FROM campaign_items WHERE campaign_id = campaigns.id),
		(SELECT count(*) FROM campaign_items WHERE campaign_id = campaigns.id AND decision NOT IN ('', 'undecided'))
		FROM campaigns WHERE `+where+` LIMIT 1`, args...)
	return scanCampaign(row)
}

func scanCampaign(row scanner) (*Campaign, error) {
	var c Campaign
	var due, closed sql.NullInt64
	var started int64
	if err := row.Scan(&c.ID, &c.Name, &c.Scope, &due, &started, &c.StartedBy, &closed, &c.ClosedBy, &c.Statement, &c.Items, &c.Decided); err != nil {
		return nil, err
	}
	c.StartedAt = unixUTC(started)
	if due.Valid {
		t := unixUTC(due.Int64)
		c.Due = &t
	}
	if closed.Valid {
		t := unixUTC(closed.Int64)
		c.ClosedAt = &t
	}
	return &c, nil
}

// Campaigns lists every campaign, newest first.
func (s *Store) Campaigns(ctx context.Context) ([]Campaign, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, scope, due, started_at, started_by, closed_at, coalesce(closed_by, ''), closed_statement,
		(SELECT count(*) FROM campaign_items WHERE campaign_id = campaigns.id),
		(SELECT count(*) FROM campaign_items WHERE campaign_id = campaigns.id AND decision NOT IN ('', 'undecided'))
		FROM campaigns ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// EachCampaignItem streams a campaign's items in identity order.
func (s *Store) EachCampaignItem(ctx context.Context, c *Campaign, fn func(*CampaignItem) error) error {
	// The same order as EachIdentity (name, then id), so that exports can
	// merge the two streams.
	rows, err := s.db.QueryContext(ctx, `SELECT ci.identity_id, i.identity_key, ci.identity, ci.fingerprint, ci.snapshot, ci.decision, ci.comment, ci.reviewer, ci.decided_at, ci.assignee
		FROM campaign_items ci JOIN identities i ON i.id = ci.identity_id
		WHERE ci.campaign_id = ? ORDER BY i.name COLLATE NOCASE, i.id`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var it CampaignItem
		var snapshot string
		var at sql.NullInt64
		if err := rows.Scan(&it.IdentityID, &it.IdentityKey, &it.Identity, &it.Fingerprint, &snapshot, &it.Decision, &it.Comment, &it.Reviewer, &at, &it.Assignee); err != nil {
			return err
		}
		it.Snapshot = json.RawMessage(snapshot)
		it.setDecidedAt(at)
		if err := fn(&it); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Decide records a reviewer's decision on one item of an open campaign; a
// later decision replaces the earlier one, and both stay in the audit
// trail. revoke and needs-change need a comment.
func (s *Store) Decide(ctx context.Context, campaign, ref string, decision model.Decision, comment string, ch Change, p model.Policy) (*CampaignItem, error) {
	if err := ch.checkTyped("comment", comment); err != nil {
		return nil, err
	}
	ch = s.authenticated(ch)
	switch decision {
	case DecisionCertify:
	case DecisionRevoke, DecisionNeedsChange:
		if comment == "" {
			return nil, &model.MissingValueError{Decision: string(decision), Value: model.ValueComment}
		}
	default:
		return nil, fmt.Errorf("unknown decision %q (certify, revoke, needs-change)", decision)
	}
	c, ident, err := s.campaignTarget(ctx, campaign, ref, ch.At)
	if err != nil {
		return nil, err
	}
	item := &CampaignItem{Identity: ident.Name, Decision: decision, Comment: comment, Reviewer: ch.Actor}
	return item, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var before, fingerprint string
		var closed sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT closed_at FROM campaigns WHERE id = ?`, c.ID).Scan(&closed); err != nil {
			return nil, err
		}
		if closed.Valid {
			return nil, fmt.Errorf("campaign %q is closed", campaign)
		}
		var snapshot, assignee string
		err := tx.QueryRowContext(ctx, `SELECT decision, fingerprint, snapshot, assignee FROM campaign_items WHERE campaign_id = ? AND identity_id = ?`, c.ID, ident.ID).Scan(&before, &fingerprint, &snapshot, &assignee)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s is not in campaign %q", ident.Name, campaign)
		}
		if err != nil {
			return nil, err
		}
		if assignee != "" && assignee != ch.Actor {
			return nil, &NotAssignedError{Identity: ident.Name, Campaign: campaign, Assignee: assignee, Actor: ch.Actor}
		}
		item.Assignee = assignee
		// No rubber stamp: certifying an item with a high or critical
		// finding says why.
		if decision == DecisionCertify && comment == "" {
			var launch struct {
				Findings []string `json:"findings"`
			}
			json.Unmarshal([]byte(snapshot), &launch)
			if serious := model.SeriousFindings(launch.Findings); len(serious) > 0 {
				return nil, &CommentNeededError{Identity: ident.Name, Findings: serious}
			}
		}
		if decision == DecisionCertify {
			if err := checkFourEyes(ctx, tx, p, ident.ID, ident.Name, "certify", ch); err != nil {
				return nil, err
			}
		}
		sod, err := separationOfDuties(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaign_items WHERE campaign_id = ? AND reviewer = ? AND identity_id <> ? AND decided_at > ?`,
			c.ID, ch.Actor, ident.ID, ch.At.Add(-model.PaceWindow).Unix()).Scan(&recent); err != nil {
			return nil, err
		}
		if err := sod.CheckPace(ident.Name, ch.Actor, recent, comment); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET decision = ?, comment = ?, reviewer = ?, decided_at = ?
			WHERE campaign_id = ? AND identity_id = ?`, decision, comment, ch.Actor, ch.At.Unix(), c.ID, ident.ID); err != nil {
			return nil, err
		}
		item.Fingerprint = fingerprint
		return &Event{At: ch.At, Actor: ch.Actor, Action: "campaign.decide", Identity: ident.Name, Fingerprint: fingerprint,
			Campaign: campaign, Before: before, After: string(decision), Reason: comment}, nil
	})
}

// campaignTarget finds the open campaign and the identity REF names.
func (s *Store) campaignTarget(ctx context.Context, campaign, ref string, now time.Time) (*Campaign, *Identity, error) {
	c, err := s.OpenCampaign(ctx, campaign)
	if err != nil {
		return nil, nil, err
	}
	ident, _, err := s.Resolve(ctx, ref, now)
	return c, ident, err
}

// NotAssignedError refuses a decision on an item assigned to someone
// else.
type NotAssignedError struct {
	Identity, Campaign, Assignee, Actor string
}

func (e *NotAssignedError) Error() string {
	return fmt.Sprintf("%s is assigned to %s in campaign %q: only they decide it (it can be reassigned: campaign assign), not %s", e.Identity, e.Assignee, e.Campaign, e.Actor)
}

// Reassign gives an item of an open campaign to another reviewer: by
// whoever started the campaign, or by its reviewer handing it on
// (delegation). to may be empty: anyone may then decide it. The item's
// decision, if any, stays; the audit trail keeps both reviewers.
func (s *Store) Reassign(ctx context.Context, campaign, ref, to string, ch Change) (*CampaignItem, error) {
	if err := ch.checkTyped(); err != nil {
		return nil, err
	}
	if to != "" {
		if err := model.CheckReviewerName(to); err != nil {
			return nil, err
		}
	}
	ch = s.authenticated(ch)
	c, ident, err := s.campaignTarget(ctx, campaign, ref, ch.At)
	if err != nil {
		return nil, err
	}
	item := &CampaignItem{Identity: ident.Name, Assignee: to, Campaign: c.Name}
	return item, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var starter string
		var closed sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT started_by, closed_at FROM campaigns WHERE id = ?`, c.ID).Scan(&starter, &closed); err != nil {
			return nil, err
		}
		if closed.Valid {
			return nil, fmt.Errorf("campaign %q is closed", campaign)
		}
		var before, fingerprint string
		err := tx.QueryRowContext(ctx, `SELECT assignee, fingerprint FROM campaign_items WHERE campaign_id = ? AND identity_id = ?`, c.ID, ident.ID).Scan(&before, &fingerprint)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s is not in campaign %q", ident.Name, campaign)
		}
		if err != nil {
			return nil, err
		}
		if ch.Actor != starter && ch.Actor != before {
			return nil, fmt.Errorf("only %s (who started campaign %q) or the item's reviewer (%s) reassigns %s, not %s", starter, campaign, orNone(before), ident.Name, ch.Actor)
		}
		if before == to {
			return nil, fmt.Errorf("%s is already assigned to %s", ident.Name, orNone(to))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET assignee = ? WHERE campaign_id = ? AND identity_id = ?`, to, c.ID, ident.ID); err != nil {
			return nil, err
		}
		item.Fingerprint = fingerprint
		return &Event{At: ch.At, Actor: ch.Actor, Action: "campaign.assign", Identity: ident.Name, Fingerprint: fingerprint,
			Campaign: campaign, Before: before, After: to, Reason: ch.Reason}, nil
	})
}

// EachAssignedItem streams the items of open campaigns assigned to the
// reviewer, undecided first, then by campaign and identity.
func (s *Store) EachAssignedItem(ctx context.Context, reviewer string, fn func(*CampaignItem) error) error {
	return s.eachRow(ctx, `SELECT c.name, ci.identity, ci.fingerprint, ci.decision, ci.comment, ci.reviewer, ci.decided_at, ci.assignee
		FROM campaign_items ci JOIN campaigns c ON c.id = ci.campaign_id
		WHERE ci.assignee = ? AND c.closed_at IS NULL
		ORDER BY ci.decision <> '', c.id, ci.identity COLLATE NOCASE, ci.identity_id`, []any{reviewer}, func(rows *sql.Rows) error {
		for rows.Next() {
			var it CampaignItem
			var at sql.NullInt64
			if err := rows.Scan(&it.Campaign, &it.Identity, &it.Fingerprint, &it.Decision, &it.Comment, &it.Reviewer, &at, &it.Assignee); err != nil {
				return err
			}
			it.setDecidedAt(at)
			if err := fn(&it); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// Workload is how many items of a campaign a reviewer has ("" for
// anyone), and how many are decided.
type Workload struct {
	Reviewer       string
	Items, Decided int
}

// CampaignWorkloads are the campaign's workloads by reviewer, in name
// order: counted by the database, without reading the items.
func (s *Store) CampaignWorkloads(ctx context.Context, c *Campaign) ([]Workload, error) {
	return collect(ctx, s.db, `SELECT assignee, count(*), count(decided_at) FROM campaign_items WHERE campaign_id = ? GROUP BY assignee ORDER BY assignee`,
		[]any{c.ID}, func(rows *sql.Rows) (Workload, error) {
			var l Workload
			return l, rows.Scan(&l.Reviewer, &l.Items, &l.Decided)
		})
}

// CampaignWork is each open campaign's undecided items by reviewer, for
// reminders (model.Reminders).
func (s *Store) CampaignWork(ctx context.Context) ([]model.CampaignWork, error) {
	var out []model.CampaignWork
	err := s.eachRow(ctx, `SELECT c.id, c.name, c.started_by, c.due, ci.assignee, count(*)
		FROM campaign_items ci JOIN campaigns c ON c.id = ci.campaign_id
		WHERE c.closed_at IS NULL AND ci.decision = ''
		GROUP BY c.id, c.name, c.started_by, c.due, ci.assignee ORDER BY c.id, ci.assignee`, nil, func(rows *sql.Rows) error {
		var last int64
		for rows.Next() {
			var id int64
			var name, starter, assignee string
			var due sql.NullInt64
			var n int
			if err := rows.Scan(&id, &name, &starter, &due, &assignee, &n); err != nil {
				return err
			}
			if len(out) == 0 || id != last {
				w := model.CampaignWork{Name: name, StartedBy: starter, Undecided: map[string]int{}}
				if due.Valid {
					w.Due = unixUTC(due.Int64)
				}
				out, last = append(out, w), id
			}
			out[len(out)-1].Undecided[assignee] = n
		}
		return rows.Err()
	})
	return out, err
}

// latestDecisions is the latest campaign decision on each identity that
// has one (undecided items left by a forced close are not decisions).
func (s *Store) latestDecisions(ctx context.Context) (map[string]*model.CampaignDecision, error) {
	out := map[string]*model.CampaignDecision{}
	err := s.eachRow(ctx, `SELECT i.identity_key, c.name, c.due, ci.decision, ci.comment, ci.reviewer, ci.decided_at
		FROM campaign_items ci JOIN campaigns c ON c.id = ci.campaign_id JOIN identities i ON i.id = ci.identity_id
		WHERE ci.decided_at IS NOT NULL AND ci.decision IN ('certify', 'revoke', 'needs-change') ORDER BY ci.decided_at, c.id`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var key string
			var d model.CampaignDecision
			var due sql.NullInt64
			var at int64
			if err := rows.Scan(&key, &d.Campaign, &due, &d.Decision, &d.Comment, &d.Reviewer, &at); err != nil {
				return err
			}
			if due.Valid {
				d.Due = unixUTC(due.Int64)
			}
			d.DecidedAt = unixUTC(at)
			out[key] = &d
		}
		return rows.Err()
	})
	return out, err
}

// UndecidedItemsError refuses to close a campaign with undecided items
// unless forced.
type UndecidedItemsError struct {
	Campaign  string
	Undecided int
}

func (e *UndecidedItemsError) Error() string {
	return fmt.Sprintf("campaign %q has %d undecided items: decide them, or close it anyway to record them as undecided", e.Campaign, e.Undecided)
}

// CommentNeededError refuses to certify an item with high or critical
// findings without a comment.
type CommentNeededError struct {
	Identity string
	Findings []string
}

func (e *CommentNeededError) Error() string {
	return fmt.Sprintf("certifying %s needs a comment: it has %s (say why it is acceptable)", e.Identity, strings.Join(e.Findings, ", "))
}

// CampaignPaces is how each reviewer decided the campaign's items
// (model.Paces): how many, and the most within one minute.
func (s *Store) CampaignPaces(ctx context.Context, c *Campaign) ([]model.ReviewerPace, error) {
	var decided []model.Decided
	err := s.eachRow(ctx, `SELECT reviewer, decided_at FROM campaign_items WHERE campaign_id = ? AND decided_at IS NOT NULL`, []any{c.ID}, func(rows *sql.Rows) error {
		for rows.Next() {
			var d model.Decided
			var at int64
			if err := rows.Scan(&d.Reviewer, &at); err != nil {
				return err
			}
			d.At = unixUTC(at)
			decided = append(decided, d)
		}
		return rows.Err()
	})
	return model.Paces(decided), err
}

// CloseCampaign closes an open campaign. Undecided items refuse the close
// unless force, which records them as undecided. ch.Reason is the closer's
// statement (campaign close --statement), kept for the sign-off. The
// policy's separation of duties may refuse a closer who made every
// decision.
func (s *Store) CloseCampaign(ctx context.Context, name string, force bool, ch Change, p model.Policy) (*Campaign, error) {
	if err := ch.checkTyped(); err != nil {
		return nil, err
	}
	ch = s.authenticated(ch)
	c, err := s.OpenCampaign(ctx, name)
	if err != nil {
		return nil, err
	}
	return c, s.change(ctx, &ch, func(tx *sql.Tx) (*Event, error) {
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaign_items WHERE campaign_id = ? AND decision = ''`, c.ID).Scan(&open); err != nil {
			return nil, err
		}
		if open > 0 && !force {
			return nil, &UndecidedItemsError{Campaign: name, Undecided: open}
		}
		sod, err := separationOfDuties(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		deciders := map[string]int{}
		err = eachRowOf(ctx, tx, `SELECT reviewer, count(*) FROM campaign_items WHERE campaign_id = ? AND decided_at IS NOT NULL GROUP BY reviewer`, []any{c.ID}, func(rows *sql.Rows) error {
			for rows.Next() {
				var reviewer string
				var n int
				if err := rows.Scan(&reviewer, &n); err != nil {
					return err
				}
				deciders[reviewer] = n
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
		if err := sod.CheckClose(name, ch.Actor, deciders); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_items SET decision = 'undecided' WHERE campaign_id = ? AND decision = ''`, c.ID); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET closed_at = ?, closed_by = ?, closed_statement = ? WHERE id = ?`, ch.At.Unix(), ch.Actor, ch.Reason, c.ID); err != nil {
			return nil, err
		}
		after, _ := json.Marshal(map[string]any{"items": c.Items, "undecided": open})
		return &Event{At: ch.At, Actor: ch.Actor, Action: "campaign.close", Campaign: name, After: string(after), Reason: ch.Reason}, nil
	})
}
