package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"certgov/model"
	"certgov/store"
)

func newLsCommand(a *app) *cobra.Command {
	var filter, policyFile, sortSpec string
	var output *output
	cmd := &cobra.Command{
		Use:   "ls [--filter EXPR] [--sort FIELD[,-FIELD]] [-o table|json|csv]",
		Short: "List certificates, one row each",
		Long: `List certificates, one row each, ordered by identity and expiry.

Filter terms are combined with AND; "!" negates a term:
` + model.FilterHelp("  ") + `
--sort orders by fields in turn, each descending after a "-"; ties keep
the order above. The fields:
` + model.SortHelp("  ") + `
Examples:
  certgov ls --filter 'selfsigned expires<30d !expired'
  certgov ls --sort owner,-severity`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var order model.SortOrder
			if sortSpec != "" {
				var err error
				if order, err = model.ParseSortOrder(sortSpec); err != nil {
					return usageError{err}
				}
			}
			defer paceCollector(100, streamingReadMemoryLimit)()
			s, f, policy, err := a.openReview(cmd.Context(), filter, policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			return output.write(cmd, a, &recordList{ctx: cmd.Context(), s: s, filter: f, order: order, policy: policy, now: time.Now()})
		},
	}
	reviewFlags(cmd, &filter, &policyFile, "filter expression (see above)", "policy file for the findings (see certgov findings --help)")
	cmd.Flags().StringVar(&sortSpec, "sort", "", "order by FIELD[,-FIELD]... (see above; - is descending)")
	output = outputFlag(cmd, "table", "json", "csv")
	return cmd
}

// reviewFlags are the flags of the commands that read a review: a
// filter and a policy.
func reviewFlags(cmd *cobra.Command, filter, policyFile *string, filterHelp, policyHelp string) {
	cmd.Flags().StringVar(filter, "filter", "", filterHelp)
	cmd.Flags().StringVar(policyFile, "policy", "", policyHelp)
}

// recordList is what ls prints: the certificates the filter selects,
// streamed from the review one at a time in every format; sorted, their
// outputs wait in a sortedOutput.
type recordList struct {
	ctx    context.Context
	s      *store.Store
	filter *model.Filter
	order  model.SortOrder // none: the review's order
	policy model.Policy
	now    time.Time
}

func (l *recordList) each(fn func(r *model.Record, findings []model.Finding) error) error {
	rv, err := l.s.NewReview(l.ctx)
	if err != nil {
		return err
	}
	return rv.Each(l.ctx, l.policy, l.now, func(r *model.Record, findings []model.Finding) error {
		if !l.filter.Match(r, l.now) {
			return nil
		}
		return fn(r, findings)
	})
}

// eachOutput hands on each certificate's output (render's), in the sort
// order when there is one.
func (l *recordList) eachOutput(render func(r *model.Record) []byte, emit func([]byte) error) error {
	if l.order == nil {
		return l.each(func(r *model.Record, _ []model.Finding) error { return emit(render(r)) })
	}
	sorted, err := newSortedOutput(l.order)
	if err != nil {
		return err
	}
	defer sorted.close()
	err = l.each(func(r *model.Record, findings []model.Finding) error {
		return sorted.add(l.order.Key(r, findings), render(r))
	})
	if err != nil {
		return err
	}
	return sorted.each(l.ctx, emit)
}

// eachCells hands on each certificate's table or CSV cells, through the
// sortedOutput when sorted.
func (l *recordList) eachCells(cells func(r *model.Record) []string, emit func([]string) error) error {
	if l.order == nil {
		return l.each(func(r *model.Record, _ []model.Finding) error { return emit(cells(r)) })
	}
	var buf []byte
	return l.eachOutput(func(r *model.Record) []byte {
		buf = appendCells(buf[:0], cells(r))
		return buf
	}, func(b []byte) error { return emit(readCells(b)) })
}

func (l *recordList) writeText(w io.Writer, width int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	columns := tableColumns(width)
	table := &streamedTable{w: bw, header: columns.header}
	err := l.eachCells(func(r *model.Record) []string { return columns.row(r, l.now) },
		func(cells []string) error { return table.row(cells...) })
	if err != nil {
		return err
	}
	return table.flush()
}

func (l *recordList) eachJSON(yield func(any) error) error {
	var buf []byte
	cache := &model.JSONCache{}
	return l.eachOutput(func(r *model.Record) []byte {
		j := r.JSON()
		buf = j.AppendJSONCached(buf[:0], cache)
		return buf
	}, func(b []byte) error { return yield(json.RawMessage(b)) })
}

func (l *recordList) csvHeader() []string { return csvHeader }

