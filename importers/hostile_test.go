package importers_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"certgov/importers"
	"certgov/model"
)

// A 19-byte inventory with an unclosed quote is a problem with a line,
// not a panic that stops the whole import.
func TestCSVUnclosedQuote(t *testing.T) {
	res := importers.Parse(context.Background(), "inventory.csv", []byte("fingerprint,owner\n\""), importers.Options{Kind: model.KindCSV}, true)
	if res.Err == nil && len(res.Problems) == 0 {
		t.Fatalf("an unclosed quote must be reported: %+v", res)
	}
}

// ReadBounded reads a file into a buffer of the size Stat gives: the whole
// file when that is its size, the whole file when it is more (a kernel
// file says 0), and never past the limit.
func TestReadBoundedReadsWhatIsThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.txt")
	text := strings.Repeat("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n", 1000)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := importers.ReadBounded(path, importers.MaxFileSize); err != nil || string(data) != text {
		t.Errorf("read %d bytes of %d: %v", len(data), len(text), err)
	}
	if _, err := importers.ReadBounded(path, int64(len(text)-1)); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Errorf("a file a byte over the limit: %v", err)
	}
	if info, err := os.Stat("/proc/self/status"); err == nil && info.Size() == 0 {
		data, err := importers.ReadBounded("/proc/self/status", importers.MaxFileSize)
		if err != nil || !strings.Contains(string(data), "VmRSS") {
			t.Errorf("/proc/self/status (size 0 by Stat): %d bytes, %v", len(data), err)
		}
		if _, err := importers.ReadBounded("/proc/self/status", 10); err == nil {
			t.Error("/proc/self/status read past a limit of 10 bytes")
		}
	}
}

