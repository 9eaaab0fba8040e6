package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

func newFindingsCommand(a *app) *cobra.Command {
	var filter, output, policyFile string
	cmd := &cobra.Command{
		Use:   "findings [--filter EXPR] [--policy FILE] [-o table|json|csv]",
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
			return listFindings(cmd.Context(), s, f, policy, output, cmd.OutOrStdout(), time.Now())
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", "filter expression (see certgov ls --help)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (JSON) with the thresholds")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or csv")
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func shortFingerprint(fp string) string {
	if len(fp) < 12 {
		return "-"
	}
	return fp[:12]
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

func listFindings(ctx context.Context, s *store.Store, f *model.Filter, policy model.Policy, format string, w io.Writer, now time.Time) error {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return err
	}
	all, err := rv.AllFindings(ctx, policy, now,
		func(r *model.Record, _ model.Finding) bool { return f.Match(r, now) },
		func(fd model.Finding) bool { return f.MatchEntryFinding(fd.Code, now) })
	if err != nil {
		return err
	}
	switch format {
	case "table":
		// Narrow terminals get two lines a finding, so that the message,
		// the part a reviewer reads, is not cut.
		if width := terminalWidth(w); width > 0 && width < 140 {
			for _, fd := range all {
				fmt.Fprintf(w, "%-8s  %-23s  %s\n          %s\n", fd.Severity, fd.Code, clip(withOwner(fd), width-37), clip(fd.Message, width-10))
			}
			if len(all) == 0 {
				fmt.Fprintln(w, "(no findings)")
			}
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tCODE\tIDENTITY\tOWNER\tFINGERPRINT\tMESSAGE")
		for _, fd := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", fd.Severity, fd.Code, clip(fd.Identity, 40), clip(ownerOf(fd), 24), shortFingerprint(fd.FingerprintSHA256), model.Printable(fd.Message))
		}
		if len(all) == 0 {
			fmt.Fprintln(tw, "(no findings)")
		}
		return tw.Flush()
	case "json":
		buf := bufio.NewWriterSize(w, 64<<10)
		jw := &jsonArrayWriter{w: buf}
		for _, fd := range all {
			if err := jw.write(fd); err != nil {
				return err
			}
		}
		if err := jw.close(); err != nil {
			return err
		}
		return buf.Flush()
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"code", "severity", "fingerprint_sha256", "identity", "owner", "source", "message", "frameworks"})
		for _, fd := range all {
			cw.Write(csvCells(fd.Code, string(fd.Severity), fd.FingerprintSHA256, fd.Identity, fd.Owner, fd.Source, fd.Message, strings.Join(fd.Frameworks, ";")))
		}
		cw.Flush()
		return cw.Error()
	}
	return usageError{fmt.Errorf("-o %q: want one of %s", format, strings.Join(outputFormats, ", "))}
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
