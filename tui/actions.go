package tui

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
	"certgov/store"
)

// Governance actions: the same store methods the CLI calls, run in a
// command, each writing its audit event.

type actionKind int

const (
	actionOwner actionKind = iota
	actionExpiry
	actionApprove
	actionReject
	actionRevokeItem
	actionNeedsChange
	actionCertifyItem // certify an item with high or critical findings: a comment is needed
	actionExport
	actionStartCampaign
)

var actionNames = map[actionKind]string{actionOwner: "owner", actionExpiry: "expiration", actionApprove: "approve exception", actionReject: "reject exception",
	actionRevokeItem: "revoke", actionNeedsChange: "needs-change", actionCertifyItem: "certify", actionExport: "export evidence", actionStartCampaign: "start campaign"}

func actionFor(msg tea.KeyPressMsg, k KeyMap) (actionKind, bool) {
	switch {
	case key.Matches(msg, k.Owner):
		return actionOwner, true
	case key.Matches(msg, k.Expiry):
		return actionExpiry, true
	case key.Matches(msg, k.Approve):
		return actionApprove, true
	case key.Matches(msg, k.Reject):
		return actionReject, true
	}
	return 0, false
}

// prompt asks an action's questions one after the other on the status
// line, then, for more than one identity, asks to confirm (default no).
//
// A confirmation is modal and answers only keys typed after it is on
// screen: a key within typeAheadWindow of it appearing was typed ahead
// (text meant for a field, an Enter, a y) and cancels it; any key but
// the answer cancels it and is swallowed, never run as a command. A bulk
// change is confirmed by typing a code shown in the question, which no
// text typed ahead can know.
type prompt struct {
	kind    actionKind
	targets []Row
	fields  []promptField
	index   int
	confirm bool // the last step: y/N, or the code for more than one identity

	// scope is what a campaign start reviews: the Identities screen's
	// filter ("" every identity), which shows scopeCount identities.
	scope      string
	scopeCount int

	shownAt time.Time       // when the confirmation appeared
	code    string          // what a bulk confirmation asks to type
	answer  textinput.Model // where it is typed
}

// typeAheadWindow is how soon after a confirmation appears a key counts
// as typed before it could be read: faster than anyone reads a question.
const typeAheadWindow = 300 * time.Millisecond

// codeLetters make confirmation codes: no y or n (the answers of a y/N),
// nothing that reads as another character (0/O, 1/I/L).
const codeLetters = "ABCDEFGHJKMPQRSTUVWXZ23456789"

// askConfirm makes p's last step its confirmation, shown from now.
func (p *prompt) askConfirm() tea.Cmd {
	p.confirm, p.shownAt = true, time.Now()
	if p.size() <= 1 {
		return nil
	}
	code := make([]byte, 4)
	for i := range code {
		code[i] = codeLetters[rand.IntN(len(codeLetters))]
	}
	p.code = string(code)
	p.answer = textinput.New()
	p.answer.Prompt = ""
	p.answer.CharLimit = len(code) + 4
	p.answer.SetWidth(8)
	return p.answer.Focus()
}

// size is how many identities the action changes.
func (p *prompt) size() int { return max(len(p.targets), p.scopeCount) }

type promptField struct {
	optional bool // may be left empty
	label    string
	input    textinput.Model
	presets  []string // shown as hints; completion cycles them with tab
}

func newField(label, placeholder string, presets []string) promptField {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.ShowSuggestions = len(presets) > 0
	in.SetSuggestions(presets)
	// Wide enough for what it takes (a date is 10 characters), so that
	// the presets' hint after it is on screen at 120 columns.
	width := 40
	if placeholder == "YYYY-MM-DD" || strings.HasPrefix(placeholder, "YYYY-MM-DD,") {
		width = 12
	}
	in.SetWidth(width)
	return promptField{label: label, input: in, presets: presets}
}

func (m Model) startAction(kind actionKind, targets []Row) (tea.Model, tea.Cmd) {
	if len(targets) == 0 && kind != actionExport {
		return m, nil
	}
	now := m.opts.Now()
	p := &prompt{kind: kind, targets: targets}
	switch kind {
	case actionOwner:
		p.fields = []promptField{newField("owner", "a person or team, e.g. payments@example.com", m.ds.knownOwners())}
		p.fields[0].optional = true // none: the owner is cleared
	case actionExpiry:
		p.fields = []promptField{newField("re-attest by", "YYYY-MM-DD", datePresets(now))}
	case actionApprove:
		p.fields = []promptField{
			newField("reason", "why this self-signed certificate may be trusted", nil),
			newField("until", "YYYY-MM-DD, at most the policy's maximum", datePresets(now)[:1]),
		}
	case actionReject:
		p.fields = []promptField{newField("reason", "why it must not be trusted", nil)}
	case actionRevokeItem, actionNeedsChange:
		p.fields = []promptField{newField("comment", "required: what must happen", nil)}
	case actionCertifyItem:
		// Only items with high or critical findings need a comment.
		serious := 0
		for _, t := range targets {
			if len(seriousCodes(t)) > 0 {
				serious++
			}
		}
		switch {
		case len(targets) == 1 && serious == 1:
			p.fields = []promptField{newField("comment", "why accept it? it has "+strings.Join(seriousCodes(targets[0]), ", "), nil)}
		case serious > 0:
			p.fields = []promptField{newField("comment", fmt.Sprintf("why accept them? %d have high or critical findings", serious), nil)}
		}
	case actionExport:
		p.fields = []promptField{newField("folder", "where to write the evidence bundle", []string{"evidence-" + m.campaign.campaign.Name})}
	}
	m.prompt = p
	if len(p.fields) == 0 {
		return m, p.askConfirm() // nothing to ask but yes or no
	}
	return m, m.prompt.fields[0].input.Focus()
}

