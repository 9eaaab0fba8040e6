package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

// defaultFailOn are the codes check fails on unless told otherwise: every
// critical finding (an exposed private key among them), and the high ones
// an operator must act on.
var defaultFailOn = func() []string {
	codes := []string{model.FindingExpired, model.FindingExpiring, model.FindingSelfSignedUnapproved, model.FindingExceptionExpired, model.FindingSubjectCollision,
		model.FindingReviewOverdue, model.FindingRevokePending, model.FindingLookalikeName, model.FindingUnexpectedIssuer}
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
			defer paceCollector(100, streamingReadMemoryLimit)()
			codes, stream, s, err := a.codedFindings(cmd.Context(), failOn, within, policyFile, time.Now())
			if err != nil {
				return err
			}
			defer s.Close()
			result := &checkResult{each: stream, codes: codes}
			if err := output.write(cmd, a, result); err != nil {
				return err
			}
			if result.failing > 0 {
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

// checkResult is what check prints: the failing findings of the codes,
// counted as they stream.
type checkResult struct {
	each    findingStream
	codes   []string
	failing int
}

// stream runs the walk, counting the failing findings.
func (c *checkResult) stream(fn func(store.FoundFinding) error) error {
	return c.each(func(f store.FoundFinding) error {
		c.failing++
		return fn(f)
	})
}

func (c *checkResult) eachSARIF(fn func(store.FoundFinding) error) error { return c.stream(fn) }

// writeJSON writes {"fail_on", "findings", "ok"}: ok last, as it is known
// once every finding is written.
func (c *checkResult) writeJSON(w io.Writer) error {
	codes, err := json.Marshal(c.codes)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "{\n  \"fail_on\": %s,\n  \"findings\": [", codes)
	var buf []byte
	err = c.stream(func(f store.FoundFinding) error {
		sep := ",\n    "
		if c.failing == 1 {
			sep = "\n    "
		}
		buf = f.AppendJSON(append(buf[:0], sep...))
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		return err
	}
	end := "]"
	if c.failing > 0 {
		end = "\n  ]"
	}
	_, err = fmt.Fprintf(w, "%s,\n  \"ok\": %t\n}\n", end, c.failing == 0)
	return err
}

func (c *checkResult) writeText(w io.Writer, _ int) error {
	err := c.stream(func(f store.FoundFinding) error {
		_, err := fmt.Fprintf(w, "%-8s %-24s %s: %s\n", f.Severity, f.Code, model.Printable(withOwner(f.Finding)), model.Printable(f.Message))
		return err
	})
	switch {
	case err != nil:
		return err
	case c.failing == 0:
		fmt.Fprintf(w, "OK: no %s\n", strings.Join(c.codes, ", "))
	default:
		fmt.Fprintf(w, "FAIL: %d finding(s)\n", c.failing)
	}
	return nil
}

// codedFindings are the findings of the codes (a comma-separated list of
// finding codes), computed as check computes them: what check prints and
// notify posts. They stream; done closes the database once they are read.
func (a *app) codedFindings(ctx context.Context, codeList, within, policyFile string, now time.Time) (codes []string, each findingStream, s *store.Store, err error) {
	codes = strings.Split(codeList, ",")
	for _, c := range codes {
		if _, ok := model.FindingTypes[c]; !ok {
			return nil, nil, nil, usageError{fmt.Errorf("--fail-on: unknown finding %q (%s)", c, strings.Join(model.FindingCodes(), ", "))}
		}
	}
	s, _, policy, err := a.openReview(ctx, "", policyFile)
	if err != nil {
		return nil, nil, nil, err
	}
	if within != "" {
		if policy.ExpiringWithin, err = withinFlag(within); err != nil {
			s.Close()
			return nil, nil, nil, err
		}
	}
	rv, err := s.NewReview(ctx)
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	listed := func(fd model.Finding) bool { return slices.Contains(codes, fd.Code) }
	each = func(fn func(store.FoundFinding) error) error {
		return rv.EachFinding(ctx, policy, now, func(_ *model.Record, fd model.Finding) bool { return listed(fd) }, listed, fn)
	}
	return codes, each, s, nil
}

// withinFlag reads a --within window ("14d"); a bad one is a usage error.
func withinFlag(value string) (model.Duration, error) {
	d, err := model.ParseDuration(value)
	if err != nil {
		return 0, usageError{fmt.Errorf("--within: %w", err)}
	}
	return d, nil
}
