package store

import (
	"context"
	"database/sql"
	"strings"
)

// rowBatch inserts rows batchRows at a time with one multi-row INSERT: a
// statement execution costs more than the row it writes, and relinking
// writes one row per certificate.
type rowBatch struct {
	tx      batchTarget
	head    string // "INSERT INTO t(a, b)"
	tail    string // after the rows: " ON CONFLICT …"
	columns int
	full    *sql.Stmt // the statement for a full batch, prepared once
	args    []any
}

const batchRows = 64

// rowWriter writes one table's rows many at a time: rowBatch, or on
// PostgreSQL copyBatch.
type rowWriter interface {
	// add queues one row, writing what is queued when the batch is full.
	add(ctx context.Context, values ...any) error
	// flush writes what is queued.
	flush(ctx context.Context) error
}

// bulkWriter writes rows of table in the transaction tx that is open on
// conn: by COPY on PostgreSQL (copyBatch), by multi-row INSERTs on
// SQLite. For large writes without an ON CONFLICT clause, which COPY
// does not have.
func (s *Store) bulkWriter(conn *sql.Conn, tx batchTarget, table string, columns ...string) rowWriter {
	if s.Postgres() {
		return &copyBatch{conn: conn, table: table, columns: columns}
	}
	return newRowBatch(tx, `INSERT INTO `+table+`(`+strings.Join(columns, ", ")+`)`, len(columns))
}

// batchTarget is a transaction, or the connection an import's
// transactions run on.
type batchTarget interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func newRowBatch(tx batchTarget, head string, columns int) *rowBatch {
	return &rowBatch{tx: tx, head: head, columns: columns}
}

func (b *rowBatch) query(rows int) string { return multiRow(b.head, b.tail, b.columns, rows) }

// add queues one row, writing the batch when it is full.
func (b *rowBatch) add(ctx context.Context, values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) < batchRows*b.columns {
		return nil
	}
	if b.full == nil {
		var err error
		if b.full, err = b.tx.PrepareContext(ctx, b.query(batchRows)); err != nil {
			return err
		}
	}
	_, err := b.full.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return err
}

// flush writes what is queued and releases the statement.
func (b *rowBatch) flush(ctx context.Context) error {
	if b.full != nil {
		defer b.full.Close()
		b.full = nil
	}
	if len(b.args) == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(ctx, b.query(len(b.args)/b.columns), b.args...)
	b.args = b.args[:0]
	return err
}

// maxRowsPerInsert keeps a multi-row statement's parameters under
// SQLite's limit (32,766) and PostgreSQL's (65,535).
func maxRowsPerInsert(columns int) int { return min(500, 30000/columns) }

// multiRow is head VALUES (?, …), … for n rows of the given columns.
func multiRow(head, tail string, columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return head + " VALUES " + row + strings.Repeat(", "+row, n-1) + tail
}

// insertRows inserts rows (each the same number of values) with as few
// multi-row INSERTs as the parameter limits allow, and returns how many
// rows they added (an ON CONFLICT DO NOTHING tail skips some).
func insertRows(ctx context.Context, q execQuerier, head, tail string, rows [][]any) (int64, error) {
	var added int64
	for chunk := range chunksOf(rows) {
		res, err := q.ExecContext(ctx, multiRow(head, tail, len(chunk[0]), len(chunk)), flatten(chunk)...)
		if err != nil {
			return added, err
		}
		n, _ := res.RowsAffected()
		added += n
	}
	return added, nil
}

// eachRowsOf is insertRows for an INSERT … RETURNING: scan reads what
// each chunk returns.
func eachRowsOf(ctx context.Context, q queryer, head, tail string, rows [][]any, scan func(*sql.Rows) error) error {
	for chunk := range chunksOf(rows) {
		if err := eachRowOf(ctx, q, multiRow(head, tail, len(chunk[0]), len(chunk)), flatten(chunk), scan); err != nil {
			return err
		}
	}
	return nil
}

func chunksOf(rows [][]any) func(yield func([][]any) bool) {
	return func(yield func([][]any) bool) {
		if len(rows) == 0 {
			return
		}
		size := maxRowsPerInsert(len(rows[0]))
		for len(rows) > 0 {
			n := min(size, len(rows))
			if !yield(rows[:n]) {
				return
			}
			rows = rows[n:]
		}
	}
}

func flatten(rows [][]any) []any {
	out := make([]any, 0, len(rows)*len(rows[0]))
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}
