package tui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
	"certgov/store"
)

// detailScreen shows one identity: its current certificate, where it is
// trusted and why it is flagged, and its earlier certificates.
type detailScreen struct {
	// listed is the identity's row in the lists (what actions act on);
	// row is what the detail shows: the listed row's facts until the
	// database's full review of the certificate arrives (loaded).
	listed   Row
	row      fullRow
	loaded   bool
	history  []store.Event       // the identity's audit events
	identity *store.Identity     // loaded after opening
	usage    []model.ServerUsage // what the servers' access logs say, loaded after opening
	offset   int
	preview  bool // shown beside the table on wide terminals
}

func (s *detailScreen) open(r *Row, ds *Dataset) {
	s.listed, s.row, s.loaded, s.identity, s.usage, s.offset = *r, r.full(), false, nil, nil, 0
	s.history = historyOf(ds, s.row.IdentityName)
}

// refresh picks up the identity's new state after a reload (the root
// then reads its full review again).
func (s *detailScreen) refresh(ds *Dataset) {
	for i := range ds.Rows {
		if ds.Rows[i].key == s.listed.key {
			s.listed, s.row, s.loaded = ds.Rows[i], ds.Rows[i].full(), false
			break
		}
	}
	s.history = historyOf(ds, s.row.IdentityName)
}

func historyOf(ds *Dataset, identity string) []store.Event {
	if ds == nil {
		return nil
	}
	var out []store.Event
	for _, e := range ds.Events {
		if e.Identity == identity {
			out = append(out, e)
		}
	}
	return out
}

// setReviewed takes the database's review of the certificate shown: its
// record and findings whole, and the identity's certificates.
func (s *detailScreen) setReviewed(fingerprint string, reviewed *store.ReviewedCertificate) {
	if fingerprint != s.listed.FingerprintSHA256() {
		return // the reviewer moved on
	}
	s.identity, s.usage = reviewed.Identity, reviewed.Usage
	s.row = fullRow{Record: model.PrintableRecord(reviewed.Record), Findings: printableFindings(reviewed.Findings), Versions: len(reviewed.Identity.Certificates)}
	s.loaded = true
}

// update scrolls; lines is how many lines the pane holds, height how
// many it shows, so the offset never passes the end.
func (s *detailScreen) update(msg tea.KeyPressMsg, k KeyMap, page, lines, height int) {
	switch {
	case key.Matches(msg, k.Down):
		s.offset++
	case key.Matches(msg, k.Up):
		s.offset--
	case key.Matches(msg, k.PageDown):
		s.offset += page
	case key.Matches(msg, k.PageUp):
		s.offset -= page
	case key.Matches(msg, k.Top):
		s.offset = 0
	case key.Matches(msg, k.Bottom):
		s.offset = lines
	}
	s.offset = max(0, min(s.offset, lines-height))
}

// view draws the pane from the offset its updates keep; it changes
// nothing.
func (s detailScreen) view(st Styles, width, height int, now time.Time) string {
	lines := s.lines(st, width, now)
	offset := min(s.offset, max(0, len(lines)-height))
	return strings.Join(lines[offset:], "\n")
}

// lines are the pane's lines at a width.
func (s detailScreen) lines(st Styles, width int, now time.Time) []string {
	d := &detailLines{st: st}
	s.addFacts(d, now)
	s.addAdmission(d, width)
	s.addFindings(d)
	s.addWhereAndHistory(d, width, now)
	for i := range d.lines {
		d.lines[i] = truncate(d.lines[i], width)
	}
	return d.lines
}

// detailLines collects the detail's lines: labelled fields, titled
// sections, plain lines.
type detailLines struct {
	st    Styles
	lines []string
}

func (d *detailLines) add(lines ...string) { d.lines = append(d.lines, lines...) }

func (d *detailLines) field(label, value string) {
	d.add(d.st.Label.Render(pad(label, 16)) + " " + value)
}

func (d *detailLines) section(title string) { d.add("", d.st.Label.Render(title)) }

// addFacts adds the identity's governance and its certificate's facts.
func (s detailScreen) addFacts(d *detailLines, now time.Time) {
	r, st := &s.row, d.st
	if s.preview {
		d.add(st.Title.Render(r.IdentityName))
	} else {
		d.add(st.Title.Render(r.IdentityName) + st.Dim.Render("   esc back · y copies the fingerprint"))
	}
	d.field("Owner", model.OrDash(r.Owner))
	if !r.ExpiresAt.IsZero() {
		d.field("Review by", r.ExpiresAt.Format("2006-01-02")+" ("+model.Relative(r.ExpiresAt, now)+")")
	}
	d.field("Trust model", r.TrustModel)
	if e := r.Exception; e != nil {
		text := string(e.State) + " by " + e.DecidedBy + " on " + e.DecidedAt.Format("2006-01-02") + ": " + e.Reason
		if e.State == model.ExceptionApproved {
			text = fmt.Sprintf("approved until %s by %s: %s", e.Until.Format("2006-01-02"), e.DecidedBy, e.Reason)
			if e.ExpiredAt(now) {
				text = st.Error.Render("ENDED ") + text
			}
		}
		d.field("Exception", text)
	}
	expiry := "expires " + model.Relative(r.NotAfter, now)
	if r.ExpiredAt(now) {
		expiry = "EXPIRED " + model.Relative(r.NotAfter, now)
	}
	d.field("Validity", fmt.Sprintf("%s to %s (%s)", r.NotBefore.Format("2006-01-02"), r.NotAfter.Format("2006-01-02"), expiryStyle(st, r.NotAfter, now).Render(expiry)))
	d.field("Subject", r.Subject)
	d.field("Issuer", r.Issuer)
	d.field("Signed", r.SigningLabel())
	d.field("SANs", sansText(r.SANs))
	d.field("Key", r.KeyLabel()+"   signature "+r.SignatureAlgorithm)
	if s.loaded {
		d.field("Serial", r.Serial)
	}
	d.field("SHA-256", r.FingerprintSHA256)
	if s.loaded {
		d.field("SPKI SHA-256", r.SPKISHA256)
	}
	if r.Revoked {
		d.field("Revoked", st.Error.Render("yes, by the CRL in "+r.RevokedBy))
	}

}

