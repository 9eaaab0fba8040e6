package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNotifyAlertmanager posts the demo's findings with certgov notify to
// a real Alertmanager (Debian's) on 127.0.0.1, reads an expiring
// identity's alert back from its API with its owner, posts again (the
// same alerts, nothing more), then gives the identity's no-owner finding
// an owner and sees that alert resolved by the next run.
func TestNotifyAlertmanager(t *testing.T) {
	alertmanager := interopTool(t, "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
	home := isolate(t)
	if r := certgov(t, "demo", "--no-tui"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	dir := t.TempDir()
	config := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(config, []byte("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"), 0o600)
	port := freePort(t)
	startDaemon(t, exec.Command(alertmanager, "--config.file="+config, "--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=", "--log.level=warn"), []*interopServer{{port: port}})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	notify := func() string {
		t.Helper()
		r := certgov(t, "notify", "--alertmanager", url, "--fail-on", "expiring,no-owner")
		if r.code != 0 {
			t.Fatalf("notify: %d %s", r.code, r.stderr)
		}
		return r.stdout
	}
	first := notify()
	alerts := amAlerts(t, url)
	if !strings.HasPrefix(first, fmt.Sprintf("%d alerts posted", len(alerts))) {
		t.Errorf("notify says %q; Alertmanager holds %d of certgov's alerts", first, len(alerts))
	}
	var expiring, unowned map[string]string
	for _, a := range alerts {
		switch {
		case a["code"] == "expiring" && a["owner"] != "" && expiring == nil:
			expiring = a
		case a["code"] == "no-owner" && unowned == nil:
			unowned = a
		}
	}
	if expiring == nil || unowned == nil {
		t.Fatalf("no owned expiring alert or no no-owner alert among %d", len(alerts))
	}
	if expiring["alertname"] != "CertgovFinding" || expiring["severity"] != "high" || expiring["identity"] == "" {
		t.Errorf("expiring alert labels: %v", expiring)
	}
	if again := notify(); again != first || len(amAlerts(t, url)) != len(alerts) {
		t.Errorf("a second run is not idempotent: %q after %q", again, first)
	}
	// The no-owner finding clears: its alert is resolved.
	if r := certgov(t, "owner", "set", unowned["identity"], "ops@example.com", "--as", "alice"); r.code != 0 {
		t.Fatalf("owner set: %s", r.stderr)
	}
	if third := notify(); !strings.Contains(third, "1 resolved") {
		t.Errorf("after the owner was set: %q", third)
	}
	for _, a := range amAlerts(t, url) {
		if a["code"] == "no-owner" && a["identity"] == unowned["identity"] {
			t.Errorf("the cleared finding's alert is still active: %v", a)
		}
	}

	// A campaign due tomorrow: each reviewer is reminded of their items,
	// and whoever started it is told about each reviewer's; closing it
	// resolves them all.
	due := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if r := certgov(t, "campaign", "start", "Q4", "--filter", "!ca", "--due", due, "--round-robin", "alice,bob", "--as", "erin"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	notify()
	reminders := map[string]bool{}
	for _, a := range amAlerts(t, url) {
		if a["alertname"] == "CertgovCampaignDue" && a["campaign"] == "Q4" {
			reminders[a["to"]+"/"+a["reviewer"]+"/"+a["escalated"]] = true
		}
	}
	erin := actorName("erin")
	for _, want := range []string{"alice/alice/", "bob/bob/", erin + "/alice/true", erin + "/bob/true"} {
		if !reminders[want] {
			t.Errorf("no campaign reminder %s among %v", want, reminders)
		}
	}
	if len(reminders) != 4 {
		t.Errorf("campaign reminders %v, want 4", reminders)
	}
	if again := notify(); !strings.Contains(again, " 0 resolved") {
		t.Errorf("a second run resolved reminders that still hold: %q", again)
	}
	if r := certgov(t, "campaign", "close", "Q4", "--force", "--as", "carol"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if after := notify(); !strings.Contains(after, " 4 resolved") {
		t.Errorf("after the campaign closed: %q", after)
	}
}

// amAlerts are the active alerts certgov posted, as Alertmanager's API
// gives them: their labels.
func amAlerts(t *testing.T, url string) []map[string]string {
	t.Helper()
	resp, err := http.Get(url + `/api/v2/alerts?active=true&filter=source%3D%22certgov%22`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, a := range alerts {
		out = append(out, a.Labels)
	}
	return out
}
