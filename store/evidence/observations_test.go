package evidence

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"certgov/model"
	"certgov/store"
	"certgov/store/storetest"
)

// The reports open with what an auditor must know, before any table: an
// owner certifying their own identity, a run of decisions too fast to have
// read the items, a decision changed before the close and by whom,
// revokes still admitted at export, items closed undecided and items
// reassigned; in HTML each names its row by a link that lands on it.
func TestReportStatesItsObservationsFirst(t *testing.T) {
	storetest.SQLiteOnly(t, "names who acts by --as; the observations read the trail the same on both")
	ctx := context.Background()
	s := demoStore(t)
	now := time.Now().UTC()
	at := func(actor, reason string, sec int) store.Change {
		return store.Change{Actor: actor, Reason: reason, At: now.Add(time.Duration(sec) * time.Second)}
	}
	// dave owns one partner at launch, and certifies it himself.
	const own = "partner-acme-logistics"
	if _, err := s.SetOwner(ctx, own, "dave@example.com", at("erin", "", 0)); err != nil {
		t.Fatal(err)
	}
	f, _ := model.ParseFilter("selfsigned !ca")
	if _, err := s.StartCampaign(ctx, "Q4", time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), at("erin", "", 0)); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CampaignByName(ctx, "Q4")
	var names, refs []string // a name may be ambiguous: decided by fingerprint
	s.EachCampaignItem(ctx, c, func(it *store.CampaignItem) error {
		if it.Identity != own {
			names, refs = append(names, it.Identity), append(refs, it.Fingerprint)
		}
		return nil
	})
	if len(names) < 14 {
		t.Fatalf("%d items", len(names))
	}
	if _, err := s.Decide(ctx, "Q4", own, model.DecisionCertify, "I know it", at("dave", "", 5), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reassign(ctx, "Q4", refs[1], "alice", at("erin", "alice knows the partners", 2)); err != nil {
		t.Fatal(err)
	}
	// alice revokes eleven within a minute, and takes one back.
	for i, ref := range refs[1:12] {
		if _, err := s.Decide(ctx, "Q4", ref, model.DecisionRevoke, "partner left", at("alice", "", 10+i), model.DefaultPolicy()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Decide(ctx, "Q4", refs[2], model.DecisionCertify, "contract renewed", at("alice", "", 30), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseCampaign(ctx, "Q4", true, at("carol", "the rest carried to Q1", 60), model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Export(ctx, s, Options{Dir: dir, Campaign: "Q4", Policy: model.DefaultPolicy(), Actor: "auditor", Now: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	text := string(md)
	first := strings.Index(text, "## Observations")
	if first < 0 || first > strings.Index(text, "| Scope |") || first > strings.Index(text, "## Progress") {
		t.Fatalf("the observations do not come first:\n%s", text)
	}
	observations := text[first:strings.Index(text, "| Scope |")]
	if !strings.Contains(text, "| Scope | self-signed; and not: acts as a CA (filter: selfsigned !ca) |") {
		t.Errorf("the scope is not in words:\n%s", text)
	}
	for _, want := range []string{
		"Decisions faster than items can be read (10 or more within a minute)** (1)",
		"alice made 11 decisions within one minute from ",
		"Decisions changed before the campaign closed** (1)",
		names[2] + ": revoke by alice (run by ",
		", then certify by alice (run by ",
		"Revoked, yet still admitted at export**",
		"Separation of duties: identities certified by their own owner** (1)",
		own + ": owned by dave@example.com at launch, certified by dave",
		"Items closed undecided (--force by carol)** (" + strconv.Itoa(len(names)-11) + ")",
		"Items reassigned to another reviewer** (1)",
		names[1] + ": from - to alice by erin (run by ",
		"(alice knows the partners)",
	} {
		if !strings.Contains(observations, want) {
			t.Errorf("the observations lack %q:\n%s", want, observations)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	links := regexp.MustCompile(`<a href="#(item-\d+)">`).FindAllSubmatch(page, -1)
	if len(links) < 4 {
		t.Fatalf("the HTML observations link %d rows", len(links))
	}
	for _, l := range links {
		if !strings.Contains(string(page), `<tr id="`+string(l[1])+`">`) {
			t.Errorf("the observation's link #%s lands on no row", l[1])
		}
	}
	if strings.Index(string(page), `id="observations"`) > strings.Index(string(page), `id="header"`) {
		t.Error("the HTML report's observations do not come first")
	}
}

// A campaign its only decider closes says so first.
func TestReportNamesASoleCloser(t *testing.T) {
	ctx := context.Background()
	s := demoStore(t)
	now := time.Now().UTC()
	alice := store.Change{Actor: "alice", At: now}
	f, _ := model.ParseFilter("partner-a")
	if _, err := s.StartCampaign(ctx, "Q1", time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), alice); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CampaignByName(ctx, "Q1")
	var refs []string
	s.EachCampaignItem(ctx, c, func(it *store.CampaignItem) error {
		refs = append(refs, it.Fingerprint)
		return nil
	})
	for _, ref := range refs {
		if _, err := s.Decide(ctx, "Q1", ref, model.DecisionRevoke, "partner left", alice, model.DefaultPolicy()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseCampaign(ctx, "Q1", false, alice, model.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Export(ctx, s, Options{Dir: dir, Campaign: "Q1", Policy: model.DefaultPolicy(), Actor: "auditor", Now: now}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	want := "Separation of duties: the closer is the only decider** (1)\n  - " + actorName(s, "alice") + " made all " + strconv.Itoa(len(refs)) + " decisions and closed the campaign"
	if len(refs) == 0 || !strings.Contains(string(md), want) {
		t.Errorf("report.md lacks %q:\n%.1500s", want, md)
	}
}

// actorName is whom the trail names for a change made as name: the
// name on SQLite, the database login on PostgreSQL.
func actorName(s *store.Store, name string) string {
	if login := s.Login(); login != "" {
		return login
	}
	return name
}

// Each item carries what the servers' access logs said of it at export,
// per server, in attestation.json and in the reports' tables; a
// certification of trust the logs show unused is an observation.
func TestReportStatesUsage(t *testing.T) {
	ctx := context.Background()
	s := demoStore(t)
	now := time.Now().UTC()
	f, _ := model.ParseFilter("partner-")
	if _, err := s.StartCampaign(ctx, "Usage", time.Time{}, f, model.Assignment{}, model.DefaultPolicy(), store.Change{Actor: "erin", At: now}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"partner-umbrella-health", "partner-wonka-retail", "partner-duff-beverages"} {
		if _, err := s.Decide(ctx, "Usage", name, model.DecisionCertify, "still needed", store.Change{Actor: "alice", At: now.Add(time.Minute)}, model.DefaultPolicy()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := Export(ctx, s, Options{Dir: dir, Campaign: "Usage", Policy: model.DefaultPolicy(), Actor: "auditor", Now: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var attestation struct {
		Items []struct {
			Identity string              `json:"identity"`
			Usage    []model.ServerUsage `json:"usage_at_export"`
		} `json:"items"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "attestation.json"))
	if err := json.Unmarshal(data, &attestation); err != nil {
		t.Fatal(err)
	}
	usage := map[string][]model.ServerUsage{}
	for _, it := range attestation.Items {
		usage[it.Identity] = it.Usage
	}
	if u := usage["partner-umbrella-health"]; len(u) != 1 || u[0].LastSeen != nil || !strings.Contains(u[0].Server, "partners.partner-edge.example") {
		t.Errorf("partner-umbrella-health: %+v", u)
	}
	if u := usage["partner-duff-beverages"]; len(u) != 1 || u[0].LastSeen == nil || u[0].Count == 0 {
		t.Errorf("partner-duff-beverages: %+v", u)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	text := string(md)
	observations := text[strings.Index(text, "## Observations"):strings.Index(text, "| Scope |")]
	for _, want := range []string{"Certified, yet the servers' access logs show it unused (unused-trust at export)** (2)",
		"partner-umbrella-health: certified by ", "partner-wonka-retail: certified by ", "never show it"} {
		if !strings.Contains(observations, want) {
			t.Errorf("the observations lack %q:\n%s", want, observations)
		}
	}
	if strings.Contains(observations, "partner-duff-beverages") {
		t.Errorf("a partner seen lately is observed:\n%s", observations)
	}
	if !strings.Contains(text, "| last seen at export |") || !strings.Contains(text, "partners.partner-edge.example:8444 never (logs ") {
		t.Errorf("the table lacks the usage:\n%s", text)
	}
	csvText, _ := os.ReadFile(filepath.Join(dir, "attestation.csv"))
	if !strings.Contains(string(csvText), "last_seen_at_export") || !strings.Contains(string(csvText), " last 20") {
		t.Errorf("attestation.csv lacks the usage:\n%s", csvText)
	}
}
