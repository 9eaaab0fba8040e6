package importers

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"

	"certgov/model"
)

// MaxFileSize is the largest file certgov reads: certificate material is
// small, and a bigger file is a mistake or an attack on memory.
const MaxFileSize = 64 << 20

// skippedDirs hold version-control internals, never certificates in use.
var skippedDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

type job struct {
	path     string
	explicit bool
}

// Walk reads the named files and every file below the named folders on
// worker goroutines and sends one result per file. Symbolic links are
// followed, each file and folder is read once (so link loops end), and
// the channel is closed when all is read or ctx is done.
func Walk(ctx context.Context, paths []string, opts Options) <-chan model.FileResult {
	workers := max(1, runtime.GOMAXPROCS(0))
	opts.seen = newFactsCache()
	for _, p := range paths {
		if real, err := Canonical(p); err == nil {
			opts.Tree = append(opts.Tree, real)
		}
	}
	jobs := make(chan job, workers*4)
	results := make(chan model.FileResult, workers*4)
	send := func(r model.FileResult) {
		select {
		case results <- r:
		case <-ctx.Done():
		}
	}
	go func() {
		defer close(jobs)
		w := &walker{ctx: ctx, host: opts.Host, jobs: jobs, report: send, seen: map[fileID]bool{}}
		for _, p := range paths {
			w.visit(p, true)
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				send(ReadFile(ctx, j.path, opts, j.explicit))
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	return results
}

type walker struct {
	ctx    context.Context
	host   string
	jobs   chan<- job
	report func(model.FileResult)
	seen   map[fileID]bool
}

func (w *walker) visit(path string, explicit bool) {
	if w.ctx.Err() != nil {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		w.report(model.FileResult{Source: model.Source{Path: model.SourceKey(w.host, path)}, Err: err})
		return
	}
	// One file is one source however it was reached: by a relative
	// path, an absolute one, or through a symbolic link.
	if real, err := Canonical(path); err == nil {
		path = real
	}
	if id, ok := fileIDOf(fi); ok {
		if w.seen[id] {
			return
		}
		w.seen[id] = true
	}
	switch {
	case fi.IsDir():
		w.visitDir(path)
	case fi.Mode().IsRegular():
		select {
		case w.jobs <- job{path: path, explicit: explicit}:
		case <-w.ctx.Done():
		}
	case explicit:
		w.report(model.FileResult{Source: model.Source{Path: model.SourceKey(w.host, path)}, Err: fmt.Errorf("%s: not a regular file or folder", path)})
	}
}

func (w *walker) visitDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.report(model.FileResult{Source: model.Source{Path: model.SourceKey(w.host, dir)}, Err: err})
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if e.IsDir() && skippedDirs[e.Name()] {
			continue
		}
		w.visit(filepath.Join(dir, e.Name()), false)
	}
}

// ReadFile reads and parses one file, refusing files over MaxFileSize.
func ReadFile(ctx context.Context, path string, opts Options, explicit bool) model.FileResult {
	if err := ctx.Err(); err != nil {
		return model.FileResult{Source: model.Source{Path: path}, Err: err}
	}
	if opts.AccessLogFor != nil {
		if logs := opts.AccessLogFor(path); len(logs) > 0 {
			return readAccessLogFile(ctx, path, logs, opts)
		}
	}
	if opts.OnlyAccessLogs {
		return model.FileResult{Source: model.Source{Path: model.SourceKey(opts.Host, path)}, Skipped: "not an access log"}
	}
	data, err := ReadBounded(path, MaxFileSize)
	if err != nil {
		return model.FileResult{Source: model.Source{Path: model.SourceKey(opts.Host, path)}, Err: err}
	}
	return Parse(ctx, path, data, opts, explicit)
}

// Canonical is a path as sources are keyed by: absolute, with every
// symbolic link resolved.
func Canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// ReadBounded is how certgov reads any file it is given or a config
// names: only a regular file (a device such as /dev/zero, a FIFO or a
// socket is refused, checked on the opened file so that it cannot be
// swapped after a check), opened without blocking (opening a FIFO would
// wait for a writer), and never more than limit bytes.
func ReadBounded(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s: file is over the %s limit", path, sizeLabel(limit))
	}
	// Read into a buffer of the file's size and one more byte, which
	// sees it grow: io.ReadAll grows its buffer by doubling, and a 64 MB
	// pin list took 128 MB of buffers, most of them garbage at once.
	data := make([]byte, info.Size()+1)
	n, err := io.ReadFull(f, data)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // all of it
		data = data[:n]
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	default: // it grew since Stat said its size
		rest, err := io.ReadAll(io.LimitReader(f, limit+1-int64(n)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		data = append(data, rest...)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is over the %s limit", path, sizeLabel(limit))
	}
	return data, nil
}

func sizeLabel(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// factsCache holds the facts of self-issued certificates by the SHA-256 of
// their DER, up to a bound, for the workers of one walk.
type factsCache struct {
	mu    sync.Mutex
	facts map[[32]byte]model.Certificate
}

const factsCacheSize = 4096

func newFactsCache() *factsCache { return &factsCache{facts: map[[32]byte]model.Certificate{}} }

func (c *factsCache) lookup(der []byte) (model.Certificate, bool) {
	if c == nil {
		return model.Certificate{}, false
	}
	key := sha256.Sum256(der)
	c.mu.Lock()
	defer c.mu.Unlock()
	cert, ok := c.facts[key]
	return cert, ok
}

func (c *factsCache) store(cert model.Certificate) {
	if c == nil {
		return
	}
	key := sha256.Sum256(cert.DER)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.facts) < factsCacheSize {
		c.facts[key] = cert
	}
}