// addAdmission adds the servers that admit the certificate, each with why
// and whether a handshake passes today; then the standalone trust stores
// that list it.
func (s detailScreen) addAdmission(d *detailLines, width int) {
	r, st := &s.row, d.st
	admitting := model.AdmittingServers(r.Trust)
	d.section("Admitted by (" + model.CountOf(int64(len(admitting)), "server") + ")")
	if len(admitting) == 0 {
		why := "no imported server admits it"
		if r.Chain.Problem != "" && !r.Chain.Verified() {
			why += ": " + r.Chain.Problem
		}
		d.add(st.Dim.Render("  " + why))
	}
	for _, a := range admitting {
		verdict := st.Dim.Render("passes today")
		if a.RefusedNow != "" {
			verdict = st.Error.Render("refused now: " + a.RefusedNow)
		}
		d.add("  " + a.Server + "  " + verdict)
		for _, reason := range a.Reasons {
			d.add(st.Dim.Render("    " + reason))
		}
		for _, reach := range a.Reach {
			d.add("    " + reach)
		}
	}
	var stores []model.TrustRef
	for _, t := range r.Trust {
		if t.ServerKey == "" {
			stores = append(stores, t)
		}
	}
	if len(stores) > 0 {
		d.section(fmt.Sprintf("Listed in standalone trust stores (%d)", len(stores)))
	}
	for _, t := range stores {
		// The place on a line of its own, cut from the left so that the
		// host and the file name stay readable at any width.
		d.add(fmt.Sprintf("  %-12s %s", t.Kind, t.Entry))
		where := ""
		if t.Location != "" {
			where = " (" + t.Location + ")"
		}
		d.add(st.Dim.Render("               " + model.ElideSource(t.Source, max(16, width-17-utf8.RuneCountInString(where))) + where))
		if t.Anchor != "" {
			d.add(st.Dim.Render("               via " + t.Anchor))
		}
	}

}

// addFindings adds the certificate's findings with their frameworks.
func (s detailScreen) addFindings(d *detailLines) {
	r, st := &s.row, d.st
	d.section(fmt.Sprintf("Findings (%d)", len(r.Findings)))
	if len(r.Findings) == 0 {
		d.add(st.Dim.Render("  none"))
	}
	for _, f := range r.Findings {
		d.add("  " + st.Severity(f.Severity).Render(pad(string(f.Severity), 8)) + " " + f.Code + ": " + f.Message)
		d.add(st.Dim.Render("           " + strings.Join(f.Frameworks, ", ")))
	}

}

// addWhereAndHistory adds the files the certificate was found in, the
// identity's certificates and its governance history.
func (s detailScreen) addWhereAndHistory(d *detailLines, width int, now time.Time) {
	r, st := &s.row, d.st
	d.section("Found in")
	for _, src := range r.Sources {
		d.add("  " + src)
	}

	d.section(fmt.Sprintf("Rotation (%s)", model.CountOf(int64(r.Versions), "certificate")))
	switch {
	case s.preview:
		d.add(st.Dim.Render("  enter shows them all"))
	case s.identity == nil:
		d.add(st.Dim.Render("  loading…"))
	default:
		// The rotation timeline: each certificate's validity as a bar,
		// now marked, what changed at each renewal.
		history := model.HistoryOf(s.identity.Certificates)
		var current *model.Certificate
		if s.identity.Current >= 0 {
			current = history[s.identity.Current]
		}
		for _, line := range model.Timeline(history, current, now, min(48, max(16, width-48))) {
			d.add("  " + model.Printable(line))
		}
	}

	if !s.preview && len(s.usage) > 0 {
		// Where and when it was last presented, from the servers' own
		// access logs.
		d.section(fmt.Sprintf("Seen at (%s with access logs)", model.CountOf(int64(len(s.usage)), "server")))
		for _, u := range s.usage {
			seen := st.Error.Render("never presented")
			if u.LastSeen != nil {
				seen = fmt.Sprintf("last %s (%s), %s", u.LastSeen.Format("2006-01-02 15:04"), model.Relative(*u.LastSeen, now), model.CountOf(u.Count, "request"))
			}
			d.add(fmt.Sprintf("  %s  %s  (logs %s to %s)", model.Printable(u.Server), seen, u.From.Format("2006-01-02"), u.Until.Format("2006-01-02")))
		}
	}

	if !s.preview {
		d.section(fmt.Sprintf("History (%d)", len(s.history)))
		if len(s.history) == 0 {
			d.add(st.Dim.Render("  no decision recorded yet: o owner · e expiration · a approve · x reject"))
		}
		for i := len(s.history) - 1; i >= 0; i-- {
			e := s.history[i]
			line := fmt.Sprintf("  %s  %-18s %-18s %s", e.At.Format("2006-01-02 15:04"), e.ActedBy(), e.Action, e.After)
			if e.Reason != "" {
				line += " — " + e.Reason
			}
			d.add(line)
		}
	}
}

func sansText(s model.SANs) string { return model.OrDash(strings.Join(s.Labeled(), ", ")) }
