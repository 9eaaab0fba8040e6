package tui

import (
	"certgov/store/storetest"
	"certgov/store/storetest/demostore"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
	"certgov/store"
	"certgov/store/evidence"
)

var (
	demoStore *store.Store
	// packageDir outlives every test (TestMain removes it): the shared
	// demo database lives there, not in the first test's temporary
	// folder, which is removed when that test ends.
	packageDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certgov-tui-test-*")
	if err != nil {
		panic(err)
	}
	packageDir = dir
	code := storetest.RunBoth(m, func() {
		if demoStore != nil {
			demoStore.Close()
			demoStore = nil
		}
	})
	os.RemoveAll(dir)
	os.Exit(code)
}

// openDemo builds the demo estate into a database once for the package.
func openDemo(t *testing.T) *store.Store {
	t.Helper()
	if demoStore == nil {
		demoStore = buildDemoIn(t, packageDir, storetest.SharedLocation)
	}
	return demoStore
}

// buildDemo builds the demo estate into a new database of the test's own.
func buildDemo(t *testing.T) *store.Store {
	t.Helper()
	return buildDemoIn(t, t.TempDir(), storetest.Location)
}

// buildDemoIn writes the estate in dir and imports it into a database at
// location(dir/demo.db).
func buildDemoIn(t *testing.T, dir string, location func(testing.TB, string) string) *store.Store {
	t.Helper()
	return demostore.Import(t, dir, location)
}

// openStore opens a database of the test's own: the SQLite file at path,
// or a new PostgreSQL database in that pass.
func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	if !store.IsPostgres(path) {
		path = storetest.Location(t, path)
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loaded returns a model of the given size with its data loaded, as the
// program would after Init's command returned.
func loaded(t *testing.T, s *store.Store, width, height int) Model {
	t.Helper()
	m := New(Options{Store: s, Policy: model.DefaultPolicy()})
	m = update(t, m, tea.WindowSizeMsg{Width: width, Height: height})
	return update(t, m, m.loadCmd()())
}

func update(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	return next.(Model)
}

// press sends keys: single characters, or names such as "enter", "esc".
func press(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		m = update(t, m, keyMsg(k))
	}
	return m
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func typeText(t *testing.T, m Model, text string) Model {
	t.Helper()
	for _, r := range text {
		if r == ' ' {
			m = press(t, m, "space")
			continue
		}
		m = press(t, m, string(r))
	}
	return m
}

// withCampaign starts a campaign over the self-signed client
// certificates, due in a month, and reloads the dashboard.
func withCampaign(t *testing.T, s *store.Store, m Model, name string) Model {
	t.Helper()
	f, _ := model.ParseFilter("selfsigned !ca")
	if _, err := s.StartCampaign(context.Background(), name, time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return update(t, m, m.loadCmd()())
}

// confirm answers the confirmation on screen as a person does, after
// reading it: y, or the code a bulk change asks for, and enter.
func confirm(t *testing.T, m Model) Model {
	t.Helper()
	if m.prompt == nil || !m.prompt.confirm {
		t.Fatalf("no confirmation on screen:\n%s", screenText(m))
	}
	if m.prompt.code == "" {
		m.prompt.shownAt = m.prompt.shownAt.Add(-time.Second)
		return pressRun(t, m, "y")
	}
	return answerRead(t, m, m.prompt.code)
}

// answerRead types text and enter at the confirmation on screen, after
// reading it.
func answerRead(t *testing.T, m Model, text string) Model {
	t.Helper()
	m.prompt.shownAt = m.prompt.shownAt.Add(-time.Second)
	return pressRun(t, typeText(t, m, text), "enter")
}

func screenText(m Model) string { return ansi.Strip(m.View().Content) }

// checkFits asserts the frame is exactly the terminal's size or smaller.
func checkFits(t *testing.T, m Model, width, height int) {
	t.Helper()
	lines := strings.Split(m.View().Content, "\n")
	if len(lines) > height {
		t.Errorf("%dx%d: %d lines", width, height, len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("%dx%d: line %d is %d wide: %q", width, height, i+1, w, ansi.Strip(l))
		}
	}
}

func TestReviewerPath(t *testing.T) {
	s := openDemo(t)
	for _, size := range [][2]int{{120, 35}, {80, 24}, {160, 45}} {
		w, h := size[0], size[1]
		m := loaded(t, s, w, h)
		checkFits(t, m, w, h)
		// At 80 columns the overview is one column, scrolled with the
		// cursor: the expiry weeks follow the inventory.
		if got := screenText(m); (w >= 100 && !strings.Contains(got, "Expiry, next 12 weeks")) || !strings.Contains(got, "identities") || !strings.Contains(got, "critical") {
			t.Fatalf("%dx%d overview:\n%s", w, h, got)
		}
		// Filter to expiring self-signed certificates, sort by expiry.
		m = press(t, m, "2", "/")
		m = typeText(t, m, "selfsigned expires<30d !ca")
		m = press(t, m, "enter")
		got := screenText(m)
		if !strings.Contains(got, "filter: selfsigned expires<30d !ca") || !strings.Contains(got, "partner-") || strings.Contains(got, ".svc ") {
			t.Fatalf("%dx%d filtered list:\n%s", w, h, got)
		}
		for m.identities.sortCol != sortByExpiry {
			m = press(t, m, "s")
		}
		first := m.ds.Rows[m.identities.order[0]]
		for _, idx := range m.identities.order[1:] {
			if m.ds.Rows[idx].NotAfter().Before(first.NotAfter()) {
				t.Fatalf("not sorted by expiry")
			}
		}
		checkFits(t, m, w, h)
		// Open one: where it is trusted and why it is flagged.
		m = press(t, m, "enter")
		got = screenText(m)
		for _, want := range []string{first.IdentityName(), "Admitted by (", "Findings (", "self_signed_tls_client_auth"} {
			if !strings.Contains(got, want) {
				t.Fatalf("%dx%d detail lacks %q:\n%s", w, h, want, got)
			}
		}
		checkFits(t, m, w, h)
		m = press(t, m, "esc")
		if m.screen != screenIdentities {
			t.Fatalf("esc from the detail went to %v", m.screen)
		}
		m = press(t, m, "4")
		if got := screenText(m); !strings.Contains(got, "revoked-but-trusted") || !strings.Contains(got, "maps to") {
			t.Fatalf("findings screen:\n%s", got)
		}
		m = press(t, m, "5")
		if got := screenText(m); !strings.Contains(got, "pinlist") || !strings.Contains(got, "postgresql") {
			t.Fatalf("sources screen:\n%s", got)
		}
		m = press(t, m, "?")
		if got := screenText(m); !strings.Contains(got, "shift+tab") || !strings.Contains(got, "reload") {
			t.Fatalf("full help:\n%s", got)
		}
		checkFits(t, m, w, h)
		if _, cmd := m.Update(keyMsg("q")); cmd == nil || cmd() != tea.Quit() {
			t.Fatal("q does not quit")
		}
	}
}

func TestFindingLeadsToIdentities(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 35)
	m = press(t, m, "4")
	for i := 0; tabPane[*listScreen](m, "Findings").items[tabPane[*listScreen](m, "Findings").cursor].filter != "finding:revoked-but-trusted"; i++ {
		if i > len(tabPane[*listScreen](m, "Findings").items) {
			t.Fatal("no revoked-but-trusted group on the findings screen")
		}
		m = press(t, m, "down")
	}
	m = press(t, m, "enter")
	if m.screen != screenIdentities || len(m.identities.order) != 2 {
		t.Fatalf("screen %v, %d rows", m.screen, len(m.identities.order))
	}
	// The overview's numbers lead to their lists too.
	m = press(t, m, "esc", "1", "down", "enter")
	if m.identities.filter.text != "selfsigned" || len(m.identities.order) != tabPane[*overviewScreen](m, "Overview").items[1].count {
		t.Fatalf("overview → %q, %d rows", m.identities.filter.text, len(m.identities.order))
	}
}

func TestBadFilterIsShownInline(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 35)
	m = press(t, m, "2", "/")
	m = typeText(t, m, "expires<3x")
	got := screenText(m)
	if !strings.Contains(got, `"expires<3x" at column 1`) {
		t.Fatalf("no inline error:\n%s", got)
	}
	if m.identities.filter.text != "expire" {
		t.Fatalf("the last valid filter must stay applied, got %q", m.identities.filter.text)
	}
	m = press(t, m, "esc")
	if m.identities.filter.active || m.identities.filter.text != "" {
		t.Fatal("esc did not drop the filter")
	}
	m = press(t, m, "q")
}

