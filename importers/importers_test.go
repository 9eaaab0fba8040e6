package importers_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
)

const interopPassword = "s3cret"

func interop(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "interop", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func commonNames(res model.FileResult) []string {
	var names []string
	for _, c := range res.Certificates {
		names = append(names, c.CommonName)
	}
	sort.Strings(names)
	return names
}

// The fixtures were written by OpenSSL 3 and keytool (testdata/interop/generate.sh).
func TestInteropFixtures(t *testing.T) {
	cases := []struct {
		file  string
		kind  model.SourceKind
		names []string
		keys  int
	}{
		{"client.pem", model.KindPEM, []string{"interop-client"}, 0},
		{"client.der", model.KindDER, []string{"interop-client"}, 0},
		{"client-text-dump.pem", model.KindPEM, []string{"interop-client"}, 0},
		{"client.key.pem", model.KindPEM, nil, 1},
		{"legacy-sha1.pem", model.KindPEM, []string{"legacy-sha1-client"}, 0},
		{"bundle.p7b", model.KindPKCS7, []string{"Interop Root CA", "interop-client"}, 0},
		{"bundle-pem.p7c", model.KindCABundle, []string{"Interop Root CA", "interop-client"}, 0},
		{"keystore-aes.p12", model.KindPKCS12, []string{"Interop Root CA", "interop-client"}, 1},
		{"keystore-legacy.p12", model.KindPKCS12, []string{"Interop Root CA", "interop-client"}, 1},
		// Keystores with only certificates are the truststores servers read.
		{"nokeys.p12", model.KindTrustStore, []string{"Interop Root CA", "interop-client"}, 0},
		{"truststore.p12", model.KindTrustStore, []string{"Interop Root CA", "interop-client"}, 0},
		{"truststore.jks", model.KindTrustStore, []string{"Interop Root CA", "interop-client"}, 0},
		{"keystore.jks", model.KindJKS, []string{"jks-client"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			res := importers.Parse(context.Background(), tc.file, interop(t, tc.file), importers.Options{Password: []byte(interopPassword)}, true)
			if res.Err != nil || len(res.Problems) > 0 {
				t.Fatalf("err %v, problems %v", res.Err, res.Problems)
			}
			if res.Source.Kind != tc.kind {
				t.Errorf("kind %q, want %q", res.Source.Kind, tc.kind)
			}
			if got := commonNames(res); !slices.Equal(got, tc.names) {
				t.Errorf("certificates %v, want %v", got, tc.names)
			}
			if len(res.Keys) != tc.keys {
				t.Fatalf("%d private keys recorded, want %d", len(res.Keys), tc.keys)
			}
			for _, k := range res.Keys {
				if k.SPKISHA256 == "" || !strings.HasPrefix(k.KeyType, "ECDSA") {
					t.Errorf("key fact %+v: want the ECDSA key tied to its public key", k)
				}
			}
		})
	}
}

// A private key found on the way is tied to its certificate by public
// key, and nothing of the key itself survives in the result.
func TestPrivateKeyIsRecordedNeverKept(t *testing.T) {
	keyPEM := interop(t, "client.key.pem")
	data := append(interop(t, "client.pem"), keyPEM...)
	res := importers.Parse(context.Background(), "both.pem", data, importers.Options{}, true)
	if len(res.Certificates) != 1 || len(res.Keys) != 1 {
		t.Fatalf("got %d certificates, %d keys", len(res.Certificates), len(res.Keys))
	}
	if res.Keys[0].SPKISHA256 != res.Certificates[0].SPKISHA256 {
		t.Error("key not tied to its certificate's public key")
	}
	if res.Keys[0].Location != "line 15" && !strings.HasPrefix(res.Keys[0].Location, "line ") {
		t.Errorf("key location %q", res.Keys[0].Location)
	}
	block, _ := pem.Decode(keyPEM)
	dump := fmt.Sprintf("%#v", res)
	for _, secret := range [][]byte{block.Bytes, block.Bytes[len(block.Bytes)-32:]} {
		if bytes.Contains([]byte(dump), secret) || strings.Contains(dump, fmt.Sprintf("%v", secret)) {
			t.Fatal("private key bytes survive in the import result")
		}
	}
	p12 := importers.Parse(context.Background(), "k.p12", interop(t, "keystore-aes.p12"), importers.Options{Password: []byte(interopPassword)}, true)
	if p12.Keys[0].SPKISHA256 != res.Certificates[0].SPKISHA256 || p12.Keys[0].Location != "alias interop-client" {
		t.Errorf("PKCS#12 key fact %+v", p12.Keys[0])
	}
}

func TestDetectsFormatByContentNotExtension(t *testing.T) {
	for name, data := range map[string][]byte{"der-named.pem": interop(t, "client.der"), "pem-named.der": interop(t, "client.pem"), "p12-named.crt": interop(t, "nokeys.p12")} {
		res := importers.Parse(context.Background(), name, data, importers.Options{Password: []byte(interopPassword)}, true)
		if res.Err != nil || len(res.Certificates) == 0 {
			t.Errorf("%s: err %v, %d certificates", name, res.Err, len(res.Certificates))
		}
	}
}

func TestPEMProblemsNameTheLine(t *testing.T) {
	good := interop(t, "client.pem")
	truncated := []byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n")
	notACert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	data := slices.Concat([]byte("# partner bundle\n\n"), good, notACert, truncated)
	res := importers.Parse(context.Background(), "bundle.pem", data, importers.Options{}, true)
	if res.Err != nil {
		t.Fatalf("whole file failed: %v", res.Err)
	}
	if len(res.Certificates) != 1 {
		t.Fatalf("%d certificates, want the 1 good one", len(res.Certificates))
	}
	goodLines := bytes.Count(good, []byte("\n"))
	want := []string{
		fmt.Sprintf("bundle.pem:%d: line %d: certificate cannot be parsed", 3+goodLines, 3+goodLines),
		fmt.Sprintf("bundle.pem:%d: malformed PEM block", 6+goodLines),
	}
	if len(res.Problems) != 2 {
		t.Fatalf("problems %v, want 2", res.Problems)
	}
	for i, p := range res.Problems {
		if !strings.HasPrefix(p.Error(), want[i]) {
			t.Errorf("problem %q, want prefix %q", p.Error(), want[i])
		}
	}
}

func TestCRLFAndSkippedBlocks(t *testing.T) {
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}})
	data := bytes.ReplaceAll(slices.Concat(csr, interop(t, "client.pem"), interop(t, "ca.pem")), []byte("\n"), []byte("\r\n"))
	res := importers.Parse(context.Background(), "crlf.pem", data, importers.Options{}, true)
	if res.Err != nil || len(res.Problems) > 0 || len(res.Certificates) != 2 {
		t.Fatalf("err %v, problems %v, %d certificates", res.Err, res.Problems, len(res.Certificates))
	}
	if res.Certificates[1].Location != "line 25" && res.Certificates[0].Location != "line 7" {
		t.Logf("locations %q %q", res.Certificates[0].Location, res.Certificates[1].Location)
	}
}

