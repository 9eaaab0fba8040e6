package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"certgov/model"
	"certgov/store"
)

// frameworkMapping names, per finding code, the framework identifiers.
func frameworkMapping() map[string]any {
	codes := map[string][]string{}
	for code, t := range model.FindingTypes {
		codes[code] = t.Frameworks
	}
	return map[string]any{
		"owasp_nhi_top10_2025": "https://owasp.org/www-project-non-human-identities-top-10/2025/",
		"nist_csf_2_0":         "PR.AA-01..05, ID.AM-08, GV.RR-02, GV.PO-02",
		"nist_sp_800_207":      "§2.1 tenets 3, 4 and 6: per-session access, dynamic policy including service identity, authentication enforced and re-evaluated",
		"findings":             codes,
	}
}

// attestationSchemaVersion is attestation.json's schema_version: 3 writes
// absent values (no decision, comment, reviewer, owner, closer) as null,
// where 2 wrote "". Verify accepts both.
const attestationSchemaVersion = 3

// attestationItem is one item of attestation.json.
type attestationItem struct {
	Identity    string            `json:"identity"`
	Fingerprint string            `json:"fingerprint_sha256"`
	Snapshot    json.RawMessage   `json:"snapshot_at_launch"`
	State       *model.RecordJSON `json:"state_at_export"`
	Findings    []model.Finding   `json:"findings_at_export"`
	// Usage is what each server's access logs said of it at export: when
	// last presented (null: never while they cover), how often.
	Usage         []model.ServerUsage `json:"usage_at_export"`
	Decision      model.Decision      `json:"decision"`
	Comment       string              `json:"comment"`
	Reviewer      string              `json:"reviewer"`
	ReviewerRunBy string              `json:"reviewer_run_by,omitempty"`
	// ReviewerFor is whom a team database's login decided for (--as).
	ReviewerFor string     `json:"reviewer_on_behalf_of,omitempty"`
	DecidedAt   *time.Time `json:"decided_at"`
}

// MarshalJSON writes what the item does not have (a decision, a comment,
// a reviewer) as null.
func (it attestationItem) MarshalJSON() ([]byte, error) {
	type plain attestationItem
	return json.Marshal(struct {
		plain
		Decision model.OptionalString `json:"decision"`
		Comment  model.OptionalString `json:"comment"`
		Reviewer model.OptionalString `json:"reviewer"`
	}{plain(it), model.OptionalString(it.Decision), model.OptionalString(it.Comment), model.OptionalString(it.Reviewer)})
}

// auditLog says which events audit.jsonl holds.
type auditLog struct {
	File      string `json:"file"`
	FirstSeq  int64  `json:"first_seq"`
	LastSeq   int64  `json:"last_seq"`
	PrevHash  string `json:"prev_hash"` // the hash before the first event (64 zeros from the start)
	Canonical string `json:"canonical"`
}

// exceptionDecisionJSON is one exception decision in attestation.json.
type exceptionDecisionJSON struct {
	Identity    string               `json:"identity"`
	Fingerprint string               `json:"fingerprint_sha256"`
	State       model.ExceptionState `json:"state"`
	Until       string               `json:"until,omitempty"`
	Reason      string               `json:"reason"`
	DecidedBy   string               `json:"decided_by"`
	RunBy       string               `json:"decided_by_run_by,omitempty"`
	For         string               `json:"decided_on_behalf_of,omitempty"`
	DecidedAt   string               `json:"decided_at"`
	Status      string               `json:"status_at_export"`
}

// writeBundle writes the bundle's files into o.Dir, a new empty folder.
// It refuses a trail that does not chain, and, unless AllowUnverified,
// governance state the trail does not explain: evidence must not vouch
// for a row written behind certgov's back.
func writeBundle(ctx context.Context, s *store.Store, o Options) ([]string, error) {
	events, diffs, err := exportable(ctx, s, o)
	if err != nil {
		return nil, err
	}
	var campaign *store.Campaign
	if o.Campaign != "" {
		if campaign, err = s.CampaignByName(ctx, o.Campaign); err != nil {
			return nil, err
		}
	}
	trail := readTrail(events, campaign)
	rep := newReport(o, campaign, trail, diffs)
	defer rep.close()
	if campaign != nil {
		if rep.paces, err = s.CampaignPaces(ctx, campaign); err != nil {
			return nil, err
		}
	}
	if rep.auditLog, err = writeAuditLog(&o, events); err != nil {
		return nil, err
	}
	if err := writeAttestation(ctx, s, &o, rep, campaign, diffs); err != nil {
		return nil, err
	}
	if err := writeBundleFile(&o, "attestation.schema.json", model.AttestationSchema); err != nil {
		return nil, err
	}
	return sealBundle(&o, rep)
}