// datePresets are +30 days, +90 days and the end of next quarter.
func datePresets(now time.Time) []string {
	q := (int(now.Month())-1)/3 + 1
	endOfNext := time.Date(now.Year(), time.Month(3*(q+1)), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, -1)
	return []string{now.AddDate(0, 0, 30).Format("2006-01-02"), now.AddDate(0, 0, 90).Format("2006-01-02"), endOfNext.Format("2006-01-02")}
}

func (m Model) updatePrompt(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := m.prompt
	if key.Matches(msg, m.keys.Cancel) {
		m.prompt, m.flash = nil, "cancelled"
		return m, nil
	}
	if p.confirm {
		return m.updateConfirm(msg)
	}
	if key.Matches(msg, m.keys.Submit) {
		if strings.TrimSpace(p.fields[p.index].input.Value()) == "" && !p.fields[p.index].optional {
			return m, nil // the field is needed
		}
		p.fields[p.index].input.Blur()
		if p.index+1 < len(p.fields) {
			p.index++
			return m, p.fields[p.index].input.Focus()
		}
		if p.size() > 1 {
			return m, p.askConfirm()
		}
		m.prompt = nil
		m.takeDecided(p)
		return m, m.finishAction(p)
	}
	if f := &p.fields[p.index]; msg.String() == "tab" && f.cyclePreset() {
		return m, nil
	}
	var cmd tea.Cmd
	p.fields[p.index].input, cmd = p.fields[p.index].input.Update(msg)
	return m, cmd
}

// cyclePreset answers tab in a field with presets: an empty field takes
// the first, a preset the next (the input's own completion only extends
// what was typed, so tab on an empty field did nothing). It reports
// whether it did.
func (f *promptField) cyclePreset() bool {
	if len(f.presets) == 0 {
		return false
	}
	value := f.input.Value()
	next := -1
	if value == "" {
		next = 0
	}
	for i, p := range f.presets {
		if value == p {
			next = (i + 1) % len(f.presets)
		}
	}
	if next < 0 {
		return false
	}
	f.input.SetValue(f.presets[next])
	f.input.CursorEnd()
	return true
}

// updateConfirm answers a confirmation. Every key is its: the answer
// applies, anything else cancels, and nothing reaches the screen behind.
func (m Model) updateConfirm(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := m.prompt
	if time.Since(p.shownAt) < typeAheadWindow {
		m.prompt, m.flash = nil, "cancelled: a key came before the question was on screen (typed ahead); nothing changed"
		return m, nil
	}
	if p.code == "" {
		if key.Matches(msg, m.keys.Yes) {
			m.prompt = nil
			m.takeDecided(p)
			return m, m.finishAction(p)
		}
		m.prompt, m.flash = nil, "cancelled"
		return m, nil
	}
	if !key.Matches(msg, m.keys.Submit) {
		var cmd tea.Cmd
		p.answer, cmd = p.answer.Update(msg)
		return m, cmd
	}
	if !strings.EqualFold(strings.TrimSpace(p.answer.Value()), p.code) {
		m.prompt, m.flash = nil, fmt.Sprintf("not applied: the code was %s, not %q; nothing changed", p.code, p.answer.Value())
		return m, nil
	}
	m.prompt = nil
	m.takeDecided(p)
	return m, m.finishAction(p)
}

// finishAction runs what the prompt collected.
func (m Model) finishAction(p *prompt) tea.Cmd {
	value := ""
	if len(p.fields) > 0 {
		value = strings.TrimSpace(p.fields[0].input.Value())
	}
	switch p.kind {
	case actionRevokeItem:
		return m.decideAllCmd(p.targets, store.DecisionRevoke, value)
	case actionNeedsChange:
		return m.decideAllCmd(p.targets, store.DecisionNeedsChange, value)
	case actionCertifyItem:
		return m.decideAllCmd(p.targets, store.DecisionCertify, value)
	case actionExport:
		return m.exportCmd(value)
	case actionStartCampaign:
		return m.startCampaignCmd(p)
	}
	return m.runAction(p)
}

