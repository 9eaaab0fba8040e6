package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newServersCommand(a *app) *cobra.Command {
	var output *output
	cmd := &cobra.Command{
		Use:   "servers [-o table|json]",
		Short: "List the servers that decide client certificates, their policy and what each admits",
		Long: `List every server the imported configurations define (an nginx server block,
an Envoy filter chain…): its name (host, server_name:port), where it is
configured, its verification policy (ssl_verify_client mode, depth, CRL), its
gates (the maps its if/return tests), and how many identities it admits today
and refuses now although configured to admit them (expired, revoked). A server
certgov cannot read fully (a CA file it names cannot be read) is "unknown":
certgov never guesses what it admits. CA files and pin lists that no imported
server names follow, as standalone trust stores.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				servers, stores, err := s.ServersReport(cmd.Context(), time.Now())
				if err != nil {
					return err
				}
				if output.is("json") {
					for i := range servers {
						servers[i].Server = servers[i].Server.Printable()
						servers[i].Name = model.Printable(servers[i].Name)
					}
				}
				return output.write(cmd, a, printed{
					value: struct {
						Servers     []store.ServerReport `json:"servers"`
						TrustStores []store.TrustStore   `json:"standalone_trust_stores"`
					}{servers, stores},
					text: func(w io.Writer, _ int) error { printServers(w, servers, stores); return nil },
				})
			})
		},
	}
	output = outputFlag(cmd, "table", "json")
	cmd.AddCommand(newWhatIfCommand(a))
	return cmd
}

func printServers(w io.Writer, servers []store.ServerReport, stores []store.TrustStore) {
	all := make([]model.Server, len(servers))
	for i := range servers {
		all[i] = servers[i].Server
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tPOLICY\tADMITS\tREFUSED NOW\tCONFIGURED IN\tNOTES")
	for _, s := range servers {
		var notes []string
		switch {
		case s.Unknown != "":
			notes = append(notes, "UNKNOWN: "+s.Unknown)
		case s.AdmitsAny:
			notes = append(notes, "ADMITS ANY CERTIFICATE: it verifies nothing and gates nothing")
		case len(s.SpoofableNames) > 0:
			notes = append(notes, "SPOOFABLE: admits by name without a chain ("+strings.Join(s.SpoofableNames, "; ")+")")
		case s.Kind == model.ScannedEndpoint:
			notes = append(notes, fmt.Sprintf("scanned: asks for %d CA names", len(s.CANames)))
			if configured := model.ConfigurationOf(&s.Server, all); configured != nil {
				if drift := model.CANamesDrift(&s.Server, configured); drift != "" {
					notes = append(notes, "DRIFT: "+drift)
				}
			}
		}
		notes = append(notes, s.Gates...)
		admits := fmt.Sprint(len(s.Admits))
		if s.Unknown != "" {
			admits = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", model.Printable(s.Name), model.Printable(s.PolicyText()), admits, len(s.RefusedNow),
			model.Printable(configuredIn(&s.Server)), model.Printable(strings.Join(notes, "; ")))
	}
	tw.Flush()
	if len(stores) > 0 {
		fmt.Fprintln(w, "\nStandalone trust stores (no imported server names them):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, st := range stores {
			fmt.Fprintf(tw, "  %s\t%s\tlists %d identities\n", model.Printable(st.Source), model.Printable(st.Kind), st.Admits)
		}
		tw.Flush()
	}
}

// configuredIn is where a server is configured, for a table: the
// location in its file, below the file's folder and host, cut from the
// left.
func configuredIn(s *model.Server) string {
	host, path := model.SplitSourceKey(s.Source)
	where := s.Location
	if dir := filepath.Dir(path); dir != "." && !strings.HasPrefix(path, "tls:") {
		where = filepath.Join(dir, s.Location)
	}
	return model.ElideSource(model.SourceKey(host, where), 48)
}

func newWhatIfCommand(a *app) *cobra.Command {
	var remove string
	var output *output
	cmd := &cobra.Command{
		Use:   "what-if --remove REF [-o text|json]",
		Short: "List the identities that would lose their last admitting server if REF went",
		Long: `Answer "what breaks if this goes?" without changing anything. REF names what
to take away: a server (its name as certgov servers prints it, or a part of it
only one server's name has), an anchor (its SHA-256 fingerprint, or a prefix of
at least 8 hex digits), a source (its path), or a trust entry (its label or
value). Every current certificate is evaluated again without it; the answer
lists the identities that would lose their last admitting server, then those
that lose one but keep access elsewhere.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if remove == "" {
				return usageError{fmt.Errorf("what-if needs --remove REF")}
			}
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				res, err := s.WhatIf(cmd.Context(), remove, time.Now())
				if err != nil {
					return err
				}
				return output.write(cmd, a, printed{value: res, text: func(w io.Writer, _ int) error { printWhatIf(w, res); return nil }})
			})
		},
	}
	cmd.Flags().StringVar(&remove, "remove", "", "the server, anchor fingerprint, source or trust entry to take away")
	output = outputFlag(cmd, "text", "json")
	return cmd
}

func printWhatIf(w io.Writer, res *store.WhatIfResult) {
	fmt.Fprintf(w, "Without %d trust entr%s:\n", len(res.Removed), map[bool]string{true: "y", false: "ies"}[len(res.Removed) == 1])
	for _, r := range res.Removed {
		fmt.Fprintln(w, "  "+model.Printable(r))
	}
	fmt.Fprintf(w, "\n%d identit%s would lose their last admitting server:\n", len(res.LoseAll), map[bool]string{true: "y", false: "ies"}[len(res.LoseAll) == 1])
	for _, c := range res.LoseAll {
		fmt.Fprintf(w, "  %s (%s): loses %s\n", model.Printable(c.Identity), model.ShortFingerprint(c.Fingerprint), model.Printable(strings.Join(c.Loses, ", ")))
	}
	fmt.Fprintf(w, "\n%d identit%s keep access elsewhere:\n", len(res.KeepSome), map[bool]string{true: "y", false: "ies"}[len(res.KeepSome) == 1])
	for _, c := range res.KeepSome {
		fmt.Fprintf(w, "  %s (%s): loses %s, keeps %s\n", model.Printable(c.Identity), model.ShortFingerprint(c.Fingerprint),
			model.Printable(strings.Join(c.Loses, ", ")), model.Printable(strings.Join(c.Keeps, ", ")))
	}
}
