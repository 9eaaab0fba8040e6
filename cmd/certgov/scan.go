package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
)

func newScanCommand(a *app) *cobra.Command {
	var serverName, host, starttls string
	cmd := &cobra.Command{
		Use:   "scan HOST:PORT... [--servername NAME] [--host NAME] [--starttls postgres]",
		Short: "Connect to live TLS servers: inventory their chains and the CA names they ask clients for",
		Long: `Connect to each HOST:PORT as a TLS client without a key (certgov holds none),
once, within 10 seconds. The server's own certificate chain is inventoried (its
expiry findings apply) and the CA names the server asks clients for (the
certificate_authorities of its CertificateRequest) are recorded. They are
compared with the imported configuration of that host (the servers imported
with the same --host, listening on that port, with that server name): CA names
asked for but not configured, or configured but not asked for, are a
ca-names-drift finding: what runs is not what was imported.

--servername sets the SNI (default: HOST when it is a name). --starttls postgres
asks a PostgreSQL server for TLS first (its SSLRequest), as openssl s_client
-starttls postgres does; its pg_hba.conf lines share the one handshake. A scan is a
source like a file: scanning again with the same answer adds nothing.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("scan needs at least one HOST:PORT")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if host != "" {
				if err := model.CheckHost(host); err != nil {
					return usageError{err}
				}
			}
			if starttls != "" && !slices.Contains(importers.StartTLSProtocols, starttls) {
				return usageError{fmt.Errorf("--starttls: unknown protocol %q (known: %s)", starttls, strings.Join(importers.StartTLSProtocols, ", "))}
			}
			return a.runScan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, serverName, host, starttls)
		},
	}
	cmd.Flags().StringVar(&serverName, "servername", "", "the TLS server name (SNI) to ask for")
	cmd.Flags().StringVar(&starttls, "starttls", "", "ask for TLS in this protocol first: postgres")
	cmd.Flags().StringVar(&host, "host", "", "the host whose imported configuration the endpoints are compared with (as import --host named it)")
	return cmd
}

func (a *app) runScan(ctx context.Context, stdout, stderr io.Writer, targets []string, serverName, host, starttls string) error {
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	imp, err := s.NewImport(ctx)
	if err != nil {
		return err
	}
	imp.Actor = a.actor()
	results := make(chan model.FileResult)
	go func() {
		defer close(results)
		for _, target := range targets {
			res := importers.Scan(ctx, target, serverName, host, starttls, time.Now())
			if res.Err == nil && imp.Known(res.Source.Path, res.Source.ContentSHA256) {
				res = model.FileResult{Source: res.Source, Unchanged: true, Servers: res.Servers, Certificates: res.Certificates}
			}
			select {
			case results <- res:
			case <-ctx.Done():
				return
			}
		}
	}()
	failed := 0
	var scanned []model.FileResult
	if _, err := imp.Run(ctx, results, false, func(r model.FileResult) {
		if r.Err != nil {
			failed++
			fmt.Fprintln(stderr, model.Printable(r.Err.Error()))
			return
		}
		scanned = append(scanned, r)
	}); err != nil {
		return err
	}
	servers, err := s.Servers(ctx)
	if err != nil {
		return err
	}
	for _, r := range scanned {
		printScan(stdout, r, servers, time.Now())
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}

func printScan(w io.Writer, r model.FileResult, servers []model.Server, now time.Time) {
	if len(r.Servers) == 0 {
		return
	}
	srv := r.Servers[0]
	fmt.Fprintf(w, "%s (%s)\n", model.Printable(srv.Location), model.Printable(srv.Name()))
	for _, c := range r.Certificates {
		fmt.Fprintf(w, "  serves   %s, expires %s (%s)\n", model.Printable(c.Subject), c.NotAfter.Format("2006-01-02"), model.Relative(c.NotAfter, now))
	}
	switch {
	case srv.Mode == model.VerifyOff:
		fmt.Fprintln(w, "  asks clients for no certificate")
	case len(srv.CANames) == 0:
		fmt.Fprintln(w, "  asks clients for a certificate, naming no CA")
	default:
		for _, n := range srv.CANames {
			fmt.Fprintf(w, "  asks for %s\n", model.Printable(n))
		}
	}
	configured := model.ConfigurationOf(&srv, servers)
	switch {
	case configured == nil:
		fmt.Fprintln(w, "  no imported configuration of this host listens on this port (import it with --host to compare)")
	case model.CANamesDrift(&srv, configured) != "":
		fmt.Fprintf(w, "  DRIFT    %s\n", model.Printable(model.CANamesDrift(&srv, configured)))
	default:
		fmt.Fprintf(w, "  matches  its imported configuration: %s (%s)\n", model.Printable(configured.Name()), model.Printable(configured.Location))
	}
}
