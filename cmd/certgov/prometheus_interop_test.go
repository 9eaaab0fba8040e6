package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store/metrics"
)

// notAfterLine is one not-after series of the exposition.
var notAfterLine = regexp.MustCompile(`^certgov_identity_not_after_timestamp_seconds\{(.*)\} (\S+)$`)

// TestPrometheusAlertsOnExpiringIdentities runs certgov serve over the
// demo and a real Prometheus (Debian's) on 127.0.0.1 scraping it with
// certgov metrics --rules loaded, and waits until Prometheus fires
// CertgovCertificateExpiring for an identity expiring within 14 days,
// labelled with its owner.
func TestPrometheusAlertsOnExpiringIdentities(t *testing.T) {
	prometheus := interopTool(t, "prometheus", "/usr/bin/prometheus")
	isolate(t)
	if r := certgov(t, "demo", "--no-tui"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	s := openCommandsStore(t, "demo")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exporter := metrics.NewExporter(s, metrics.Options{Policy: model.DefaultPolicy(), Within: metrics.DefaultWithin})
	addr := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serveMetrics(ctx, "127.0.0.1:0", exporter, func(a string) { addr <- a }) }()
	var target string
	select {
	case target = <-addr:
	case err := <-served:
		t.Fatal(err)
	}

	// What certgov exposes: an identity with an owner expiring within 14
	// days is the one to expect an alert for.
	resp, err := http.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var identity, owner string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		m := notAfterLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[2], 64)
		left := time.Until(time.Unix(int64(at), 0))
		labels := parseLabels(m[1])
		if left > time.Hour && left < 13*24*time.Hour && labels["owner"] != "" {
			identity, owner = labels["identity"], labels["owner"]
			break
		}
	}
	resp.Body.Close()
	if identity == "" {
		t.Fatal("the demo exposes no owned identity expiring within 13 days")
	}
	if health, err := http.Get("http://" + target + "/healthz"); err != nil || health.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", health, err)
	}

	dir := t.TempDir()
	rules := filepath.Join(dir, "certgov.rules.yml")
	if r := certgov(t, "metrics", "--rules"); r.code != 0 || os.WriteFile(rules, []byte(r.stdout), 0o600) != nil {
		t.Fatalf("metrics --rules: %d %s", r.code, r.stderr)
	}
	config := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(config, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\nscrape_configs:\n  - job_name: certgov\n    static_configs:\n      - targets: [%q]\n", rules, target)), 0o600)
	port := freePort(t)
	daemon := exec.Command(prometheus, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
	startDaemon(t, daemon, []*interopServer{{port: port}})

	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/alerts", port))
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&alerts)
			resp.Body.Close()
		}
		for _, a := range alerts.Data.Alerts {
			if a.Labels["alertname"] == "CertgovCertificateExpiring" && a.Labels["identity"] == identity && a.State == "firing" {
				if a.Labels["owner"] != owner {
					t.Errorf("the alert for %s names owner %q, want %q", identity, a.Labels["owner"], owner)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus fires no CertgovCertificateExpiring for %s within 60 s: %+v", identity, alerts.Data.Alerts)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// parseLabels reads an exposition's label set: name="value",…
func parseLabels(text string) map[string]string {
	out := map[string]string{}
	for text != "" {
		name, rest, ok := strings.Cut(text, `="`)
		if !ok {
			break
		}
		var value strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			value.WriteByte(rest[i])
		}
		out[strings.TrimPrefix(name, ",")] = value.String()
		text = strings.TrimPrefix(rest[min(i+1, len(rest)):], ",")
	}
	return out
}
