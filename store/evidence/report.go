package evidence

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"certgov/model"
	"certgov/store"
)

// report.md and report.html say what an auditor asks first: what was in
// scope, over which period, who opened and closed it and what they
// declared, whether every item was decided, who decided what and when
// (and who really ran certgov where that differs from the name given),
// which exceptions were granted, and every finding at export. Every value
// is escaped for its format. Item and finding rows are kept in temporary
// files while the export streams, so that a report of 100,000 identities
// is written without holding it in memory.

// trailInfo is what the reports take from the audit trail.
type trailInfo struct {
	head         string
	start, close *store.Event            // the exported campaign's
	decisions    map[string]*store.Event // its latest decision per certificate
	exceptions   map[string]*store.Event // by exceptionKey
	// history is every decision on each certificate, oldest first, and
	// reassigned every reassignment of its item.
	history, reassigned map[string][]*store.Event
}

func exceptionKey(fingerprint string, at time.Time, state model.ExceptionState) string {
	return fingerprint + "\x00" + strconv.FormatInt(at.Unix(), 10) + "\x00" + string(state)
}

// campaignName is the campaign an event names.
func campaignName(e *store.Event) string {
	name, _ := e.CampaignOf()
	return name
}

// readTrail finds the events the reports quote. A campaign name may be
// reused once the campaign is closed; the exported one is the latest
// started under its name (the open one, else the last closed).
func readTrail(events []store.Event, c *store.Campaign) *trailInfo {
	t := &trailInfo{head: store.GenesisHash(), decisions: map[string]*store.Event{}, exceptions: map[string]*store.Event{}}
	for i := range events {
		e := &events[i]
		t.head = e.Hash
		if state, ok := store.ExceptionStateOf(e.Action); ok {
			t.exceptions[exceptionKey(e.Fingerprint, e.At, state)] = e
		}
		if c == nil || campaignName(e) != c.Name {
			continue
		}
		switch e.Action {
		case "campaign.start":
			t.start, t.close, t.decisions = e, nil, map[string]*store.Event{}
			t.history, t.reassigned = map[string][]*store.Event{}, map[string][]*store.Event{}
		case "campaign.decide":
			t.decisions[e.Fingerprint] = e
			t.history[e.Fingerprint] = append(t.history[e.Fingerprint], e)
		case "campaign.assign":
			t.reassigned[e.Fingerprint] = append(t.reassigned[e.Fingerprint], e)
		case "campaign.close":
			t.close = e
		}
	}
	return t
}

// Item groups, in the order the reports list them: what needs action
// first.
var itemGroups = []struct{ key, title string }{
	{string(store.DecisionRevoke), "Revoke"},
	{string(store.DecisionNeedsChange), "Needs change"},
	{string(store.DecisionUndecided), "Undecided (closed without a decision)"},
	{"", "Not decided yet"},
	{string(store.DecisionCertify), "Certified"},
}

var campaignColumns = []string{"identity", "owner", "trust", "findings at launch", "findings at export", "last seen at export", "decision", "reviewer", "decided at", "comment"}
var inventoryColumns = []string{"identity", "owner", "trust", "exception", "not after", "findings", "last seen"}
var exceptionColumns = []string{"identity", "certificate", "decision", "until", "reason", "decided by", "decided at", "at export"}
var findingColumns = []string{"severity", "finding", "identity", "certificate", "message"}

type report struct {
	o          *Options
	campaign   *store.Campaign
	trail      *trailInfo
	diffs      []store.StateDifference
	auditLog   auditLog
	signer     string
	items      int
	groups     map[string]int
	undecided  int
	findings   map[string]int
	severities map[string]int
	exceptions [][]string
	paces      []model.ReviewerPace
	parts      *parts
	partsErr   error
	// observations are what an auditor must know, gathered as the items
	// pass (report.observations turns them into the report's first
	// section).
	ownCertified, changed, revokesAdmitted, undecidedItems, reassigned, certifiedUnused observed
}

// observed is one kind of observation's items: the first few named, with
// the anchor of their row, and how many in all.
type observed struct {
	count int
	named []observedItem
}

type observedItem struct{ text, anchor string }

// observedListed is how many items an observation names; the rest are
// counted.
const observedListed = 25

func (o *observed) add(text, anchor string) {
	o.count++
	if len(o.named) < observedListed {
		o.named = append(o.named, observedItem{text, anchor})
	}
}

