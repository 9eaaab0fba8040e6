package importers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// An stunnel configuration: each server-mode service is a server, its
// global options the defaults; verifyChain, verifyPeer (pins: the
// certificates of CAfile themselves), the legacy verify levels and
// checkHost are decided as stunnel decides them; client services decide
// nothing; a relative path is unknown, never guessed.
func TestStunnel(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem")), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := `; a queue
cert = /etc/stunnel/q.pem
CAfile = ` + ca + `

[chain]
accept = 5671
connect = 5672
verifyChain = yes
checkHost = orders.svc

[pinned]
accept = 5673
connect = 5672
verifyPeer = yes

[legacy]
accept = 5674
connect = 5672
verify = 1

[relative]
accept = 5675
connect = 5672
verify = 2
CAfile = ca.pem

[out]
client = yes
accept = 127.0.0.1:9000
connect = remote:443
`
	path := filepath.Join(dir, "queue.conf")
	os.WriteFile(path, []byte(conf), 0o600)
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindStunnel {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	servers := map[string]model.Server{}
	for _, s := range res.Servers {
		servers[s.Names[0]] = s
	}
	if len(servers) != 4 {
		t.Fatalf("want the four server-mode services, got %v", servers)
	}
	for name, want := range map[string]string{"chain": "verify on", "pinned": "verify registered, verification errors ignored", "legacy": "verify optional"} {
		srv := servers[name]
		if got := srv.PolicyText(); got != want || srv.Unknown != "" {
			t.Errorf("%s: policy %q (unknown %q), want %q", name, got, srv.Unknown, want)
		}
	}
	if !strings.Contains(servers["relative"].Unknown, "relative path") {
		t.Errorf("a relative CAfile must be unknown: %+v", servers["relative"])
	}
	kinds := map[string][]model.EntryKind{}
	for _, e := range res.TrustEntries {
		kinds[e.Scope] = append(kinds[e.Scope], e.Kind)
	}
	if got := kinds[servers["chain"].Scope]; len(got) != 3 || got[0] != model.EntryCA || got[1] != model.EntrySAN || got[2] != model.EntrySubjectDN {
		t.Errorf("chain: anchor, then checkHost's SAN and CN rules; got %v", got)
	}
	if got := kinds[servers["pinned"].Scope]; len(got) != 1 || got[0] != model.EntryFingerprint {
		t.Errorf("verifyPeer pins its CAfile's certificate; got %v", got)
	}
}
