package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"certgov/model"
)

// Evidence bundles: files an auditor checks with stock tools (sha256sum,
// openssl) and no copy of certgov. attestation.json is written item by
// item, so memory stays flat however large the campaign.

// BundleFiles are the files of a bundle that SHA256SUMS covers, in order.
var BundleFiles = []string{"attestation.json", "attestation.csv", "attestation.schema.json", "report.md", "report.html"}

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

// ExportOptions describe a bundle.
type ExportOptions struct {
	Dir      string
	Campaign string // empty: the current inventory and findings
	SignKey  crypto.Signer
	Policy   model.Policy
	Actor    string
	Now      time.Time
}

type exportItem struct {
	Identity    string            `json:"identity"`
	Fingerprint string            `json:"fingerprint_sha256"`
	Snapshot    json.RawMessage   `json:"snapshot_at_launch"`
	State       *model.RecordJSON `json:"state_at_export"`
	Findings    []model.Finding   `json:"findings_at_export"`
	Decision    string            `json:"decision"`
	Comment     string            `json:"comment"`
	Reviewer    string            `json:"reviewer"`
	DecidedAt   *time.Time        `json:"decided_at"`
}

// Export writes an evidence bundle and returns the files it wrote. It
// writes into a new folder beside o.Dir and renames it into place when
// everything is written: an interrupted export leaves the previous bundle
// as it was, a bundle never mixes files of two exports (no stale
// signature), and nothing is written through a symlink. An existing o.Dir
// is replaced only when it holds a bundle and nothing else.
func (s *Store) Export(ctx context.Context, o ExportOptions) (files []string, err error) {
	final := filepath.Clean(o.Dir)
	if err := replaceableBundle(final); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "."+filepath.Base(final)+".export-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	o.Dir = tmp
	// The bundle names every identity, owner and finding: like the
	// database, it stays readable by its owner alone (0700, files 0600)
	// until they hand it over.
	if files, err = s.writeBundle(ctx, o); err != nil {
		return nil, err
	}
	return files, moveIntoPlace(tmp, final)
}

// bundleFileMode is the mode of every file of a bundle.
const bundleFileMode = 0o600

// createBundleFile creates a new file in the (new, private) bundle folder.
func createBundleFile(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, bundleFileMode)
}

// bundleNames are the files a bundle may hold.
func bundleNames() map[string]bool {
	names := map[string]bool{"SHA256SUMS": true, "SHA256SUMS.sig": true, "signer.pub.pem": true}
	for _, f := range BundleFiles {
		names[f] = true
	}
	return names
}

// replaceableBundle accepts a path that does not exist yet, or a real
// folder (not a symlink) holding only bundle files.
func replaceableBundle(dir string) error {
	info, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s: exists and is not a folder (a symlink is not followed)", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := bundleNames()
	for _, e := range entries {
		if !names[e.Name()] || !e.Type().IsRegular() {
			return fmt.Errorf("%s: holds %s, which is not part of an evidence bundle; export to a new or empty folder", dir, e.Name())
		}
	}
	return nil
}

// moveIntoPlace renames the written bundle to its final name, replacing
// an earlier bundle there in two renames.
func moveIntoPlace(tmp, final string) error {
	if _, err := os.Lstat(final); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, final)
	}
	old := tmp + ".old"
	if err := os.Rename(final, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Rename(old, final)
		return err
	}
	return os.RemoveAll(old)
}

