package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

// alertSource is the label every alert certgov posts carries, by which
// it finds its own again to resolve those that cleared.
const alertSource = "certgov"

func newNotifyCommand(a *app) *cobra.Command {
	var alertmanager, codes, policyFile, within, campaignsWithin string
	var validFor time.Duration
	cmd := &cobra.Command{
		Use:   "notify --alertmanager URL [--fail-on CODES] [--valid-for 2h]",
		Short: "Post the current findings to Alertmanager as alerts, resolving those that cleared",
		Long: `Post each finding of the codes (default: check's) to Alertmanager's v2 API
as an alert labelled with its code, severity, identity, owner and server, and
annotated with what it means and the certgov command that shows it. Each
reviewer with undecided items of a campaign due within --campaigns-within
gets a CertgovCampaignDue alert (labels campaign, reviewer); within two days
of the due date, and for items no one is assigned to, whoever started the
campaign gets one too (escalated="true"). Alerts
certgov posted before whose finding is gone are resolved. Run it from cron
more often than --valid-for (each alert ends then unless posted again), as
many times as you like: it posts what holds now.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := url.Parse(alertmanager)
			if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
				return usageError{errors.New("--alertmanager: want http(s)://HOST:PORT")}
			}
			window, err := withinFlag(campaignsWithin)
			if err != nil {
				return err
			}
			now := time.Now()
			_, each, s, err := a.codedFindings(cmd.Context(), codes, within, policyFile, now)
			if err != nil {
				return err
			}
			defer s.Close()
			var alerts []amAlert
			err = each(func(f store.FoundFinding) error {
				alerts = append(alerts, alertOf(f.Finding))
				return nil
			})
			if err != nil {
				return err
			}
			work, err := s.CampaignWork(cmd.Context())
			if err != nil {
				return err
			}
			for _, r := range model.Reminders(work, now, time.Duration(window)) {
				alerts = append(alerts, reminderAlert(r, now))
			}
			posted, resolved, err := notifyAlertmanager(cmd.Context(), base, alerts, now, validFor)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d alerts posted to %s, %d resolved\n", posted, model.Printable(base.Redacted()), resolved)
			return nil
		},
	}
	cmd.Flags().StringVar(&alertmanager, "alertmanager", "", "Alertmanager's URL, e.g. http://127.0.0.1:9093")
	cmd.Flags().StringVar(&codes, "fail-on", strings.Join(defaultFailOn, ","), "finding codes to alert on")
	cmd.Flags().DurationVar(&validFor, "valid-for", 2*time.Hour, "how long an alert holds unless posted again")
	cmd.Flags().StringVar(&within, "within", "", "expiring window, e.g. 14d (default: the policy's 30d)")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (see certgov findings --help)")
	cmd.Flags().StringVar(&campaignsWithin, "campaigns-within", "14d", "remind reviewers of their undecided campaign items this long before the due date")
	cmd.MarkFlagRequired("alertmanager")
	return cmd
}

// amAlert is an alert as Alertmanager's v2 API takes and gives it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    *time.Time        `json:"startsAt,omitempty"`
	EndsAt      *time.Time        `json:"endsAt,omitempty"`
}

// alertOf is a finding's alert: labels that identify it (so that posting
// it again updates it), annotations that say what to do.
func alertOf(f model.Finding) amAlert {
	labels := map[string]string{"alertname": "CertgovFinding", "source": alertSource, "code": f.Code, "severity": string(f.Severity),
		"identity": model.Printable(f.Identity)}
	if f.Owner != "" {
		labels["owner"] = model.Printable(f.Owner)
	}
	command := "certgov show '" + model.Printable(f.Identity) + "'"
	if f.FingerprintSHA256 == "" { // a server or a trust entry
		labels["server"] = model.Printable(f.Identity)
		command = "certgov findings --filter finding:" + f.Code
	}
	return amAlert{Labels: labels, Annotations: map[string]string{
		"summary":     model.Printable(f.Message),
		"description": model.FindingTypes[f.Code].Title,
		"command":     command,
	}}
}

// reminderAlert is a campaign reminder's alert (model.Reminders), for the
// person it is to.
func reminderAlert(r model.Reminder, now time.Time) amAlert {
	labels := map[string]string{"alertname": "CertgovCampaignDue", "source": alertSource, "severity": string(r.Severity()),
		"campaign": model.Printable(r.Campaign), "to": model.Printable(r.To)}
	// Alertmanager drops an empty label: one kept here would make the
	// alert another the next run, resolved and posted again.
	if r.Reviewer != "" {
		labels["reviewer"] = model.Printable(r.Reviewer)
	}
	if r.Escalated {
		labels["escalated"] = "true"
	}
	return amAlert{Labels: labels, Annotations: map[string]string{
		"summary": model.Printable(r.Message(now)),
		"command": model.Printable(r.Do()),
	}}
}

// notifyAlertmanager posts the alerts, valid until now+validFor, and
// resolves (ends now) the alerts certgov posted that are no longer
// raised. It returns how many of each.
func notifyAlertmanager(ctx context.Context, base *url.URL, alerts []amAlert, now time.Time, validFor time.Duration) (posted, resolved int, err error) {
	client := &http.Client{Timeout: 30 * time.Second}
	current := map[string]amAlert{}
	for _, alert := range alerts {
		current[alertKey(alert.Labels)] = alert
	}
	active, err := activeAlerts(ctx, client, base)
	if err != nil {
		return 0, 0, err
	}
	ends := now.Add(validFor)
	var batch []amAlert
	for _, alert := range current {
		alert.EndsAt = &ends
		batch = append(batch, alert)
	}
	for _, alert := range active {
		if _, still := current[alertKey(alert.Labels)]; !still {
			alert.StartsAt, alert.EndsAt, alert.Annotations = nil, &now, nil
			batch = append(batch, alert)
			resolved++
		}
	}
	if len(batch) == 0 {
		return 0, 0, nil
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.JoinPath("api", "v2", "alerts").String(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("alertmanager: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, 0, fmt.Errorf("alertmanager answered %s: %s", resp.Status, model.Printable(strings.TrimSpace(string(msg))))
	}
	return len(current), resolved, nil
}

// activeAlerts are the alerts certgov posted that Alertmanager holds as
// active.
func activeAlerts(ctx context.Context, client *http.Client, base *url.URL) ([]amAlert, error) {
	u := base.JoinPath("api", "v2", "alerts")
	u.RawQuery = url.Values{"filter": {`source="` + alertSource + `"`}, "active": {"true"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alertmanager answered %s to a listing of its alerts", resp.Status)
	}
	var alerts []amAlert
	// Bounded: an answer larger than this is not an Alertmanager's.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&alerts); err != nil {
		return nil, fmt.Errorf("alertmanager's alerts: %w", err)
	}
	return alerts, nil
}

// alertKey identifies an alert by its labels, as Alertmanager does.
func alertKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\x00" + labels[k] + "\x00")
	}
	return b.String()
}
