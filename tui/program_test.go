package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"certgov/model"
)

// TestProgram runs the real program (commands, ticks, the renderer) and
// drives it with keys, at the two sizes people use most.
func TestProgram(t *testing.T) {
	s := openDemo(t)
	for _, size := range [][2]int{{120, 35}, {80, 24}} {
		tm := teatest.NewTestModel(t, New(Options{Store: s, Policy: model.DefaultPolicy(), Poll: 50 * time.Millisecond}),
			teatest.WithInitialTermSize(size[0], size[1]),
			teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Findings by severity")) },
			teatest.WithDuration(10*time.Second))
		tm.Send(keyMsg("2"))
		tm.Send(keyMsg("/"))
		tm.Type("selfsigned")
		tm.Send(keyMsg("enter"))
		tm.Send(keyMsg("enter"))
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Admitted by (")) },
			teatest.WithDuration(10*time.Second))
		tm.Send(keyMsg("q"))
		final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
		if final.screen != screenDetail || final.identities.filter.text != "selfsigned" {
			t.Fatalf("%v: screen %v, filter %q", size, final.screen, final.identities.filter.text)
		}
		if got := screenText(final); !strings.Contains(got, "Admitted by (") || !strings.Contains(got, final.detail.row.IdentityName) {
			t.Fatalf("%v final screen:\n%s", size, got)
		}
	}
}
