package importers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"certgov/importers"
	"certgov/model"
)

// seedFiles are the interop and trust fixtures: files written by OpenSSL,
// keytool and the gateways' own documentation examples.
func seedFiles(f *testing.F) [][]byte {
	f.Helper()
	var paths []string
	for _, pattern := range []string{"interop/*", "interop/trust/*/*", "trust/*", "trust/*/*"} {
		found, _ := filepath.Glob(filepath.Join("testdata", pattern))
		paths = append(paths, found...)
	}
	var seeds [][]byte
	for _, path := range paths {
		if filepath.Ext(path) == ".sh" {
			continue
		}
		if data, err := os.ReadFile(path); err == nil {
			seeds = append(seeds, data)
		}
	}
	return append(seeds, crlSeed(f))
}

// crlSeed is a small CRL with one revoked serial: no fixture holds one.
func crlSeed(f *testing.F) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fuzz CA"}, NotBefore: now, NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(der)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: now}}}, ca, key)
	if err != nil {
		f.Fatal(err)
	}
	return crl
}

// fuzzReader fuzzes one reader (kind, or "" for detection) from the seeds
// of its own format, so that the fuzzer's mutations start from files that
// reach deep into that reader. Bad input must come back as an error for
// that file or problems, never a panic or a hang, and a failed file must
// yield nothing.
func fuzzReader(f *testing.F, kind model.SourceKind, extra ...string) {
	seeds := 0
	for _, data := range seedFiles(f) {
		if kind == "" || importers.Detect(data) == kind || (kind == model.KindCABundle && importers.Detect(data) == model.KindPEM) {
			f.Add(data)
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatalf("no fixture of kind %q to start from", kind)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	defer importers.LimitIterations(20_000)()
	f.Fuzz(func(t *testing.T, data []byte) {
		kinds := []string{string(kind)}
		if kind == "" { // detection, then every reader forced
			kinds = append(kinds, importers.Kinds...)
		}
		for _, k := range kinds {
			opts := importers.Options{Kind: model.SourceKind(k), Password: []byte(interopPassword)}
			res := importers.Parse(context.Background(), "fuzz.bin", data, opts, true)
			if res.Err != nil && (!res.Empty() || len(res.Problems) > 0) {
				t.Fatalf("kind %q: failed file yields data", k)
			}
			if res.Err == nil && res.Skipped == "" && res.Empty() && len(res.Problems) == 0 {
				t.Fatalf("kind %q: neither data nor an error", k)
			}
			if len(res.Problems) > 101 { // 100 listed and the count of the rest
				t.Fatalf("kind %q: %d problems listed", k, len(res.Problems))
			}
		}
	})
}

// FuzzParse: detection, then every reader forced on the same bytes. Its
// corpus of found inputs lives in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) { fuzzReader(f, "") }

// One target per reader: go test -fuzz FuzzNginx ./importers, and so on.

func FuzzPEM(f *testing.F) {
	fuzzReader(f, model.KindPEM, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
}
func FuzzCABundle(f *testing.F) { fuzzReader(f, model.KindCABundle) }
func FuzzDER(f *testing.F)      { fuzzReader(f, model.KindDER) }
func FuzzPKCS7(f *testing.F)    { fuzzReader(f, model.KindPKCS7) }
func FuzzPKCS12(f *testing.F)   { fuzzReader(f, model.KindPKCS12) }
func FuzzJKS(f *testing.F)      { fuzzReader(f, model.KindJKS) }
func FuzzCRL(f *testing.F)      { fuzzReader(f, model.KindCRL) }
func FuzzPinList(f *testing.F) {
	fuzzReader(f, model.KindPinList, "# pins\nsha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= partner\n")
}
func FuzzCSV(f *testing.F) {
	fuzzReader(f, model.KindCSV, "fingerprint,owner,expires\n\"a\nb\",x,2026-01-01\n")
}
func FuzzOAuth(f *testing.F) {
	fuzzReader(f, model.KindOAuth, `{"client_id":"a","token_endpoint_auth_method":"self_signed_tls_client_auth","jwks":{"keys":[{"x5c":["MIIB"]}]}}`)
}
func FuzzKeycloak(f *testing.F) { fuzzReader(f, model.KindKeycloak) }
func FuzzNginx(f *testing.F) {
	fuzzReader(f, model.KindNginx, "http { server { ssl_verify_client on; ssl_client_certificate ca.pem; include *.conf; } }\n")
}
func FuzzHAProxy(f *testing.F) {
	fuzzReader(f, model.KindHAProxy, "global\n ca-base /x\nfrontend f\n bind :443 ssl crt a ca-file \"c.pem\" verify required crl-file r\n acl a ssl_c_sha1 -m str x\n http-request deny unless a\n")
}
func FuzzApache(f *testing.F) {
	fuzzReader(f, model.KindApache, "ServerRoot /x\nInclude sites/*.conf\n<VirtualHost *:443>\nSSLEngine on\nSSLVerifyClient require\nSSLCACertificateFile \"c.pem\"\n<Location />\nRequire expr %{SSL_CLIENT_S_DN_CN} in {'a', \"b\"} && %{SSL_CLIENT_VERIFY} == 'SUCCESS'\n</Location>\n</VirtualHost>\n")
}
func FuzzStunnel(f *testing.F) {
	fuzzReader(f, model.KindStunnel, "CAfile = /x\n[a]\naccept = 1\nverify = 3\ncheckHost = h\nCRLpath = /y\n[b]\naccept=2\nverifyPeer=yes\n")
}
func FuzzPostgreSQL(f *testing.F) {
	fuzzReader(f, model.KindPostgreSQL, "max_connections = 1\nport=1\nssl = on\nssl_ca_file = 'c.pem'\ninclude_dir 'conf.d'\nhba_file = '/x'\n")
}
func FuzzCaddy(f *testing.F) {
	fuzzReader(f, model.KindCaddy, "(s) {\n tls a b {\n  client_auth {\n   mode require\n   trusted_leaf_cert MIIB\n  }\n }\n}\nhttps://a:1, b {\n import s\n}\n",
		`{"apps":{"http":{"servers":{"s":{"tls_connection_policies":[{"client_authentication":{"trusted_ca_certs":["MIIB"],"mode":"request"}}]}}}}}`)
}
func FuzzEnvoy(f *testing.F) {
	fuzzReader(f, model.KindEnvoy, "trusted_ca: {inline_string: x}\nverify_certificate_hash: [zz]\n")
}
func FuzzKubernetes(f *testing.F) { fuzzReader(f, model.KindKubernetes) }
