package evidence

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certgov/store"
)

// audit.jsonl is checked line by line against the chain: the right lines
// pass; the same lines reordered, cut short, or ending elsewhere than the
// quoted head fail, each with its reason.
func TestVerifyAuditLog(t *testing.T) {
	prev := store.GenesisHash()
	var lines []string
	for seq := int64(1); seq <= 4; seq++ {
		e := store.Event{Seq: seq, At: time.Unix(1795994471+seq, 0), Actor: "erin", Action: "owner.set", After: "ops", PrevHash: prev, Format: 2}
		line := string(e.Canonical())
		lines = append(lines, line)
		prev = store.ChainHash(prev, []byte(line))
	}
	head := prev
	check := func(content string, first, last int64, want string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "audit.jsonl"), []byte(content), 0o600)
		_, _, err := verifyAuditLog(context.Background(), dir, store.GenesisHash(), first, last, want, "")
		if err == nil {
			return ""
		}
		return err.Error()
	}
	all := strings.Join(lines, "\n") + "\n"
	if msg := check(all, 1, 4, head); msg != "" {
		t.Fatalf("the chain as written: %s", msg)
	}
	for name, c := range map[string]struct {
		content string
		head    int64
		want    string
	}{
		"reordered":     {lines[1] + "\n" + lines[0] + "\n" + lines[2] + "\n" + lines[3] + "\n", 4, "where event 1 belongs"},
		"cut short":     {strings.Join(lines[:3], "\n") + "\n", 4, "ends at event 3"},
		"not JSON":      {"hello\n", 4, "not an event's canonical form"},
		"another head":  {all, 4, "the chain ends at hash"},
		"an event more": {all + lines[3] + "\n", 4, "where event 5 belongs"},
	} {
		want := head
		if name == "another head" {
			want = strings.Repeat("f", 64)
		}
		if msg := check(c.content, 1, c.head, want); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want it to say %q", name, msg, c.want)
		}
	}
}

func TestBundleModes(t *testing.T) {
	for file, folder := range map[os.FileMode]os.FileMode{0: 0o700, 0o600: 0o700, 0o640: 0o750, 0o644: 0o755} {
		o := Options{FileMode: file}
		if o.folderMode() != folder {
			t.Errorf("files %04o: folder %04o, want %04o", file, o.folderMode(), folder)
		}
	}
}
