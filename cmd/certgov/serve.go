package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"certgov/store/metrics"
)

// metricsFlags are what serve and metrics share: the expiry window and
// the policy findings are computed with.
type metricsFlags struct {
	within, policyFile string
}

func (f *metricsFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.within, "within", "60d", "identities expiring within this get a not-after series each, e.g. 30d")
	cmd.Flags().StringVar(&f.policyFile, "policy", "", "policy file (see certgov findings --help)")
}

// exporter opens the database and makes the exporter over it.
func (f *metricsFlags) exporter(ctx context.Context, a *app) (*metrics.Exporter, func(), error) {
	d, err := withinFlag(f.within)
	if err != nil {
		return nil, nil, err
	}
	s, _, policy, err := a.openReview(ctx, "", f.policyFile)
	if err != nil {
		return nil, nil, err
	}
	return metrics.NewExporter(s, metrics.Options{Policy: policy, Within: time.Duration(d)}), func() { s.Close() }, nil
}

func newServeCommand(a *app) *cobra.Command {
	var listen string
	var flags metricsFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:9793] [--within 60d]",
		Short: "Serve Prometheus metrics (/metrics) and a health check (/healthz)",
		Long: `Serve the governance state as Prometheus metrics on /metrics, and /healthz.
A scrape reads the database anew only when the audit trail moved (an import, a
decision) or the last reading is 5 minutes old; otherwise it answers from the
one it has, so scrapes cost little at any size. Identities expiring within
--within, and every self-signed exception, get a not-after series each
(certgov_identity_not_after_timestamp_seconds); the rest is counted.
contrib/prometheus/certgov.rules.yml holds alerting rules for them.

It listens on 127.0.0.1 by default: the metrics name identities and owners.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			exporter, closeStore, err := flags.exporter(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer closeStore()
			return serveMetrics(cmd.Context(), listen, exporter, func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "serving metrics on http://%s/metrics\n", addr)
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9793", "address to listen on")
	flags.add(cmd)
	return cmd
}

// serveMetrics serves until ctx ends (Ctrl-C, SIGTERM), then shuts down.
func serveMetrics(ctx context.Context, listen string, exporter *metrics.Exporter, started func(addr string)) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(exporter.Registry(), promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError, Timeout: time.Minute}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := exporter.Snapshot(r.Context()); err != nil {
			http.Error(w, "cannot read the database", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	started(l.Addr().String())
	done := make(chan error, 1)
	go func() { done <- server.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func newMetricsCommand(a *app) *cobra.Command {
	var textfile string
	var rules bool
	var flags metricsFlags
	cmd := &cobra.Command{
		Use:   "metrics --textfile PATH [--within 60d] | metrics --rules",
		Short: "Write the Prometheus metrics to a file for node_exporter's textfile collector",
		Long: `Write what certgov serve answers on /metrics to PATH, atomically (a
temporary file renamed over it), for node_exporter's textfile collector: run it
from cron into the collector's folder (--collector.textfile.directory), with a
name ending in .prom. The file is readable by others (0644): the collector
runs as its own user; it holds names and counts, no key material.

--rules prints Prometheus alerting rules for these metrics (certificate
expiring within 14 days, expired yet admitted, exception ending, campaign
overdue, import stale), each labelled with the identity and its owner.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rules {
				_, err := cmd.OutOrStdout().Write(metrics.Rules)
				return err
			}
			if textfile == "" {
				return usageError{errors.New("--textfile PATH (or --rules) is required")}
			}
			exporter, closeStore, err := flags.exporter(cmd.Context(), a)
			if err != nil {
				return err
			}
			defer closeStore()
			return metrics.WriteTextfile(textfile, exporter)
		},
	}
	cmd.Flags().StringVar(&textfile, "textfile", "", "the file to write (PATH.prom in the collector's folder)")
	cmd.Flags().BoolVar(&rules, "rules", false, "print the Prometheus alerting rules for these metrics")
	flags.add(cmd)
	return cmd
}
