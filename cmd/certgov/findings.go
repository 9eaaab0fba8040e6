package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

func newFindingsCommand(a *app) *cobra.Command {
	var filter, policyFile string
	var output *output
	cmd := &cobra.Command{
		Use:   "findings [--filter EXPR] [--policy FILE] [-o table|json|csv|sarif]",
		Short: "List what needs attention, most urgent first",
		Long: `List the findings of every identity's current certificate, most urgent first.

Codes: expired, expiring (within the policy window, default 30 days),
weak-key (RSA under 2048 bits, EC under P-256), weak-signature (SHA-1, MD5),
long-lifetime (validity over the policy maximum, default 398 days),
private-key-exposed (its private key lies in an imported file), no-owner.
Each finding names the OWASP Non-Human Identities Top 10 (2025) and NIST CSF
2.0 identifiers it maps to.

--filter selects certificates with the language of "certgov ls"; add
finding:CODE to select by code. --policy reads a JSON policy file:
  {"expiring_within": "30d", "max_lifetime": "398d", "min_rsa_bits": 2048, "min_ec_bits": 256}`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, f, policy, err := a.openReview(cmd.Context(), filter, policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			files := certificateFiles{}
			all, err := collectFindings(cmd.Context(), s, f, policy, time.Now(), files)
			if err != nil {
				return err
			}
			return output.write(cmd, a, findingsResult{findingList(all), files})
		},
	}
	reviewFlags(cmd, &filter, &policyFile, "filter expression (see certgov ls --help)", "policy file (JSON) with the thresholds")
	output = outputFlag(cmd, "table", "json", "csv", "sarif")
	return cmd
}

func loadPolicy(path string) (model.Policy, error) {
	if path == "" {
		return model.DefaultPolicy(), nil
	}
	data, err := importers.ReadBounded(path, smallFileLimit)
	if err != nil {
		return model.Policy{}, err
	}
	p, err := model.ParsePolicy(data)
	if err != nil {
		return model.Policy{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// collectFindings are the findings of the certificates and trust entries
// the filter selects, most urgent first.
func collectFindings(ctx context.Context, s *store.Store, f *model.Filter, policy model.Policy, now time.Time, files certificateFiles) ([]model.Finding, error) {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	return rv.AllFindings(ctx, policy, now,
		files.keep(func(r *model.Record, _ model.Finding) bool { return f.Match(r, now) }),
		func(fd model.Finding) bool { return f.MatchEntryFinding(fd.Code, now) })
}

// findingsResult is what findings prints: the findings, with the files
// of the certificates they are about (for SARIF's locations).
type findingsResult struct {
	findingList
	files certificateFiles
}

func (r findingsResult) sarifFindings() ([]model.Finding, certificateFiles) {
	return r.findingList, r.files
}

// findingList is what findings prints.
type findingList []model.Finding

func (l findingList) writeText(w io.Writer, width int) error {
	// Narrow terminals get two lines a finding, so that the message, the
	// part a reviewer reads, is not cut.
	if width > 0 && width < 140 {
		for _, fd := range l {
			fmt.Fprintf(w, "%-8s  %-23s  %s\n          %s\n", fd.Severity, fd.Code, clip(withOwner(fd), width-37), clip(fd.Message, width-10))
		}
		if len(l) == 0 {
			fmt.Fprintln(w, "(no findings)")
		}
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SEVERITY\tCODE\tIDENTITY\tOWNER\tFINGERPRINT\tMESSAGE")
	for _, fd := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", fd.Severity, fd.Code, clip(fd.Identity, 40), clip(ownerOf(fd), 24), model.ShortFingerprint(fd.FingerprintSHA256), model.Printable(fd.Message))
	}
	if len(l) == 0 {
		fmt.Fprintln(tw, "(no findings)")
	}
	return tw.Flush()
}

func (l findingList) eachJSON(yield func(any) error) error {
	for _, fd := range l {
		if err := yield(fd); err != nil {
			return err
		}
	}
	return nil
}

func (l findingList) csvHeader() []string {
	return []string{"code", "severity", "fingerprint_sha256", "identity", "owner", "source", "message", "frameworks"}
}

func (l findingList) eachCSVRow(yield func([]string) error) error {
	for _, fd := range l {
		if err := yield([]string{fd.Code, string(fd.Severity), fd.FingerprintSHA256, fd.Identity, fd.Owner, fd.Source, fd.Message, strings.Join(fd.Frameworks, ";")}); err != nil {
			return err
		}
	}
	return nil
}

// ownerOf is a finding's owner as tables show it: "-" for none, nothing
// for a finding about a trust entry (no identity to own it).
func ownerOf(f model.Finding) string {
	switch {
	case f.FingerprintSHA256 == "":
		return ""
	case f.Owner == "":
		return "-"
	}
	return f.Owner
}

// withOwner is the identity with its owner, for layouts without an owner
// column: "ledger (owner: payments-team)".
func withOwner(f model.Finding) string {
	if o := ownerOf(f); o != "" {
		return f.Identity + " (owner: " + o + ")"
	}
	return f.Identity
}