func TestBadFilesFailWholeWithTheirPath(t *testing.T) {
	p12 := interop(t, "keystore-aes.p12")
	jks := interop(t, "truststore.jks")
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty.pem":      {nil, "empty file"},
		"truncated.p12":  {p12[:len(p12)/2], "PKCS#12"},
		"truncated.jks":  {jks[:len(jks)-30], "JKS"},
		"truncated.der":  {interop(t, "client.der")[:300], "cannot be parsed"},
		"random.bin":     {[]byte("hello world, not a certificate"), "unknown format"},
		"jceks.ks":       {[]byte{0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2}, "JCEKS"},
		"only-a-csr.pem": {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}), "no certificates found"},
	}
	for name, tc := range cases {
		res := importers.Parse(context.Background(), name, tc.data, importers.Options{Password: []byte(interopPassword)}, true)
		err := res.Err
		if err == nil && len(res.Problems) > 0 {
			err = res.Problems[0]
		}
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming the file and %q", name, err, tc.want)
		}
		if res.Err != nil && (len(res.Certificates) > 0 || len(res.Keys) > 0) {
			t.Errorf("%s: failed file still yields data", name)
		}
	}
}

func TestKeystorePasswords(t *testing.T) {
	data := interop(t, "keystore-aes.p12")
	res := importers.Parse(context.Background(), "ks.p12", data, importers.Options{}, true)
	if !errors.Is(res.Err, importers.ErrWrongPassword) {
		t.Fatalf("without a password: %v, want ErrWrongPassword", res.Err)
	}
	res = importers.Parse(context.Background(), "ks.p12", data, importers.Options{Password: []byte("wrong")}, true)
	if !errors.Is(res.Err, importers.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", res.Err)
	}
	prompted := 0
	res = importers.Parse(context.Background(), "ks.p12", data, importers.Options{Prompt: func(path string) ([]byte, error) {
		prompted++
		return []byte(interopPassword), nil
	}}, true)
	if res.Err != nil || prompted != 1 || len(res.Certificates) != 2 {
		t.Fatalf("prompt: err %v, prompted %d times, %d certificates", res.Err, prompted, len(res.Certificates))
	}
	jks := importers.Parse(context.Background(), "ts.jks", interop(t, "truststore.jks"), importers.Options{Password: []byte("nope")}, true)
	if !errors.Is(jks.Err, importers.ErrWrongPassword) {
		t.Fatalf("JKS with the wrong password: %v", jks.Err)
	}
}

