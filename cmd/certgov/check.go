package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
)

// defaultFailOn are the codes check fails on unless told otherwise: every
// critical finding (an exposed private key among them), and the high ones
// an operator must act on.
var defaultFailOn = func() []string {
	codes := []string{model.FindingExpired, model.FindingExpiring, model.FindingSelfSignedUnapproved, model.FindingExceptionExpired, model.FindingSubjectCollision,
		model.FindingReviewOverdue, model.FindingRevokePending, model.FindingLookalikeName}
	for _, code := range model.FindingCodes() {
		if model.FindingTypes[code].Severity == model.SeverityCritical && !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	return codes
}()

func newCheckCommand(a *app) *cobra.Command {
	var within, failOn, policyFile string
	var output *output
	cmd := &cobra.Command{
		Use:   "check [--within 30d] [--fail-on CODES] [-o text|json|sarif]",
		Short: "For cron and CI: print what needs attention, exit 1 when it matters",
		Long: `Print the findings that need attention and exit 1 when any finding with a
code in --fail-on is present (default: ` + strings.Join(defaultFailOn, ",") + `), 0 otherwise.
--within sets the expiring window (default: the policy's, 30 days).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			codes, failing, files, err := a.codedFindings(cmd.Context(), failOn, within, policyFile, time.Now())
			if err != nil {
				return err
			}
			if err := output.write(cmd, a, checkResult{failing: failing, codes: codes, files: files}); err != nil {
				return err
			}
			if len(failing) > 0 {
				return exitError{code: 1}
			}
			if a.unverified > 0 {
				// The findings rest on values the trail does not explain.
				return fmt.Errorf("governance state not explained by the audit trail (%d values): the check cannot pass", a.unverified)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&within, "within", "", "expiring window, e.g. 14d (default: the policy's 30d)")
	cmd.Flags().StringVar(&failOn, "fail-on", strings.Join(defaultFailOn, ","), "finding codes that make the check fail")
	output = outputFlag(cmd, "text", "json", "sarif")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (see certgov findings --help)")
	return cmd
}

// checkResult is what check prints: the failing findings of the codes.
type checkResult struct {
	failing []model.Finding
	codes   []string
	files   certificateFiles
}

func (c checkResult) sarifFindings() ([]model.Finding, certificateFiles) { return c.failing, c.files }

func (c checkResult) jsonValue() (any, error) {
	return struct {
		OK       bool            `json:"ok"`
		FailOn   []string        `json:"fail_on"`
		Findings []model.Finding `json:"findings"`
	}{len(c.failing) == 0, c.codes, nonNilSlice(c.failing)}, nil
}

func (c checkResult) writeText(w io.Writer, _ int) error {
	failing, codes := c.failing, c.codes
	{
		if len(failing) == 0 {
			fmt.Fprintf(w, "OK: no %s\n", strings.Join(codes, ", "))
			return nil
		}
		for _, f := range failing {
			fmt.Fprintf(w, "%-8s %-24s %s: %s\n", f.Severity, f.Code, model.Printable(withOwner(f)), model.Printable(f.Message))
		}
		fmt.Fprintf(w, "FAIL: %d finding(s)\n", len(failing))
		return nil
	}
}

// codedFindings are the findings of the codes (a comma-separated list of
// finding codes), computed as check computes them, with the files of the
// certificates they are about: what check prints and notify posts.
func (a *app) codedFindings(ctx context.Context, codeList, within, policyFile string, now time.Time) ([]string, []model.Finding, certificateFiles, error) {
	codes := strings.Split(codeList, ",")
	for _, c := range codes {
		if _, ok := model.FindingTypes[c]; !ok {
			return nil, nil, nil, usageError{fmt.Errorf("--fail-on: unknown finding %q (%s)", c, strings.Join(model.FindingCodes(), ", "))}
		}
	}
	s, _, policy, err := a.openReview(ctx, "", policyFile)
	if err != nil {
		return nil, nil, nil, err
	}
	defer s.Close()
	if within != "" {
		if policy.ExpiringWithin, err = withinFlag(within); err != nil {
			return nil, nil, nil, err
		}
	}
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	listed := func(fd model.Finding) bool { return slices.Contains(codes, fd.Code) }
	files := certificateFiles{}
	findings, err := rv.AllFindings(ctx, policy, now, files.keep(func(_ *model.Record, fd model.Finding) bool { return listed(fd) }), listed)
	return codes, findings, files, err
}

// withinFlag reads a --within window ("14d"); a bad one is a usage error.
func withinFlag(value string) (model.Duration, error) {
	d, err := model.ParseDuration(value)
	if err != nil {
		return 0, usageError{fmt.Errorf("--within: %w", err)}
	}
	return d, nil
}