func TestEmptyState(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "empty.db"))
	defer s.Close()
	m := loaded(t, s, 80, 24)
	if got := screenText(m); !strings.Contains(got, "Nothing imported yet") || !strings.Contains(got, "certgov demo") {
		t.Fatalf("empty state:\n%s", got)
	}
	checkFits(t, m, 80, 24)
}

func TestReloadsWhenTheDatabaseChanges(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 35)
	m = update(t, m, versionMsg{version: 7})
	if m.loading {
		t.Fatal("the first version seen must not reload")
	}
	next, cmd := m.Update(versionMsg{version: 8})
	if !next.(Model).loading || cmd == nil {
		t.Fatal("a changed data_version must reload")
	}
	// A stale reply from an earlier load is dropped.
	stale := update(t, next.(Model), loadedMsg{seq: 1, err: context.Canceled})
	if stale.status != "" {
		t.Fatalf("stale load applied: %q", stale.status)
	}
}

func TestFirstFrameShowsCounts(t *testing.T) {
	m := New(Options{Store: openDemo(t), Policy: model.DefaultPolicy()})
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if got := screenText(m); !strings.Contains(got, "opening the governance database") {
		t.Fatalf("before anything:\n%s", got)
	}
	m = update(t, m, m.countsCmd()())
	got := screenText(m)
	if !strings.Contains(got, "259  identities") || !strings.Contains(got, "computing findings") {
		t.Fatalf("first frame:\n%s", got)
	}
	m = update(t, m, m.loadCmd()())
	if got := screenText(m); !strings.Contains(got, "Findings by severity") {
		t.Fatalf("after the load:\n%s", got)
	}
}

// Every number on the overview, expiry week and owner opens the list
// behind it, and that list holds exactly as many identities as the
// number said (both come from the same filter).
func TestOverviewNumbersOpenTheirLists(t *testing.T) {
	m := loaded(t, openDemo(t), 140, 40)
	if n := len(tabPane[*overviewScreen](m, "Overview").items); n < 12+13+1 {
		t.Fatalf("%d selectable numbers on the overview", n)
	}
	for i, it := range tabPane[*overviewScreen](m, "Overview").items {
		tabPane[*overviewScreen](m, "Overview").cursor = i
		m.screen = screenOverview
		m = press(t, m, "enter")
		if m.screen != screenIdentities || m.identities.filter.text != it.filter || len(m.identities.order) != it.count {
			t.Errorf("%s %q: %d on the overview, %d in the list (filter %q)", it.section, it.label, it.count, len(m.identities.order), m.identities.filter.text)
		}
	}
	// Down past the inventory reaches the weeks, at 80x24 too.
	small := loaded(t, openDemo(t), 80, 24)
	small = press(t, small, "1")
	for range 12 { // the inventory's twelve numbers
		small = press(t, small, "down")
	}
	if got := screenText(small); !strings.Contains(got, "▶expired") && !strings.Contains(got, "▶ expired") {
		t.Errorf("at 80x24 the cursor on the expired week is not on screen:\n%s", got)
	}
}

