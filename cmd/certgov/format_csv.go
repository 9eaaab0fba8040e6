package main

import (
	"encoding/csv"
	"fmt"
	"io"

	"certgov/model"
)

// A csvResult gives a spreadsheet's rows (-o csv): the header, then each
// row, its cells as they are: the encoder makes every cell printable and
// never a formula (model.CSVCell).
type csvResult interface {
	csvHeader() []string
	eachCSVRow(yield func([]string) error) error
}

func writeCSV(w io.Writer, _ int, result any) error {
	r, ok := result.(csvResult)
	if !ok {
		return fmt.Errorf("this result has no CSV form (%T)", result)
	}
	cw := csv.NewWriter(w)
	cw.Write(r.csvHeader())
	err := r.eachCSVRow(func(row []string) error {
		return cw.Write(csvCells(row...))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvCells makes every cell printable and never a spreadsheet formula.
func csvCells(cells ...string) []string {
	for i := range cells {
		cells[i] = model.CSVCell(cells[i])
	}
	return cells
}
