package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"

	"certgov/model"
)

// sortedOutput sorts what a listing prints without holding it: each
// item's sort key stays in memory, its output goes to a temporary file,
// read back in order. A million certificates sort in the memory of their
// keys, not of their records. The file is private (0600) and unlinked
// as soon as it is open, so that nothing is left behind, not even after
// a kill.
type sortedOutput struct {
	order model.SortOrder
	file  *os.File
	w     *bufio.Writer
	size  int64
	items []sortedItem
}

type sortedItem struct {
	key model.SortKey
	at  int64
	n   int
}

func newSortedOutput(order model.SortOrder) (*sortedOutput, error) {
	f, err := os.CreateTemp("", "certgov-sort-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return &sortedOutput{order: order, file: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// add keeps one item: its key, and its output for later.
func (s *sortedOutput) add(key model.SortKey, out []byte) error {
	s.items = append(s.items, sortedItem{key: key, at: s.size, n: len(out)})
	n, err := s.w.Write(out)
	s.size += int64(n)
	return err
}

// each hands on the items' outputs in the order; equal keys keep the
// order they were added in.
func (s *sortedOutput) each(ctx context.Context, fn func([]byte) error) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	slices.SortStableFunc(s.items, func(a, b sortedItem) int { return s.order.Compare(a.key, b.key) })
	var buf []byte
	for i, it := range s.items {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		buf = slices.Grow(buf[:0], it.n)[:it.n]
		if _, err := s.file.ReadAt(buf, it.at); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
	return nil
}

func (s *sortedOutput) close() { s.file.Close() }

// appendCells encodes table or CSV cells for a sortedOutput: each cell
// its length, then its bytes (a cell may hold any byte).
func appendCells(b []byte, cells []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(cells)))
	for _, c := range cells {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

// readCells decodes what appendCells wrote.
func readCells(b []byte) []string {
	n, k := binary.Uvarint(b)
	b = b[k:]
	cells := make([]string, 0, n)
	for range n {
		size, k := binary.Uvarint(b)
		cells = append(cells, string(b[k:k+int(size)]))
		b = b[k+int(size):]
	}
	return cells
}