// Before the full load, the identities table shows its first page, the
// same rows in the same order the full load gives, and can be browsed;
// the full load then takes over with the cursor where it was.
func TestFirstPageBeforeTheFullLoad(t *testing.T) {
	s := openDemo(t)
	now := time.Now().Truncate(time.Second)
	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Now: func() time.Time { return now }})
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 24})
	m = update(t, m, m.countsCmd()())
	firstPage, ok := m.progressiveLoadCmd()().(partialMsg)
	if !ok {
		t.Fatal("the load did not hand on its first page")
	}
	m = update(t, m, firstPage)
	m = press(t, m, "2")
	first := screenText(m)
	if !strings.Contains(first, "soonest-expiring of 259 identities") {
		t.Fatalf("first page:\n%s", first)
	}
	m = press(t, m, "down", "down")
	want := m.identities.selected().key
	// The load goes on from its first page to the whole.
	full := m
	for msg := firstPage.next(); ; {
		full = update(t, full, msg)
		p, ok := msg.(partialMsg)
		if !ok {
			break
		}
		msg = p.next()
	}
	if full.ds == nil || full.page != nil || full.loading {
		t.Fatal("the load's end did not replace its first page")
	}
	if got := full.identities.selected().key; got != want {
		t.Errorf("the cursor moved from %s to %s when the full load arrived", want, got)
	}
	// The table's rows are the same before and after.
	tableLines := func(text string) []string {
		lines := strings.Split(text, "\n")
		return lines[1 : len(lines)-3]
	}
	if a, b := tableLines(first), tableLines(screenText(press(t, full, "up", "up"))); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("first page:\n%s\n\nfull load:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

// The first load hands on what it has read as it goes: the soonest-
// expiring identities first, then ever more, each dataset's rows kept in
// place by the next; in the end every identity once, as Load reads them.
func TestLoadHandsOnWhatItHasRead(t *testing.T) {
	s := openDemo(t)
	now := time.Now().Truncate(time.Second)
	defer func(page int, every time.Duration, rows int) {
		firstPageSize, partialEvery, partialRows = page, every, rows
	}(firstPageSize, partialEvery, partialRows)
	firstPageSize, partialEvery, partialRows = 20, 0, 16
	var partials []*Dataset
	ds, err := LoadProgressively(context.Background(), s, model.DefaultPolicy(), now, func(p *Dataset) { partials = append(partials, p) })
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Load(context.Background(), s, model.DefaultPolicy(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(partials) < 3 {
		t.Fatalf("%d partial datasets", len(partials))
	}
	first := partials[0]
	if !first.Partial || len(first.Rows) != min(firstPageSize, len(whole.Rows)) || first.Identities != len(whole.Rows) {
		t.Fatalf("first partial: %d rows of %d", len(first.Rows), first.Identities)
	}
	for i := 1; i < len(first.Rows); i++ {
		if first.Rows[i].NotAfter().Before(first.Rows[i-1].NotAfter()) {
			t.Fatalf("the first page is not soonest first at row %d", i)
		}
	}
	for i, p := range partials {
		if p.run != ds.run || !p.Partial {
			t.Fatalf("partial %d: run %d, want %d", i, p.run, ds.run)
		}
		for j := range p.Rows {
			if p.Rows[j].key != ds.Rows[j].key {
				t.Fatalf("partial %d row %d is %s, the whole has %s there", i, j, p.Rows[j].key, ds.Rows[j].key)
			}
		}
		if i > 0 && len(p.Rows) <= len(partials[i-1].Rows) {
			t.Fatalf("partial %d did not grow: %d rows", i, len(p.Rows))
		}
	}
	keys := func(d *Dataset) []string {
		var out []string
		for _, r := range d.Rows {
			out = append(out, fmt.Sprintf("%x %s %d %d", r.key, r.FingerprintSHA256(), r.Versions, len(r.findings)))
		}
		sort.Strings(out)
		return out
	}
	if a, b := keys(ds), keys(whole); !slices.Equal(a, b) {
		t.Fatalf("progressively %d rows, at once %d", len(a), len(b))
	}
	if ds.Partial || ds.Identities != len(ds.Rows) || ds.Certificates != whole.Certificates || !reflect.DeepEqual(ds.FindingGroups, whole.FindingGroups) {
		t.Errorf("the whole dataset differs from Load's: %d identities, %d certificates", ds.Identities, ds.Certificates)
	}
}

// A table fed a load's growing datasets shows what it would show fed the
// whole at once, in every sort, filtered or not.
func TestGrowingTableEqualsTheWhole(t *testing.T) {
	ds, err := Load(context.Background(), openDemo(t), model.DefaultPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for col := range identityColumns {
		for _, reverse := range []bool{false, true} {
			for _, filter := range []string{"", "selfsigned", "!expired svc"} {
				grown, whole := newIdentitiesScreen(), newIdentitiesScreen()
				for _, s := range []*identitiesScreen{grown, whole} {
					s.sortCol, s.reverse = col, reverse
					s.filter.set(filter)
				}
				for _, n := range []int{7, 8, 100, 101, len(ds.Rows) - 1} {
					p := &Dataset{Rows: ds.Rows[:n:n], Partial: true, Identities: len(ds.Rows), run: ds.run}
					grown.setData(p, now)
				}
				grown.setData(ds, now)
				whole.setData(ds, now)
				if !slices.Equal(grown.order, whole.order) || !slices.Equal(grown.sorted, whole.sorted) {
					t.Fatalf("sort %s reverse %v filter %q: grown and whole tables differ", identityColumns[col].title, reverse, filter)
				}
				if filter != "" && len(whole.order) == 0 {
					t.Fatalf("filter %q matches nothing in the demo", filter)
				}
			}
		}
	}
}

func TestWideTerminalShowsDetailBesideTable(t *testing.T) {
	m := loaded(t, openDemo(t), 160, 45)
	m = press(t, m, "2")
	got := screenText(m)
	row := m.identities.selected()
	if row == nil || !strings.Contains(got, "│") || !strings.Contains(got, "Admitted by (") || strings.Count(got, row.IdentityName()) < 2 {
		t.Fatalf("wide layout:\n%s", got)
	}
	checkFits(t, m, 160, 45)
	narrow := loaded(t, openDemo(t), 120, 35)
	if got := screenText(press(t, narrow, "2")); strings.Contains(got, "Admitted by (") {
		t.Fatal("the preview pane shows on a 120-column terminal")
	}
}

// pressRun sends a key and runs the command it returns, and the one the
// reply returns, as the program would (actions, then the reload).
func pressRun(t *testing.T, m Model, k string) Model {
	t.Helper()
	next, cmd := m.Update(keyMsg(k))
	m = next.(Model)
	for i := 0; cmd != nil && i < 3; i++ {
		msg := cmd()
		switch msg.(type) {
		case actionDoneMsg, loadedMsg, campaignShownMsg:
			next, cmd = m.Update(msg)
			m = next.(Model)
		default:
			cmd = nil
		}
	}
	return m
}

func TestGovernanceInTheDashboard(t *testing.T) {
	s := buildDemo(t)
	defer s.Close()

	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Actor: "carol@example.com"})
	m = update(t, m, tea.WindowSizeMsg{Width: 140, Height: 40})
	m = update(t, m, m.loadCmd()())
	until := time.Now().AddDate(0, 0, 20).Format("2006-01-02")

	// The exceptions queue: approve the first with a reason and an end date.
	m = press(t, m, "3")
	// The riskiest are expired: an approval cannot outlive them, so take
	// the first that is valid for another month.
	for tabPane[*exceptionsScreen](m, "Exceptions").selected().NotAfter().Before(time.Now().AddDate(0, 1, 0)) {
		m = press(t, m, "down")
	}
	first := tabPane[*exceptionsScreen](m, "Exceptions").selected().IdentityName()
	queued := len(tabPane[*exceptionsScreen](m, "Exceptions").queue)
	m = press(t, m, "a")
	m = typeText(t, m, "contract renewal under way")
	m = press(t, m, "enter")
	m = typeText(t, m, until)
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "approve exception: 1 done") || len(tabPane[*exceptionsScreen](m, "Exceptions").queue) != queued-1 {
		t.Fatalf("approve: status %q, queue %d → %d", m.flash, queued, len(tabPane[*exceptionsScreen](m, "Exceptions").queue))
	}
	// Reject the next one.
	second := tabPane[*exceptionsScreen](m, "Exceptions").selected().IdentityName()
	m = press(t, m, "x")
	m = typeText(t, m, "partner left")
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "reject exception: 1 done") {
		t.Fatalf("reject: %q", m.flash)
	}

	// Five owners at once, after a confirmation that says how many.
	m = press(t, m, "2", "space", "space", "space", "space", "space", "o")
	m = typeText(t, m, "payments@example.com")
	m = press(t, m, "enter")
	if got := screenText(m); !strings.Contains(got, "5 identities") || !strings.Contains(got, "type "+m.prompt.code+" and enter") {
		t.Fatalf("no confirmation:\n%s", got)
	}
	m = confirm(t, m)
	if !strings.Contains(m.flash, "owner: 5 done") {
		t.Fatalf("bulk owner: %q", m.flash)
	}
	owned := 0
	for _, r := range m.ds.Rows {
		if r.owner == "payments@example.com" {
			owned++
		}
	}
	if owned != 5 {
		t.Fatalf("%d identities owned", owned)
	}
	// A bulk action answered with anything but its code writes nothing.
	m = press(t, m, "esc", "V", "o")
	m = typeText(t, m, "nobody")
	m = press(t, m, "enter")
	if m = answerRead(t, m, "y"); !strings.Contains(m.flash, "not applied") {
		t.Fatalf("declined bulk: %q", m.flash)
	}

	// An expiration from the presets (tab completes the first).
	m = press(t, m, "esc", "g", "e", "2", "tab")
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "expiration: 1 done") {
		t.Fatalf("expiry: %q", m.flash)
	}

	// Every decision is in the audit screen, and the chain verifies.
	m = press(t, m, "6")
	got := screenText(m)
	for _, want := range []string{"exception.approve", "exception.reject", "owner.set", "expiry.set", "carol@example.com"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit screen lacks %q:\n%s", want, got)
		}
	}
	if n, _, err := s.VerifyAudit(context.Background()); err != nil || n < 9 {
		t.Fatalf("verify: %d events, %v", n, err)
	}
	// The detail shows the identity's history and its exception.
	m = press(t, m, "3")
	for _, r := range m.ds.Rows {
		if r.IdentityName() == first {
			next, _ := m.openDetail(&r)
			m = next.(Model)
			break
		}
	}
	if got := screenText(m); !strings.Contains(got, "approved until "+until) {
		t.Fatalf("detail of %s:\n%s", first, got)
	}
	// The history is further down the pane.
	for range 20 {
		m = press(t, m, "j")
	}
	if got := screenText(m); !strings.Contains(got, "History (1)") {
		t.Fatalf("detail of %s, scrolled:\n%s", first, got)
	}
	// The rejected exception is recorded as rejected, by the reviewer.
	for _, r := range m.ds.Rows {
		if r.IdentityName() == second {
			if e := r.exception; e == nil || e.State != model.ExceptionRejected || e.Reason != "partner left" || e.DecidedBy != cmp.Or(s.Login(), "carol@example.com") {
				t.Fatalf("%s after the rejection: %+v", second, e)
			}
			return
		}
	}
	t.Fatalf("%s is no longer listed", second)
}

