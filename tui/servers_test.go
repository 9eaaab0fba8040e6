package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// A server's lists are drawn a window at a time: every scroll shows the
// lines that drawing every item and cutting would show.
func TestServerListsDrawOnlyTheirWindow(t *testing.T) {
	v := serverView{name: "api gateway"}
	var admitted []string
	for i := range 23 {
		name := fmt.Sprintf("svc-%02d", i)
		admitted = append(admitted, name)
		v.rows = append(v.rows, Row{text: name, identityName: span{0, uint32(len(name))}})
		v.admits = append(v.admits, int32(i))
	}
	for i := range 5 {
		v.refusedNow = append(v.refusedNow, namedNote{fmt.Sprintf("old-%d", i), "expired"})
	}
	for i := range 17 {
		v.claims = append(v.claims, namedNote{fmt.Sprintf("spoof-%02d", i), "matches its DN rule"})
	}
	s := serversScreen{views: []serverView{v}, open: true}
	st := newStyles(true)
	const height = 9
	var all []string // every line, drawn without a window
	for scroll := 0; scroll < 80; scroll++ {
		s.scroll = scroll
		got := strings.Split(ansi.Strip(s.viewServer(st, 80, height)), "\n")
		if scroll == 0 {
			// The head, then each section's blank line, title and items.
			all = got[:3]
			add := func(title string, items []string) {
				all = append(all, "", fmt.Sprintf("%s (%d)", title, len(items)))
				for _, it := range items {
					all = append(all, "  "+it)
				}
			}
			add("Admits today", admitted)
			var refused, claims []string
			for _, n := range v.refusedNow {
				refused = append(refused, n.name+": "+n.note)
			}
			for _, n := range v.claims {
				claims = append(claims, n.name+": "+n.note)
			}
			add("Configured to admit, refused now", refused)
			add("Claim its names without its chain (refused)", claims)
		}
		start := min(scroll, len(all)-height)
		want := all[start : start+height]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("scroll %d:\n%s\nwant\n%s", scroll, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
