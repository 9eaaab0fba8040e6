package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

func newCampaignCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "campaign", Short: "Quarterly attestation campaigns: start, status, list, close"}
	var due, filter, policyFile, assignFile string
	var assignRules, roundRobin []string
	var output *output
	var force bool
	var statement, closePolicy string
	start := &cobra.Command{
		Use: "start NAME [--due YYYY-MM-DD] [--filter EXPR] [--assign OWNER=REVIEWER]... [--round-robin R1,R2]", Short: "Snapshot the identities in scope as review items, each assigned a reviewer", Args: exactArgs(1),
		Long: `Start a campaign: the identities in scope (--filter) become review items,
each with what it looked like at launch.

Each item can be assigned a reviewer, who alone may decide it:
  --assign OWNER=REVIEWER    the identities of that owner (repeatable);
                             @DOMAIN=REVIEWER: every owner at that domain
  --assign-file FILE         the same, one OWNER=REVIEWER a line (# comments)
  --round-robin R1,R2,...    the items no rule assigns, in turn
The first rule that matches the identity's owner at launch wins. Items
left unassigned may be decided by anyone. Reviewers see their items with
certgov review --mine; campaign assign hands an item to someone else.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var dueDate time.Time
			if due != "" {
				var err error
				if dueDate, err = parseDate(due); err != nil {
					return err
				}
			}
			assign, err := readAssignment(assignFile, assignRules, roundRobin)
			if err != nil {
				return usageError{err}
			}
			s, f, policy, err := a.openReview(cmd.Context(), filter, policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.StartCampaign(cmd.Context(), args[0], dueDate, f, assign, policy, a.change(""))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "campaign %s started: %d identities to review\n", model.Printable(args[0]), n)
			if !assign.Empty() {
				c, err := s.CampaignByName(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return writeWorkloads(cmd.OutOrStdout(), cmd.Context(), s, c)
			}
			return nil
		},
	}
	start.Flags().StringVar(&due, "due", "", "due date, YYYY-MM-DD")
	start.Flags().StringVar(&filter, "filter", "", "scope, in the filter language of certgov ls (default: every identity)")
	start.Flags().StringVar(&policyFile, "policy", "", "policy file for the findings in the snapshot")
	start.Flags().StringArrayVar(&assignRules, "assign", nil, "OWNER=REVIEWER or @DOMAIN=REVIEWER: who reviews that owner's identities (repeatable)")
	start.Flags().StringVar(&assignFile, "assign-file", "", "a file of OWNER=REVIEWER lines")
	start.Flags().StringSliceVar(&roundRobin, "round-robin", nil, "reviewers who take the items no rule assigns, in turn")
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
			policy, err := loadPolicy(closePolicy)
			if err != nil {
				return err
			}
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				c, err := s.CloseCampaign(ctx, args[0], force, a.change(statement), policy)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("campaign %s closed: %d of %d items decided", c.Name, c.Decided, c.Items), nil
			})
		},
	}
	closeCmd.Flags().BoolVar(&force, "force", false, "close anyway, recording open items as undecided")
	closeCmd.Flags().StringVar(&statement, "statement", "", "the closer's sign-off statement, quoted in the evidence")
	closeCmd.Flags().StringVar(&closePolicy, "policy", "", "policy file (separation_of_duties.sole_closer: refuse stops whoever made every decision from also closing)")
	var to, reason string
	assign := &cobra.Command{
		Use: "assign NAME REF --to REVIEWER [--reason TEXT]", Short: "Hand an item of an open campaign to another reviewer", Args: exactArgs(2),
		Long: `Hand an item of an open campaign to another reviewer: whoever started the
campaign reassigns, and an item's reviewer delegates their own. --to ""
leaves the item to anyone. A decision already made stays; the audit trail
keeps who reviewed the item before and after.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("to") {
				return usageError{fmt.Errorf("campaign assign needs --to REVIEWER (--to \"\" leaves the item to anyone)")}
			}
			return a.governed(cmd, func(ctx context.Context, s *store.Store) (string, error) {
				it, err := s.Reassign(ctx, args[0], args[1], to, a.change(reason))
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%s in %s: now reviewed by %s", it.Identity, it.Campaign, model.OrDash(it.Assignee)), nil
			})
		},
	}
	assign.Flags().StringVar(&to, "to", "", "the reviewer who takes the item")
	assign.Flags().StringVar(&reason, "reason", "", "why, kept in the audit trail")
	cmd.AddCommand(start, status, list, closeCmd, assign)
	return cmd
}

// readAssignment reads campaign start's assignment flags.
func readAssignment(file string, rules, roundRobin []string) (model.Assignment, error) {
	var a model.Assignment
	if file != "" {
		data, err := importers.ReadBounded(file, smallFileLimit)
		if err != nil {
			return a, err
		}
		if a.Rules, err = model.ParseAssignRules(string(data)); err != nil {
			return a, fmt.Errorf("%s: %w", model.Printable(file), err)
		}
	}
	for _, text := range rules {
		r, err := model.ParseAssignRule(text)
		if err != nil {
			return a, err
		}
		a.Rules = append(a.Rules, r)
	}
	for _, name := range roundRobin {
		if err := model.CheckReviewerName(name); err != nil {
			return a, err
		}
		a.RoundRobin = append(a.RoundRobin, name)
	}
	return a, nil
}