// Our writers and go-pkcs12's encoders, besides the OpenSSL fixtures.
func TestGeneratedKeystores(t *testing.T) {
	g := demo.NewGenerator(7)
	now := time.Now()
	leaf, err := g.SelfSigned(demo.Template{CommonName: "gen-leaf", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := g.SelfSigned(demo.Template{CommonName: "gen-ca", CA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]func() ([]byte, error){
		"modern.p12": func() ([]byte, error) {
			return gopkcs12.Modern.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{ca.Cert}, "pw")
		},
		"legacy.p12": func() ([]byte, error) {
			return gopkcs12.Legacy.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{ca.Cert}, "pw")
		},
		"rc2.p12": func() ([]byte, error) {
			return gopkcs12.LegacyRC2.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{ca.Cert}, "pw")
		},
		"trust.p12": func() ([]byte, error) {
			return gopkcs12.Modern.EncodeTrustStore([]*x509.Certificate{leaf.Cert, ca.Cert}, "pw")
		},
		"passless.p12": func() ([]byte, error) {
			return gopkcs12.Passwordless.EncodeTrustStore([]*x509.Certificate{leaf.Cert, ca.Cert}, "")
		},
		"trust.jks": func() ([]byte, error) {
			return demo.JKSTrustStore("pw", []string{"a", "b"}, []*x509.Certificate{leaf.Cert, ca.Cert}), nil
		},
		"bundle.p7b": func() ([]byte, error) { return demo.PKCS7(leaf.Cert, ca.Cert) },
	}
	for name, build := range files {
		data, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res := importers.Parse(context.Background(), name, data, importers.Options{Password: []byte("pw")}, true)
		if res.Err != nil || len(res.Problems) > 0 {
			t.Errorf("%s: %v %v", name, res.Err, res.Problems)
			continue
		}
		if got := commonNames(res); !slices.Equal(got, []string{"gen-ca", "gen-leaf"}) {
			t.Errorf("%s: certificates %v", name, got)
		}
	}
}

