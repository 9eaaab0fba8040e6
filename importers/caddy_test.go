package importers_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certgov/importers"
	"certgov/model"
)

// A Caddyfile: each site with client_auth is a server (named by its
// addresses, snippets imported), decided as Caddy 2.6 decides it: a CA
// file's first certificate only, partial chains, leaf lists as pins; the
// same policy written in Caddy's JSON reads the same.
func TestCaddy(t *testing.T) {
	dir := t.TempDir()
	caPEM := mustReadFile(t, filepath.Join("testdata", "interop", "ca.pem"))
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, caPEM, 0o600)
	conf := `{
	admin off
}

(mtls) {
	tls a.pem a.key {
		client_auth {
			trusted_ca_cert_file ` + ca + `
		}
	}
}

https://api.example.com:8443, https://api-eu.example.com:8443 {
	import mtls
	respond "ok"
}

https://pinned.example.com {
	tls a.pem a.key {
		client_auth {
			mode require
			trusted_leaf_cert_file ` + ca + `
		}
	}
}

https://leaf.example.com {
	tls a.pem a.key {
		client_auth {
			trusted_leaf_cert_file ` + ca + `
		}
	}
}

https://plain.example.com {
	respond "ok"
}
`
	path := filepath.Join(dir, "Caddyfile")
	os.WriteFile(path, []byte(conf), 0o600)
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindCaddy {
		t.Fatalf("kind %q, err %v", res.Source.Kind, res.Err)
	}
	servers := map[string]model.Server{}
	for _, s := range res.Servers {
		servers[s.Names[0]] = s
	}
	if len(servers) != 3 {
		t.Fatalf("want the three sites with client_auth, got %v", servers)
	}
	api := servers["api.example.com"]
	if api.Mode != model.VerifyOn || !slices.Equal(api.Names, []string{"api.example.com", "api-eu.example.com"}) || !slices.Equal(api.Listen, []string{"8443"}) || api.Unknown != "" {
		t.Errorf("api: %+v", api)
	}
	pinned := servers["pinned.example.com"]
	if pinned.PolicyText() != "verify optional_no_ca, verification errors ignored" || pinned.Unknown != "" {
		t.Errorf("pinned: %q %+v", pinned.PolicyText(), pinned)
	}
	if leaf := servers["leaf.example.com"]; !strings.Contains(leaf.Unknown, "caddy#4518") {
		t.Errorf("a leaf list without mode is verified against the machine's CAs: want unknown, got %+v", leaf)
	}
	kinds := map[string][]model.EntryKind{}
	for _, e := range res.TrustEntries {
		kinds[e.Scope] = append(kinds[e.Scope], e.Kind)
		if e.Kind == model.EntryCA && e.Match != model.MatchPartialChain {
			t.Errorf("Go takes every trusted CA as a root: %+v", e)
		}
	}
	if !slices.Equal(kinds[api.Scope], []model.EntryKind{model.EntryCA}) || !slices.Equal(kinds[pinned.Scope], []model.EntryKind{model.EntryFingerprint}) {
		t.Errorf("entries %v", kinds)
	}

	block, _ := pem.Decode(caPEM)
	json := `{"apps":{"http":{"servers":{"srv0":{"listen":[":8443"],"tls_connection_policies":[{"match":{"sni":["api.example.com"]},
		"client_authentication":{"trusted_ca_certs":["` + base64.StdEncoding.EncodeToString(block.Bytes) + `"]}},{}]}}}}}`
	jsonPath := filepath.Join(dir, "caddy.json")
	os.WriteFile(jsonPath, []byte(json), 0o600)
	res = importers.ReadFile(context.Background(), jsonPath, importers.Options{}, true)
	if res.Err != nil || res.Source.Kind != model.KindCaddy || len(res.Servers) != 1 || res.Servers[0].Mode != model.VerifyOn || len(res.TrustEntries) != 1 {
		t.Fatalf("caddy.json: kind %q err %v servers %+v entries %v", res.Source.Kind, res.Err, res.Servers, res.TrustEntries)
	}
}
