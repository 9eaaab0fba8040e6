package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets tests run certgov as a separate process (to kill it, or to
// run two at once): the test binary re-executed with CERTGOV_MAIN_ARGS.
func TestMain(m *testing.M) {
	if args := os.Getenv("CERTGOV_MAIN_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Exit(runUntilSignalled(argv, os.Stdin, os.Stdout, os.Stderr))
	}
	if spec := os.Getenv("CERTGOV_WRITE_ESTATE"); spec != "" {
		os.Exit(writeEstate(spec))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

func certgov(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// isolate points the default paths and environment at a temporary home.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("HOME", home)
	t.Setenv("CERTGOV_DB", "")
	t.Setenv("CERTGOV_KEYSTORE_PASSWORD", "")
	os.Unsetenv("CERTGOV_DB")
	os.Unsetenv("CERTGOV_KEYSTORE_PASSWORD")
	return home
}

// interopDir copies the importers' interop fixtures into a fresh folder.
func interopDir(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "importers", "testdata", "interop")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue // trust/ has its own test
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
