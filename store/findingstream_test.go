package store

import (
	"context"
	"fmt"
	"os"
	"testing"

	"certgov/model"
)

// The runs of a walk's findings come back most urgent first and, within a
// severity and code, in the order they were added, whether held or
// spilled; the spill is private and removed.
func TestFindingRunsComeBackInOrder(t *testing.T) {
	for _, limit := range []int{1 << 20, 200} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			was := spillAfter
			spillAfter = limit
			defer func() { spillAfter = was }()
			runs := &findingRuns{byKey: map[runKey]*findingRun{}}
			codes := []struct {
				code     string
				severity model.Severity
			}{{"no-owner", model.SeverityMedium}, {"expired", model.SeverityCritical}, {"expiring", model.SeverityHigh}, {"dn-match-ambiguous", model.SeverityMedium}}
			for i := range 400 {
				c := codes[i%len(codes)]
				f := FoundFinding{Finding: model.Finding{Code: c.code, Severity: c.severity, Identity: fmt.Sprintf("id-%03d", i),
					Message: "message\x00with any bytes \u202e", Frameworks: []string{"NHI1:2025"}}, CertificateFile: fmt.Sprintf("/f/%d.pem", i)}
				if err := runs.add(f); err != nil {
					t.Fatal(err)
				}
			}
			if spilled := runs.dir != ""; spilled != (limit == 200) {
				t.Fatalf("spilled %v with a limit of %d bytes", spilled, limit)
			}
			if runs.dir != "" {
				if info, err := os.Stat(runs.dir); err != nil || info.Mode().Perm() != 0o700 {
					t.Errorf("spill folder: %v %v, want 0700", info.Mode(), err)
				}
			}
			var got []FoundFinding
			var ends []string
			err := runs.each(context.Background(), func(f FoundFinding) error {
				got = append(got, f)
				return nil
			}, func(k runKey) error {
				ends = append(ends, k.code)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ends) != "[expired expiring dn-match-ambiguous no-owner]" {
				t.Errorf("runs in order %v, want by severity, then code", ends)
			}
			if len(got) != 400 || got[0].Identity != "id-001" || got[1].Identity != "id-005" || got[399].Identity != "id-396" {
				t.Fatalf("%d findings, first %q, %q, last %q", len(got), got[0].Identity, got[1].Identity, got[len(got)-1].Identity)
			}
			if f := got[0]; f.Message != "message\x00with any bytes \u202e" || f.CertificateFile != "/f/1.pem" || f.Frameworks[0] != "NHI1:2025" || f.Severity != model.SeverityCritical {
				t.Errorf("read back %+v", f)
			}
			dir := runs.dir
			runs.remove()
			if _, err := os.Stat(dir); dir != "" && !os.IsNotExist(err) {
				t.Errorf("spill folder %s left behind: %v", dir, err)
			}
		})
	}
}