// writeBundle writes the bundle's files into o.Dir, a new empty folder.
func (s *Store) writeBundle(ctx context.Context, o ExportOptions) ([]string, error) {
	var campaign *Campaign
	if o.Campaign != "" {
		var err error
		if campaign, err = s.CampaignByName(ctx, o.Campaign); err != nil {
			return nil, err
		}
	}
	seq, head, err := s.AuditHead(ctx)
	if err != nil {
		return nil, err
	}

	jsonFile, err := createBundleFile(o.Dir, "attestation.json")
	if err != nil {
		return nil, err
	}
	defer jsonFile.Close()
	csvFile, err := createBundleFile(o.Dir, "attestation.csv")
	if err != nil {
		return nil, err
	}
	defer csvFile.Close()
	jw := bufio.NewWriter(jsonFile)
	cw := csv.NewWriter(csvFile)
	cw.Write([]string{"identity", "fingerprint_sha256", "decision", "comment", "reviewer", "decided_at", "owner", "trust_model", "findings"})

	header := map[string]any{
		"schema_version": 1, "kind": "inventory", "generated_at": o.Now.UTC().Format(time.RFC3339), "generated_by": o.Actor,
		"campaign": nil, "frameworks": frameworkMapping(), "audit_head": map[string]any{"seq": seq, "hash": head},
	}
	if campaign != nil {
		header["kind"] = "campaign"
		header["campaign"] = campaign
	}
	head1, _ := json.MarshalIndent(header, "", "  ")
	// Write the header object without its closing brace, then the items.
	jw.Write(bytes.TrimSuffix(bytes.TrimSpace(head1), []byte("}")))
	jw.WriteString(",\n  \"items\": [")
	stats := reportStats{Decisions: map[string]int{}, Findings: map[string]int{}}
	first := true
	emit := func(it *exportItem) error {
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
		owner, trust := "", ""
		if it.State != nil {
			owner, trust = it.State.Owner, it.State.TrustModel
		}
		decided := ""
		if it.DecidedAt != nil {
			decided = it.DecidedAt.UTC().Format(time.RFC3339)
		}
		var codes []string
		for _, f := range it.Findings {
			codes = append(codes, f.Code)
			stats.Findings[f.Code]++
		}
		row := []string{it.Identity, it.Fingerprint, it.Decision, it.Comment, it.Reviewer, decided, owner, trust, strings.Join(codes, ";")}
		for i := range row {
			row[i] = model.CSVCell(row[i]) // printable, never a formula
		}
		cw.Write(row)
		stats.add(it)
		return nil
	}
	if err := s.exportItems(ctx, o, campaign, emit); err != nil {
		return nil, err
	}
	jw.WriteString("\n  ]\n}\n")
	if err := jw.Flush(); err != nil {
		return nil, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "attestation.schema.json"), model.AttestationSchema, bundleFileMode); err != nil {
		return nil, err
	}
	title := "Inventory attestation"
	if campaign != nil {
		title = "Attestation campaign " + campaign.Name
	}
	if err := writeReports(o.Dir, title, head, stats); err != nil {
		return nil, err
	}
	files := append([]string(nil), BundleFiles...)
	sums, err := sha256Sums(o.Dir, files)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "SHA256SUMS"), sums, bundleFileMode); err != nil {
		return nil, err
	}
	files = append(files, "SHA256SUMS")
	if o.SignKey != nil {
		sig, pub, err := signSums(o.SignKey, sums)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(o.Dir, "SHA256SUMS.sig"), sig, bundleFileMode); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(o.Dir, "signer.pub.pem"), pub, bundleFileMode); err != nil {
			return nil, err
		}
		files = append(files, "SHA256SUMS.sig", "signer.pub.pem")
	}
	return files, nil
}

