package importers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// globMaxEntries is how many folder entries one glob may look at:
// "include /*/*/*/*/*/*/*/*/*.pem" would otherwise walk a whole disk
// before any bound on the files it names applied.
const globMaxEntries = 20000

// errGlobTooLarge is a glob stopped by its bounds.
var errGlobTooLarge = errors.New("the pattern matches too much")

// boundedGlob is filepath.Glob that stops after maxMatches matches
// (returning them: the caller's own bound reports the excess), after
// globMaxEntries folder entries (errGlobTooLarge, with what it found so
// far) and when ctx is done. Matches are sorted, as nginx includes them.
func boundedGlob(ctx context.Context, pattern string, maxMatches int) ([]string, error) {
	g := &globber{ctx: ctx, left: globMaxEntries}
	out, err := g.glob(pattern, max(maxMatches, 1), false)
	sort.Strings(out)
	return out, err
}

type globber struct {
	ctx  context.Context
	left int // folder entries it may still look at
}

func (g *globber) glob(pattern string, limit int, dirsOnly bool) ([]string, error) {
	if !strings.ContainsAny(pattern, `*?[\`) {
		fi, err := os.Stat(pattern)
		if err != nil || (dirsOnly && !fi.IsDir()) {
			return nil, nil
		}
		return []string{pattern}, nil
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	dir, file := filepath.Split(pattern)
	dir = filepath.Clean(dir)
	dirs := []string{dir}
	if strings.ContainsAny(dir, `*?[\`) {
		var err error
		if dirs, err = g.glob(dir, globMaxEntries+1, true); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		for {
			if err := g.ctx.Err(); err != nil {
				f.Close()
				return out, err
			}
			entries, err := f.ReadDir(256)
			for _, e := range entries {
				if g.left--; g.left < 0 {
					f.Close()
					return out, fmt.Errorf("%w: stopped after looking at %d folder entries", errGlobTooLarge, globMaxEntries)
				}
				if ok, _ := filepath.Match(file, e.Name()); !ok {
					continue
				}
				path := filepath.Join(d, e.Name())
				if dirsOnly {
					if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
						continue
					}
				}
				if out = append(out, path); len(out) >= limit {
					f.Close()
					return out, nil
				}
			}
			if err == io.EOF || len(entries) == 0 || err != nil {
				break
			}
		}
		f.Close()
	}
	return out, nil
}
