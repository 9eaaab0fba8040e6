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
	tx      *sql.Tx
	head    string // "INSERT INTO t(a, b)"
	tail    string // after the rows: " ON CONFLICT …"
	columns int
	full    *sql.Stmt // the statement for a full batch, prepared once
	args    []any
}

const batchRows = 64

func newRowBatch(tx *sql.Tx, head string, columns int) *rowBatch {
	return &rowBatch{tx: tx, head: head, columns: columns}
}

func (b *rowBatch) query(rows int) string {
	row := "(?" + strings.Repeat(", ?", b.columns-1) + ")"
	return b.head + " VALUES " + row + strings.Repeat(", "+row, rows-1) + b.tail
}

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
