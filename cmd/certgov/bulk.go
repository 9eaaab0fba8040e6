package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

// bulkFlags let a governance command take --filter EXPR in place of REF:
// it lists what the filter matches and changes nothing, unless --confirm
// gives the number of identities it matches, as the listing said. A
// count no script or typed-ahead text can know before the listing is
// what stands between a filter typed wrong and a thousand changes; and
// if the estate changed since, the count differs and nothing is done.
type bulkFlags struct {
	filter  string
	confirm int
}

func (b *bulkFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&b.filter, "filter", "", "in place of REF: every identity the filter matches (lists them; --confirm N applies)")
	c.Flags().IntVar(&b.confirm, "confirm", 0, "with --filter: how many identities it matches, as its listing said; applies the change to them")
}

// args takes n arguments with a REF first, n-1 with --filter.
func (b *bulkFlags) args(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if b.filter != "" {
			return exactArgs(n-1)(cmd, args)
		}
		return exactArgs(n)(cmd, args)
	}
}

// bulkTarget is an identity a filter matched: named by its current
// certificate, which a REF resolves to that identity.
type bulkTarget struct{ name, fingerprint string }

// run does the change to REF (args[0]) or, with --filter, to each
// identity the filter matches once the count is confirmed; rest are the
// arguments after REF.
func (b *bulkFlags) run(cmd *cobra.Command, a *app, args []string, do func(ctx context.Context, s *store.Store, ref string, rest []string) (string, error)) error {
	if b.filter == "" {
		if b.confirm != 0 {
			return usageError{errors.New("--confirm goes with --filter")}
		}
		return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) { return do(ctx, s, args[0], args[1:]) })
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	s, f, policy, err := a.openReview(ctx, b.filter, "")
	if err != nil {
		return err
	}
	defer s.Close()
	var targets []bulkTarget
	now := time.Now()
	rv, err := s.NewReview(ctx)
	if err != nil {
		return err
	}
	err = rv.Each(ctx, policy, now, func(r *model.Record, _ []model.Finding) error {
		if r.Current && f.Match(r, now) {
			targets = append(targets, bulkTarget{r.IdentityName, r.FingerprintSHA256})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintf(out, "no identity matches --filter %q; nothing changed\n", model.Printable(b.filter))
		return nil
	}
	if b.confirm != len(targets) {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, t := range targets {
			fmt.Fprintf(tw, "%s\tsha256:%s\n", model.Printable(t.name), t.fingerprint[:16])
		}
		tw.Flush()
		if b.confirm != 0 {
			return fmt.Errorf("--filter %q matches %d identities now, not %d: nothing changed", model.Printable(b.filter), len(targets), b.confirm)
		}
		fmt.Fprintf(out, "%d identities match --filter %q; nothing changed. To apply the change to them: add --confirm %d\n", len(targets), model.Printable(b.filter), len(targets))
		return nil
	}
	var refused []string
	for i, t := range targets {
		if err := ctx.Err(); err != nil { // Ctrl-C: the rest stay as they were
			return fmt.Errorf("stopped after %d of %d (%d refused): %w", i, len(targets), len(refused), err)
		}
		msg, err := do(ctx, s, "sha256:"+t.fingerprint, args)
		if err != nil {
			refused = append(refused, model.Printable(t.name)+": "+model.Printable(err.Error()))
			continue
		}
		fmt.Fprintln(out, model.Printable(msg))
	}
	if len(refused) > 0 {
		return fmt.Errorf("%d of %d refused:\n  %s", len(refused), len(targets), strings.Join(refused, "\n  "))
	}
	return nil
}