// exportItems streams the items: every identity's current state from the
// review, merged with the campaign's items when there is a campaign. Both
// come in the same order (name, then id), so nothing is held in memory.
func (s *Store) exportItems(ctx context.Context, o ExportOptions, campaign *Campaign, emit func(*exportItem) error) error {
	rv, err := s.NewReview(ctx)
	if err != nil {
		return err
	}
	if campaign == nil {
		return rv.Each(ctx, o.Policy, o.Now, func(r *model.Record, findings []model.Finding) error {
			if !r.Current {
				return nil
			}
			j := r.JSON()
			return emit(&exportItem{Identity: r.IdentityName, Fingerprint: r.FingerprintSHA256, State: &j, Findings: nonNilFindings(findings)})
		})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan *CampaignItem, 256)
	itemsErr := make(chan error, 1)
	go func() {
		defer close(items)
		itemsErr <- s.EachCampaignItem(ctx, campaign, func(it *CampaignItem) error {
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	toItem := func(ci *CampaignItem) *exportItem {
		return &exportItem{Identity: ci.Identity, Fingerprint: ci.Fingerprint, Snapshot: ci.Snapshot, Findings: []model.Finding{},
			Decision: ci.Decision, Comment: ci.Comment, Reviewer: ci.Reviewer, DecidedAt: ci.DecidedAt}
	}
	next, more := <-items
	err = rv.Each(ctx, o.Policy, o.Now, func(r *model.Record, findings []model.Finding) error {
		if !more || !r.Current || r.IdentityKey != next.IdentityKey {
			return nil
		}
		it := toItem(next)
		j := r.JSON()
		it.State, it.Findings = &j, nonNilFindings(findings)
		next, more = <-items
		return emit(it)
	})
	if err != nil {
		return err
	}
	for ; more; next, more = <-items {
		if err := emit(toItem(next)); err != nil {
			return err
		}
	}
	return <-itemsErr
}

func nonNilFindings(f []model.Finding) []model.Finding {
	if f == nil {
		return []model.Finding{}
	}
	return f
}

type reportStats struct {
	Items      int
	Decisions  map[string]int
	Findings   map[string]int
	Revoked    [][]string // revoke and needs-change items: identity, decision, reviewer, comment
	Exceptions [][]string // approved exceptions: identity, until, decided by, reason
}

func (st *reportStats) add(it *exportItem) {
	st.Items++
	d := it.Decision
	if d == "" {
		d = "(not a campaign)"
	}
	st.Decisions[d]++
	if (it.Decision == DecisionRevoke || it.Decision == DecisionNeedsChange) && len(st.Revoked) < 1000 {
		st.Revoked = append(st.Revoked, []string{it.Identity, it.Decision, it.Reviewer, it.Comment})
	}
	if it.State != nil && it.State.Exception != nil && it.State.Exception.State == model.ExceptionApproved && len(st.Exceptions) < 1000 {
		e := it.State.Exception
		st.Exceptions = append(st.Exceptions, []string{it.Identity, e.Until, e.DecidedBy, e.Reason})
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func markdownRow(cells []string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + model.MarkdownText(c) + " |")
	}
	return b.String() + "\n"
}

// htmlText is a value as HTML text: printable, then escaped.
func htmlText(s string) string { return html.EscapeString(model.Printable(s)) }

func htmlRow(cells []string) string {
	var b strings.Builder
	b.WriteString("<tr>")
	for _, c := range cells {
		b.WriteString("<td>" + htmlText(c) + "</td>")
	}
	return b.String() + "</tr>"
}

// writeReports writes report.md and a self-contained report.html with
// inline SVG bar charts of decisions and findings.
func writeReports(dir, title, head string, st reportStats) error {
	var md strings.Builder
	// Every value is escaped for its format: Markdown text, HTML text.
	fmt.Fprintf(&md, "# %s\n\n%d items. Audit trail head: `%s`\n\n## Decisions\n\n| decision | items |\n| --- | --- |\n", model.MarkdownText(title), st.Items, head)
	for _, k := range sortedKeys(st.Decisions) {
		fmt.Fprintf(&md, "| %s | %d |\n", model.MarkdownText(k), st.Decisions[k])
	}
	md.WriteString("\n## Findings at export\n\n| finding | count |\n| --- | --- |\n")
	for _, k := range sortedKeys(st.Findings) {
		fmt.Fprintf(&md, "| %s | %d |\n", model.MarkdownText(k), st.Findings[k])
	}
	md.WriteString("\n## Revoked and needs-change\n\n| identity | decision | reviewer | comment |\n| --- | --- | --- | --- |\n")
	for _, r := range st.Revoked {
		md.WriteString(markdownRow(r))
	}
	md.WriteString("\n## Approved exceptions\n\n| identity | until | decided by | reason |\n| --- | --- | --- | --- |\n")
	for _, r := range st.Exceptions {
		md.WriteString(markdownRow(r))
	}
	md.WriteString("\nCheck this bundle: `sha256sum -c SHA256SUMS`, then the signature (see the README).\n")
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), bundleFileMode); err != nil {
		return err
	}
	var h strings.Builder
	fmt.Fprintf(&h, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em}@media print{body{margin:0}}</style></head><body>", htmlText(title))
	fmt.Fprintf(&h, "<h1>%s</h1><p>%d items. Audit trail head: <code>%s</code></p>", htmlText(title), st.Items, head)
	h.WriteString("<h2>Decisions</h2>" + svgBars(st.Decisions) + "<h2>Findings at export</h2>" + svgBars(st.Findings))
	h.WriteString("<h2>Revoked and needs-change</h2><table><tr><th>identity</th><th>decision</th><th>reviewer</th><th>comment</th></tr>")
	for _, r := range st.Revoked {
		h.WriteString(htmlRow(r))
	}
	h.WriteString("</table><h2>Approved exceptions</h2><table><tr><th>identity</th><th>until</th><th>decided by</th><th>reason</th></tr>")
	for _, r := range st.Exceptions {
		h.WriteString(htmlRow(r))
	}
	h.WriteString("</table></body></html>\n")
	return os.WriteFile(filepath.Join(dir, "report.html"), []byte(h.String()), bundleFileMode)
}

func svgBars(counts map[string]int) string {
	keys := sortedKeys(counts)
	most := 1
	for _, k := range keys {
		most = max(most, counts[k])
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="%d" role="img">`, 22*len(keys)+4)
	for i, k := range keys {
		w := 380 * counts[k] / most
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="13">%s</text><rect x="220" y="%d" width="%d" height="16" fill="#5a3fc0"/><text x="%d" y="%d" font-size="13">%d</text>`,
			22*i+15, htmlText(k), 22*i+3, max(1, w), 226+w, 22*i+15, counts[k])
	}
	b.WriteString("</svg>")
	return b.String()
}

// sha256Sums writes the files' sums in sha256sum's format.
func sha256Sums(dir string, files []string) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), f)
	}
	return b.Bytes(), nil
}