func TestCampaignQueue(t *testing.T) {
	s := buildDemo(t)
	defer s.Close()

	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Actor: "erin"})
	m = update(t, m, tea.WindowSizeMsg{Width: 140, Height: 40})
	m = update(t, m, m.loadCmd()())
	if got := screenText(press(t, m, "7")); !strings.Contains(got, "No campaign yet") {
		t.Fatalf("without a campaign:\n%s", got)
	}
	f, _ := model.ParseFilter("selfsigned !ca")
	n, err := s.StartCampaign(context.Background(), "2026-Q4", time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	m = update(t, m, m.loadCmd()())
	if got := screenText(m); !strings.Contains(got, "campaign 2026-Q4") {
		t.Fatalf("overview lacks the campaign's progress:\n%s", got)
	}
	m = press(t, m, "7")
	if got := screenText(m); !strings.Contains(got, fmt.Sprintf("0/%d decided", n)) {
		t.Fatalf("campaign screen:\n%s", got)
	}
	first := m.campaign.selected().IdentityName()
	// The first item (sorted by urgency) has critical findings: c asks
	// why it is acceptable, and enter alone does nothing.
	m = press(t, m, "c")
	if m.prompt == nil || !strings.Contains(screenText(m), "why accept it? it has") {
		t.Fatalf("certifying an item with critical findings asked for no comment:\n%s", screenText(m))
	}
	m = pressRun(t, m, "enter")
	if m.prompt == nil {
		t.Fatal("certified without a comment")
	}
	m = typeText(t, m, "replaced next week, ticket OPS-7")
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "1 done") || len(m.campaign.rows) != n-1 {
		t.Fatalf("certify: %q, %d left", m.flash, len(m.campaign.rows))
	}
	m = press(t, m, "v")
	m = pressRun(t, m, "enter") // a revoke needs a comment: nothing happens
	if m.prompt == nil {
		t.Fatal("revoke went through without a comment")
	}
	m = typeText(t, m, "partner left")
	m = pressRun(t, m, "enter")
	if got := screenText(m); !strings.Contains(got, fmt.Sprintf("2/%d decided", n)) || len(m.campaign.rows) != n-2 {
		t.Fatalf("after two decisions (%d left):\n%s", len(m.campaign.rows), got)
	}
	// The queue filters like the identities table.
	m = press(t, m, "/")
	m = typeText(t, m, "key:rsa")
	m = press(t, m, "enter")
	if len(m.campaign.rows) == 0 || len(m.campaign.rows) >= len(m.campaign.all) {
		t.Fatalf("filtered queue: %d of %d", len(m.campaign.rows), len(m.campaign.all))
	}
	for _, r := range m.campaign.rows {
		if r.keyAlgorithm != "RSA" {
			t.Fatalf("filter let %s (%s) through", r.IdentityName(), r.keyAlgorithm)
		}
	}
	m = press(t, m, "esc")
	if m.campaign.filter.text != "" || len(m.campaign.rows) != len(m.campaign.all) {
		t.Fatal("esc did not clear the queue's filter")
	}
	out := filepath.Join(t.TempDir(), "evidence")
	m = press(t, m, "E")
	m = typeText(t, m, out)
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "SHA256SUMS") {
		t.Fatalf("export: %q", m.flash)
	}
	if _, err := evidence.VerifyBundle(context.Background(), out, nil, false); err != nil {
		t.Fatal(err)
	}
	var decided []string
	c, _ := s.OpenCampaign(context.Background(), "2026-Q4")
	s.EachCampaignItem(context.Background(), c, func(it *store.CampaignItem) error {
		if it.Decision != "" {
			decided = append(decided, it.Identity+"="+string(it.Decision)+"/"+it.Reviewer)
		}
		return nil
	})
	reviewer := "erin" // the dashboard's --as
	if s.Postgres() {
		reviewer = s.Login() // a team database records the login
	}
	if len(decided) != 2 || !strings.Contains(strings.Join(decided, " "), first+"=certify/"+reviewer) {
		t.Fatalf("decisions %v", decided)
	}
}