// Devices, FIFOs and sockets are never read: not given directly, not
// named by a config. Each is refused at once (a FIFO would block the
// open, /dev/zero would never end).
func TestOnlyRegularFilesAreRead(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ca.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for _, path := range []string{"/dev/zero", "/dev/urandom", fifo} {
		done := make(chan error, 1)
		go func() {
			_, err := importers.ReadBounded(path, importers.MaxFileSize)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v, want it refused as not a regular file", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5 s", path)
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte("http {\n server {\n  listen 443 ssl;\n  ssl_verify_client on;\n  ssl_client_certificate /dev/zero;\n }\n server {\n  listen 8443 ssl;\n  ssl_verify_client on;\n  ssl_client_certificate "+fifo+";\n }\n}\n"), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var problems []string
	for res := range importers.Walk(ctx, []string{conf}, importers.Options{}) {
		if res.Err != nil {
			problems = append(problems, res.Err.Error())
		}
		for _, p := range res.Problems {
			problems = append(problems, p.Error())
		}
	}
	if ctx.Err() != nil {
		t.Fatal("reading an nginx config that names /dev/zero and a FIFO did not end")
	}
	if joined := strings.Join(problems, "\n"); !strings.Contains(joined, "/dev/zero: not a regular file") {
		t.Errorf("want /dev/zero refused, got:\n%s", joined)
	}
}

// PEM scanning is linear: 2 MB of BEGIN lines with no END, and the same
// with a single END at the very end, read in well under a second where a
// scan per block took minutes.
func TestPEMScanIsLinear(t *testing.T) {
	begins := strings.Repeat("-----BEGIN CERTIFICATE-----\n", 2<<20/28)
	for name, data := range map[string]string{"no END": begins, "one END at the end": begins + "-----END CERTIFICATE-----\n"} {
		start := time.Now()
		res := importers.Parse(context.Background(), "bundle.pem", []byte(data), importers.Options{}, true)
		if elapsed := time.Since(start); elapsed > 20*time.Second { // a hang guard: quadratic took minutes
			t.Errorf("%s: %s", name, elapsed)
		}
		if len(res.Problems) == 0 && res.Err == nil {
			t.Errorf("%s: no problem reported", name)
		}
	}
}

// A secret key file looks like a pin list to a content sniffer (a bare
// base64 of 32 bytes, `wg genkey`; 64 hex digits, `openssl rand -hex 32`):
// it is not read as one unless its name or its markers say it holds pins.
func TestSecretsAreNotPinLists(t *testing.T) {
	wgKey := "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
	hexSecret := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
	for name, data := range map[string]string{"privatekey": wgKey, "secret.txt": hexSecret, "client.key": wgKey} {
		res := importers.Parse(context.Background(), name, []byte(data), importers.Options{}, false)
		if res.Source.Kind == model.KindPinList || res.TrustEntryCount() > 0 {
			t.Errorf("%s was read as a pin list: %+v", name, res.TrustEntries)
		}
	}
	for name, data := range map[string]string{"pinned-clients.txt": hexSecret, "list.txt": "sha256:" + hexSecret, "spki.txt": "sha256/" + wgKey} {
		if res := importers.Parse(context.Background(), name, []byte(data), importers.Options{}, false); res.TrustEntryCount() != 1 {
			t.Errorf("%s: %d entries, want the pin", name, res.TrustEntryCount())
		}
	}
}

// A PBMAC1 MAC (RFC 9579) asking for 2^31-1 PBKDF2 iterations is refused
// before any work, not handed to go-pkcs12 for minutes per password.
func TestPBMAC1IterationsAreBounded(t *testing.T) {
	type algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(interop(t, "keystore-aes.p12"), &pfx); err != nil {
		t.Fatal(err)
	}
	hmacSHA256 := algorithm{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}
	kdf, _ := asn1.Marshal(struct {
		Salt       []byte
		Iterations int
		KeyLength  int
		PRF        algorithm
	}{[]byte("saltsaltsaltsalt"), 1<<31 - 1, 32, hmacSHA256})
	params, _ := asn1.Marshal(struct{ KDF, MAC algorithm }{
		algorithm{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}, Parameters: asn1.RawValue{FullBytes: kdf}}, hmacSHA256})
	var mac struct {
		Mac struct {
			Algorithm algorithm
			Digest    []byte
		}
		MacSalt    []byte
		Iterations int
	}
	mac.Mac.Algorithm = algorithm{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}, Parameters: asn1.RawValue{FullBytes: params}}
	mac.Mac.Digest, mac.MacSalt, mac.Iterations = make([]byte, 32), []byte("salt"), 1
	macDER, _ := asn1.Marshal(mac)
	pfx.MacData = asn1.RawValue{FullBytes: macDER}
	data, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan model.FileResult, 1)
	go func() {
		done <- importers.Parse(context.Background(), "evil.p12", data, importers.Options{Kind: model.KindPKCS12}, true)
	}()
	select {
	case res := <-done:
		if res.Err == nil || !strings.Contains(res.Err.Error(), "PBMAC1 iteration count") {
			t.Errorf("got %v, want the PBMAC1 count refused", res.Err)
		}
	case <-time.After(20 * time.Second): // a hang guard: the work asked for takes minutes
		t.Fatal("still deriving keys after 20 s")
	}
}

// YAML made of many tiny nodes is refused before the decoder builds them
// (8 MB of them took 715 MiB); a realistic config still reads.
func TestYAMLNodeBomb(t *testing.T) {
	bomb := "static_resources:\n  clusters: [" + strings.Repeat("a: 1, ", 1_000_000) + "]\n"
	res := importers.Parse(context.Background(), "envoy.yaml", []byte(bomb), importers.Options{Kind: model.KindEnvoy}, true)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "too many elements") {
		t.Errorf("got %v, want the YAML refused", res.Err)
	}
}

// stopAfter is a context that is done after its Err was asked n times:
// it stops a reader in the middle of a file, where a real Ctrl-C lands.
type stopAfter struct {
	context.Context
	n, asked int
}

func (c *stopAfter) Err() error {
	c.asked++
	if c.asked > c.n {
		return context.Canceled
	}
	return nil
}