func TestFolderWalk(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		full := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/client.pem", interop(t, "client.pem"))
	write("a/b/ca.crt", interop(t, "ca.pem"))
	write("a/notes.txt", []byte("not a certificate"))
	write("a/broken.crt", []byte("not a certificate either"))
	write(".git/objects/x.pem", interop(t, "ca.pem"))
	// A loop back to the top, and a second name for the same file.
	if err := os.Symlink(dir, filepath.Join(dir, "a", "b", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a", "client.pem"), filepath.Join(dir, "alias.pem")); err != nil {
		t.Fatal(err)
	}
	var certs, skipped, failed []string
	for res := range importers.Walk(context.Background(), []string{dir, filepath.Join(dir, "missing.pem")}, importers.Options{}) {
		rel, _ := filepath.Rel(dir, res.Source.Path)
		switch {
		case res.Err != nil:
			failed = append(failed, rel)
		case res.Skipped != "":
			skipped = append(skipped, rel)
		default:
			for range res.Certificates {
				certs = append(certs, rel)
			}
		}
	}
	sort.Strings(certs)
	sort.Strings(failed)
	if !slices.Equal(certs, []string{"a/b/ca.crt", "a/client.pem"}) {
		t.Errorf("certificates from %v", certs)
	}
	if !slices.Equal(skipped, []string{"a/notes.txt"}) {
		t.Errorf("skipped %v", skipped)
	}
	if !slices.Equal(failed, []string{"a/broken.crt", "missing.pem"}) {
		t.Errorf("failed %v", failed)
	}
}

func TestHugeFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.pem")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(importers.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res := importers.ReadFile(context.Background(), path, importers.Options{}, true)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "64 MiB") || !strings.Contains(res.Err.Error(), path) {
		t.Fatalf("error %v, want the 64 MiB limit named with the path", res.Err)
	}
}

func TestUnchangedFilesAreNotParsed(t *testing.T) {
	data := interop(t, "client.pem")
	first := importers.Parse(context.Background(), "c.pem", data, importers.Options{}, true)
	known := func(path, sum string) bool { return path == "c.pem" && sum == first.Source.ContentSHA256 }
	again := importers.Parse(context.Background(), "c.pem", data, importers.Options{Known: known}, true)
	if !again.Unchanged || len(again.Certificates) != 0 {
		t.Fatalf("unchanged file parsed again: %+v", again)
	}
}

// crypto/x509 refuses a certificate whose CRL distribution points it
// cannot parse (OpenSSL wrote it): the certificate is inventoried with what
// can be read and the reason, not dropped.
func TestCertificateGoRefuses(t *testing.T) {
	res := importers.ReadFile(context.Background(), filepath.Join("testdata", "interop", "trust", "certs", "odd-crldp.pem"), importers.Options{}, true)
	if res.Err != nil || len(res.Problems) > 0 || len(res.Certificates) != 1 {
		t.Fatalf("err %v, problems %v, %d certificates", res.Err, res.Problems, len(res.Certificates))
	}
	c := res.Certificates[0]
	if c.CommonName != "odd-crldp-client" || c.Subject != "CN=odd-crldp-client,O=Legacy Corp" || len(c.Serial) < 16 || !strings.Contains(c.Malformed, "CRL distribution points") || c.KeyAlgorithm != "ECDSA" || !c.SelfIssued || c.NotAfter.Sub(c.NotBefore) != 30*24*time.Hour {
		t.Errorf("facts of the refused certificate: %+v", c)
	}
	if got := strings.Join(c.SANs.Labeled(), " "); got != "DNS:odd.legacy.example URI:spiffe://legacy.example/odd IP:192.0.2.7" {
		t.Errorf("SANs of the refused certificate: %q", got)
	}
	// Bytes that are no certificate at all stay an error.
	bad := importers.Parse(context.Background(), "junk.der", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, importers.Options{}, true)
	if bad.Err == nil && len(bad.Problems) == 0 {
		t.Errorf("junk DER accepted: %+v", bad.Certificates)
	}
}
