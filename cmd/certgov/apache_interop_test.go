package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// apacheModules are the modules the suite's httpd loads: the event MPM,
// mod_ssl, access control, and mod_status, which answers 200 at / without
// reading a file (workers run as nobody when the test runs as root).
var apacheModules = []string{"mpm_event", "authz_core", "ssl", "status", "socache_shmcb"}

// TestServersAgreeWithApache runs a real Apache httpd (Debian's apache2,
// 2.4) on 127.0.0.1 with a virtual host per way mod_ssl decides client
// certificates (require and optional at the default depth 1 and deeper,
// a CA file holding a self-signed partner, a hashed CA folder, CRLs
// checked for the chain and for the leaf only, Require expr on the
// subject's CN, optional_no_ca gated on a name alone, none), relative
// paths read below ServerRoot, presents every client certificate to every
// host, and fails naming each pair where certgov's answer differs from
// httpd's (HTTP 200 or not).
func TestServersAgreeWithApache(t *testing.T) {
	httpd := interopTool(t, "apache2", "/usr/sbin/apache2")
	isolate(t)
	dir, certs := makeInteropEstate(t)
	hashed := hashedFolder(t, certs)
	if os.Geteuid() == 0 {
		// httpd's workers run as nobody and look the hashed folder up per
		// handshake: it and the folders above must be theirs to read.
		for d := hashed; strings.HasPrefix(d, dir) || d == filepath.Dir(dir); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		os.Chmod(filepath.Join(hashed, "root.pem"), 0o644)
		os.Chmod(filepath.Join(hashed, "partner.pem"), 0o644)
	}

	const cn = `Require expr %{SSL_CLIENT_S_DN_CN} in {"ledger.payments.svc", "partner-a"}`
	servers := []*interopServer{
		{name: "require", block: "SSLVerifyClient require\nSSLCACertificateFile root.pem"},
		{name: "deep", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root-and-partners.pem"},
		{name: "optional", block: "SSLVerifyClient optional\nSSLVerifyDepth 2\nSSLCACertificateFile root.pem"},
		{name: "hashed", block: "SSLVerifyClient require\nSSLVerifyDepth 2\nSSLCACertificatePath hashed"},
		{name: "crl-chain", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root-and-partners.pem\nSSLCARevocationFile crls.pem\nSSLCARevocationCheck chain"},
		{name: "crl-leaf", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root-and-partners.pem\nSSLCARevocationFile crls.pem\nSSLCARevocationCheck leaf"},
		{name: "gated", block: "SSLVerifyClient require\nSSLVerifyDepth 2\nSSLCACertificateFile root-and-partners.pem\n<Location />\n" + cn + "\n</Location>"},
		{name: "no-ca", block: "SSLVerifyClient optional_no_ca\n<Location />\nRequire expr %{SSL_CLIENT_S_DN_O} == 'Partner A'\n</Location>"},
		{name: "none", block: "SSLCACertificateFile root.pem", off: true},
		// The issuer's name, and the first DNS name (ledger has two).
		{name: "issuer", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root-and-partners.pem\n<Location />\nRequire expr %{SSL_CLIENT_I_DN_CN} == 'Interop Issuing CA 1'\n</Location>"},
		{name: "first-san", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root.pem\n<Location />\nRequire expr %{SSL_CLIENT_SAN_DNS_0} in {'ledger.payments.svc', 'deep.payments.svc'}\n</Location>"},
		{name: "second-san-first", block: "SSLVerifyClient require\nSSLVerifyDepth 3\nSSLCACertificateFile root.pem\n<Location />\nRequire expr %{SSL_CLIENT_SAN_DNS_0} == 'ledger.internal'\n</Location>"},
	}
	var config strings.Builder
	fmt.Fprintf(&config, "ServerRoot %s\nServerName localhost\nPidFile %[2]s/httpd.pid\nErrorLog %[2]s/error.log\nDefaultRuntimeDir %[2]s\n", certs, dir)
	for _, m := range apacheModules {
		fmt.Fprintf(&config, "LoadModule %s_module /usr/lib/apache2/modules/mod_%[1]s.so\n", m)
	}
	if os.Geteuid() == 0 {
		config.WriteString("User nobody\nGroup nogroup\n")
	}
	config.WriteString("<Location />\n    SetHandler server-status\n</Location>\n")
	for _, s := range servers {
		s.port = freePort(t)
		fmt.Fprintf(&config, "\nListen 127.0.0.1:%d\n<VirtualHost 127.0.0.1:%[1]d>\n    ServerName %s.test\n    SSLEngine on\n    SSLCertificateFile server.pem\n    SSLCertificateKeyFile server.key\n    %s\n</VirtualHost>\n",
			s.port, s.name, strings.ReplaceAll(s.block, "\n", "\n    "))
	}
	conf := filepath.Join(dir, "apache2.conf")
	if err := os.WriteFile(conf, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(httpd, "-f", conf, "-t").CombinedOutput(); err != nil {
		t.Fatalf("apache2 -t: %v\n%s", err, out)
	}
	startDaemon(t, exec.Command(httpd, "-f", conf, "-DFOREGROUND"), servers)
	importConfig(t, certs, conf)
	hosts := knownServersOfKind(t, "apache virtual host", len(servers))
	if got := hosts[fmt.Sprintf("no-ca.test:%d", servers[7].port)].SpoofableNames; len(got) != 1 {
		t.Errorf("optional_no_ca gated on O alone: spoofable names %v, want the one it tests", got)
	}
	compareEach(t, certs, servers, "Apache httpd", nil)
}