// Every reader's loop over a file's items checks the context: an
// interrupted import stops inside a big file, and the file then yields
// nothing but the interruption (never half its entries).
func TestInterruptedParseStopsInsideTheFile(t *testing.T) {
	cert := interop(t, "client.pem")
	fp := importers.Parse(context.Background(), "client.pem", cert, importers.Options{}, true).Certificates[0].FingerprintSHA256
	var pins, rows strings.Builder
	rows.WriteString("fingerprint,owner\n")
	for i := range 2000 {
		fmt.Fprintf(&pins, "%s client %d\n", fp, i)
		fmt.Fprintf(&rows, "%s,team-%d\n", fp, i)
	}
	for _, file := range []struct {
		name string
		kind model.SourceKind
		data []byte
	}{
		{"bundle.pem", "", bytes.Repeat(cert, 2000)},
		{"pins.txt", model.KindPinList, []byte(pins.String())},
		{"inventory.csv", model.KindCSV, []byte(rows.String())},
		{"keystore.p12", "", interop(t, "keystore-aes.p12")},
		{"keystore.jks", "", interop(t, "keystore.jks")},
		{"bundle.p7b", "", interop(t, "bundle.p7b")},
	} {
		opts := importers.Options{Kind: file.kind, Password: []byte(interopPassword)}
		count := &stopAfter{Context: context.Background(), n: 1 << 30}
		if whole := importers.Parse(count, file.name, file.data, opts, true); whole.Err != nil || whole.Empty() {
			t.Fatalf("%s: uninterrupted parse: %v", file.name, whole.Err)
		}
		ctx := &stopAfter{Context: context.Background(), n: count.asked / 2}
		res := importers.Parse(ctx, file.name, file.data, opts, true)
		if !errors.Is(res.Err, context.Canceled) || !res.Empty() || len(res.Problems) > 0 {
			t.Errorf("%s: stopped after %d of %d checks: %v, %d certificates, %d entries; want only the interruption",
				file.name, ctx.n, count.asked, res.Err, len(res.Certificates), res.TrustEntryCount()+len(res.Governance))
		}
		if ctx.asked > ctx.n+5 { // the loop, its return and Parse ask again
			t.Errorf("%s: the context was asked %d times after it was done; the reader went on", file.name, ctx.asked-ctx.n)
		}
		if big := len(file.data) > 100_000; big && count.asked < 1000 {
			t.Errorf("%s: %d checks in a file of thousands of items; want one per item", file.name, count.asked)
		}
	}
}

// YAML and JSON configurations are held to a smaller size than
// certificate files: their decoded tree costs several times the text.
func TestConfigurationSizeBound(t *testing.T) {
	yaml := append([]byte("trusted_ca:\n  filename: ca.pem\n# "), bytes.Repeat([]byte("x"), 33<<20)...)
	res := importers.Parse(context.Background(), "envoy.yaml", yaml, importers.Options{}, true)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "32 MiB") {
		t.Fatalf("a 33 MiB Envoy file: %v, want it refused naming the 32 MiB bound", res.Err)
	}
}

// A README that talks about Envoy's settings is not a broken Envoy config:
// in a walked folder it is skipped; named on the command line it is an
// error that says what it was taken for.
func TestDocumentationIsNotAConfig(t *testing.T) {
	readme := []byte("# Gateway notes\n\nWe pin partners with `verify_certificate_hash` and `trusted_ca` in Envoy.\n")
	if res := importers.Parse(context.Background(), "README.md", readme, importers.Options{}, false); res.Err != nil || res.Skipped == "" {
		t.Errorf("walked README: %v, skipped %q; want it skipped", res.Err, res.Skipped)
	}
	if res := importers.Parse(context.Background(), "README.md", readme, importers.Options{}, true); res.Err == nil || !strings.Contains(res.Err.Error(), "envoy") {
		t.Errorf("named README: %v; want an error saying it was read as envoy", res.Err)
	}
}

// A pin list whose first fingerprint starts with 0 (the byte DER starts
// with) is a pin list: DER sniffing only claims what parses as DER.
func TestPinListStartingWithZero(t *testing.T) {
	pins := []byte("0" + strings.Repeat("a", 63) + " partner\n")
	if got := importers.Detect(pins); got != model.KindPinList {
		t.Errorf("Detect = %q, want %q", got, model.KindPinList)
	}
}