// exportable reads the trail and checks what the bundle will quote: a
// trail that chains, governance state it explains (unless
// AllowUnverified: then the differences are returned, for the report to
// show), and derived tables that are what linking the facts gives.
func exportable(ctx context.Context, s *store.Store, o Options) ([]store.Event, []store.StateDifference, error) {
	events, diffs, err := s.VerifyTrail(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("export refused: %w", err)
	}
	derived, err := s.VerifyDerived(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("export refused: %w", err)
	}
	for _, d := range derived {
		diffs = append(diffs, d.AsState())
	}
	if len(diffs) > 0 && !o.AllowUnverified {
		return nil, nil, &UnverifiedError{Differences: diffs}
	}
	return events, diffs, nil
}

// writeAttestation writes attestation.json and attestation.csv, one item
// per identity (or campaign item) as the store yields them, and adds each
// to the report.
func writeAttestation(ctx context.Context, s *store.Store, o *Options, rep *report, campaign *store.Campaign, diffs []store.StateDifference) error {
	jsonFile, err := createBundleFile(o, "attestation.json")
	if err != nil {
		return err
	}
	defer jsonFile.Close()
	csvFile, err := createBundleFile(o, "attestation.csv")
	if err != nil {
		return err
	}
	defer csvFile.Close()
	jw := bufio.NewWriter(jsonFile)
	cw := csv.NewWriter(csvFile)
	cw.Write([]string{"identity", "fingerprint_sha256", "decision", "comment", "reviewer", "reviewer_run_by", "decided_at", "owner", "trust_model", "findings_at_launch", "findings_at_export", "last_seen_at_export"})

	decisions, err := s.ExceptionDecisions(ctx)
	if err != nil {
		return err
	}
	trail := rep.trail
	exceptions := rep.addExceptions(decisions, trail)
	var unverified []string
	for _, d := range diffs {
		unverified = append(unverified, d.String())
	}
	header := map[string]any{
		"schema_version": attestationSchemaVersion, "kind": "inventory", "generated_at": o.Now.UTC().Format(time.RFC3339), "generated_by": o.Actor,
		"generated_by_run_by": store.RunningAs(), "campaign": nil, "frameworks": frameworkMapping(),
		"audit_head": map[string]any{"seq": rep.auditLog.LastSeq, "hash": trail.head}, "audit_log": rep.auditLog,
		"exception_decisions": exceptions, "unverified": nonNil(unverified), "reviewers": nonNil(rep.paces),
	}
	if campaign != nil {
		header["kind"] = "campaign"
		header["campaign"] = campaign
	}
	head, _ := json.MarshalIndent(header, "", "  ")
	// The header object without its closing brace, then the items as they
	// come, then what is known only at the end.
	jw.Write(bytes.TrimSuffix(bytes.TrimSpace(head), []byte("}")))
	jw.WriteString(",\n  \"items\": [")
	first := true
	entryFindings, err := s.EachExportRecord(ctx, o.Policy, o.Now, campaign, func(r *model.Record, findings []model.Finding, ci *store.CampaignItem) error {
		it := attestationItemOf(r, findings, ci, trail)
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if !first {
			jw.WriteString(",")
		}
		first = false
		jw.WriteString("\n    ")
		jw.Write(b)
		row := rep.addItem(it)
		for i := range row {
			row[i] = model.CSVCell(row[i]) // printable, never a formula
		}
		cw.Write(row)
		return nil
	})
	if err != nil {
		return err
	}
	rep.addEntryFindings(entryFindings)
	entryJSON, _ := json.Marshal(nonNil(entryFindings))
	jw.WriteString("\n  ],\n  \"entry_findings\": ")
	jw.Write(entryJSON)
	complete, _ := json.Marshal(map[string]any{"complete": rep.complete(), "undecided": rep.undecided})
	jw.WriteString(",\n  \"completeness\": ")
	jw.Write(complete)
	jw.WriteString("\n}\n")
	if err := jw.Flush(); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// attestationItemOf is one item of the attestation: an identity's current
// record, or a campaign item with its decision and who made it.
func attestationItemOf(r *model.Record, findings []model.Finding, ci *store.CampaignItem, trail *trailInfo) *attestationItem {
	it := &attestationItem{Findings: nonNil(findings), Usage: []model.ServerUsage{}}
	if r != nil {
		j := r.JSON()
		it.Identity, it.Fingerprint, it.State = r.IdentityName, r.FingerprintSHA256, &j
		it.Usage = nonNil(r.Usage)
	}
	if ci != nil {
		it.Identity, it.Fingerprint, it.Snapshot = ci.Identity, ci.Fingerprint, ci.Snapshot
		it.Decision, it.Comment, it.Reviewer, it.DecidedAt = ci.Decision, ci.Comment, ci.Reviewer, ci.DecidedAt
		if e := trail.decisions[ci.Fingerprint]; e != nil && ci.DecidedAt != nil {
			it.ReviewerRunBy, it.ReviewerFor = e.RunBy(), e.OnBehalfOf
		}
	}
	return it
}

// sealBundle writes the reports, then the sums of every file and, with a
// signing key, their signature and the public key.
func sealBundle(o *Options, rep *report) ([]string, error) {
	// The signer's key fingerprint goes into the sign-off, so it is known
	// before the reports are written and the sums taken.
	if o.SignKey != nil {
		var err error
		if rep.signer, err = KeyFingerprint(o.SignKey.Public()); err != nil {
			return nil, err
		}
	}
	if err := rep.write(o); err != nil {
		return nil, err
	}
	files := append([]string(nil), BundleFiles...)
	sums, err := sha256Sums(o.Dir, files)
	if err != nil {
		return nil, err
	}
	if err := writeBundleFile(o, "SHA256SUMS", sums); err != nil {
		return nil, err
	}
	files = append(files, "SHA256SUMS")
	if o.SignKey != nil {
		sig, pub, err := signSums(o.SignKey, sums)
		if err != nil {
			return nil, err
		}
		if err := writeBundleFile(o, "SHA256SUMS.sig", sig); err != nil {
			return nil, err
		}
		if err := writeBundleFile(o, "signer.pub.pem", pub); err != nil {
			return nil, err
		}
		files = append(files, "SHA256SUMS.sig", "signer.pub.pem")
	}
	return files, nil
}

// UnverifiedError refuses an export: the audit trail does not explain
// these governance values.
type UnverifiedError struct {
	Differences []store.StateDifference
}

func (e *UnverifiedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "export refused: %d governance values are not what the audit trail records (changed behind certgov's back?):", len(e.Differences))
	for i, d := range e.Differences {
		if i == 10 {
			fmt.Fprintf(&b, "\n  … and %d more (certgov audit verify lists them)", len(e.Differences)-10)
			break
		}
		b.WriteString("\n  " + d.String())
	}
	b.WriteString("\nexport with --allow-unverified to write a bundle that says so")
	return b.String()
}

// writeAuditLog writes audit.jsonl: from event o.Since (or the first) to
// the head, one event per line in the canonical form its hash covers.
func writeAuditLog(o *Options, events []store.Event) (auditLog, error) {
	log := auditLog{File: "audit.jsonl", PrevHash: store.GenesisHash(), FirstSeq: 1,
		Canonical: "one JSON array per line, prev_hash last; hash = SHA-256(prev_hash as 64 hex characters + the line's bytes)"}
	f, err := createBundleFile(o, "audit.jsonl")
	if err != nil {
		return log, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	if o.Since > 1 {
		log.FirstSeq = o.Since
	}
	if o.Since > int64(len(events)) {
		return log, fmt.Errorf("--since %d: the trail has %d events", o.Since, len(events))
	}
	for i := range events {
		e := &events[i]
		if e.Seq < log.FirstSeq {
			continue
		}
		if e.Seq == log.FirstSeq {
			log.PrevHash = e.PrevHash
		}
		w.Write(e.Canonical())
		w.WriteByte('\n')
		log.LastSeq = e.Seq
	}
	if len(events) == 0 {
		log.FirstSeq = 0
	}
	if err := w.Flush(); err != nil {
		return log, err
	}
	return log, f.Close()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
