package main

import (
	"bufio"
	"cmp"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// interopEstate is made by stock OpenSSL 3 with its defaults, as people
// make client certificates: a root, two intermediates below it, leaves at
// each depth (one SHA-1 signed), self-signed partners (one listed, one
// stranger, one carrying a CA-signed leaf's DN), and the gateway's own
// server certificate.
const interopEstate = `
set -e
sub() { openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null; }
self() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$2" -days 30 -out "$1.pem" 2>/dev/null; }
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
self root "/O=Interop/CN=Interop Root CA"
sub int1 "/O=Interop/CN=Interop Issuing CA 1"
openssl x509 -req -in int1.csr -CA root.pem -CAkey root.key -days 30 -extfile ca.ext -out int1.pem 2>/dev/null
sub int2 "/O=Interop/CN=Interop Issuing CA 2"
openssl x509 -req -in int2.csr -CA int1.pem -CAkey int1.key -days 30 -extfile ca.ext -out int2.pem 2>/dev/null
sub direct "/O=Example Corp/OU=ops/CN=direct.ops.svc"
openssl x509 -req -in direct.csr -CA root.pem -CAkey root.key -days 30 -out direct.pem 2>/dev/null
sub ledger "/O=Example Corp/OU=payments/CN=ledger.payments.svc"
printf 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:ledger.payments.svc,DNS:ledger.internal\n' > ledger.ext
openssl x509 -req -in ledger.csr -CA int1.pem -CAkey int1.key -days 30 -extfile ledger.ext -out ledger.pem 2>/dev/null
cat int1.pem > ledger.chain
sub deep "/O=Example Corp/OU=payments/CN=deep.payments.svc"
openssl x509 -req -in deep.csr -CA int2.pem -CAkey int2.key -days 30 -extfile client.ext -out deep.pem 2>/dev/null
cat int2.pem int1.pem > deep.chain
sub legacy "/O=Example Corp/OU=payments/CN=legacy.payments.svc"
openssl x509 -req -sha1 -in legacy.csr -CA int1.pem -CAkey int1.key -days 30 -extfile client.ext -out legacy.pem 2>/dev/null
cat int1.pem > legacy.chain
self partner "/O=Partner A/CN=partner-a"
self stranger "/O=Stranger/CN=stranger"
self spoof "/O=Example Corp/OU=payments/CN=ledger.payments.svc"
# a lookalike of the partner: its name, another key
self mimic "/O=Partner A/CN=partner-a"
self server "/CN=gateway.test"
cat root.pem partner.pem > root-and-partners.pem
# a certificate for servers only, from the root
printf 'extendedKeyUsage=serverAuth\n' > server.ext
sub serveronly "/O=Example Corp/OU=web/CN=www.example.svc"
openssl x509 -req -in serveronly.csr -CA root.pem -CAkey root.key -days 30 -extfile server.ext -out serveronly.pem 2>/dev/null
# CRLs as openssl ca writes them: the root revokes direct; the issuing CA 1
# revokes nothing; the issuing CA 2 and the partner publish none.
for ca in root int1; do
  mkdir -p $ca.db && : > $ca.db/index.txt && echo 01 > $ca.db/crlnumber && echo 1000 > $ca.db/serial
  printf '[ca]\ndefault_ca = this\n[this]\ndatabase = %s.db/index.txt\ncrlnumber = %s.db/crlnumber\nserial = %s.db/serial\nnew_certs_dir = %s.db\npolicy = any\ndefault_md = sha256\ndefault_crl_days = 30\n[any]\ncommonName = supplied\n' $ca $ca $ca $ca > $ca.cnf
done
# expired last winter, from the issuing CA 1 (which lists it, not revoked)
sub expired "/O=Example Corp/OU=payments/CN=expired.payments.svc"
openssl ca -batch -config int1.cnf -keyfile int1.key -cert int1.pem -in expired.csr -out expired.pem -notext -preserveDN \
  -startdate 20250101000000Z -enddate 20250201000000Z -extfile client.ext 2>/dev/null
cat int1.pem > expired.chain
openssl ca -config root.cnf -keyfile root.key -cert root.pem -revoke direct.pem 2>/dev/null
openssl ca -config root.cnf -keyfile root.key -cert root.pem -gencrl -out root.crl 2>/dev/null
openssl ca -config int1.cnf -keyfile int1.key -cert int1.pem -gencrl -out int1.crl 2>/dev/null
cat root.crl int1.crl > crls.pem
openssl x509 -in partner.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f > partner.sha1
`

// interopClients are the client certificates presented to every server.
var interopClients = []string{"direct", "ledger", "deep", "legacy", "partner", "stranger", "spoof", "expired", "serveronly", "mimic"}

// interopServer is one nginx server block of the suite: its name (and
// server_name), the directives of its block, and the ifs that gate it.
type interopServer struct {
	name, block string
	port        int
	// off: it asks for no certificate (checked as such, not as admits).
	off bool
	// noScan: scanEach passes it by (see there).
	noScan bool
}

// TestServersAgreeWithNginx runs a real nginx (Debian's nginx-light) on
// 127.0.0.1 with server blocks covering what nginx decides (modes, depth,
// http-level inheritance, maps that gate through if/return and ones that
// do not, unanchored map regexes, a DN map on a chain and without one,
// servers in sites-enabled files pulling snippets by paths relative to the
// prefix), presents every client certificate to every server, and fails
// naming each pair where certgov's answer (ls -o json: a trust reference
// naming the server) differs from nginx's (HTTP 200 or not).
func TestServersAgreeWithNginx(t *testing.T) {
	nginx := interopTool(t, "nginx", "/usr/sbin/nginx")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	partnerSHA1, _ := os.ReadFile(filepath.Join(certs, "partner.sha1"))

	servers := []*interopServer{
		{name: "ca-only", block: "ssl_verify_client on; ssl_client_certificate certs/root.pem;"},
		{name: "ca-partners", block: "ssl_verify_client on; ssl_client_certificate certs/root-and-partners.pem;"},
		{name: "optional", block: "ssl_verify_client optional; ssl_client_certificate certs/root.pem;"},
		{name: "fingerprint-map", block: "ssl_verify_client optional_no_ca; ssl_client_certificate certs/root.pem; if ($partner_ok = 0) { return 403; }"},
		// The CA file admits nobody by itself under optional_no_ca: with
		// no gate every certificate gets in, as nginx does it.
		{name: "dn-map-chain", block: "ssl_verify_client on; ssl_verify_depth 2; ssl_client_certificate certs/root.pem; if ($payments_ok != 1) { return 403; }"},
		{name: "dn-map-no-chain", block: "ssl_verify_client optional_no_ca; ssl_client_certificate certs/root.pem; location / { if ($payments_ok = 0) { return 403; } return 200 \"ok\\n\"; }"},
		{name: "depth-0", block: "ssl_verify_client on; ssl_verify_depth 0; ssl_client_certificate certs/root.pem;"},
		{name: "depth-2", block: "ssl_verify_client on; ssl_verify_depth 2; ssl_client_certificate certs/root-and-partners.pem;"},
		{name: "inherited", block: ""},
		// A map no if tests gates nothing.
		// OpenSSL wants a CRL from the issuer of every certificate of the
		// chain once it checks any: direct is revoked, deep's issuing CA 2
		// and the self-signed partner have none.
		{name: "crl", block: "ssl_verify_client on; ssl_verify_depth 2; ssl_client_certificate certs/root-and-partners.pem; ssl_crl certs/crls.pem;"},
		{name: "untested-map", block: "ssl_verify_client on; ssl_client_certificate certs/root.pem; set $unused $serial_ok;"},
		{name: "off", block: "ssl_verify_client off;", off: true},
		// Asks, verifies nothing, gates nothing: every certificate gets in.
		{name: "no-gate", block: "ssl_verify_client optional_no_ca;"},
		{name: "site", block: "include snippets/mtls.conf;"}, // in sites-enabled/, below
	}
	for _, s := range servers {
		s.port = freePort(t)
	}
	var blocks strings.Builder
	for _, s := range servers {
		if s.name == "site" {
			continue
		}
		location := `location / { return 200 "ok\n"; }`
		if strings.Contains(s.block, "location /") {
			location = ""
		}
		fmt.Fprintf(&blocks, "    server {\n        listen 127.0.0.1:%d ssl;\n        server_name %s.test;\n        %s\n        %s\n    }\n", s.port, s.name, s.block, location)
	}
	site := servers[len(servers)-1]
	files := map[string]string{
		"nginx.conf": fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
    ssl_certificate certs/server.pem;
    ssl_certificate_key certs/server.key;
    # Inherited by every server that sets neither.
    ssl_verify_client on;
    ssl_client_certificate certs/root.pem;
    map $ssl_client_fingerprint $partner_ok { default 0; %[2]s 1; }
    map $ssl_client_s_dn $payments_ok { default 0; "~OU=payments" 1; }
    map $ssl_client_serial $serial_ok { default 0; 01 1; }
%[3]s
    include sites-enabled/*.conf;
}
`, dir, strings.TrimSpace(string(partnerSHA1)), blocks.String()),
		"sites-enabled/site.conf": fmt.Sprintf("server {\n    listen 127.0.0.1:%d ssl;\n    server_name site.test;\n    include snippets/mtls.conf;\n    location / { return 200 \"ok\\n\"; }\n}\n", site.port),
		// Relative to the prefix (the folder of nginx.conf), not to this
		// file's folder.
		"snippets/mtls.conf": "ssl_verify_client on;\nssl_client_certificate certs/root-and-partners.pem;\nssl_verify_depth 2;\n",
	}
	for name, text := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o700)
	conf := filepath.Join(dir, "nginx.conf")
	startNginx(t, nginx, dir, conf, servers[0].port)

	// certgov's answers.
	if r := certgov(t, "import", certs); r.code != 0 {
		t.Fatalf("import certs: %d %s", r.code, r.stderr)
	}
	if r := certgov(t, "import", conf); r.code != 0 {
		t.Fatalf("import nginx.conf: %d %s", r.code, r.stderr)
	}
	r := certgov(t, "ls", "-o", "json")
	var records []trustRecord
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatalf("ls: %v\n%s", err, r.stderr)
	}
	byFingerprint := map[string]trustRecord{}
	for _, rec := range records {
		byFingerprint[rec.Fingerprint] = rec
	}
	var differ []string
	pairs := 0
	for _, client := range interopClients {
		pemData, err := os.ReadFile(filepath.Join(certs, client+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		rec := byFingerprint[fingerprintOfPEM(t, pemData)]
		pair := interopPair(t, certs, client)
		for _, s := range servers {
			status, asked := presentTo(t, s.port, s.name+".test", pair)
			name := fmt.Sprintf("%s.test:%d", s.name, s.port)
			if s.off {
				if asked {
					t.Errorf("%s asked %s for a certificate: ssl_verify_client off asks none", name, client)
				}
				if admittedByServer(rec, name) {
					t.Errorf("certgov says %s admits %s, but it asks for no certificate", name, client)
				}
				continue
			}
			pairs++
			real := status == 200
			if said := admittedByServer(rec, name); said != real {
				differ = append(differ, fmt.Sprintf("%s at %s: nginx answered %d, certgov says admitted=%v (trust %v; findings %v)", client, s.name, status, said, serverNames(rec), rec.Findings))
			}
		}
	}
	for _, d := range differ {
		t.Error(d)
	}
	t.Logf("%d certificate/server pairs compared with nginx, %d differ", pairs, len(differ))

	// The servers' own findings: a DN map without a chain is spoofable,
	// optional_no_ca without a gate admits anyone.
	findings := certgov(t, "findings", "-o", "json").stdout
	for _, want := range []string{`spoofable-name-gate`, `dn-map-no-chain.test:`, `admits-any-certificate`, `no-gate.test:`} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q", want)
		}
	}

	// scan: the CA names nginx asks for are those of the configuration
	// certgov imported; after the snippet changes behind its back (and
	// nginx reloads), they drift.
	scan := certgov(t, "scan", fmt.Sprintf("127.0.0.1:%d", site.port), "--servername", "site.test")
	if scan.code != 0 || !strings.Contains(scan.stdout, "asks for CN=partner-a,O=Partner A") || !strings.Contains(scan.stdout, "matches  its imported configuration: site.test:") ||
		!strings.Contains(scan.stdout, "serves   CN=gateway.test") {
		t.Errorf("scan: %d\n%s%s", scan.code, scan.stdout, scan.stderr)
	}
	offPort := 0
	for _, s := range servers {
		if s.off {
			offPort = s.port
		}
	}
	if off := certgov(t, "scan", fmt.Sprintf("127.0.0.1:%d", offPort), "--servername", "off.test"); !strings.Contains(off.stdout, "asks clients for no certificate") || !strings.Contains(off.stdout, "matches") {
		t.Errorf("scan of the server with verify off: %s%s", off.stdout, off.stderr)
	}
	os.WriteFile(filepath.Join(dir, "snippets", "mtls.conf"), []byte("ssl_verify_client on;\nssl_client_certificate certs/root.pem;\n"), 0o600)
	if out, err := exec.Command(nginx, "-p", dir, "-c", conf, "-s", "reload").CombinedOutput(); err != nil {
		t.Fatalf("nginx reload: %v %s", err, out)
	}
	// The reload takes effect when the old worker has stopped accepting:
	// until then a connection may reach either.
	for seen, tries := 0, 0; seen < 5 && tries < 100; tries++ {
		if askedCANames(t, site.port, "site.test") == 1 {
			seen++
		} else {
			seen = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	scan = certgov(t, "scan", fmt.Sprintf("127.0.0.1:%d", site.port), "--servername", "site.test")
	if !strings.Contains(scan.stdout, "DRIFT") || !strings.Contains(scan.stdout, `does not ask for CA names its imported configuration lists: "CN=partner-a,O=Partner A"`) {
		t.Errorf("scan after the snippet changed:\n%s%s", scan.stdout, scan.stderr)
	}
	if f := certgov(t, "findings", "-o", "json").stdout; !strings.Contains(f, "ca-names-drift") {
		t.Error("findings lack the ca-names-drift the scan found")
	}
}

// askedCANames counts the CA names the server at port asks for.
func askedCANames(t *testing.T, port int, serverName string) int {
	t.Helper()
	n := -1
	config := &tls.Config{ServerName: serverName, InsecureSkipVerify: true,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			n = len(cri.AcceptableCAs)
			return &tls.Certificate{}, nil
		}}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), config)
	if err == nil {
		conn.Close()
	}
	return n
}

// makeInteropEstate runs interopEstate with stock openssl in dir/certs.
func makeInteropEstate(t *testing.T) (dir, certs string) {
	t.Helper()
	openssl := interopTool(t, "openssl", "")
	dir = t.TempDir()
	certs = filepath.Join(dir, "certs")
	os.MkdirAll(certs, 0o700)
	gen := exec.Command("bash", "-c", interopEstate)
	gen.Dir = certs
	gen.Env = append(os.Environ(), "PATH="+filepath.Dir(openssl)+":"+os.Getenv("PATH"))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	return dir, certs
}

// interopLedger is certgov's answers for the estate: ls -o json by
// fingerprint.
func interopLedger(t *testing.T) map[string]trustRecord {
	t.Helper()
	r := certgov(t, "ls", "-o", "json")
	var records []trustRecord
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatalf("ls: %v\n%s", err, r.stderr)
	}
	out := map[string]trustRecord{}
	for _, rec := range records {
		out[rec.Fingerprint] = rec
	}
	return out
}

// presentEach presents every interop client certificate to each server
// (name and port) and compares the answer with certgov's; it returns the
// pairs that differ, and how many were compared.
func presentEach(t *testing.T, certs string, servers map[string]int, real func(status int) bool) (differ []string, pairs int) {
	t.Helper()
	byFingerprint := interopLedger(t)
	for _, client := range interopClients {
		pemData := mustRead(t, filepath.Join(certs, client+".pem"))
		rec := byFingerprint[fingerprintOfPEM(t, pemData)]
		pair := interopPair(t, certs, client)
		for _, name := range slices.Sorted(maps.Keys(servers)) {
			status, _ := presentTo(t, servers[name], "localhost", pair)
			pairs++
			if said := admittedByServer(rec, name); said != real(status) {
				differ = append(differ, fmt.Sprintf("%s at %s: the server answered %d, certgov says admitted=%v (trust %v; findings %v)", client, name, status, said, serverNames(rec), rec.Findings))
			}
		}
	}
	return differ, pairs
}

// javaServer is a Java TLS service (as Tomcat, Kafka and Spring run one):
// client authentication required, PKIX over a JKS truststore, one
// listener per truststore; it answers HTTP 200 once the handshake
// succeeds.
const javaServer = `
import javax.net.ssl.*;
import java.io.*;
import java.net.*;
import java.security.KeyStore;

public class Server {
    public static void main(String[] args) throws Exception {
        char[] password = "changeit".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(new FileInputStream(args[0]), password);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        for (int i = 1; i + 1 < args.length; i += 2) {
            KeyStore trust = KeyStore.getInstance("JKS");
            trust.load(new FileInputStream(args[i + 1]), password);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            SSLServerSocket socket = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(Integer.parseInt(args[i]), 50, InetAddress.getLoopbackAddress());
            socket.setNeedClientAuth(true);
            new Thread(() -> serve(socket)).start();
        }
        System.out.println("ready");
    }

    static void serve(SSLServerSocket socket) {
        while (true) {
            try {
                SSLSocket s = (SSLSocket) socket.accept();
                new Thread(() -> answer(s)).start();
            } catch (IOException e) {
                return;
            }
        }
    }

    static void answer(SSLSocket s) {
        try (s) {
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n".getBytes());
            out.flush();
        } catch (IOException e) {
            // refused: the handshake failed
        }
    }
}
`

// TestServersAgreeWithJava runs a Java 17 TLS service (Debian's
// openjdk-17-jdk-headless) with three JKS truststores made by keytool with
// its defaults (the root; the root and a self-signed partner; the issuing
// CA alone, which Java's PKIX takes as an anchor by itself), imports each
// truststore with --server, presents every client certificate, and fails
// naming each pair where certgov's answer differs from the handshake.
func TestServersAgreeWithJava(t *testing.T) {
	java := interopTool(t, "java", "")
	keytool := interopTool(t, "keytool", "")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
	}
	run(keytool, "-genkeypair", "-alias", "server", "-keyalg", "RSA", "-dname", "CN=java.test", "-keystore", filepath.Join(dir, "server.p12"), "-storepass", "changeit")
	stores := map[string][]string{
		"java-root":          {"root"},
		"java-root-partners": {"root", "partner"},
		"java-issuing":       {"int1"},
	}
	servers := map[string]int{}
	args := []string{filepath.Join(dir, "Server.java"), filepath.Join(dir, "server.p12")}
	for name, members := range stores {
		store := filepath.Join(dir, name+".jks")
		for _, m := range members {
			run(keytool, "-importcert", "-noprompt", "-alias", m, "-file", filepath.Join(certs, m+".pem"), "-keystore", store, "-storetype", "JKS", "-storepass", "changeit")
		}
		servers[name] = freePort(t)
		args = append(args, fmt.Sprint(servers[name]), store)
	}
	if err := os.WriteFile(filepath.Join(dir, "Server.java"), []byte(javaServer), 0o600); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(java, args...)
	daemon.Stderr = os.Stderr
	stdout, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	// The JVM compiles Server.java first, which takes seconds on a busy
	// machine: it says "ready" once every listener is bound.
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the Java service did not start")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the Java service did not start within 2 minutes")
	}

	if r := certgov(t, "import", certs); r.code != 0 {
		t.Fatalf("import certs: %d %s", r.code, r.stderr)
	}
	for name := range stores {
		if r := certgov(t, "import", "--server", name, filepath.Join(dir, name+".jks")); r.code != 0 {
			t.Fatalf("import %s: %d %s", name, r.code, r.stderr)
		}
	}
	differ, pairs := presentEach(t, certs, servers, func(status int) bool { return status == 200 })
	for _, d := range differ {
		t.Error(d)
	}
	t.Logf("%d certificate/server pairs compared with Java, %d differ", pairs, len(differ))
}

func admittedByServer(rec trustRecord, server string) bool {
	for _, ref := range rec.Trust {
		if ref.Server == server && ref.RefusedNow == "" {
			return true
		}
	}
	return false
}

func serverNames(rec trustRecord) []string {
	var out []string
	for _, ref := range rec.Trust {
		out = append(out, cmp.Or(ref.Server, filepath.Base(ref.Source)))
	}
	return slices.Compact(out)
}

// presentTo connects with the client certificate pair, asks for / and
// returns the HTTP status (0 when the handshake or the request failed) and
// whether the server asked for a certificate at all.
func presentTo(t *testing.T, port int, serverName string, pair tls.Certificate) (status int, asked bool) {
	t.Helper()
	config := &tls.Config{ServerName: serverName, InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &pair, nil
		}}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), config)
	if err != nil {
		return 0, asked
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", serverName)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return 0, asked
	}
	fmt.Sscanf(line, "HTTP/1.1 %d", &status)
	return status, asked
}

// startNginx checks and starts nginx with prefix dir and conf until the
// test ends, and waits for it to listen on port.
func startNginx(t *testing.T, nginx, dir, conf string, port int) {
	t.Helper()
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	daemon := exec.Command(nginx, "-p", dir, "-c", conf, "-g", "daemon off;")
	daemon.Stderr = os.Stderr
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	waitListening(t, port)
}

// interopTool finds a program the suite runs; CI installs it (.ci/run),
// so there its absence fails the test.
func interopTool(t *testing.T, name, fallback string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if fallback != "" {
		if _, err := os.Stat(fallback); err == nil {
			return fallback
		}
	}
	if os.Getenv("CERTGOV_CI") != "" {
		t.Fatalf("%s is missing on CI (.ci/run installs it)", name)
	}
	t.Skipf("no %s here", name)
	return ""
}

// portsGiven remembers every port freePort handed out in this process:
// a port is free again once its probe closes, and the kernel may give
// it to the next probe, so two servers of one test (or of two parallel
// tests) would otherwise share it and answer for each other.
var portsGiven = struct {
	sync.Mutex
	seen map[int]bool
}{seen: map[int]bool{}}

func freePort(t *testing.T) int {
	t.Helper()
	portsGiven.Lock()
	defer portsGiven.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven.seen[port] {
			portsGiven.seen[port] = true
			return port
		}
	}
	t.Fatal("no port left that this process has not handed out")
	return 0
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	for range 400 { // 20 s: a loaded CI machine starts servers slowly
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