// writeWorkloads says how many items each reviewer has, and how many
// they have decided.
func writeWorkloads(w io.Writer, ctx context.Context, s *store.Store, c *store.Campaign) error {
	loads, err := s.CampaignWorkloads(ctx, c)
	for _, l := range loads {
		who := model.Printable(l.Reviewer)
		if l.Reviewer == "" {
			who = "(anyone)"
		}
		fmt.Fprintf(w, "  %s: %d of %d decided\n", who, l.Decided, l.Items)
	}
	return err
}

func newReviewCommand(a *app) *cobra.Command {
	var campaign, decision, comment, policyFile string
	var mine bool
	var bulk bulkFlags
	var output *output
	cmd := &cobra.Command{
		Use:   "review REF --campaign NAME --decision certify|revoke|needs-change [--comment TEXT] | review --mine",
		Short: "Decide one item of an open campaign, or list yours",
		Long: `Decide one identity of an open campaign. revoke and needs-change need a
comment. A later decision replaces the earlier one; both stay in the audit
trail. An item assigned to a reviewer is theirs alone to decide.

review --mine lists the items of open campaigns assigned to you (--as, or
the database login on a team database), undecided first.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if mine {
				return exactArgs(0)(cmd, args)
			}
			return bulk.args(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if mine {
				return a.withStore(cmd.Context(), func(s *store.Store) error {
					me := a.actor()
					if login := s.Login(); login != "" {
						me = login
					}
					return output.write(cmd, a, &assignedItems{ctx: cmd.Context(), s: s, reviewer: me, campaign: campaign})
				})
			}
			if campaign == "" || decision == "" {
				return usageError{fmt.Errorf("review needs --campaign and --decision")}
			}
			policy, err := loadPolicy(policyFile)
			if err != nil {
				return err
			}
			return bulk.run(cmd, a, args, func(ctx context.Context, s *store.Store, ref string, _ []string) (string, error) {
				it, err := s.Decide(ctx, campaign, ref, model.Decision(decision), comment, a.change(comment), policy)
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
	cmd.Flags().BoolVar(&mine, "mine", false, "list the items of open campaigns assigned to you")
	bulk.add(cmd)
	output = outputFlag(cmd, "table", "json")
	return cmd
}

// assignedItems is what review --mine prints: a reviewer's items of open
// campaigns (of one, with --campaign), read as they are written.
type assignedItems struct {
	ctx                context.Context
	s                  *store.Store
	reviewer, campaign string
}

func (m *assignedItems) each(fn func(it *store.CampaignItem) error) error {
	return m.s.EachAssignedItem(m.ctx, m.reviewer, func(it *store.CampaignItem) error {
		if m.campaign != "" && it.Campaign != m.campaign {
			return nil
		}
		return fn(it)
	})
}

func (m *assignedItems) jsonValue() (any, error) {
	items := []store.CampaignItem{}
	err := m.each(func(it *store.CampaignItem) error {
		items = append(items, *it)
		return nil
	})
	return struct {
		Reviewer string               `json:"reviewer"`
		Items    []store.CampaignItem `json:"items"`
	}{m.reviewer, items}, err
}

func (m *assignedItems) writeText(w io.Writer, _ int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tIDENTITY\tDECISION\tDECIDED BY\tCOMMENT")
	undecided, total := 0, 0
	err := m.each(func(it *store.CampaignItem) error {
		total++
		if it.DecidedAt == nil {
			undecided++
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clip(it.Campaign, 30), clip(it.Identity, 40), model.OrDash(string(it.Decision)), clip(model.OrDash(it.Reviewer), 30), clip(it.Comment, 50))
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s: %d items assigned, %d undecided\n", model.Printable(m.reviewer), total, undecided)
	return err
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
		store.CampaignJSON
		Reviewers []model.ReviewerPace `json:"reviewers"`
		// The list shadows the campaign's count of items.
		Items []store.CampaignItem `json:"items"`
	}{st.c.JSON(), nonNilSlice(st.paces), items}, err
}

func (st *campaignStatus) writeText(w io.Writer, _ int) error {
	c, s, ctx, paces := st.c, st.s, st.ctx, st.paces
	{
		fmt.Fprintf(w, "campaign %s: %d of %d decided, due %s, scope %s\n", model.Printable(c.Name), c.Decided, c.Items, dueOf(c), model.Printable(model.OrDash(c.Scope)))
		fmt.Fprintln(w, "assigned:")
		if err := writeWorkloads(w, ctx, s, c); err != nil {
			return err
		}
		if len(paces) > 0 {
			fmt.Fprintln(w, "decided:")
		}
		for _, p := range paces {
			fmt.Fprintf(w, "  %s: %s\n", model.Printable(p.Reviewer), p)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "IDENTITY\tDECISION\tASSIGNED\tREVIEWER\tCOMMENT")
		err := s.EachCampaignItem(ctx, c, func(it *store.CampaignItem) error {
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clip(it.Identity, 40), model.OrDash(string(it.Decision)), clip(model.OrDash(it.Assignee), 30), clip(model.OrDash(it.Reviewer), 30), clip(it.Comment, 50))
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
