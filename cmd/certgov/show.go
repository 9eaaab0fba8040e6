package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newShowCommand(a *app) *cobra.Command {
	var output *output
	cmd := &cobra.Command{
		Use:   "show REF",
		Short: "Show everything known about a certificate or identity",
		Long: `Show everything known about one certificate or identity.

REF is a SHA-256 fingerprint (full, or a unique prefix of at least 8 hex
digits; colons and a "sha256:" prefix are fine) or an identity name. For an
identity, its current certificate is shown with all its versions.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				result, err := show(cmd.Context(), s, args[0], time.Now())
				if err != nil {
					return err
				}
				return output.write(cmd, a, result)
			})
		},
	}
	output = outputFlag(cmd, "text", "json")
	return cmd
}

type showJSON struct {
	Identity    string                `json:"identity"`
	IdentityKey string                `json:"identity_key"`
	Certificate model.RecordJSON      `json:"certificate"`
	Current     bool                  `json:"current"`
	Occurrences []store.Occurrence    `json:"found_in"`
	PrivateKeys []store.KeyOccurrence `json:"private_keys_on_disk"`
	Versions    []versionJSON         `json:"versions"`
	// LastSeen is when a server's access log last shows it, null when
	// none does; Usage says it per server whose logs were imported.
	LastSeen *time.Time          `json:"last_seen"`
	Usage    []model.ServerUsage `json:"usage"`
	PEM      string              `json:"pem"`
}

// versionJSON is one certificate of the identity's history, oldest first.
type versionJSON struct {
	FingerprintSHA256 string `json:"fingerprint_sha256"`
	NotBefore         string `json:"not_before"`
	NotAfter          string `json:"not_after"`
	Issuer            string `json:"issuer"`
	SPKISHA256        string `json:"spki_sha256"`
	Current           bool   `json:"current"`
}

// show is what certgov show prints about REF.
func show(ctx context.Context, s *store.Store, ref string, now time.Time) (printed, error) {
	reviewed, err := s.ReviewCertificate(ctx, ref, model.DefaultPolicy(), now)
	if err != nil {
		return printed{}, err
	}
	ident, index, record, findings, occurrences := reviewed.Identity, reviewed.Index, &reviewed.Record, reviewed.Findings, reviewed.Occurrences
	cert := ident.Certificates[index]
	keys, err := s.PrivateKeysFor(ctx, cert.SPKISHA256)
	if err != nil {
		return printed{}, err
	}
	named, err := reviewed.Review.NamedAnchorFiles(ctx)
	if err != nil {
		return printed{}, err
	}
	view := showJSON{
		Identity:    ident.Name,
		IdentityKey: ident.Key,
		Certificate: record.JSON(),
		Current:     index == ident.Current,
		Occurrences: occurrences,
		PrivateKeys: keys,
		PEM:         pemEncode(cert.DER),
		Usage:       nonNilSlice(reviewed.Usage),
	}
	for _, u := range reviewed.Usage {
		if u.LastSeen != nil && (view.LastSeen == nil || u.LastSeen.After(*view.LastSeen)) {
			view.LastSeen = u.LastSeen
		}
	}
	for i, c := range ident.Certificates {
		view.Versions = append(view.Versions, versionJSON{c.FingerprintSHA256, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), c.Issuer, c.SPKISHA256, i == ident.Current})
	}
	sort.SliceStable(view.Versions, func(i, j int) bool { return view.Versions[i].NotBefore < view.Versions[j].NotBefore })
	return printed{value: view, text: func(w io.Writer, _ int) error {
		printShow(w, ident, index, record, findings, occurrences, keys, named, now)
		printUsage(w, reviewed.Usage, now)
		return nil
	}}, nil
}

func printShow(w io.Writer, ident *store.Identity, index int, record *model.Record, findings []model.Finding, occurrences []store.Occurrence, keys []store.KeyOccurrence, named map[string]bool, now time.Time) {
	c := ident.Certificates[index]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// Values hold what files and people wrote: printable, never raw.
	row := func(label, value string) { fmt.Fprintf(tw, "%s\t%s\n", label, model.Printable(value)) }
	row("Identity", fmt.Sprintf("%s (%s)", ident.Name, model.CountOf(int64(len(ident.Certificates)), "certificate")))
	row("Identity key", ident.Key)
	row("", "")
	state := "current"
	if index != ident.Current {
		state = "not current"
	}
	row("Certificate", fmt.Sprintf("%s (%s)", c.FingerprintSHA256, state))
	row("Subject", c.Subject)
	row("Issuer", c.Issuer)
	row("Trust", trustDescription(record))
	row("Serial", c.Serial)
	expiry := "expires " + model.Relative(c.NotAfter, now)
	if c.ExpiredAt(now) {
		expiry = "EXPIRED " + model.Relative(c.NotAfter, now)
	}
	row("Valid", fmt.Sprintf("%s to %s (%s)", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), expiry))
	row("Key", c.KeyLabel())
	row("Signature", c.SignatureAlgorithm)
	row("SANs", formatSANs(c.SANs))
	row("Key usage", orNone(strings.Join(c.KeyUsage, ", ")))
	row("Extended usage", orNone(strings.Join(c.ExtKeyUsage, ", ")))
	row("SHA-256", c.FingerprintSHA256)
	row("SHA-1", c.FingerprintSHA1)
	row("SPKI SHA-256", c.SPKISHA256)
	row("Subject key ID", orNone(c.SubjectKeyID))
	row("Authority key ID", orNone(c.AuthorityKeyID))
	row("", "")
	var found, exposed, versions []string
	for _, o := range occurrences {
		found = append(found, withLocation(o.Path, o.Location))
	}
	if len(found) == 0 {
		found = []string{"(no current source)"}
	}
	for _, k := range keys {
		exposed = append(exposed, withLocation(k.Path, k.Location)+": "+k.KeyType)
	}
	history := model.HistoryOf(ident.Certificates)
	var current *model.Certificate
	if ident.Current >= 0 {
		current = &ident.Certificates[ident.Current]
	}
	for _, line := range model.Timeline(history, current, now, 30) {
		versions = append(versions, model.Printable(line))
	}
	rows := func(label string, values []string) {
		for i, v := range values {
			if i > 0 {
				label = ""
			}
			row(label, v)
		}
	}
	// The servers that admit it, each with its reasons and whether a
	// handshake passes today; then the standalone trust stores that list
	// it (a CA file a server names is that server's, not listed again).
	var admittedBy, listedIn []string
	for _, a := range model.AdmittingServers(record.Trust) {
		verdict := "passes today"
		if a.RefusedNow != "" {
			verdict = "configured to admit, refused now: " + a.RefusedNow
		}
		admittedBy = append(admittedBy, a.Server+": "+verdict, "  configured in "+a.ConfiguredIn)
		for _, reason := range a.Reasons {
			admittedBy = append(admittedBy, "  "+reason)
		}
		for _, reach := range a.Reach {
			admittedBy = append(admittedBy, "  "+reach)
		}
	}
	for _, t := range record.Trust {
		if t.ServerKey == "" && !named[t.Source] {
			listedIn = append(listedIn, fmt.Sprintf("%s %q in %s (standalone trust store: no imported server names it)", t.Kind, t.Entry, withLocation(t.Source, t.Location)))
		}
	}
	if len(admittedBy) == 0 {
		why := "no imported server admits it"
		if !record.Chain.Verified() && record.Chain.Problem != "" {
			why += ": " + record.Chain.Problem
		}
		admittedBy = []string{why}
	}
	owner := record.Owner
	if owner == "" {
		owner = "(none recorded)"
	}
	row("Owner", owner)
	if !record.ExpiresAt.IsZero() {
		row("Review by", record.ExpiresAt.Format("2006-01-02")+" ("+model.Relative(record.ExpiresAt, now)+")")
	}
	row("Trust model", record.TrustModel)
	rows("Admitted by", admittedBy)
	if len(listedIn) > 0 {
		rows("Also listed in", listedIn)
	}
	var flagged []string
	for _, f := range findings {
		flagged = append(flagged, fmt.Sprintf("%s %s: %s [%s]", f.Severity, f.Code, f.Message, strings.Join(f.Frameworks, ", ")))
	}
	if len(flagged) == 0 {
		flagged = []string{"(none)"}
	}
	row("", "")
	rows("Findings", flagged)
	row("", "")
	rows("Found in", found)
	rows("PRIVATE KEY ON DISK", exposed)
	row("", "")
	rows("Rotation", versions)
	tw.Flush()
}

func trustDescription(c *model.Record) string {
	desc := c.Signing()
	switch {
	case c.SelfSigned:
		desc += ": trusted only where explicitly registered or pinned"
	case c.SelfIssued:
		desc += ": issuer equals subject, but its own key does not verify the signature"
	default:
		desc += ": trusted where its issuing CA is trusted"
	}
	if c.ActsAsCA {
		desc += " (CA certificate)"
	}
	return desc
}

func formatSANs(s model.SANs) string { return orNone(strings.Join(s.Labeled(), ", ")) }

func withLocation(path, location string) string {
	if location == "" {
		return path
	}
	return path + " (" + location + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func pemEncode(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// printUsage says where and when the servers' access logs last show the
// certificate, and where they never do.
func printUsage(w io.Writer, usage []model.ServerUsage, now time.Time) {
	if len(usage) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	label := "Seen at"
	for _, u := range usage {
		logs := fmt.Sprintf("(logs %s to %s)", u.From.Format("2006-01-02"), u.Until.Format("2006-01-02"))
		seen := "never presented " + logs
		if u.LastSeen != nil {
			seen = fmt.Sprintf("last %s (%s), %s %s", u.LastSeen.Format("2006-01-02 15:04"), model.Relative(*u.LastSeen, now), model.CountOf(u.Count, "request"), logs)
			if u.LastAccepted == nil {
				seen += "; never verified there"
			}
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, model.Printable(u.Server), seen)
		label = ""
	}
	tw.Flush()
}