// A certificate whose names carry escapes, a bidi override and a newline
// is drawn escaped: no raw control character reaches the frame, and its
// row stays one line.
func TestHostileNamesAreDrawnEscaped(t *testing.T) {
	now := time.Now()
	g := demo.NewGenerator(3)
	issued, err := g.SelfSigned(demo.Template{CommonName: "evil\x1b]8;;http://x\x07link\x1b]8;;\x07\x1b[31m",
		OrgUnit: "a\nb \u202egnp.exe", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "evil\x1b[2J.pem"), issued.PEM(), 0o600)
	s := openStore(t, filepath.Join(dir, "h.db"))
	defer s.Close()
	imp, err := s.NewImport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imp.Run(context.Background(), importers.Walk(context.Background(), []string{dir}, importers.Options{Known: imp.Known}), false, nil); err != nil {
		t.Fatal(err)
	}
	m := loaded(t, s, 120, 30)
	for _, keys := range [][]string{{"2"}, {"2", "enter"}, {"4"}, {"5"}, {"3"}} {
		frame := press(t, m, keys...).View().Content
		plain := ansi.Strip(frame)
		// Our own styles are SGR sequences; the data's OSC 8 link, its
		// colour and the bidi override must not be there.
		if strings.Contains(frame, "\x1b]8;") || strings.Contains(frame, "\u202e") || strings.Contains(plain, "\x1b") || strings.Contains(plain, "\a") {
			t.Errorf("keys %v: raw sequences from the data in the frame:\n%q", keys, plain)
		}
		if strings.Contains(plain, "\nb \\u202e") || strings.Contains(plain, "\nb \u202e") {
			t.Errorf("keys %v: the OU's newline split a line:\n%s", keys, plain)
		}
	}
	if got := ansi.Strip(press(t, m, "2").View().Content); !strings.Contains(got, `evil\x1b]8;;`) {
		t.Errorf("the identities table does not show the escaped name:\n%s", got)
	}
}

// / opens the kept filter selected: typing replaces it, a cursor key
// edits it. On the Sources screen enter lists what that file holds or
// admits.
func TestFilterReplacesAndSourcesOpen(t *testing.T) {
	m := loaded(t, openDemo(t), 140, 40)
	m = press(t, m, "2", "/")
	m = typeText(t, m, "selfsigned")
	m = press(t, m, "enter", "/")
	if got := screenText(m); !strings.Contains(got, "typing replaces it") {
		t.Fatalf("/ on a kept filter does not show it selected:\n%s", got)
	}
	m = typeText(t, m, "expired")
	m = press(t, m, "enter")
	if m.identities.filter.text != "expired" {
		t.Errorf("typing after / gave %q, want the filter replaced", m.identities.filter.text)
	}
	m = press(t, m, "/", "end")
	m = typeText(t, m, " selfsigned")
	m = press(t, m, "enter")
	if m.identities.filter.text != "expired selfsigned" {
		t.Errorf("end then typing gave %q, want it appended", m.identities.filter.text)
	}

	m = press(t, m, "5")
	for i, it := range tabPane[*listScreen](m, "Sources").items {
		if strings.Contains(it.text, "pinned-clients") {
			tabPane[*listScreen](m, "Sources").cursor = i
			break
		}
	}
	m = press(t, m, "enter")
	if m.screen != screenIdentities || !strings.HasPrefix(m.identities.filter.text, "source:") || len(m.identities.order) == 0 {
		t.Fatalf("enter on a source: screen %d, filter %q, %d rows", m.screen, m.identities.filter.text, len(m.identities.order))
	}
}

// Bulk decisions on the campaign screen: space and V select, c certifies
// them all after one comment for those with serious findings and a y/N
// naming the count; n over a selection asks one comment and a y/N.
func TestCampaignBulkDecisions(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 140, 40)
	f, _ := model.ParseFilter("selfsigned !ca")
	n, err := s.StartCampaign(context.Background(), "2026-Q4-bulk", time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	m = update(t, m, m.loadCmd()())
	m = press(t, m, "7", "space", "space", "space")
	if len(m.campaign.selection) != 3 || !strings.Contains(screenText(m), "3 of ") {
		t.Fatalf("space did not select: %d selected\n%s", len(m.campaign.selection), screenText(m))
	}
	m = press(t, m, "c")
	if m.prompt == nil || !strings.Contains(screenText(m), "why accept them?") {
		t.Fatalf("bulk certify of items with serious findings asked no comment:\n%s", screenText(m))
	}
	m = typeText(t, m, "accepted until the Q1 migration")
	m = press(t, m, "enter")
	if m.prompt == nil || !m.prompt.confirm || !strings.Contains(screenText(m), "3 identities") {
		t.Fatalf("no y/N naming the count:\n%s", screenText(m))
	}
	m = confirm(t, m)
	if !strings.Contains(m.flash, "3 done") || len(m.campaign.rows) != n-3 {
		t.Fatalf("bulk certify: %q, %d left of %d", m.flash, len(m.campaign.rows), n)
	}
	m = press(t, m, "V")
	if len(m.campaign.selection) != n-3 {
		t.Fatalf("V selected %d of %d shown", len(m.campaign.selection), n-3)
	}
	m = press(t, m, "esc")
	if len(m.campaign.selection) != 0 {
		t.Fatal("esc kept the selection")
	}
	m = press(t, m, "space", "space", "n")
	m = typeText(t, m, "rotate to the internal CA")
	m = press(t, m, "enter")
	m = confirm(t, m)
	if !strings.Contains(m.flash, "2 done") || len(m.campaign.rows) != n-5 {
		t.Fatalf("bulk needs-change: %q, %d left", m.flash, len(m.campaign.rows))
	}
}

