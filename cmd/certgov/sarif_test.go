package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// findings -o sarif and check -o sarif write SARIF 2.1.0 that the
// official schema (OASIS, errata 01; validated by Python's jsonschema, an
// implementation of its own) accepts, with one rule per finding code and
// results on the configuration lines that cause them.
func TestSARIF(t *testing.T) {
	home := isolate(t)
	demoRun := certgov(t, "demo", "--no-tui")
	if demoRun.code != 0 {
		t.Fatal(demoRun.stderr)
	}
	estate := demoEstateDir(demoRun.stdout)
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	findings := certgov(t, "findings", "-o", "sarif")
	if findings.code != 0 {
		t.Fatalf("findings -o sarif: %d %s", findings.code, findings.stderr)
	}
	validateSARIF(t, findings.stdout)
	check := certgov(t, "check", "--fail-on", "spoofable-name-gate,expired", "-o", "sarif")
	if check.code != 1 {
		t.Fatalf("check -o sarif exits %d, want 1 (findings to fail on)", check.code)
	}
	validateSARIF(t, check.stdout)

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(check.stdout), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	codes := map[string]bool{}
	for _, r := range run.Results {
		codes[r.RuleID] = true
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Level != "error" {
			t.Errorf("result %s: rule index %d, level %s", r.RuleID, r.RuleIndex, r.Level)
		}
	}
	if len(codes) != 2 {
		t.Errorf("check --fail-on two codes reports %v", codes)
	}
	// The spoofable Apache host is reported on its <VirtualHost> line.
	conf := filepath.Join(estate, "gateways", "portal", "apache2.conf")
	want := 0
	for i, line := range strings.Split(string(mustRead(t, conf)), "\n") {
		if strings.HasPrefix(line, "<VirtualHost *:8443>") {
			want = i + 1
		}
	}
	found := false
	for _, r := range run.Results {
		if r.RuleID != "spoofable-name-gate" {
			continue
		}
		loc := r.Locations[0].PhysicalLocation
		found = strings.HasSuffix(loc.ArtifactLocation.URI, "/gateways/portal/apache2.conf") && loc.Region.StartLine == want
		if !found {
			t.Errorf("spoofable-name-gate located at %s line %d, want apache2.conf line %d", loc.ArtifactLocation.URI, loc.Region.StartLine, want)
		}
	}
	if !found {
		t.Error("no spoofable-name-gate result")
	}
}

// validateSARIF validates a SARIF log against the official 2.1.0 schema
// with Python's jsonschema (Debian's python3-jsonschema).
func validateSARIF(t *testing.T, doc string) {
	t.Helper()
	if exec.Command("python3", "-c", "import jsonschema").Run() != nil {
		if os.Getenv("CERTGOV_CI") != "" {
			t.Fatal("python3-jsonschema is missing on CI (.ci/run installs it)")
		}
		t.Skip("no python3 jsonschema here")
	}
	file := filepath.Join(t.TempDir(), "log.sarif")
	os.WriteFile(file, []byte(doc), 0o600)
	validate := exec.Command("python3", "-c", `import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(log))
for e in errors[:10]:
    print("/".join(map(str, e.absolute_path)), e.message)
sys.exit(1 if errors else 0)`, filepath.Join("testdata", "sarif-schema-2.1.0.json"), file)
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("the SARIF log does not validate against the 2.1.0 schema: %v\n%s", err, out)
	}
}
