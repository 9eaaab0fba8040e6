package main

import (
	"os"
	"runtime/debug"
)

// streamingReadMemoryLimit is the soft memory limit of the reads that
// stream (ls, findings, check): they hold under 20 MiB live at a million
// certificates, and at the collector's default pace the heap grew to
// twice that (a read of a million peaked at 73–78 MB resident, 61–65 MB
// with the limit, in about the same time).
const streamingReadMemoryLimit = 32 << 20

// paceCollector sets the collector's pace (GOGC) and soft memory limit
// unless the user set them (GOGC, GOMEMLIMIT), and returns what puts the
// earlier ones back.
func paceCollector(percent int, limit int64) (restore func()) {
	var undo []func()
	if os.Getenv("GOGC") == "" {
		before := debug.SetGCPercent(percent)
		undo = append(undo, func() { debug.SetGCPercent(before) })
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		before := debug.SetMemoryLimit(limit)
		undo = append(undo, func() { debug.SetMemoryLimit(before) })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}
