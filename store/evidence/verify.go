package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"certgov/model"
	"certgov/store"
)

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
	checked = append(checked, "attestation.json: valid against the schema")
	if _, err := doc.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := model.CheckUniqueKeys(contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	if _, err := doc.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var quoted struct {
		Head struct {
			Seq  int64  `json:"seq"`
			Hash string `json:"hash"`
		} `json:"audit_head"`
		Log      auditLog `json:"audit_log"`
		Campaign *struct {
			Name string `json:"name"`
		} `json:"campaign"`
		Exceptions []exceptionDecisionJSON `json:"exception_decisions"`
	}
	if err := topLevelFields(contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}, &quoted, "audit_head", "audit_log", "campaign", "exception_decisions"); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	campaign := ""
	if quoted.Campaign != nil {
		campaign = quoted.Campaign.Name
	}
	n, trail, err := verifyAuditLog(ctx, dir, quoted.Log.PrevHash, quoted.Log.FirstSeq, quoted.Head.Seq, quoted.Head.Hash, campaign)
	if err != nil {
		return nil, fmt.Errorf("audit.jsonl: %w", err)
	}
	checked = append(checked, fmt.Sprintf("audit.jsonl: %d events chain from %s to the head attestation.json quotes (%s)", n, model.ShortFingerprint(quoted.Log.PrevHash), model.ShortFingerprint(quoted.Head.Hash)))
	if err := crossCheckExceptions(quoted.Exceptions, trail.exceptions, quoted.Log.FirstSeq <= 1); err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	checked = append(checked, fmt.Sprintf("attestation.json: its %d exception decisions are the ones audit.jsonl records", len(quoted.Exceptions)))
	if campaign == "" {
		return checked, nil
	}
	if _, err := doc.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	items, err := crossCheckItems(contextReader{ctx, io.LimitReader(doc, maxAttestationSize)}, trail.decided, quoted.Log.FirstSeq <= 1)
	if err != nil {
		return nil, fmt.Errorf("attestation.json: %w", err)
	}
	return append(checked, fmt.Sprintf("attestation.json: the decisions of its %d items are the ones audit.jsonl records", items)), nil
}

// trailDecisions are the decisions audit.jsonl records: the last one on
// each certificate in the bundle's campaign, and every exception
// decision in order.
type trailDecisions struct {
	decided    map[string]decideEvent
	exceptions []exceptionEvent
}

// exceptionEvent is an exception decision as audit.jsonl records it.
type exceptionEvent struct {
	fingerprint, after, actor, reason string
	at                                int64
}

// exceptionActions are the events that record exception decisions.
var exceptionActions = map[string]bool{"exception.approve": true, "exception.reject": true, "exception.revoke": true}

