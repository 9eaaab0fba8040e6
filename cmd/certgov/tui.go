package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"certgov/store"
	"certgov/tui"
)

func newTUICommand(a *app) *cobra.Command {
	var policyFile string
	cmd := &cobra.Command{
		Use:   "tui [--policy FILE]",
		Short: "Open the dashboard (also what certgov alone does)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.openDashboard(cmd.Context(), policyFile)
		},
	}
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file for the findings (see certgov findings --help)")
	return cmd
}

// dashboardMemoryLimit is the dashboard's soft memory limit: above what a
// million certificates' rows hold (186 MiB live, 204 MiB of heap in use),
// so that the collector does not run without pause there. (At a million,
// side by side: 360 MiB loaded in 12.4 s and peaked at 403 MB resident,
// 280 MiB in 14.0 s at 322 MB, 260 MiB in 18.4 s at 317 MB.)
const dashboardMemoryLimit = 280 << 20

// runDashboard opens the dashboard on a terminal; elsewhere it says how to
// get one.
func runDashboard(ctx context.Context, s *store.Store, policyFile, actor string, st streams) error {
	policy, err := loadPolicy(policyFile)
	if err != nil {
		return err
	}
	if !st.terminal {
		return fmt.Errorf("the dashboard needs a terminal; for scripts use certgov ls, findings or sources")
	}
	// The dashboard holds every identity's packed row (186 MiB of heap at
	// a million certificates): at the default pace the heap grew to twice
	// that before a collection, 700 MB resident. After a load, what its
	// garbage took goes back to the system at once, rather than over
	// minutes.
	defer paceCollector(50, dashboardMemoryLimit)()
	opts := tui.Options{Store: s, Policy: policy, Actor: actor, Loaded: debug.FreeOSMemory}
	p := tea.NewProgram(tui.New(opts), tea.WithContext(ctx), tea.WithInput(st.in), tea.WithOutput(st.out))
	_, err = p.Run()
	// Stopped by a signal (the context): a normal end for a dashboard.
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
