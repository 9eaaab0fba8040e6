package store

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"certgov/model"
)

// FoundFinding is a finding with the file that holds the certificate it
// is about ("" for a finding about a trust entry or a server).
type FoundFinding struct {
	model.Finding
	CertificateFile string
}

// EachFinding walks every certificate and calls fn with the findings keep
// accepts and the findings about trust entries keepEntry accepts, most
// urgent first: by severity, then code, then in the walk's order
// (identity name, case-insensitive), with the entry findings of a code
// after its certificate findings. It streams: a walk reads identities by
// name, so each (severity, code) run is written to a spill of its own as
// the walk goes, and the runs are read back in order. Memory does not grow
// with the estate: past spillAfter bytes the runs go to files in a private
// temporary folder, removed before it returns.
func (rv *Review) EachFinding(ctx context.Context, policy model.Policy, now time.Time,
	keep func(r *model.Record, f model.Finding) bool, keepEntry func(f model.Finding) bool, fn func(FoundFinding) error) error {
	runs := &findingRuns{byKey: map[runKey]*findingRun{}}
	defer runs.remove()
	err := rv.Each(ctx, policy, now, func(r *model.Record, findings []model.Finding) error {
		for _, f := range findings {
			if keep(r, f) {
				file := ""
				if len(r.Sources) > 0 {
					file = r.Sources[0]
				}
				if err := runs.add(FoundFinding{Finding: f, CertificateFile: file}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var entries []model.Finding
	for _, f := range rv.EntryFindings() {
		if keepEntry(f) {
			entries = append(entries, f)
		}
	}
	model.SortFindings(entries)
	for _, f := range entries {
		runs.runOf(f) // so that its run is read back in order
	}
	return runs.each(ctx, fn, func(key runKey) error {
		for _, f := range entries {
			if (runKey{model.SeverityRank(f.Severity), f.Code}) == key {
				if err := fn(FoundFinding{Finding: f}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// spillAfter is how many encoded bytes of findings are held in memory
// before the runs go to files: about 10,000 findings.
var spillAfter = 4 << 20

type runKey struct {
	rank int
	code string
}

type findingRun struct {
	held  []byte // encoded findings, while nothing is spilled
	file  *os.File
	spill *bufio.Writer
}

// findingRuns are the findings of a walk, one run per severity and code.
type findingRuns struct {
	byKey map[runKey]*findingRun
	held  int
	dir   string // the spill folder, once there is one
	buf   []byte
}

// runOf is f's run, made when it is the first of its severity and code.
func (rs *findingRuns) runOf(f model.Finding) *findingRun {
	k := runKey{model.SeverityRank(f.Severity), f.Code}
	run := rs.byKey[k]
	if run == nil {
		run = &findingRun{}
		rs.byKey[k] = run
	}
	return run
}

func (rs *findingRuns) add(f FoundFinding) error {
	run := rs.runOf(f.Finding)
	rs.buf = encodeFinding(rs.buf[:0], f)
	if rs.dir == "" {
		run.held = append(run.held, rs.buf...)
		rs.held += len(rs.buf)
		if rs.held > spillAfter {
			return rs.spillAll()
		}
		return nil
	}
	if run.spill == nil {
		if err := rs.open(run); err != nil {
			return err
		}
	}
	_, err := run.spill.Write(rs.buf)
	return err
}

// spillAll moves every run to a file of its own.
func (rs *findingRuns) spillAll() error {
	dir, err := os.MkdirTemp("", "certgov-findings-") // 0700: only this user reads the spill
	if err != nil {
		return fmt.Errorf("findings spill: %w", err)
	}
	rs.dir = dir
	for _, run := range rs.byKey {
		if err := rs.open(run); err != nil {
			return err
		}
		if _, err := run.spill.Write(run.held); err != nil {
			return err
		}
		run.held = nil
	}
	return nil
}

func (rs *findingRuns) open(run *findingRun) error {
	f, err := os.CreateTemp(rs.dir, "run-")
	if err != nil {
		return fmt.Errorf("findings spill: %w", err)
	}
	run.file, run.spill = f, bufio.NewWriterSize(f, 32<<10)
	return nil
}

// each reads the runs back in order, calling then after each run.
func (rs *findingRuns) each(ctx context.Context, fn func(FoundFinding) error, then func(runKey) error) error {
	keys := make([]runKey, 0, len(rs.byKey))
	for k := range rs.byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b runKey) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.code, b.code)) })
	for _, k := range keys {
		run := rs.byKey[k]
		var r *bufio.Reader
		switch {
		case run.file != nil:
			if err := run.spill.Flush(); err != nil {
				return err
			}
			if _, err := run.file.Seek(0, io.SeekStart); err != nil {
				return err
			}
			r = bufio.NewReaderSize(run.file, 32<<10)
		default:
			r = bufio.NewReaderSize(bytes.NewReader(run.held), 4<<10)
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			f, err := decodeFinding(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("findings spill: %w", err)
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		if err := then(k); err != nil {
			return err
		}
	}
	return nil
}

func (rs *findingRuns) remove() {
	for _, run := range rs.byKey {
		if run.file != nil {
			run.file.Close()
		}
	}
	if rs.dir != "" {
		os.RemoveAll(rs.dir)
	}
}

// encodeFinding appends f as length-prefixed strings: a spill is read
// back by this process only, and this is several times cheaper than JSON.
func encodeFinding(b []byte, f FoundFinding) []byte {
	for _, s := range []string{f.Code, string(f.Severity), f.FingerprintSHA256, f.Identity, f.Owner, f.Source, f.Location, f.Message, f.CertificateFile} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Frameworks)))
	for _, s := range f.Frameworks {
		b = appendString(b, s)
	}
	return b
}

func decodeFinding(r *bufio.Reader) (FoundFinding, error) {
	var f FoundFinding
	var severity string
	fields := []*string{&f.Code, &severity, &f.FingerprintSHA256, &f.Identity, &f.Owner, &f.Source, &f.Location, &f.Message, &f.CertificateFile}
	for i, field := range fields {
		s, err := readString(r)
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return f, err
		}
		*field = s
	}
	f.Severity = model.Severity(severity)
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return f, io.ErrUnexpectedEOF
	}
	for range n {
		s, err := readString(r)
		if err != nil {
			return f, io.ErrUnexpectedEOF
		}
		f.Frameworks = append(f.Frameworks, s)
	}
	return f, nil
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", io.ErrUnexpectedEOF
	}
	return string(b), nil
}