// noObservations is what the first section says when it has nothing.
const noObservations = "None: no separation-of-duties breach, fast decision run, changed decision, revoke still admitted, certification of unused trust, undecided or reassigned item."

// observation is one entry of the report's first section.
type observation struct {
	title string
	observed
}

func newReport(o Options, c *store.Campaign, t *trailInfo, diffs []store.StateDifference) *report {
	r := &report{o: &o, campaign: c, trail: t, diffs: diffs, groups: map[string]int{}, findings: map[string]int{}, severities: map[string]int{}}
	r.parts, r.partsErr = newParts()
	return r
}

func (r *report) close() {
	if r.parts != nil {
		r.parts.remove()
	}
}

// complete reports whether every item of a campaign was decided.
func (r *report) complete() bool { return r.campaign == nil || r.undecided == 0 }

func joinCodes(findings []model.Finding) string {
	var codes []string
	for _, f := range findings {
		codes = append(codes, f.Code)
	}
	return strings.Join(codes, ", ")
}

// addItem adds an item to the reports and returns its CSV row.
func (r *report) addItem(it *attestationItem) []string {
	r.items++
	owner, trust, notAfter, exception := "", "", "", ""
	if it.State != nil {
		owner, trust, notAfter = string(it.State.Owner), it.State.TrustModel, it.State.NotAfter
		if e := it.State.Exception; e != nil {
			exception = e.State
			if e.Until != "" {
				exception += " until " + e.Until
			}
		}
	}
	var launch struct {
		Findings []string `json:"findings"`
		Owner    string   `json:"owner"`
	}
	json.Unmarshal(it.Snapshot, &launch)
	atLaunch, atExport := strings.Join(launch.Findings, ", "), joinCodes(it.Findings)
	// "no access logs" where no server's logs were imported: no evidence
	// either way.
	seen := model.UsageText(it.Usage)
	if seen == "" && it.State != nil {
		seen = "no access logs"
	}
	decided := ""
	if it.DecidedAt != nil {
		decided = it.DecidedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	reviewer := store.ActorText(it.Reviewer, it.ReviewerFor, it.ReviewerRunBy)
	for _, f := range it.Findings {
		r.addFinding(f)
	}
	if r.campaign == nil {
		r.groups["inventory"]++
		r.parts.row("inventory", []string{it.Identity, owner, trust, exception, notAfter, atExport, seen})
	} else {
		anchor := "item-" + strconv.Itoa(r.items)
		r.observeItem(it, launch.Owner, anchor)
		decision := string(it.Decision)
		r.groups[decision]++
		r.parts.rowWithID("items-"+decision, anchor, []string{it.Identity, owner, trust, atLaunch, atExport, seen, model.OrDash(decision), reviewer, decided, it.Comment})
	}
	return []string{it.Identity, it.Fingerprint, string(it.Decision), it.Comment, it.Reviewer, it.ReviewerRunBy, decided, owner, trust, atLaunch, atExport, seen}
}

// observeItem notes what an auditor must know of a campaign item.
func (r *report) observeItem(it *attestationItem, ownerAtLaunch, anchor string) {
	if it.Decision == "" || it.Decision == store.DecisionUndecided {
		r.undecided++
		r.undecidedItems.add(it.Identity, anchor)
	}
	if it.Decision == store.DecisionCertify {
		fourEyes := model.Policy{FourEyes: true}
		if model.CheckFourEyes(fourEyes, it.Identity, ownerAtLaunch, "certify", it.Reviewer, it.ReviewerFor) != nil {
			r.ownCertified.add(fmt.Sprintf("%s: owned by %s at launch, certified by %s", it.Identity, ownerAtLaunch, it.Reviewer), anchor)
		}
	}
	if it.Decision == store.DecisionRevoke && slices.ContainsFunc(it.Findings, func(f model.Finding) bool { return f.Code == model.FindingRevokePending }) {
		r.revokesAdmitted.add(it.Identity+": revoked by "+it.Reviewer+", still admitted at export", anchor)
	}
	if it.Decision == store.DecisionCertify {
		for _, f := range it.Findings {
			if f.Code == model.FindingUnusedTrust {
				r.certifiedUnused.add(it.Identity+": certified by "+it.Reviewer+"; "+f.Message, anchor)
			}
		}
	}
	if h := r.trail.history[it.Fingerprint]; len(h) > 1 {
		steps := make([]string, len(h))
		for i, e := range h {
			steps[i] = fmt.Sprintf("%s by %s at %s", e.After, e.ActedBy(), e.At.UTC().Format("2006-01-02 15:04 UTC"))
		}
		r.changed.add(it.Identity+": "+strings.Join(steps, ", then "), anchor)
	}
	if h := r.trail.reassigned[it.Fingerprint]; len(h) > 0 {
		steps := make([]string, len(h))
		for i, e := range h {
			steps[i] = fmt.Sprintf("from %s to %s by %s", model.OrDash(e.Before), model.OrDash(e.After), e.ActedBy())
			if e.Reason != "" {
				steps[i] += " (" + e.Reason + ")"
			}
		}
		r.reassigned.add(it.Identity+": "+strings.Join(steps, ", then "), anchor)
	}
}

// observations are the report's first section: what an auditor must
// know before reading the tables, most serious first.
func (r *report) observations() []observation {
	c := r.campaign
	if c == nil {
		return nil
	}
	var out []observation
	add := func(title string, o observed) {
		if o.count > 0 {
			out = append(out, observation{title, o})
		}
	}
	add("Separation of duties: identities certified by their own owner", r.ownCertified)
	// The paces count each reviewer's decisions.
	if c.ClosedAt != nil && len(r.paces) == 1 && r.paces[0].Reviewer == c.ClosedBy {
		var sole observed
		sole.add(fmt.Sprintf("%s made all %d decisions and closed the campaign", c.ClosedBy, r.paces[0].Decisions), "signoff")
		add("Separation of duties: the closer is the only decider", sole)
	}
	var fast observed
	for _, p := range r.paces {
		if p.Fast() {
			fast.add(fmt.Sprintf("%s made %d decisions within one minute from %s (%d in all)", p.Reviewer, p.MostInAMinute, p.FastestFrom.UTC().Format("2006-01-02 15:04:05 UTC"), p.Decisions), "progress")
		}
	}
	add(fmt.Sprintf("Decisions faster than items can be read (%d or more within a minute)", model.FastRun), fast)
	add("Decisions changed before the campaign closed", r.changed)
	add("Revoked, yet still admitted at export", r.revokesAdmitted)
	add("Certified, yet the servers' access logs show it unused (unused-trust at export)", r.certifiedUnused)
	undecided := "Items not decided: exported while the campaign is open"
	if c.ClosedAt != nil {
		undecided = "Items closed undecided (--force by " + c.ClosedBy + ")"
	}
	add(undecided, r.undecidedItems)
	add("Items reassigned to another reviewer", r.reassigned)
	return out
}

func (r *report) addFinding(f model.Finding) {
	r.findings[f.Code]++
	r.severities[string(f.Severity)]++
	r.parts.row("findings", []string{string(f.Severity), f.Code, model.OrDash(f.Identity), model.ShortFingerprint(f.FingerprintSHA256), f.Message})
}

func (r *report) addEntryFindings(findings []model.Finding) {
	for _, f := range findings {
		r.addFinding(f)
	}
}

// addExceptions adds every exception decision and returns them for
// attestation.json.
func (r *report) addExceptions(decisions []store.ExceptionDecision, t *trailInfo) []exceptionDecisionJSON {
	latest := map[string]int{}
	for i, d := range decisions {
		latest[d.Fingerprint] = i
	}
	out := []exceptionDecisionJSON{}
	for i, d := range decisions {
		j := exceptionDecisionJSON{Identity: d.Identity, Fingerprint: d.Fingerprint, State: d.State, Reason: d.Reason,
			DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt.Format(time.RFC3339)}
		if !d.Until.IsZero() {
			j.Until = d.Until.Format("2006-01-02")
		}
		if e := t.exceptions[exceptionKey(d.Fingerprint, d.DecidedAt, d.State)]; e != nil {
			j.RunBy, j.For = e.RunBy(), e.OnBehalfOf
		}
		switch {
		case latest[d.Fingerprint] != i:
			j.Status = "superseded"
		case d.State == model.ExceptionApproved && d.Exception.ActiveAt(r.o.Now):
			j.Status = "active"
		case d.State == model.ExceptionApproved:
			j.Status = "ended " + d.Until.Format("2006-01-02")
		default:
			j.Status = string(d.State)
		}
		out = append(out, j)
		by := store.ActorText(j.DecidedBy, j.For, j.RunBy)
		r.exceptions = append(r.exceptions, []string{j.Identity, model.ShortFingerprint(j.Fingerprint), string(j.State), model.OrDash(j.Until), j.Reason, by, d.DecidedAt.Format("2006-01-02 15:04 UTC"), j.Status})
	}
	return out
}

// timeOrDash is a time as the report shows it, "-" for none.
func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// header is the report's header, as label and value pairs.
func (r *report) header() [][2]string {
	var h [][2]string
	add := func(label, value string) { h = append(h, [2]string{label, value}) }
	if c := r.campaign; c != nil {
		add("Scope", scopeText(c.Scope))
		closed := "still open at export"
		if c.ClosedAt != nil {
			closed = timeOrDash(c.ClosedAt)
		}
		add("Period", timeOrDash(&c.StartedAt)+" to "+closed)
		due := "-"
		if c.Due != nil {
			due = c.Due.Format("2006-01-02")
		}
		add("Due", due)
		add("Opened by", r.actedBy(r.trail.start, c.StartedBy)+" at "+timeOrDash(&c.StartedAt))
		if c.ClosedAt != nil {
			add("Closed by", r.actedBy(r.trail.close, c.ClosedBy)+" at "+timeOrDash(c.ClosedAt))
		} else {
			add("Closed by", "not closed")
		}
	}
	gen := r.o.Actor
	if by := store.RunningAs(); by != "" && !strings.HasPrefix(by, r.o.Actor+"@") && by != r.o.Actor {
		gen += " (run by " + by + ")"
	}
	add("Generated", r.o.Now.UTC().Format("2006-01-02 15:04 UTC")+" by "+gen)
	add("Audit trail", fmt.Sprintf("head event %d, hash %s; audit.jsonl holds events %d to %d", r.auditLog.LastSeq, r.trail.head, r.auditLog.FirstSeq, r.auditLog.LastSeq))
	return h
}

// scopeText is a campaign's scope in words, with the filter it was
// started with.
func scopeText(scope string) string {
	f, err := model.ParseFilter(scope)
	if err != nil {
		return scope // a filter an older certgov read: as it was written
	}
	if f.Empty() {
		return "every identity (no filter)"
	}
	return f.Describe() + " (filter: " + scope + ")"
}

func (r *report) actedBy(e *store.Event, name string) string {
	if e != nil {
		return e.ActedBy()
	}
	return name
}

// banners are the warnings the reports open with.
func (r *report) banners() []string {
	var b []string
	if c := r.campaign; c != nil && r.undecided > 0 {
		how := "exported while the campaign is open"
		if c.ClosedAt != nil {
			how = "the campaign was closed with items undecided (--force) by " + c.ClosedBy
		}
		b = append(b, fmt.Sprintf("INCOMPLETE: %d of %d items were not decided; %s.", r.undecided, r.items, how))
	}
	if len(r.diffs) > 0 {
		b = append(b, fmt.Sprintf("UNVERIFIED: %d governance values in the database are not what the audit trail records (exported with --allow-unverified); see the list below.", len(r.diffs)))
	}
	return b
}

func (r *report) title() string {
	if r.campaign != nil {
		return "Attestation campaign " + r.campaign.Name
	}
	return "Inventory report"
}

func (r *report) signOff() [][2]string {
	var s [][2]string
	if c := r.campaign; c != nil {
		if c.ClosedAt != nil {
			s = append(s, [2]string{"Closed by", r.actedBy(r.trail.close, c.ClosedBy) + " at " + timeOrDash(c.ClosedAt)})
			s = append(s, [2]string{"Statement", model.OrDash(c.Statement)})
		} else {
			s = append(s, [2]string{"Closed by", "not closed: no one has signed this campaign off"})
		}
	}
	signer := "not signed (integrity only: SHA256SUMS)"
	if r.signer != "" {
		signer = "SHA256SUMS.sig by the key with SPKI SHA-256 " + r.signer + " (signer.pub.pem; compare with the key the signer published)"
	}
	return append(s, [2]string{"Signature", signer})
}

func (r *report) columns() []string {
	if r.campaign == nil {
		return inventoryColumns
	}
	return campaignColumns
}

// sections are the item tables, in order: their part name and title.
func (r *report) sections() [][2]string {
	if r.campaign == nil {
		return [][2]string{{"inventory", fmt.Sprintf("Identities (%d)", r.groups["inventory"])}}
	}
	var out [][2]string
	for _, g := range itemGroups {
		if n := r.groups[g.key]; n > 0 {
			out = append(out, [2]string{"items-" + g.key, fmt.Sprintf("%s (%d)", g.title, n)})
		}
	}
	return out
}

func (r *report) progress() [][2]string {
	var p [][2]string
	if r.campaign == nil {
		return [][2]string{{"identities", strconv.Itoa(r.items)}}
	}
	p = append(p, [2]string{"decided", fmt.Sprintf("%d of %d", r.items-r.undecided, r.items)})
	for _, g := range itemGroups {
		if n := r.groups[g.key]; n > 0 {
			p = append(p, [2]string{g.title, strconv.Itoa(n)})
		}
	}
	for _, pace := range r.paces {
		p = append(p, [2]string{"by " + pace.Reviewer, pace.String()})
	}
	return p
}

func (r *report) write(o *Options) error {
	if r.partsErr != nil {
		return r.partsErr
	}
	if err := r.parts.flush(); err != nil {
		return err
	}
	for _, name := range []string{"report.md", "report.html"} {
		f, err := createBundleFile(o, name)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		if name == "report.md" {
			err = r.writeMarkdown(w)
		} else {
			err = r.writeHTML(w)
		}
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Markdown: every value is literal text (model.MarkdownText escapes all
// ASCII punctuation), so no value opens a link, a tag or a cell.

func mdRow(cells []string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + model.MarkdownText(c) + " |")
	}
	return b.String() + "\n"
}

func mdTableHead(columns []string) string {
	return mdRow(columns) + "|" + strings.Repeat(" --- |", len(columns)) + "\n"
}

func (r *report) writeMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# %s\n\n", model.MarkdownText(r.title()))
	for _, b := range r.banners() {
		fmt.Fprintf(w, "> **%s**\n\n", model.MarkdownText(b))
	}
	if r.campaign != nil {
		io.WriteString(w, "## Observations\n\n")
		obs := r.observations()
		if len(obs) == 0 {
			io.WriteString(w, noObservations+"\n\n")
		}
		for _, o := range obs {
			fmt.Fprintf(w, "- **%s** (%d)\n", model.MarkdownText(o.title), o.count)
			for _, it := range o.named {
				fmt.Fprintf(w, "  - %s\n", model.MarkdownText(it.text))
			}
			if more := o.count - len(o.named); more > 0 {
				fmt.Fprintf(w, "  - and %d more (in the tables below)\n", more)
			}
		}
		io.WriteString(w, "\n")
	}
	io.WriteString(w, mdTableHead([]string{"", ""}))
	for _, kv := range r.header() {
		io.WriteString(w, mdRow(kv[:]))
	}
	io.WriteString(w, "\n## Progress\n\n"+mdTableHead([]string{"", "items"}))
	for _, kv := range r.progress() {
		io.WriteString(w, mdRow(kv[:]))
	}
	for _, s := range r.sections() {
		fmt.Fprintf(w, "\n## %s\n\n%s", model.MarkdownText(s[1]), mdTableHead(r.columns()))
		if err := r.parts.copyTo(w, "md", s[0]); err != nil {
			return err
		}
	}
	io.WriteString(w, "\n## Exception decisions\n\n"+mdTableHead(exceptionColumns))
	for _, row := range r.exceptions {
		io.WriteString(w, mdRow(row))
	}
	fmt.Fprintf(w, "\n## Findings at export (%d)\n\n%s", r.total(r.findings), mdTableHead([]string{"finding", "count"}))
	for _, code := range slices.Sorted(maps.Keys(r.findings)) {
		io.WriteString(w, mdRow([]string{code, strconv.Itoa(r.findings[code])}))
	}
	io.WriteString(w, "\n"+mdTableHead(findingColumns))
	if err := r.parts.copyTo(w, "md", "findings"); err != nil {
		return err
	}
	if len(r.diffs) > 0 {
		io.WriteString(w, "\n## Not explained by the audit trail\n\n"+mdTableHead([]string{"what", "of", "in the database", "by the audit trail"}))
		for _, d := range r.diffs {
			io.WriteString(w, mdRow([]string{d.What, d.Subject, d.InTable, d.InTrail}))
		}
	}
	io.WriteString(w, "\n## Sign-off\n\n"+mdTableHead([]string{"", ""}))
	for _, kv := range r.signOff() {
		io.WriteString(w, mdRow(kv[:]))
	}
	_, err := io.WriteString(w, "\nCheck this bundle: `sha256sum -c SHA256SUMS`, the signature with openssl, and the audit chain in audit.jsonl (see the README).\n")
	return err
}

func (r *report) total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// HTML: one self-contained file; every value HTML-escaped after
// model.Printable; tables keep every column on screen and on paper
// (fixed layout, long values wrap, header rows repeat on each page).

const reportCSS = `body{font-family:system-ui,sans-serif;margin:2em auto;max-width:80em;padding:0 1em;color:#111}
h1{margin-bottom:.3em}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.5em 0 1.5em}
td,th{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top;overflow-wrap:break-word;font-size:.85em}
th{background:#eee}
table.meta th{width:12em}
.banner{border:3px solid #b00000;background:#ffe5e5;color:#900000;font-weight:bold;font-size:1.25em;padding:.6em .8em;margin:1em 0}
code{overflow-wrap:anywhere}
@media print{@page{size:A4 landscape;margin:12mm}body{max-width:none;margin:0;padding:0}thead{display:table-header-group}tr{break-inside:avoid}
.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}}`

func htmlText(s string) string { return html.EscapeString(model.Printable(s)) }

// wrapSeparators are where a long name may wrap in a table cell.
const wrapSeparators = "./-_@:,"

// htmlCell is a cell's value as htmlText, with a line-break opportunity
// (<wbr>) after each separator, and in a run of 24 characters without one
// (a fingerprint): a name such as legacy-crm-bridge.svc.acme.internal
// wraps at its dots and dashes, never inside "internal". (The style's
// overflow-wrap breaks within a part only if it cannot fit alone.)
func htmlCell(s string) string {
	var b strings.Builder
	run := 0
	for _, r := range model.Printable(s) {
		b.WriteString(html.EscapeString(string(r)))
		switch {
		case strings.ContainsRune(wrapSeparators, r):
			b.WriteString("<wbr>")
			run = 0
		case r == ' ':
			run = 0
		default:
			if run++; run == 24 {
				b.WriteString("<wbr>")
				run = 0
			}
		}
	}
	return b.String()
}

func htmlRow(cells []string) string {
	var b strings.Builder
	b.WriteString("<tr>")
	for _, c := range cells {
		b.WriteString("<td>" + htmlCell(c) + "</td>")
	}
	return b.String() + "</tr>\n"
}

func htmlHead(columns []string) string {
	var b strings.Builder
	b.WriteString("<thead><tr>")
	for _, c := range columns {
		b.WriteString("<th>" + htmlText(c) + "</th>")
	}
	return b.String() + "</tr></thead>\n"
}

func htmlPairs(id string, pairs [][2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<table class=\"meta\" id=\"%s\">", id)
	for _, kv := range pairs {
		b.WriteString("<tr><th>" + htmlText(kv[0]) + "</th><td>" + htmlCell(kv[1]) + "</td></tr>\n")
	}
	return b.String() + "</table>\n"
}

func (r *report) writeHTML(w io.Writer) error {
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style></head><body>\n", htmlText(r.title()), reportCSS)
	fmt.Fprintf(w, "<h1>%s</h1>\n", htmlText(r.title()))
	for i, b := range r.banners() {
		fmt.Fprintf(w, "<div class=\"banner\" role=\"alert\" id=\"banner-%d\">%s</div>\n", i+1, htmlText(b))
	}
	if r.campaign != nil {
		io.WriteString(w, "<h2>Observations</h2>\n<ul id=\"observations\">\n")
		obs := r.observations()
		if len(obs) == 0 {
			io.WriteString(w, "<li>"+noObservations+"</li>\n")
		}
		for _, o := range obs {
			fmt.Fprintf(w, "<li><strong>%s</strong> (%d)<ul>\n", htmlText(o.title), o.count)
			for _, it := range o.named {
				fmt.Fprintf(w, "<li><a href=\"#%s\">%s</a></li>\n", htmlText(it.anchor), htmlText(it.text))
			}
			if more := o.count - len(o.named); more > 0 {
				fmt.Fprintf(w, "<li>and %d more (in the tables below)</li>\n", more)
			}
			io.WriteString(w, "</ul></li>\n")
		}
		io.WriteString(w, "</ul>\n")
	}
	io.WriteString(w, htmlPairs("header", r.header()))
	io.WriteString(w, "<h2>Progress</h2>\n"+htmlPairs("progress", r.progress()))
	for _, s := range r.sections() {
		fmt.Fprintf(w, "<h2>%s</h2>\n<table class=\"items\" id=\"%s\">%s<tbody>\n", htmlText(s[1]), htmlText(s[0]), htmlHead(r.columns()))
		if err := r.parts.copyTo(w, "html", s[0]); err != nil {
			return err
		}
		io.WriteString(w, "</tbody></table>\n")
	}
	io.WriteString(w, "<h2>Exception decisions</h2>\n<table id=\"exceptions\">"+htmlHead(exceptionColumns)+"<tbody>\n")
	for _, row := range r.exceptions {
		io.WriteString(w, htmlRow(row))
	}
	io.WriteString(w, "</tbody></table>\n")
	fmt.Fprintf(w, "<h2>Findings at export (%d)</h2>\n", r.total(r.findings))
	counts := make([][2]string, 0, len(r.findings))
	for _, code := range slices.Sorted(maps.Keys(r.findings)) {
		counts = append(counts, [2]string{code, strconv.Itoa(r.findings[code])})
	}
	io.WriteString(w, htmlPairs("finding-counts", counts))
	io.WriteString(w, "<table id=\"findings\">"+htmlHead(findingColumns)+"<tbody>\n")
	if err := r.parts.copyTo(w, "html", "findings"); err != nil {
		return err
	}
	io.WriteString(w, "</tbody></table>\n")
	if len(r.diffs) > 0 {
		io.WriteString(w, "<h2>Not explained by the audit trail</h2>\n<table id=\"unverified\">"+htmlHead([]string{"what", "of", "in the database", "by the audit trail"})+"<tbody>\n")
		for _, d := range r.diffs {
			io.WriteString(w, htmlRow([]string{d.What, d.Subject, d.InTable, d.InTrail}))
		}
		io.WriteString(w, "</tbody></table>\n")
	}
	io.WriteString(w, "<h2>Sign-off</h2>\n"+htmlPairs("signoff", r.signOff()))
	_, err := io.WriteString(w, "<p>Check this bundle: <code>sha256sum -c SHA256SUMS</code>, the signature with openssl, and the audit chain in audit.jsonl (see the README).</p>\n</body></html>\n")
	return err
}

// parts keeps rows of the report's long tables, in Markdown and HTML, in
// temporary files while the export streams.
type parts struct {
	dir   string
	files map[string]*os.File
	bufs  map[string]*bufio.Writer
	err   error
}

func newParts() (*parts, error) {
	dir, err := os.MkdirTemp("", "certgov-report-*")
	if err != nil {
		return nil, err
	}
	return &parts{dir: dir, files: map[string]*os.File{}, bufs: map[string]*bufio.Writer{}}, nil
}

func (p *parts) writer(name string) *bufio.Writer {
	if w, ok := p.bufs[name]; ok {
		return w
	}
	f, err := os.OpenFile(filepath.Join(p.dir, strconv.Itoa(len(p.files))), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		p.err = err
		f, _ = os.Open(os.DevNull)
	}
	p.files[name] = f
	p.bufs[name] = bufio.NewWriter(f)
	return p.bufs[name]
}

// row adds a table row to the part, in both formats.
func (p *parts) row(part string, cells []string) { p.rowWithID(part, "", cells) }

// rowWithID adds a row that the HTML report's observations link to by id.
func (p *parts) rowWithID(part, id string, cells []string) {
	if p == nil {
		return
	}
	p.writer("md/" + part).WriteString(mdRow(cells))
	html := htmlRow(cells)
	if id != "" {
		html = "<tr id=\"" + htmlText(id) + "\">" + strings.TrimPrefix(html, "<tr>")
	}
	p.writer("html/" + part).WriteString(html)
}

func (p *parts) flush() error {
	for _, w := range p.bufs {
		if err := w.Flush(); err != nil && p.err == nil {
			p.err = err
		}
	}
	return p.err
}

func (p *parts) copyTo(w io.Writer, format, part string) error {
	f, ok := p.files[format+"/"+part]
	if !ok {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, f)
	return err
}

func (p *parts) remove() {
	for _, f := range p.files {
		f.Close()
	}
	os.RemoveAll(p.dir)
}
