// Package metrics exposes certgov's governance state to Prometheus: what
// `certgov serve` answers on /metrics and `certgov metrics --textfile`
// writes for node_exporter's textfile collector. It reads the same
// findings as `check` (store.Review), and every label value a file or a
// person wrote goes through model.Printable.
package metrics

import (
	"context"
	_ "embed"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"certgov/model"
	"certgov/store"
)

// Rules are the alerting rules for these metrics (certgov metrics
// --rules writes them): promtool check rules accepts them and promtool
// test rules proves them (testdata/certgov.rules.test.yml).
//
//go:embed certgov.rules.yml
var Rules []byte

// DefaultWithin is how far ahead an identity's expiry gets a series of
// its own.
const DefaultWithin = 60 * 24 * time.Hour

// Options say what a snapshot holds.
type Options struct {
	Policy model.Policy
	// Within: identities whose current certificate expires within it get
	// a not-after series each (as does every self-signed exception);
	// the others are counted only, which bounds the series.
	Within time.Duration
}

// expiry is one identity's not-after series.
type expiry struct {
	identity, owner, trustModel, exception string
	servers                                int
	notAfter                               time.Time
}

type findingKey struct{ code, severity, owner string }
type serverKey struct{ kind, policy string }
type importKey struct{ kind, host string }

// Snapshot is the state the metrics describe, read at one time.
type Snapshot struct {
	taken                    time.Time
	took                     time.Duration
	identities, certificates int
	expiries                 []expiry
	findings                 map[findingKey]int
	exceptions               map[model.ExceptionState]int
	exceptionsEnding         int
	campaigns                []store.Campaign
	auditSeq                 int64
	imports                  map[importKey]time.Time
	servers                  map[serverKey]int
}

