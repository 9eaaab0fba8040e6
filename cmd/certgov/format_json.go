package main

import (
	"bufio"
	"encoding/json"
	"io"

	"certgov/model"
)

// JSON (-o json) is the result itself, marshalled; a jsonList streams its
// elements as one array instead, so that 100,000 certificates are never
// all in memory; a jsonValuer gives the value to marshal.
type (
	jsonList interface {
		eachJSON(yield func(any) error) error
	}
	jsonValuer interface {
		jsonValue() (any, error)
	}
	// jsonWriter writes its own JSON as it goes: an object around a
	// stream.
	jsonWriter interface {
		writeJSON(w io.Writer) error
	}
)

func writeJSON(w io.Writer, _ int, result any) error {
	switch r := result.(type) {
	case jsonList:
		buf := bufio.NewWriterSize(w, 64<<10)
		jw := &jsonArrayWriter{w: buf, cache: &model.JSONCache{}}
		if err := r.eachJSON(jw.write); err != nil {
			return err
		}
		if err := jw.close(); err != nil {
			return err
		}
		return buf.Flush()
	case jsonWriter:
		buf := bufio.NewWriterSize(w, 64<<10)
		if err := r.writeJSON(buf); err != nil {
			return err
		}
		return buf.Flush()
	case jsonValuer:
		v, err := r.jsonValue()
		if err != nil {
			return err
		}
		return printJSON(w, v)
	}
	return printJSON(w, result)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