// D shows the decided items with their decisions; a decision there is
// changed with the same keys, and the change is audited.
func TestCampaignDecidedView(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 140, 40)
	m = withCampaign(t, s, m, "2026-Q4-decided")
	m = press(t, m, "7", "n")
	m = typeText(t, m, "rotate it")
	m = pressRun(t, m, "enter")
	m = update(t, m, m.loadCmd()()) // the reload that follows a decision
	m = press(t, m, "D")
	if got := screenText(m); !strings.Contains(got, "needs-change") || !strings.Contains(got, "changes a decision") || len(m.campaign.rows) != 1 {
		t.Fatalf("decided view (%d rows):\n%s", len(m.campaign.rows), got)
	}
	changed := m.campaign.rows[0].IdentityName()
	m = press(t, m, "v")
	m = typeText(t, m, "partner left after all")
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "1 done") {
		t.Fatalf("changing a decision: %q", m.flash)
	}
	events, _ := s.AuditEvents(context.Background(), changed)
	if n := len(events); n < 2 || events[n-1].After != "revoke" || events[n-1].Before != "needs-change" {
		t.Errorf("the change is not audited as needs-change -> revoke: %+v", events)
	}
}

// At 80x24 an item opened from the campaign queue is decided from its
// detail with the same keys.
func TestDecideFromDetailAt80x24(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 80, 24)
	f, _ := model.ParseFilter("selfsigned !ca")
	n, err := s.StartCampaign(context.Background(), "2026-Q4-detail", time.Now().AddDate(0, 1, 0), f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	m = update(t, m, m.loadCmd()())
	m = press(t, m, "7", "enter")
	if m.screen != screenDetail {
		t.Fatalf("enter on the queue did not open the detail")
	}
	m = press(t, m, "n")
	m = typeText(t, m, "rotate to the CA")
	m = pressRun(t, m, "enter")
	if !strings.Contains(m.flash, "1 done") || len(m.campaign.rows) != n-1 {
		t.Fatalf("n in the detail at 80x24: %q, %d left of %d", m.flash, len(m.campaign.rows), n)
	}
}

// cursorLine is the screen line of the selected row.
func cursorLine(m Model) int {
	for i, l := range strings.Split(screenText(m), "\n") {
		if strings.Contains(l, "▶") {
			return i
		}
	}
	return -1
}

// Scrolling keeps its place: past a page down and one up, the cursor moves
// up on screen instead of dragging the page (the offset lives in the
// update paths; views only read it), in every list; the detail pane
// scrolls back from its end at once.
func TestScrollingKeepsItsPlace(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 120, 35)
	for _, screenKey := range []string{"2", "4", "5", "6"} {
		m = press(t, m, screenKey)
		for range 40 {
			m = press(t, m, "down")
		}
		bottom := cursorLine(m)
		m = press(t, m, "k")
		if got := cursorLine(m); got != bottom-1 {
			t.Errorf("screen %s: after 40 down and k the cursor is on line %d, was %d", screenKey, got, bottom)
		}
	}
	m = press(t, m, "2", "enter")
	if m.screen != screenDetail {
		t.Fatal("no detail")
	}
	for range 200 {
		m = press(t, m, "down")
	}
	atEnd := screenText(m)
	m = press(t, m, "up")
	if screenText(m) == atEnd {
		t.Error("the detail pane did not move on the first up after scrolling past its end")
	}
}

// ? on a screen with a filter lists the filter language's terms, from the
// table ls --help prints.
func TestHelpListsFilterTerms(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 35)
	m = press(t, m, "2", "?")
	got := screenText(m)
	for _, term := range []string{"expires<30d", "exception-ends<30d", "source:TEXT"} {
		if !strings.Contains(got, term) {
			t.Errorf("help lacks the filter term %s:\n%s", term, got)
		}
	}
	checkFits(t, m, 120, 35)
	small := press(t, loaded(t, openDemo(t), 80, 24), "2", "?")
	checkFits(t, small, 80, 24)
}