// signSums signs SHA256SUMS the way openssl verifies it: ECDSA and RSA
// over its SHA-256 (openssl dgst -sha256 -verify), Ed25519 over the bytes
// (openssl pkeyutl -verify -rawin).
func signSums(key crypto.Signer, sums []byte) (sig, pubPEM []byte, err error) {
	digest := sha256.Sum256(sums)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, k, digest[:])
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, sums)
	default:
		return nil, nil, fmt.Errorf("signing key: %T is not ECDSA, RSA or Ed25519", key)
	}
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return sig, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// VerifyBundle checks a bundle: every sum in SHA256SUMS, the signature
// when there is one (against pubPEM, else the bundle's own signer.pub.pem,
// which proves integrity but not origin), and attestation.json against the
// schema. It returns what it checked, or an error naming what fails.
func VerifyBundle(ctx context.Context, dir string, pubPEM []byte, requireSignature bool) ([]string, error) {
	var checked []string
	sums, err := readBundleFile(dir, "SHA256SUMS", 1<<20)
	if err != nil {
		return nil, err
	}
	// The signature first: nothing in the folder is trusted before the
	// list of sums is.
	sig, err := readBundleFile(dir, "SHA256SUMS.sig", 64<<10)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if pubPEM != nil || requireSignature {
			return nil, errors.New("SHA256SUMS.sig: missing, but a signature is required")
		}
		checked = append(checked, "no signature in this bundle (integrity only)")
	case err != nil:
		return nil, err
	default:
		source := "the key given"
		if pubPEM == nil {
			if pubPEM, err = readBundleFile(dir, "signer.pub.pem", 64<<10); err != nil {
				return nil, err
			}
			source = "the bundle's own signer.pub.pem (integrity only: compare it with the signer's published key)"
		}
		if err := verifySignature(pubPEM, sums, sig); err != nil {
			return nil, fmt.Errorf("SHA256SUMS.sig: %w", err)
		}
		checked = append(checked, "signature ok with "+source)
	}
	listed := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok || name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." || listed[name] {
			return nil, fmt.Errorf("SHA256SUMS line %d: not \"HASH  FILE\" for a file of this folder", n+1)
		}
		listed[name] = true
		got, err := hashBundleFile(ctx, dir, name)
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("%s: SHA-256 does not match SHA256SUMS", name)
		}
		checked = append(checked, name+": sum ok")
	}
	// Nothing may be added to, or left out of, what the sums cover.
	for _, f := range BundleFiles {
		if !listed[f] {
			return nil, fmt.Errorf("SHA256SUMS does not cover %s", f)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if name := e.Name(); !listed[name] && name != "SHA256SUMS" && name != "SHA256SUMS.sig" && name != "signer.pub.pem" {
			return nil, fmt.Errorf("%s: in the folder but not in SHA256SUMS", name)
		}
	}
	doc, size, err := openBundleFile(dir, "attestation.json")
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	if size > maxAttestationSize {
		return nil, fmt.Errorf("attestation.json: larger than certgov writes (%d MiB)", maxAttestationSize>>20)
	}
	if err := model.ValidateJSONFrom(model.AttestationSchema, contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	return append(checked, "attestation.json: valid against the schema"), nil
}

// openBundleFile opens a file of the bundle folder itself: a regular
// file, not a symlink (checked before and after opening, so that it
// cannot be swapped in between), opened without blocking.
func openBundleFile(dir, name string) (*os.File, int64, error) {
	path := filepath.Join(dir, name)
	before, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !before.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file (symlinks are not followed)", name)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	after, err := f.Stat()
	if err != nil || !os.SameFile(before, after) {
		f.Close()
		return nil, 0, fmt.Errorf("%s: changed while it was being opened", name)
	}
	return f, after.Size(), nil
}

func readBundleFile(dir, name string, limit int64) ([]byte, error) {
	f, size, err := openBundleFile(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: larger than a bundle's %s can be", name, name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s: larger than a bundle's %s can be", name, name)
	}
	return data, err
}

// maxAttestationSize bounds the attestation.json verify reads: about ten
// times that of 100,000 certificates. It is validated as a stream, so
// memory holds one value of it at a time.
const maxAttestationSize = 2 << 30

// contextReader stops reading when ctx is done, so that hashing or
// validating a huge file ends on Ctrl-C.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hashBundleFile is the SHA-256 of a bundle file, streamed.
func hashBundleFile(ctx context.Context, dir, name string) (string, error) {
	f, _, err := openBundleFile(dir, name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, contextReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func verifySignature(pubPEM, sums, sig []byte) error {
	block, _ := pem.Decode(pubPEM)
	if block == nil {
		return errors.New("public key: not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	digest := sha256.Sum256(sums)
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest[:], sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, sums, sig)
	default:
		return fmt.Errorf("public key: %T is not ECDSA, RSA or Ed25519", pub)
	}
	if !ok {
		return errors.New("does not verify")
	}
	return nil
}