func (p *prompt) view(st Styles) string {
	who := "the open campaign"
	if len(p.targets) > 0 {
		who = p.targets[0].IdentityName()
	}
	if n := p.size(); n > 1 {
		who = fmt.Sprintf("%d identities", n)
	}
	if p.kind == actionStartCampaign {
		scope := "every identity"
		if p.scope != "" {
			scope = "scope: " + p.scope
		}
		who = fmt.Sprintf("%d identities (%s)", p.size(), scope)
	}
	if p.confirm && p.code != "" {
		// Two lines: at 80 columns the values fill one, and the code must
		// never be cut off.
		return st.Label.Render(fmt.Sprintf("%s for %s: %s", actionNames[p.kind], who, p.values())) + "\n" +
			st.Label.Render(fmt.Sprintf("to apply, type %s and enter (esc cancels): ", p.code)) + p.answer.View()
	}
	if p.confirm {
		return st.Label.Render(fmt.Sprintf("%s for %s: %s — apply? y/N", actionNames[p.kind], who, p.values()))
	}
	f := p.fields[p.index]
	hint := ""
	if len(f.presets) > 0 {
		hint = st.Dim.Render("  tab completes: " + strings.Join(f.presets, ", "))
	}
	return st.Label.Render(fmt.Sprintf("%s for %s · %s: ", actionNames[p.kind], who, f.label)) + f.input.View() + hint
}

// takeDecided takes a campaign decision's items out of the queue at once;
// a campaign started is shown once loaded.
func (m *Model) takeDecided(p *prompt) {
	if p.kind == actionStartCampaign {
		m.campaign.show(strings.TrimSpace(p.fields[0].input.Value()))
		m.switchTo(screenCampaign)
	}
	if p.kind == actionRevokeItem || p.kind == actionNeedsChange || p.kind == actionCertifyItem {
		for _, t := range p.targets {
			m.campaign.decided(t.key)
		}
	}
}

func (p *prompt) values() string {
	var parts []string
	for _, f := range p.fields {
		if f.optional && f.input.Value() == "" {
			parts = append(parts, f.label+" none")
			continue
		}
		parts = append(parts, f.label+" "+f.input.Value())
	}
	return strings.Join(parts, ", ")
}

type actionDoneMsg struct {
	decision bool // a campaign decision: the queue was updated at once
	what     string
	done     int
	errors   []string
	warnings []string
}

func (a actionDoneMsg) summary() string {
	s := fmt.Sprintf("%s: %d done", a.what, a.done)
	if len(a.errors) > 0 {
		s += fmt.Sprintf(", %d refused: %s", len(a.errors), a.errors[0])
	}
	if len(a.warnings) > 0 {
		s += " (" + a.warnings[0] + ")"
	}
	return s
}

// runAction applies the action to every target in a command; each change
// is its own transaction with its audit event.
func (m Model) runAction(p *prompt) tea.Cmd {
	s, actor, policy, now := m.opts.Store, m.opts.Actor, m.opts.Policy, m.opts.Now().UTC()
	values := make([]string, len(p.fields))
	for i, f := range p.fields {
		values[i] = strings.TrimSpace(f.input.Value())
	}
	targets, kind := p.targets, p.kind
	return func() tea.Msg {
		ctx := context.Background()
		done := actionDoneMsg{what: actionNames[kind]}
		for _, t := range targets {
			ch := store.Change{Actor: actor, At: now}
			var err error
			switch kind {
			case actionOwner:
				_, err = s.SetOwner(ctx, t.FingerprintSHA256(), values[0], ch)
			case actionExpiry:
				var date time.Time
				if date, err = model.ParseDay(values[0]); err == nil {
					var warning string
					if _, warning, err = s.SetExpiry(ctx, t.FingerprintSHA256(), date, ch); warning != "" {
						done.warnings = append(done.warnings, t.IdentityName()+": "+warning)
					}
				}
			case actionApprove:
				ch.Reason = values[0]
				var until time.Time
				if until, err = model.ParseDay(values[1]); err == nil {
					_, _, err = s.DecideException(ctx, t.FingerprintSHA256(), model.ExceptionApproved, until, ch, policy)
				}
			case actionReject:
				ch.Reason = values[0]
				_, _, err = s.DecideException(ctx, t.FingerprintSHA256(), model.ExceptionRejected, time.Time{}, ch, policy)
			}
			if err != nil {
				done.errors = append(done.errors, t.IdentityName()+": "+err.Error())
				continue
			}
			done.done++
		}
		return done
	}
}

// knownOwners are the owners recorded so far, for completion.
func (ds *Dataset) knownOwners() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range ds.Rows {
		if r.owner != "" && !seen[r.owner] {
			seen[r.owner] = true
			out = append(out, r.owner)
		}
	}
	return out
}

// seriousCodes are the row's high and critical findings: certifying it
// needs a comment (model.SeriousFindings, as the store enforces).
func seriousCodes(r Row) []string {
	return model.SeriousFindings(r.findings)
}
