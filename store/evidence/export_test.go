package evidence

import (
	"certgov/store/storetest"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest/demostore"
)

// demoStore imports the demo estate into a new database.
func demoStore(t *testing.T) *store.Store { return demostore.Open(t) }

// The package on its own: a force-closed campaign's bundle verifies,
// its reports say INCOMPLETE with the closer's statement, audit.jsonl
// chains to the quoted head, and a governance value written behind the
// store's back refuses the export (UnverifiedError) unless
// AllowUnverified, when the bundle says so.
func TestExportAndVerify(t *testing.T) {
	ctx := context.Background()
	s := demoStore(t)
	now := time.Now().UTC()
	ch := func(actor, reason string) store.Change { return store.Change{Actor: actor, Reason: reason, At: now} }
	f, _ := model.ParseFilter("selfsigned !ca")
	n, err := s.StartCampaign(ctx, "Q4", time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), ch("erin", ""))
	if err != nil || n < 3 {
		t.Fatal(n, err)
	}
	if _, err := s.Decide(ctx, "Q4", "partner-acme-logistics", model.DecisionRevoke, "contract ended", ch("bob", "contract ended"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseCampaign(ctx, "Q4", true, ch("carol", "carried to Q1"), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	files, err := Export(ctx, s, Options{Dir: dir, Campaign: "Q4", Policy: model.DefaultPolicy(), Actor: "auditor", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(BundleFiles)+1 {
		t.Errorf("wrote %v", files)
	}
	checked, err := VerifyBundle(ctx, dir, nil, false)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if all := strings.Join(checked, "\n"); !strings.Contains(all, "events chain from") || !strings.Contains(all, "are the ones audit.jsonl records") {
		t.Errorf("verify did not check the audit chain and the decisions against it: %v", checked)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"INCOMPLETE", "carried to Q1", "contract ended", "## Revoke"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if _, err := VerifyBundle(ctx, dir, nil, true); err == nil {
		t.Error("an unsigned bundle passed --require-signature")
	}

	raw := storetest.OpenRaw(t, s.Path())
	if _, err := raw.Exec(`UPDATE identities SET owner = 'mallory' WHERE name = 'partner-acme-logistics'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	var unverified *UnverifiedError
	if _, err := Export(ctx, s, Options{Dir: filepath.Join(t.TempDir(), "refused"), Campaign: "Q4", Policy: model.DefaultPolicy(), Now: now}); !errors.As(err, &unverified) || len(unverified.Differences) != 1 {
		t.Fatalf("export of a tampered database: %v", err)
	}
	dir = filepath.Join(t.TempDir(), "unverified")
	if _, err := Export(ctx, s, Options{Dir: dir, Campaign: "Q4", Policy: model.DefaultPolicy(), Now: now, AllowUnverified: true, FileMode: 0o640}); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(page), "UNVERIFIED") || !strings.Contains(string(page), "mallory") {
		t.Error("the --allow-unverified report does not say UNVERIFIED naming the value")
	}
	if info, _ := os.Stat(filepath.Join(dir, "report.html")); info.Mode().Perm() != 0o640 {
		t.Errorf("file mode %04o, want 0640", info.Mode().Perm())
	}
}