// writeTree writes files under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func walkAll(t *testing.T, paths []string, opts importers.Options) []model.FileResult {
	t.Helper()
	var out []model.FileResult
	for r := range importers.Walk(context.Background(), paths, opts) {
		out = append(out, r)
	}
	return out
}

func problemText(results []model.FileResult) string {
	var b strings.Builder
	for _, r := range results {
		if r.Err != nil {
			b.WriteString(r.Err.Error() + "\n")
		}
		for _, p := range r.Problems {
			b.WriteString(p.Error() + "\n")
		}
	}
	return b.String()
}

// An include may name any file: its bytes never reach an error. The
// environment (passwords in it) and /etc/passwd were printed in the
// "not ended by ;" error.
func TestIncludedFilesAreNeverPrinted(t *testing.T) {
	t.Setenv("CERTGOV_TEST_SECRET", "s3cret-in-the-environment")
	passwd := writeTree(t, map[string]string{"passwd": "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n"})
	dir := writeTree(t, map[string]string{"nginx.conf": "http {\n include /proc/self/environ;\n include " + filepath.Join(passwd, "passwd") + ";\n ssl_verify_client on;\n}\n"})
	text := problemText(walkAll(t, []string{dir}, importers.Options{}))
	if text == "" {
		t.Fatal("no problem reported for the included non-configurations")
	}
	for _, secret := range []string{"s3cret", "root:x", "/bin/bash", "PATH="} {
		if strings.Contains(text, secret) {
			t.Errorf("a problem prints %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "nginx.conf:2") || !strings.Contains(text, "include") {
		t.Errorf("problems do not name the line and directive:\n%s", text)
	}
}

// With --host the configuration is a copy: an absolute path in it names
// the host's file, never this machine's. Outside the imported tree it is
// reported; with --root it is read under the copy.
func TestCopiedConfigurationsDoNotReadThisMachine(t *testing.T) {
	ca := string(interop(t, "ca.pem"))
	local := writeTree(t, map[string]string{"etc/ssl/ca.pem": ca})
	conf := "http {\n ssl_verify_client on;\n ssl_client_certificate " + filepath.Join(local, "etc/ssl/ca.pem") + ";\n server { listen 443; }\n}\n"
	copied := writeTree(t, map[string]string{"nginx.conf": conf})
	results := walkAll(t, []string{copied}, importers.Options{Host: "gw-eu-1"})
	if text := problemText(results); !strings.Contains(text, "not imported") || !strings.Contains(text, "--root") {
		t.Errorf("an absolute path outside the tree: %q", text)
	}
	if n := len(results[0].Certificates) + len(results[0].TrustEntries); n != 0 {
		t.Errorf("this machine's CA file was read as gw-eu-1's: %d certificates and entries", n)
	}
	// The host's copy under --root: /LOCAL/etc/ssl/ca.pem is read from ROOT/LOCAL/etc/ssl/ca.pem.
	root := writeTree(t, map[string]string{filepath.Join(local, "etc/ssl/ca.pem"): ca})
	results = walkAll(t, []string{copied}, importers.Options{Host: "gw-eu-1", Root: root})
	if text := problemText(results); text != "" || len(results[0].TrustEntries) == 0 {
		t.Errorf("with --root: %d entries, problems %q", len(results[0].TrustEntries), text)
	}
	// This machine's own configuration (no --host) reads its own files.
	results = walkAll(t, []string{copied}, importers.Options{})
	if len(results[0].TrustEntries) == 0 {
		t.Errorf("a local configuration's absolute CA path was not read: %q", problemText(results))
	}
}

// A glob over a huge tree stops while it expands, not after.
func TestIncludeGlobIsBoundedWhileItExpands(t *testing.T) {
	dir := t.TempDir()
	for i := range 150 {
		sub := filepath.Join(dir, "tree", fmt.Sprint(i))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		for j := range 150 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%d.conf", j)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte("http {\n include tree/*/*.pem;\n ssl_verify_client on;\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	results := walkAll(t, []string{filepath.Join(dir, "nginx.conf")}, importers.Options{})
	if text := problemText(results); !strings.Contains(text, "stopped after looking at 20000 folder entries") {
		t.Errorf("problems %q", text)
	}
}