func (l *recordList) eachCSVRow(yield func([]string) error) error {
	return l.eachCells(csvRow, yield)
}

type lsColumns struct {
	header      []string
	identityLen int
	ownerLen    int
	issuer      bool
	key         bool
	notAfter    bool
}

// tableColumns drops the columns that matter least on narrow terminals,
// so that a row stays on one line at 80 columns: the issuer first, then
// the exact date and the key; the owner always stays.
func tableColumns(width int) lsColumns {
	c := lsColumns{identityLen: 40, ownerLen: 24, issuer: true, key: true, notAfter: true}
	switch {
	case width == 0 || width >= 160:
	case width >= 110:
		c.issuer, c.ownerLen = false, 20
	default:
		c.issuer, c.notAfter, c.key, c.identityLen, c.ownerLen = false, false, false, 24, 14
	}
	c.header = []string{"FINGERPRINT", "IDENTITY", "OWNER", "TRUST"}
	if c.key {
		c.header = append(c.header, "KEY")
	}
	if c.notAfter {
		c.header = append(c.header, "NOT AFTER")
	}
	c.header = append(c.header, "EXPIRES")
	if c.issuer {
		c.header = append(c.header, "ISSUER")
	}
	return c
}

func (c lsColumns) row(r *model.Record, now time.Time) []string {
	fp := r.FingerprintSHA256[:16]
	if !c.notAfter {
		fp = r.FingerprintSHA256[:12]
	}
	row := []string{fp, clip(r.IdentityName, c.identityLen), clip(model.OrDash(r.Owner), c.ownerLen), r.SigningShort()}
	if c.key {
		row = append(row, r.KeyLabel())
	}
	if c.notAfter {
		row = append(row, r.NotAfter.Format("2006-01-02"))
	}
	row = append(row, model.Relative(r.NotAfter, now))
	if c.issuer {
		row = append(row, clip(r.Issuer, 48))
	}
	return row
}

// clip makes s printable (model.Printable), then shortens it to n runes:
// in that order, so that shortening never cuts an escape in half.
func clip(s string, n int) string {
	s = model.Printable(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// jsonArrayWriter streams a JSON array one element at a time, so that
// listing 100,000 certificates never holds them all in memory.
type jsonArrayWriter struct {
	w     io.Writer
	count int
	buf   []byte
	cache *model.JSONCache // for records; nil: none
}

// jsonAppender is a value that writes its own JSON, without reflection.
type jsonAppender interface{ AppendJSON([]byte) []byte }

func (j *jsonArrayWriter) write(v any) error {
	var b []byte
	if raw, ok := v.(json.RawMessage); ok {
		b = raw // written by model's own encoder
	} else if r, ok := v.(*model.RecordJSON); ok {
		j.buf = r.AppendJSONCached(j.buf[:0], j.cache)
		b = j.buf
	} else if a, ok := v.(jsonAppender); ok {
		j.buf = a.AppendJSON(j.buf[:0])
		b = j.buf
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	sep := ",\n  "
	if j.count == 0 {
		sep = "[\n  "
	}
	j.count++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err := j.w.Write(b)
	return err
}

func (j *jsonArrayWriter) close() error {
	if j.count == 0 {
		_, err := io.WriteString(j.w, "[]\n")
		return err
	}
	_, err := io.WriteString(j.w, "\n]\n")
	return err
}

var csvHeader = []string{"fingerprint_sha256", "identity", "owner", "trust_model", "subject", "issuer", "serial", "not_before", "not_after",
	"key_algorithm", "key_size", "signature_algorithm", "self_signed", "ca", "sans", "spki_sha256", "sources", "findings",
	"last_seen", "logs_from", "logs_until"}

func csvRow(r *model.Record) []string {
	j := r.JSON()
	sans := r.SANs.Labeled()
	// Empty where no access log shows it, or none covers it.
	lastSeen, logsFrom, logsUntil := "", "", ""
	if j.LastSeen != nil {
		lastSeen = *j.LastSeen
	}
	if c := j.LogsCover; c != nil {
		logsFrom, logsUntil = c.From, c.Until
	}
	return []string{j.FingerprintSHA256, j.Identity, string(j.Owner), j.TrustModel, j.Subject, j.Issuer, j.Serial, j.NotBefore, j.NotAfter,
		j.KeyAlgorithm, strconv.Itoa(j.KeySize), j.SignatureAlgorithm, strconv.FormatBool(j.SelfSigned),
		strconv.FormatBool(j.CA), strings.Join(sans, ";"), j.SPKISHA256, strings.Join(j.Sources, ";"), strings.Join(j.Findings, ";"),
		lastSeen, logsFrom, logsUntil}
}
