package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newCampaignCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "campaign", Short: "Quarterly attestation campaigns: start, status, list, close"}
	var due, filter, policyFile string
	var output *output
	var force bool
	var statement string
	start := &cobra.Command{
		Use: "start NAME [--due YYYY-MM-DD] [--filter EXPR]", Short: "Snapshot the identities in scope as review items", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var dueDate time.Time
			if due != "" {
				var err error
				if dueDate, err = parseDate(due); err != nil {
					return err
				}
			}
			s, f, policy, err := a.openReview(cmd.Context(), filter, policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.StartCampaign(cmd.Context(), args[0], dueDate, f, policy, a.change(""))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "campaign %s started: %d identities to review\n", model.Printable(args[0]), n)
			return nil
		},
	}
	start.Flags().StringVar(&due, "due", "", "due date, YYYY-MM-DD")
	start.Flags().StringVar(&filter, "filter", "", "scope, in the filter language of certgov ls (default: every identity)")
	start.Flags().StringVar(&policyFile, "policy", "", "policy file for the findings in the snapshot")
	status := &cobra.Command{
		Use: "status NAME [-o table|json]", Short: "Progress and every item with its decision", Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				c, err := s.CampaignByName(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				paces, err := s.CampaignPaces(cmd.Context(), c)
				if err != nil {
					return err
				}
				return output.write(cmd, a, &campaignStatus{ctx: cmd.Context(), s: s, c: c, paces: paces})
			})
		},
	}
	output = outputFlag(status, "table", "json")
	list := &cobra.Command{
		Use: "list", Short: "Every campaign, newest first", Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				cs, err := s.Campaigns(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTATE\tDECIDED\tDUE\tSTARTED\tSCOPE")
				for _, c := range cs {
					state := "open"
					if c.ClosedAt != nil {
						state = "closed " + c.ClosedAt.Format("2006-01-02")
					}
					fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s by %s\t%s\n", model.Printable(c.Name), state, c.Decided, c.Items, dueOf(&c), c.StartedAt.Format("2006-01-02"), model.Printable(c.StartedBy), model.Printable(model.OrDash(c.Scope)))
				}
				return tw.Flush()
			})
		},
	}
	closeCmd := &cobra.Command{
		Use: "close NAME [--force] [--statement TEXT]", Short: "Close a campaign; refused while items are undecided unless --force", Args: exactArgs(1),
		Long: `Close a campaign. It is refused while items are undecided, unless --force,
which records them as undecided (the bundle then says INCOMPLETE).
--statement is the closer's sign-off, quoted in the evidence reports, e.g.
"Reviewed with the platform team; revocations filed as OPS-1234".`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				c, err := s.CloseCampaign(ctx, args[0], force, a.change(statement))
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("campaign %s closed: %d of %d items decided", c.Name, c.Decided, c.Items), nil
			})
		},
	}
	closeCmd.Flags().BoolVar(&force, "force", false, "close anyway, recording open items as undecided")
	closeCmd.Flags().StringVar(&statement, "statement", "", "the closer's sign-off statement, quoted in the evidence")
	cmd.AddCommand(start, status, list, closeCmd)
	return cmd
}

func newReviewCommand(a *app) *cobra.Command {
	var campaign, decision, comment, policyFile string
	cmd := &cobra.Command{
		Use:   "review REF --campaign NAME --decision certify|revoke|needs-change [--comment TEXT]",
		Short: "Decide one item of an open campaign",
		Long:  "Decide one identity of an open campaign. revoke and needs-change need a comment. A later decision replaces the earlier one; both stay in the audit trail.",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if campaign == "" || decision == "" {
				return usageError{fmt.Errorf("review needs --campaign and --decision")}
			}
			policy, err := loadPolicy(policyFile)
			if err != nil {
				return err
			}
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				it, err := s.Decide(ctx, campaign, args[0], model.Decision(decision), comment, a.change(comment), policy)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: %s in %s", it.Identity, it.Decision, campaign), nil
			})
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "campaign name")
	cmd.Flags().StringVar(&decision, "decision", "", "certify, revoke or needs-change")
	cmd.Flags().StringVar(&comment, "comment", "", "why (required for revoke and needs-change)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (four_eyes: an owner may not certify their own identity)")
	return cmd
}

func dueOf(c *store.Campaign) string {
	if c.Due == nil {
		return "-"
	}
	d := c.Due.Format("2006-01-02")
	if c.ClosedAt == nil && time.Now().After(*c.Due) {
		d += " OVERDUE"
	}
	return d
}

// campaignStatus is what campaign status prints: the campaign, its
// reviewers' pace and every item, read as they are written.
type campaignStatus struct {
	ctx   context.Context
	s     *store.Store
	c     *store.Campaign
	paces []model.ReviewerPace
}

func (st *campaignStatus) eachItem(fn func(it *store.CampaignItem) error) error {
	return st.s.EachCampaignItem(st.ctx, st.c, fn)
}

// jsonValue is the status as one JSON value; the items are read first.
func (st *campaignStatus) jsonValue() (any, error) {
	items := []store.CampaignItem{}
	err := st.eachItem(func(it *store.CampaignItem) error {
		items = append(items, *it)
		return nil
	})
	return struct {
		*store.Campaign
		Reviewers []model.ReviewerPace `json:"reviewers"`
		Items     []store.CampaignItem `json:"items"`
	}{st.c, nonNilSlice(st.paces), items}, err
}

func (st *campaignStatus) writeText(w io.Writer, _ int) error {
	c, s, ctx, paces := st.c, st.s, st.ctx, st.paces
	{
		fmt.Fprintf(w, "campaign %s: %d of %d decided, due %s, scope %s\n", model.Printable(c.Name), c.Decided, c.Items, dueOf(c), model.Printable(model.OrDash(c.Scope)))
		for _, p := range paces {
			fmt.Fprintf(w, "  %s: %s\n", model.Printable(p.Reviewer), p)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "IDENTITY\tDECISION\tREVIEWER\tCOMMENT")
		err := s.EachCampaignItem(ctx, c, func(it *store.CampaignItem) error {
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clip(it.Identity, 40), model.OrDash(string(it.Decision)), clip(model.OrDash(it.Reviewer), 30), clip(it.Comment, 50))
			return err
		})
		if err != nil {
			return err
		}
		return tw.Flush()
	}
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
