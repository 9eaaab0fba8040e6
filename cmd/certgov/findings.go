package main

import (
	"bufio"
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
			defer paceCollector(100, streamingReadMemoryLimit)()
			s, f, policy, err := a.openReview(cmd.Context(), filter, policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			rv, err := s.NewReview(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			return output.write(cmd, a, findingsResult(func(fn func(store.FoundFinding) error) error {
				return rv.EachFinding(cmd.Context(), policy, now, func(r *model.Record, _ model.Finding) bool { return f.Match(r, now) },
					func(fd model.Finding) bool { return f.MatchEntryFinding(fd.Code, now) }, fn)
			}))
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

// findingStream gives each finding of a walk to fn, most urgent first,
// as the walk finds them (store.Review.EachFinding): what findings and
// check print, never all in memory. It walks once.
type findingStream func(fn func(store.FoundFinding) error) error

// findingsResult is what findings prints.
type findingsResult findingStream

func (each findingsResult) eachSARIF(fn func(store.FoundFinding) error) error { return each(fn) }

// tableSample is how many findings fix a table's column widths: a table
// streams, so later rows are fitted to what the first ones needed.
const tableSample = 1000

func (each findingsResult) writeText(w io.Writer, width int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	// Narrow terminals get two lines a finding, so that the message, the
	// part a reviewer reads, is not cut.
	if width > 0 && width < 140 {
		n := 0
		err := each(func(fd store.FoundFinding) error {
			n++
			_, err := fmt.Fprintf(bw, "%-8s  %-23s  %s\n          %s\n", fd.Severity, fd.Code, clip(withOwner(fd.Finding), width-37), clip(fd.Message, width-10))
			return err
		})
		if err == nil && n == 0 {
			fmt.Fprintln(bw, "(no findings)")
		}
		return err
	}
	table := &streamedTable{w: bw, header: []string{"SEVERITY", "CODE", "IDENTITY", "OWNER", "FINGERPRINT", "MESSAGE"}}
	err := each(func(fd store.FoundFinding) error {
		return table.row(string(fd.Severity), fd.Code, clip(fd.Identity, 40), clip(ownerOf(fd.Finding), 24), model.ShortFingerprint(fd.FingerprintSHA256), model.Printable(fd.Message))
	})
	if err != nil {
		return err
	}
	if table.rows == 0 {
		fmt.Fprintln(bw, "(no findings)")
		return nil
	}
	return table.flush()
}

func (each findingsResult) eachJSON(yield func(any) error) error {
	return each(func(fd store.FoundFinding) error { return yield(fd.Finding) })
}

func (each findingsResult) csvHeader() []string {
	return []string{"code", "severity", "fingerprint_sha256", "identity", "owner", "source", "message", "frameworks"}
}

func (each findingsResult) eachCSVRow(yield func([]string) error) error {
	return each(func(fd store.FoundFinding) error {
		return yield([]string{fd.Code, string(fd.Severity), fd.FingerprintSHA256, fd.Identity, fd.Owner, fd.Source, fd.Message, strings.Join(fd.Frameworks, ";")})
	})
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