// crossCheckExceptions checks attestation.json's exception decisions
// (every one, oldest first) against the exception events of audit.jsonl:
// the same decisions in the same order, each with its certificate, state
// (and end), decider, time and reason. When audit.jsonl starts later
// than the first event, its events are the last decisions listed.
func crossCheckExceptions(listed []exceptionDecisionJSON, events []exceptionEvent, complete bool) error {
	if len(events) > len(listed) || (complete && len(events) != len(listed)) {
		return fmt.Errorf("it lists %d exception decisions, audit.jsonl records %d", len(listed), len(events))
	}
	offset := len(listed) - len(events)
	for i, e := range events {
		d := listed[offset+i]
		after := string(d.State)
		if d.Until != "" {
			after += " until " + d.Until
		}
		at, err := time.Parse(time.RFC3339, d.DecidedAt)
		if err != nil || d.Fingerprint != e.fingerprint || after != e.after || d.DecidedBy != e.actor || at.Unix() != e.at || d.Reason != e.reason {
			return fmt.Errorf("exception decision %d (%s): %s by %s is not the decision audit.jsonl records (%s by %s at %s)", offset+i+1, model.Printable(d.Identity),
				after, model.Printable(d.DecidedBy), e.after, model.Printable(e.actor), time.Unix(e.at, 0).UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// decideEvent is a campaign decision as audit.jsonl records it.
type decideEvent struct {
	decision, actor string
	at              int64
}

// crossCheckItems reads the items of attestation.json and checks each
// decision, its decider and its time against the last decision audit.jsonl
// records for the item's certificate in the campaign: an item without a
// decision has none there. When audit.jsonl starts later than the first
// event (export --since), a decision made before it cannot be checked.
func crossCheckItems(r io.Reader, decided map[string]decideEvent, complete bool) (int, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if tok != "items" {
			if err := model.SkipJSON(dec); err != nil {
				return 0, err
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return 0, errors.New("items: not an array")
		}
		n := 0
		for ; dec.More(); n++ {
			var it struct {
				Identity    string         `json:"identity"`
				Fingerprint string         `json:"fingerprint_sha256"`
				Decision    model.Decision `json:"decision"`
				Reviewer    string         `json:"reviewer"`
				DecidedAt   *time.Time     `json:"decided_at"`
			}
			if err := dec.Decode(&it); err != nil {
				return n, fmt.Errorf("items[%d]: %w", n, err)
			}
			e, ok := decided[it.Fingerprint]
			switch it.Decision {
			case model.DecisionCertify, model.DecisionRevoke, model.DecisionNeedsChange:
				if !ok && !complete {
					continue // decided before the events audit.jsonl holds
				}
				if !ok || e.decision != string(it.Decision) || e.actor != it.Reviewer || it.DecidedAt == nil || it.DecidedAt.Unix() != e.at {
					return n, fmt.Errorf("items[%d] (%s): %s by %s is not the decision audit.jsonl records (%s)", n, model.Printable(it.Identity),
						it.Decision, model.Printable(it.Reviewer), e.text())
				}
			default:
				if ok {
					return n, fmt.Errorf("items[%d] (%s): undecided, but audit.jsonl records %s", n, model.Printable(it.Identity), e.text())
				}
			}
		}
		return n, nil
	}
	return 0, errors.New("no items")
}

func (e decideEvent) text() string {
	if e.decision == "" {
		return "no decision"
	}
	return fmt.Sprintf("%s by %s at %s", e.decision, model.Printable(e.actor), time.Unix(e.at, 0).UTC().Format(time.RFC3339))
}

// topLevelFields decodes the named top-level fields of a JSON object into
// the matching fields of v, skipping everything else without building it.
func topLevelFields(r io.Reader, v any, names ...string) error {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	picked := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		want := false
		for _, n := range names {
			want = want || n == key
		}
		if want {
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			picked[key] = raw
			if len(picked) == len(names) {
				break // the rest (the items) is not read
			}
			continue
		}
		if err := model.SkipJSON(dec); err != nil {
			return err
		}
	}
	obj, _ := json.Marshal(picked)
	return json.Unmarshal(obj, v)
}

// verifyAuditLog recomputes the chain over audit.jsonl as the README's
// recipe does: each line is an event's canonical form, its last element
// the hash before it; the hash of a line is SHA-256(previous hash + line).
// The first line must follow prev and carry seq first; the last must
// be event head with hash want. The file has one byte form: UTF-8 lines
// ended by LF alone, no BOM, no carriage return, no blank line. It
// returns the last decision it records for each certificate in campaign.
func verifyAuditLog(ctx context.Context, dir, prev string, first, head int64, want, campaign string) (int, trailDecisions, error) {
	var none trailDecisions
	f, _, err := openBundleFile(dir, "audit.jsonl")
	if err != nil {
		return 0, none, err
	}
	defer f.Close()
	sc := bufio.NewScanner(contextReader{ctx, f})
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	sc.Split(lfLines)
	trail := trailDecisions{decided: map[string]decideEvent{}}
	n, seq := 0, first
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.IndexByte(line, '\r') >= 0 || (n == 0 && bytes.HasPrefix(line, []byte("\xef\xbb\xbf"))) {
			return n, none, fmt.Errorf("line %d: a carriage return or a byte order mark: audit.jsonl is LF-ended UTF-8 without either", n+1)
		}
		var fields []json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil || len(fields) < 2 {
			return n, none, fmt.Errorf("line %d: not an event's canonical form", n+1)
		}
		var gotSeq int64
		var gotPrev string
		if json.Unmarshal(fields[0], &gotSeq) != nil || json.Unmarshal(fields[len(fields)-1], &gotPrev) != nil {
			return n, none, fmt.Errorf("line %d: not an event's canonical form", n+1)
		}
		switch {
		case gotSeq != seq:
			return n, none, fmt.Errorf("line %d: event %d where event %d belongs (an event left out or added)", n+1, gotSeq, seq)
		case gotPrev != prev:
			return n, none, fmt.Errorf("line %d (event %d): its prev_hash is not the hash of the line before", n+1, gotSeq)
		}
		if fp, e, ok := campaignDecision(fields, campaign); ok {
			trail.decided[fp] = e
		}
		if e, ok := exceptionDecision(fields); ok {
			trail.exceptions = append(trail.exceptions, e)
		}
		prev = store.ChainHash(prev, line)
		n, seq = n+1, seq+1
	}
	if err := sc.Err(); err != nil {
		return n, none, err
	}
	switch {
	case n == 0 && head == 0:
		return 0, trail, nil
	case seq-1 != head:
		return n, none, fmt.Errorf("ends at event %d, but attestation.json quotes head event %d", seq-1, head)
	case prev != want:
		return n, none, fmt.Errorf("the chain ends at hash %s, but attestation.json quotes %s", prev, want)
	}
	return n, trail, nil
}

// exceptionDecision reads an exception event from its canonical form.
func exceptionDecision(fields []json.RawMessage) (exceptionEvent, bool) {
	var e exceptionEvent
	var action string
	if len(fields) < 10 || json.Unmarshal(fields[3], &action) != nil || !exceptionActions[action] {
		return e, false
	}
	for i, v := range map[int]any{1: &e.at, 2: &e.actor, 5: &e.fingerprint, 7: &e.after, 8: &e.reason} {
		if json.Unmarshal(fields[i], v) != nil {
			return e, false
		}
	}
	return e, true
}

// errUnendedLine is a last line without its LF.
var errUnendedLine = errors.New("the last line is not ended by LF")

// lfLines splits at LF alone (bufio.ScanLines would also drop a CR
// before it, passing a CRLF file the README's recipe refuses), and
// refuses a last line without one.
func lfLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, errUnendedLine
	}
	return 0, nil, nil
}

// campaignDecision reads a campaign.decide event of campaign from its
// canonical form (Event.Canonical: [seq, at, actor, action, identity,
// fingerprint, before, after, reason, campaign…, prev_hash]; format 1
// names the campaign in the reason, "campaign NAME: comment").
func campaignDecision(fields []json.RawMessage, campaign string) (string, decideEvent, bool) {
	if campaign == "" || len(fields) < 10 {
		return "", decideEvent{}, false
	}
	var action, fp, after, reason, actor, name string
	var at int64
	for i, v := range map[int]any{1: &at, 2: &actor, 3: &action, 5: &fp, 7: &after, 8: &reason} {
		if json.Unmarshal(fields[i], v) != nil {
			return "", decideEvent{}, false
		}
	}
	if action != "campaign.decide" {
		return "", decideEvent{}, false
	}
	if len(fields) >= 13 {
		if json.Unmarshal(fields[9], &name) != nil {
			return "", decideEvent{}, false
		}
	} else {
		name, _, _ = strings.Cut(strings.TrimPrefix(reason, "campaign "), ": ")
	}
	return fp, decideEvent{decision: after, actor: actor, at: at}, name == campaign
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