// A governance value written behind certgov's back is flagged on the
// dashboard's status line, as findings and check flag it.
func TestDashboardFlagsUnexplainedState(t *testing.T) {
	s := buildDemo(t)
	raw := storetest.OpenRaw(t, s.Path())
	if _, err := raw.Exec(`UPDATE identities SET owner = 'mallory' WHERE name = 'partner-acme-logistics'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	m := loaded(t, s, 120, 35)
	if got := screenText(m); !strings.Contains(got, "1 governance values are not what the audit trail records") {
		t.Errorf("no warning on the status line:\n%s", got)
	}
}

// After each load has replaced the dataset, Options.Loaded runs (the
// program gives the load's garbage back to the system there).
func TestLoadedRunsAfterEachLoad(t *testing.T) {
	s := openDemo(t)
	loads := 0
	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Loaded: func() { loads++ }})
	for want := 1; want <= 2; want++ {
		next, cmd := m.Update(m.loadCmd()())
		m = next.(Model)
		runAll(cmd)
		if loads != want {
			t.Fatalf("after load %d: Loaded ran %d times", want, loads)
		}
	}
}

// runAll runs a command and those it batches, dropping their messages.
func runAll(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if batch, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range batch {
			runAll(c)
		}
	}
}

// The database's warnings come when its check at open has ended, which
// runs beside the first reads, and stay on the status line.
func TestDashboardShowsTheDatabaseWarnings(t *testing.T) {
	storetest.SQLiteOnly(t, "a file other users may read")
	path := buildDemo(t).Path()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := loaded(t, s, 200, 35)
	if got := screenText(m); strings.Contains(got, "warning:") {
		t.Fatalf("a warning before the check ended:\n%s", got)
	}
	m = update(t, m, m.warningsCmd()())
	if got := screenText(m); !strings.Contains(got, "warning: "+path+": other users may read it") {
		t.Errorf("no warning on the status line:\n%s", got)
	}
}

// The attack: keys typed ahead of a confirmation (a comment meant for a
// field, Enter, y) decided sixteen items. A confirmation now answers only
// keys typed after it appeared, swallows every other key, and a bulk one
// wants a code no typed-ahead text knows; the cursor stays on its item.
func TestTypeAheadNeverDecides(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 140, 40)
	m = withCampaign(t, s, m, "2026-Q4-typeahead")
	m = press(t, m, "7", "V", "n")
	m = typeText(t, m, "rotate")
	// Enter, then the rest of a burst: y, and text that would run as
	// commands (v revokes, c certifies) if the prompt let go of it.
	m = press(t, m, "enter")
	if m.prompt == nil || m.prompt.code == "" {
		t.Fatalf("a bulk change asks for no code:\n%s", screenText(m))
	}
	m = pressRun(t, m, "y")
	if m.prompt != nil || !strings.Contains(m.flash, "typed ahead") {
		t.Fatalf("a key typed ahead answered the confirmation: %q", m.flash)
	}
	// The rest of the burst, with the selection still on: v opens a bulk
	// revoke, the text fills its comment, Enter asks for the code, and
	// the y after it is typed ahead again.
	m = typeText(t, m, "v Q4 review call; still in use")
	m = press(t, m, "enter")
	m = pressRun(t, m, "y")
	m = pressRun(t, m, "enter")
	if m.prompt != nil {
		t.Fatalf("a prompt is still open: %s", screenText(m))
	}
	decided := 0
	err := s.EachCampaignItem(context.Background(), mustCampaign(t, s, "2026-Q4-typeahead"), func(it *store.CampaignItem) error {
		if it.Decision != "" && it.Decision != store.DecisionUndecided {
			decided++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if decided != 0 {
		t.Fatalf("typed-ahead keys decided %d items", decided)
	}
	// Text typed ahead into the code field is not the code.
	m = press(t, m, "esc", "7")
	m.campaign.selection = nil
	m = press(t, m, "V", "n")
	m = typeText(t, m, "rotate")
	m = press(t, m, "enter")
	if m = answerRead(t, m, "Q4 review call; still in use"); !strings.Contains(m.flash, "not applied") {
		t.Fatalf("a wrong code: %q", m.flash)
	}
	// One item's y/N: a y typed ahead cancels; after it is read, any key
	// but y cancels and is swallowed, not run as a command.
	clean := *m.campaign.rows[0]
	cleanProfile := *clean.rowProfile // shared with other rows: changed in a copy
	cleanProfile.findings = nil
	clean.rowProfile = &cleanProfile
	next, _ := m.startAction(actionCertifyItem, []Row{clean})
	m = next.(Model)
	if !strings.Contains(screenText(m), "apply? y/N") {
		t.Fatalf("no y/N:\n%s", screenText(m))
	}
	m = pressRun(t, m, "y")
	if m.prompt != nil || !strings.Contains(m.flash, "typed ahead") {
		t.Fatalf("y typed ahead of a y/N: %q", m.flash)
	}
	next, _ = m.startAction(actionCertifyItem, []Row{clean})
	m = next.(Model)
	m.prompt.shownAt = m.prompt.shownAt.Add(-time.Second)
	screen := m.screen
	m = pressRun(t, m, "2")
	if m.prompt != nil || m.flash != "cancelled" || m.screen != screen {
		t.Fatalf("a key at a y/N: prompt %v, %q, screen %d → %d", m.prompt != nil, m.flash, screen, m.screen)
	}
}

func mustCampaign(t *testing.T, s *store.Store, name string) *store.Campaign {
	t.Helper()
	c, err := s.CampaignByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Selected rows that leave the view leave the selection, with a note; an
// action then applies to what is shown. After a bulk decision the cursor
// is on the item it was on, not on whatever took its row.
func TestSelectionFollowsTheView(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 140, 40)
	m = press(t, m, "2", "space", "space", "space", "space")
	if len(m.identities.selection) != 4 {
		t.Fatalf("%d selected", len(m.identities.selection))
	}
	m = press(t, m, "/")
	m = typeText(t, m, "payments")
	m = press(t, m, "enter")
	if len(m.identities.targets()) > 1 && len(m.identities.selection) != 0 {
		t.Fatalf("selected rows out of view kept: %d", len(m.identities.selection))
	}
	// The filter is applied as it is typed: the first keystroke that hides
	// a selected row clears the selection, and the note counts those.
	if !strings.Contains(screenText(m), "left the view)") || !strings.Contains(screenText(m), "selection cleared (") {
		t.Fatalf("no note (%d selected, %q):\n%s", len(m.identities.selection), m.identities.selectionNote, screenText(m))
	}
	m = press(t, m, "o")
	if m.prompt == nil || len(m.prompt.targets) != 1 {
		t.Fatalf("o after the selection left the view targets %d rows", len(m.prompt.targets))
	}
	m = press(t, m, "esc")

	m = withCampaign(t, s, m, "2026-Q4-cursor")
	m = press(t, m, "7", "space", "space", "space")
	on := m.campaign.selected().IdentityName()
	m = press(t, m, "n")
	m = typeText(t, m, "rotate to the internal CA")
	m = press(t, m, "enter")
	m = confirm(t, m)
	if !strings.Contains(m.flash, "3 done") || m.campaign.selected().IdentityName() != on {
		t.Fatalf("after a bulk decision (%q) the cursor is on %q, was on %q", m.flash, m.campaign.selected().IdentityName(), on)
	}
}

// The Servers screen lists the demo's servers with their policy; enter
// shows what one admits and refuses now; w answers what would break
// without it (a read: nothing to confirm, nothing changes); it fits
// 80x24.
func TestServersScreen(t *testing.T) {
	s := openDemo(t)
	m := loaded(t, s, 80, 24)
	m = press(t, m, "8")
	if m.screen != tabNamed("Servers") || !strings.Contains(screenText(m), "carriers.partner-edge") || !strings.Contains(screenText(m), "verify on, depth 1") {
		t.Fatalf("servers screen:\n%s", screenText(m))
	}
	checkFits(t, m, 80, 24)
	servers := func() *serversScreen { return tabPane[*serversScreen](m, "Servers") }
	for servers().selected().name != "carriers.partner-edge.example:8443" {
		before := servers().cursor
		if m = press(t, m, "down"); servers().cursor == before {
			t.Fatalf("no carriers server in the list:\n%s", screenText(m))
		}
	}
	m = press(t, m, "enter")
	text := screenText(m)
	if !strings.Contains(text, "Admits today (2)") || !strings.Contains(text, "carrier-gateway.logistics.svc") || !strings.Contains(text, "tested at nginx.conf:27") {
		t.Fatalf("enter on carriers.partner-edge.example:8443:\n%s", text)
	}
	checkFits(t, m, 80, 24)
	events := len(m.ds.Events)
	next, cmd := m.Update(keyMsg("w"))
	m = next.(Model)
	if cmd == nil || m.prompt != nil {
		t.Fatal("w asks nothing back and runs the what-if")
	}
	m = update(t, m, cmd())
	if text := tabPane[*serversScreen](m, "Servers").whatIf; !strings.Contains(text, "2 identities lose their last admitting server") || !strings.Contains(screenText(m), "Without carriers.partner-edge.example:8443") {
		t.Errorf("what-if:\n%s\n%s", text, screenText(m))
	}
	m = update(t, m, m.loadCmd()())
	if len(m.ds.Events) != events {
		t.Error("a what-if wrote to the audit trail")
	}
	m = press(t, m, "esc")
	if tabPane[*serversScreen](m, "Servers").open || m.screen != tabNamed("Servers") {
		t.Error("esc does not return to the list")
	}
	// A refused-now entry says why.
	for i, v := range tabPane[*serversScreen](m, "Servers").views {
		if len(v.refusedNow) > 0 {
			tabPane[*serversScreen](m, "Servers").cursor = i
			break
		}
	}
	m = press(t, m, "enter")
	if text := screenText(m); !strings.Contains(text, "Configured to admit, refused now") || !strings.Contains(text, "expired on ") {
		t.Errorf("a server refusing some now:\n%s", text)
	}
}

// tabPane is the pane of the named tab.
func tabPane[T pane](m Model, name string) T { return m.panes[tabNamed(name)].(T) }

// A server told apart by its place only keeps the place when its name
// is cut.
func TestPadServerName(t *testing.T) {
	for _, c := range []struct {
		name  string
		width int
		want  string
	}{
		{"postgresql hostssl :5432 (pg_hba.conf:4)", 23, "postgre…(pg_hba.conf:4)"},
		{"carriers.partner-edge.example:8443", 23, "carriers.partner-edge.…"},
		{"short (x)", 12, "short (x)   "},
	} {
		if got := padServerName(c.name, c.width); got != c.want {
			t.Errorf("%q at %d: %q, want %q", c.name, c.width, got, c.want)
		}
	}
}

// TestTypedFilterShowsWhatAFullPassShows: typing a filter letter by
// letter, adding terms and taking letters back shows at each keystroke
// exactly the rows a pass over every row shows, though the table narrows
// the list it shows and takes kept lists back.
func TestTypedFilterShowsWhatAFullPassShows(t *testing.T) {
	now := time.Now()
	ds := syntheticDataset(3000, now)
	m := New(Options{Store: &store.Store{}, Policy: model.DefaultPolicy(), Now: func() time.Time { return now }})
	m = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 35})
	m = update(t, m, loadedMsg{seq: m.loadSeq, ds: ds})
	m = press(t, m, "2", "/")
	check := func(step string) {
		t.Helper()
		s := m.identities
		f, err := model.ParseFilter(s.filter.text)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, i := range s.sorted {
			rec := s.ds.Rows[i].record()
			if f.Match(&rec, now) {
				want = append(want, i)
			}
		}
		if !slices.Equal(s.order, want) {
			t.Fatalf("after %s (filter %q): %d rows shown, a full pass shows %d", step, s.filter.text, len(s.order), len(want))
		}
	}
	for _, text := range []string{"svc-0001", " team-1", " !selfsigned", " expires<90d"} {
		for _, r := range text {
			k := string(r)
			if r == ' ' {
				k = "space"
			}
			m = press(t, m, k)
			check("typing " + strconv.Quote(string(r)))
		}
	}
	if kept := len(m.identities.typed); kept < 2 {
		t.Fatalf("%d lists kept while typing: the table does not narrow", kept)
	}
	for m.identities.filter.input.Value() != "" {
		m = press(t, m, "backspace")
		check("a backspace")
	}
	// A longer word typed again after the list was taken back.
	m = typeText(t, m, "team-2")
	check("typing again")
	// Typing over a kept filter replaces it with a broader one.
	m = press(t, m, "enter", "/", "v")
	check("typing over the kept filter")
	m = press(t, m, "esc")
	check("esc")
}

// A campaign that assigns its items opens on the reviewer's own (M shows
// everyone's and back), says whose they are, fits 80x24, and an item
// assigned to someone else is refused when decided from everyone's.
func TestCampaignMyItems(t *testing.T) {
	storetest.SQLiteOnly(t, "the dashboard acts --as; the PostgreSQL pass checks assignment with logins (store's TestTeamAssignment)")
	s := buildDemo(t)
	defer s.Close()
	f, _ := model.ParseFilter("selfsigned !ca")
	assign := model.Assignment{RoundRobin: []string{"alice", "bob"}}
	n, err := s.StartCampaign(context.Background(), "2026-Q4", time.Now().AddDate(0, 1, 0), f, assign, model.DefaultPolicy(), store.Change{Actor: "erin", At: time.Now()})
	if err != nil || n < 4 {
		t.Fatal(n, err)
	}
	m := New(Options{Store: s, Policy: model.DefaultPolicy(), Actor: "alice"})
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = update(t, m, m.loadCmd()())
	m = press(t, m, "7")
	mine := (n + 1) / 2 // the round robin gives alice the first, third, …
	if got := screenText(m); !strings.Contains(got, fmt.Sprintf("my items (alice): %d undecided", mine)) || len(m.campaign.rows) != mine {
		t.Fatalf("alice's queue (%d rows):\n%s", len(m.campaign.rows), got)
	}
	checkFits(t, m, 80, 24)
	m = press(t, m, "M")
	if got := screenText(m); !strings.Contains(got, fmt.Sprintf("everyone's items; %d undecided of them are mine", mine)) || len(m.campaign.rows) != n {
		t.Fatalf("everyone's queue (%d rows):\n%s", len(m.campaign.rows), got)
	}
	// bob's first item, decided by alice, is refused.
	for i, r := range m.campaign.rows {
		if m.ds.Assigned[r.key] == "bob" && len(seriousCodes(*r)) == 0 {
			m.campaign.cursor = i
			break
		}
	}
	m = pressRun(t, m, "c")
	if !strings.Contains(m.flash+m.status, "assigned to bob") {
		t.Errorf("alice certified bob's item: flash %q status %q", m.flash, m.status)
	}
	m = press(t, m, "M")
	if len(m.campaign.rows) != mine {
		t.Errorf("back to alice's: %d rows", len(m.campaign.rows))
	}
}

// Tab in the expiration field: empty, it takes the first preset; on a
// preset, the next; the presets' hint is on screen at 120 columns; the
// Sources screen keeps each file's name at 80.
func TestPresetsAndPathsFitTheScreen(t *testing.T) {
	m := loaded(t, openDemo(t), 120, 35)
	m = press(t, m, "2", "e")
	presets := m.prompt.fields[0].presets
	if len(presets) < 2 {
		t.Fatalf("presets %v", presets)
	}
	if got := screenText(m); !strings.Contains(got, "tab completes: "+presets[0]+", "+presets[1]) {
		t.Errorf("the presets' hint is cut at 120 columns:\n%s", got)
	}
	m = press(t, m, "tab")
	if v := m.prompt.fields[0].input.Value(); v != presets[0] {
		t.Fatalf("tab on an empty field: %q, want %q", v, presets[0])
	}
	m = press(t, m, "tab")
	if v := m.prompt.fields[0].input.Value(); v != presets[1] {
		t.Fatalf("tab on a preset: %q, want %q", v, presets[1])
	}
	m = press(t, m, "esc")

	small := press(t, loaded(t, openDemo(t), 80, 24), "5")
	got := screenText(small)
	if strings.Contains(got, "c…") || !strings.Contains(got, ".pem") && !strings.Contains(got, ".conf") {
		t.Errorf("the Sources screen cuts the file names at 80 columns:\n%s", got)
	}
	checkFits(t, small, 80, 24)
}