// Take reads a snapshot: every identity's current certificate with its
// findings, then the findings about entries and servers, the campaigns,
// the audit trail's head, the sources and the servers.
func Take(ctx context.Context, s *store.Store, opts Options, now time.Time) (*Snapshot, error) {
	start := time.Now()
	if opts.Within <= 0 {
		opts.Within = DefaultWithin
	}
	snap := &Snapshot{taken: now, findings: map[findingKey]int{}, exceptions: map[model.ExceptionState]int{},
		imports: map[importKey]time.Time{}, servers: map[serverKey]int{}}
	horizon := now.Add(opts.Within)
	rv, err := s.NewReview(ctx)
	if err != nil {
		return nil, err
	}
	err = rv.Each(ctx, opts.Policy, now, func(r *model.Record, findings []model.Finding) error {
		snap.certificates++
		if !r.Current {
			return nil
		}
		snap.identities++
		for _, f := range findings {
			snap.findings[findingKey{f.Code, string(f.Severity), model.Printable(f.Owner)}]++
		}
		exception := ""
		if r.Exception != nil {
			state := r.Exception.State
			if r.Exception.ExpiredAt(now) {
				state = model.ExceptionEnded
			}
			exception = string(state)
			snap.exceptions[state]++
			if r.Exception.ActiveAt(now) && r.Exception.Until.Before(horizon) {
				snap.exceptionsEnding++
			}
		}
		if r.NotAfter.Before(horizon) || r.SelfSigned && r.Exception != nil {
			snap.expiries = append(snap.expiries, expiry{identity: model.Printable(r.IdentityName), owner: model.Printable(r.Owner),
				trustModel: r.TrustModel, exception: exception, servers: len(model.AdmittingServers(r.Trust)), notAfter: r.NotAfter})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range rv.EntryFindings() {
		snap.findings[findingKey{f.Code, string(f.Severity), model.Printable(f.Owner)}]++
	}
	if snap.campaigns, err = s.Campaigns(ctx); err != nil {
		return nil, err
	}
	if snap.auditSeq, _, err = s.AuditHead(ctx); err != nil {
		return nil, err
	}
	sources, err := s.Sources(ctx)
	if err != nil {
		return nil, err
	}
	for _, src := range sources {
		host, _ := model.SplitSourceKey(src.Path)
		k := importKey{model.Printable(src.Kind), model.Printable(host)}
		if src.ImportedAt.After(snap.imports[k]) {
			snap.imports[k] = src.ImportedAt
		}
	}
	servers, err := s.Servers(ctx)
	if err != nil {
		return nil, err
	}
	for _, srv := range servers {
		policy := srv.Mode
		if srv.Unknown != "" {
			policy = "unknown"
		}
		snap.servers[serverKey{model.Printable(srv.Kind), model.Printable(policy)}]++
	}
	snap.took = time.Since(start)
	return snap, nil
}

// The metrics, named and typed by Prometheus's conventions: a unit in the
// name, seconds since the epoch for times, gauges for what can go down.
var (
	descNotAfter = prometheus.NewDesc("certgov_identity_not_after_timestamp_seconds",
		"When the identity's current certificate expires, for identities expiring within the window and every self-signed exception.",
		[]string{"identity", "owner", "trust_model", "servers", "exception"}, nil)
	descIdentities   = prometheus.NewDesc("certgov_identities", "Identities (each counted by its current certificate).", nil, nil)
	descCertificates = prometheus.NewDesc("certgov_certificates", "Certificates, current and earlier versions.", nil, nil)
	descFindings     = prometheus.NewDesc("certgov_findings", "Findings by code, severity and owner, as certgov check computes them.",
		[]string{"code", "severity", "owner"}, nil)
	descExceptions       = prometheus.NewDesc("certgov_exceptions", "Self-signed exceptions by the state of their latest decision.", []string{"state"}, nil)
	descExceptionsEnding = prometheus.NewDesc("certgov_exceptions_ending_soon", "Approved exceptions that end within the window.", nil, nil)
	descCampaignItems    = prometheus.NewDesc("certgov_campaign_items", "Identities under review in an open campaign, decided or not.",
		[]string{"campaign", "decided"}, nil)
	descCampaignDue = prometheus.NewDesc("certgov_campaign_due_timestamp_seconds", "When an open campaign is due.", []string{"campaign"}, nil)
	descAuditSeq    = prometheus.NewDesc("certgov_audit_head_sequence", "The sequence number of the audit trail's newest event.", nil, nil)
	descLastImport  = prometheus.NewDesc("certgov_last_import_timestamp_seconds", "When a source of the kind, from the host, was last imported.",
		[]string{"kind", "host"}, nil)
	descServers = prometheus.NewDesc("certgov_servers", "Imported servers by kind and verification policy (unknown: what it admits cannot be told).",
		[]string{"kind", "policy"}, nil)
	descSnapshotTime = prometheus.NewDesc("certgov_snapshot_timestamp_seconds", "When the state these metrics describe was read.", nil, nil)
	descSnapshotTook = prometheus.NewDesc("certgov_snapshot_duration_seconds", "How long reading that state took.", nil, nil)
	allDescs         = []*prometheus.Desc{descNotAfter, descIdentities, descCertificates, descFindings, descExceptions, descExceptionsEnding,
		descCampaignItems, descCampaignDue, descAuditSeq, descLastImport, descServers, descSnapshotTime, descSnapshotTook}
)

// collect sends the snapshot's metrics.
func (snap *Snapshot) collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	seconds := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	for _, e := range snap.expiries {
		gauge(descNotAfter, seconds(e.notAfter), e.identity, e.owner, e.trustModel, strconv.Itoa(e.servers), e.exception)
	}
	gauge(descIdentities, float64(snap.identities))
	gauge(descCertificates, float64(snap.certificates))
	for _, k := range slices.SortedFunc(maps.Keys(snap.findings), func(a, b findingKey) int {
		return compareStrings(a.code+"\x00"+a.owner, b.code+"\x00"+b.owner)
	}) {
		gauge(descFindings, float64(snap.findings[k]), k.code, k.severity, k.owner)
	}
	for _, state := range []model.ExceptionState{model.ExceptionApproved, model.ExceptionEnded, model.ExceptionRejected, model.ExceptionRevoked} {
		gauge(descExceptions, float64(snap.exceptions[state]), string(state))
	}
	gauge(descExceptionsEnding, float64(snap.exceptionsEnding))
	for _, c := range snap.campaigns {
		if c.ClosedAt != nil {
			continue
		}
		name := model.Printable(c.Name)
		gauge(descCampaignItems, float64(c.Decided), name, "true")
		gauge(descCampaignItems, float64(c.Items-c.Decided), name, "false")
		if c.Due != nil {
			gauge(descCampaignDue, seconds(*c.Due), name)
		}
	}
	gauge(descAuditSeq, float64(snap.auditSeq))
	for k, t := range snap.imports {
		gauge(descLastImport, seconds(t), k.kind, k.host)
	}
	for k, n := range snap.servers {
		gauge(descServers, float64(n), k.kind, k.policy)
	}
	gauge(descSnapshotTime, seconds(snap.taken))
	gauge(descSnapshotTook, snap.took.Seconds())
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Exporter is a prometheus.Collector over a store: a scrape reads a new
// snapshot only when the audit trail moved (an import, a decision) or
// the snapshot is older than MaxAge (time moves expiries into the
// window); otherwise it answers from the one it has. Scrapes that come
// while a snapshot is being read wait for it rather than read their own.
type Exporter struct {
	store  *store.Store
	opts   Options
	MaxAge time.Duration
	// Now is the clock (time.Now unless a test sets it).
	Now func() time.Time

	mu      sync.Mutex
	current *Snapshot
}

// NewExporter exports the state of s.
func NewExporter(s *store.Store, opts Options) *Exporter {
	return &Exporter{store: s, opts: opts, MaxAge: 5 * time.Minute, Now: time.Now}
}

// Describe sends every metric's description.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect sends the metrics of a fresh enough snapshot.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	snap, err := e.Snapshot(context.Background())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descSnapshotTime, err)
		return
	}
	snap.collect(ch)
}

// Snapshot is the snapshot a scrape answers from, read anew when the
// audit trail moved or the one held is older than MaxAge.
func (e *Exporter) Snapshot(ctx context.Context) (*Snapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.Now()
	if e.current != nil && now.Sub(e.current.taken) < e.MaxAge {
		seq, _, err := e.store.AuditHead(ctx)
		if err == nil && seq == e.current.auditSeq {
			return e.current, nil
		}
	}
	snap, err := Take(ctx, e.store, e.opts, now)
	if err != nil {
		return nil, err
	}
	e.current = snap
	return snap, nil
}

// Registry is a registry holding the exporter's metrics alone.
func (e *Exporter) Registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	return reg
}

// WriteTextfile writes the exposition to path for node_exporter's
// textfile collector, atomically (a temporary file renamed over it, as
// the collector requires so that it never reads half a file).
func WriteTextfile(path string, e *Exporter) error {
	return prometheus.WriteToTextfile(path, e.Registry())
}
