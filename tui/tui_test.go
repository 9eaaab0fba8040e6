package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"certgov/demo"
	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

var demoStore *store.Store

// openDemo builds the demo estate into a database once for the package.
func openDemo(t *testing.T) *store.Store {
	t.Helper()
	if demoStore != nil {
		return demoStore
	}
	dir := t.TempDir()
	estate, err := demo.Generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := estate.Write(filepath.Join(dir, "estate")); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, filepath.Join(dir, "demo.db"))
	imp, err := s.NewImport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts := importers.Options{Password: []byte(demo.KeystorePassword), Known: imp.Known}
	if _, err := imp.Run(context.Background(), importers.Walk(context.Background(), []string{filepath.Join(dir, "estate")}, opts), false, nil); err != nil {
		t.Fatal(err)
	}
	demoStore = s
	return s
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
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
		if got := screenText(m); !strings.Contains(got, "Expiry, next 12 weeks") || !strings.Contains(got, "identities") || !strings.Contains(got, "critical") {
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
		for m.identities.sortCol != 4 {
			m = press(t, m, "s")
		}
		first := m.ds.Rows[m.identities.order[0]]
		for _, idx := range m.identities.order[1:] {
			if m.ds.Rows[idx].NotAfter.Before(first.NotAfter) {
				t.Fatalf("not sorted by expiry")
			}
		}
		checkFits(t, m, w, h)
		// Open one: where it is trusted and why it is flagged.
		m = press(t, m, "enter")
		got = screenText(m)
		for _, want := range []string{first.IdentityName, "Trusted by", "Findings (", "self_signed_tls_client_auth"} {
			if !strings.Contains(got, want) {
				t.Fatalf("%dx%d detail lacks %q:\n%s", w, h, want, got)
			}
		}
		checkFits(t, m, w, h)
		m = press(t, m, "esc")
		if m.screen != screenIdentities {
			t.Fatalf("esc from the detail went to %v", m.screen)
		}
		m = press(t, m, "3")
		if got := screenText(m); !strings.Contains(got, "revoked-but-trusted") || !strings.Contains(got, "maps to") {
			t.Fatalf("findings screen:\n%s", got)
		}
		m = press(t, m, "4")
		if got := screenText(m); !strings.Contains(got, "pkcs12") || !strings.Contains(got, "nginx") {
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
	m = press(t, m, "3")
	for m.findings.items[m.findings.cursor].filter != "finding:revoked-but-trusted" {
		m = press(t, m, "down")
	}
	m = press(t, m, "enter")
	if m.screen != screenIdentities || len(m.identities.order) != 2 {
		t.Fatalf("screen %v, %d rows", m.screen, len(m.identities.order))
	}
	// The overview's numbers lead to their lists too.
	m = press(t, m, "esc", "1", "down", "enter")
	if m.identities.filterText != "selfsigned" || len(m.identities.order) != m.overview.items[1].count {
		t.Fatalf("overview → %q, %d rows", m.identities.filterText, len(m.identities.order))
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
	if m.identities.filterText != "expire" {
		t.Fatalf("the last valid filter must stay applied, got %q", m.identities.filterText)
	}
	m = press(t, m, "esc")
	if m.identities.filtering || m.identities.filterText != "" {
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
	if !strings.Contains(got, "257  identities") || !strings.Contains(got, "computing findings") {
		t.Fatalf("first frame:\n%s", got)
	}
	m = update(t, m, m.loadCmd()())
	if got := screenText(m); !strings.Contains(got, "Expiry, next 12 weeks") {
		t.Fatalf("after the load:\n%s", got)
	}
}

func TestWideTerminalShowsDetailBesideTable(t *testing.T) {
	m := loaded(t, openDemo(t), 160, 45)
	m = press(t, m, "2")
	got := screenText(m)
	row := m.identities.selected()
	if row == nil || !strings.Contains(got, "│") || !strings.Contains(got, "Trusted by") || strings.Count(got, row.IdentityName) < 2 {
		t.Fatalf("wide layout:\n%s", got)
	}
	checkFits(t, m, 160, 45)
	narrow := loaded(t, openDemo(t), 120, 35)
	if got := screenText(press(t, narrow, "2")); strings.Contains(got, "Trusted by") {
		t.Fatal("the preview pane shows on a 120-column terminal")
	}
}
