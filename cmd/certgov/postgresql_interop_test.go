package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"certgov/model"
	"certgov/store"
)

// The suite's pg_hba.conf: a line per way PostgreSQL lets a certificate
// in, in an order where earlier lines take some connections first.
const interopHBA = `# TYPE  DATABASE  USER  ADDRESS  METHOD
local    all       all                    trust
hostssl  all       admin  127.0.0.1/32    reject
hostssl  app       "direct.ops.svc"  127.0.0.1/32  cert
hostssl  ledgerdb  all    127.0.0.1/32    cert map=services
hostssl  reports   all    127.0.0.1/32    cert clientname=DN map=bydn
hostssl  vault     all    127.0.0.1/32    scram-sha-256 clientcert=verify-full
hostssl  legacydb  ledger,reader 127.0.0.1  255.255.255.255  trust clientcert=verify-ca
hostssl  all       all    10.0.0.0/8      cert
hostssl  all       all    127.0.0.1/32    cert
`

// interopIdent maps certificate names to roles: a regex with \1, exact
// names, and DNs as OpenSSL's RFC 2253 form writes them.
const interopIdent = `# MAPNAME  SYSTEM-USERNAME  PG-USERNAME
services  /^(.*)\.payments\.svc$   \1
services  partner-a                partner_ro
bydn      "CN=partner-a,O=Partner A"  reporter
bydn      "/^CN=([a-z]+)\.payments\.svc,OU=payments,O=Example Corp$"  \1
`

// interopRoles and interopDatabases are what the suite's cluster holds;
// every role has the password interopPassword.
var (
	interopRoles     = []string{"admin", "direct.ops.svc", "ledger", "deep", "legacy", "reader", "partner_ro", "reporter", "partner-a", "ledger.payments.svc", "stranger"}
	interopDatabases = []string{"app", "ledgerdb", "reports", "vault", "legacydb", "postgres"}
)

const interopPassword = "interop-pw"

// TestServersAgreeWithPostgreSQL runs a real PostgreSQL (Debian's 15) on
// 127.0.0.1 with SSL, a CA file relative to its data folder, a pg_hba.conf
// whose lines cover how PostgreSQL lets certificates in (cert with the CN
// as the role, a pg_ident map with a regex and \1, clientname=DN,
// clientcert=verify-full with a password, clientcert=verify-ca, lines
// earlier lines shadow) and a pg_ident.conf, then logs in with every
// client certificate as every role to every database, and fails naming
// each login where certgov's answer (a server admitting the certificate,
// and its reach allowing that role there) differs from PostgreSQL's.
func TestServersAgreeWithPostgreSQL(t *testing.T) {
	bin := postgresBin(t)
	isolate(t)
	_, certs := makeInteropEstate(t)
	cluster := postgresCluster(t, bin, certs)

	conf := filepath.Join(cluster.data, "postgresql.conf")
	importConfig(t, certs, conf)
	servers := storedServersOfKind(t, "postgresql hostssl")
	if len(servers) != 7 {
		t.Fatalf("certgov reads %d certificate lines, want 7: %v", len(servers), slices.Collect(maps.Keys(servers)))
	}
	byFingerprint := interopLedger(t)
	var differ []string
	logins, allowed := 0, 0
	for _, client := range interopClients {
		pemData := mustRead(t, filepath.Join(certs, client+".pem"))
		rec := byFingerprint[fingerprintOfPEM(t, pemData)]
		cert := parsePEMCertificate(t, pemData)
		for _, db := range interopDatabases {
			for _, role := range interopRoles {
				logins++
				real := cluster.logIn(t, certs, client, role, db)
				var said []string
				for name, srv := range servers {
					if !admittedByServer(rec, name) {
						continue
					}
					for _, r := range srv.Login.ReachOf(&cert) {
						if r.Allows(role, db, "127.0.0.1") {
							said = append(said, name)
						}
					}
				}
				if real == nil {
					allowed++
				}
				if (real == nil) != (len(said) > 0) {
					differ = append(differ, fmt.Sprintf("%s as %s to %s: PostgreSQL says %v, certgov says through %v (trust %v)", client, role, db, orOK(real), said, serverNames(rec)))
				}
			}
		}
	}
	for _, d := range differ {
		t.Error(d)
	}
	t.Logf("%d logins (certificate, role, database) compared with PostgreSQL, %d let in, %d differ", logins, allowed, len(differ))
	if allowed < 8 {
		t.Errorf("only %d logins succeed: the suite checks too little", allowed)
	}

	scanPostgreSQL(t, cluster, certs)

	// What people read: show names the roles a certificate reaches.
	show := certgov(t, "show", fingerprintOfPEM(t, mustRead(t, filepath.Join(certs, "ledger.pem"))))
	for _, want := range []string{"logs in as ledger to ledgerdb from 127.0.0.1/32 (line 5)\n", "logs in as ledger.payments.svc to vault from 127.0.0.1/32 (line 7, with the role's password too: scram-sha-256)\n",
		"logs in as any of ledger,reader to legacydb from 127.0.0.1/32 (line 8)\n",
		"logs in as ledger.payments.svc to any database from 127.0.0.1/32 (line 10); line 5 decides first for ledgerdb as all from 127.0.0.1/32 (cert);"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show ledger does not say %q:\n%s", want, show.stdout)
		}
	}
}

// scanPostgreSQL: a scan through PostgreSQL's SSLRequest sees the CA
// names the imported configuration sends; after the CA file changes
// behind certgov's back and PostgreSQL reloads, it sees the drift.
func scanPostgreSQL(t *testing.T, cluster *pgCluster, certs string) {
	t.Helper()
	target := fmt.Sprintf("127.0.0.1:%d", cluster.port)
	r := certgov(t, "scan", "--starttls", "postgres", target)
	if r.code != 0 || !strings.Contains(r.stdout, "asks for CN=partner-a,O=Partner A") || !strings.Contains(r.stdout, "matches  its imported configuration: postgresql hostssl") {
		t.Errorf("scan: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(cluster.data, "root-and-partners.pem"), mustRead(t, filepath.Join(certs, "root.pem")), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster.ctl(t, "reload")
	time.Sleep(time.Second) // the postmaster reloads after pg_ctl returns
	r = certgov(t, "scan", "--starttls", "postgres", target)
	if !strings.Contains(r.stdout, "DRIFT") || !strings.Contains(r.stdout, `does not ask for CA names its imported configuration lists: "CN=partner-a,O=Partner A"`) {
		t.Errorf("scan after the CA file changed: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if plain := certgov(t, "scan", target); plain.code == 0 {
		t.Errorf("a scan without --starttls postgres cannot see PostgreSQL's TLS: %s", plain.stdout)
	}
}

func orOK(err error) string {
	if err == nil {
		return "logged in"
	}
	return "refused (" + err.Error() + ")"
}

// storedServersOfKind is the servers of one kind as the database holds
// them, by name: certgov servers -o json makes what files wrote safe to
// print, which escapes a pg_ident regex's backslashes.
func storedServersOfKind(t *testing.T, kind string) map[string]model.Server {
	t.Helper()
	s := openCommandsStore(t, "servers")
	all, err := s.Servers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]model.Server{}
	for _, srv := range all {
		if srv.Kind == kind {
			out[srv.Name()] = srv
		}
	}
	return out
}

func parsePEMCertificate(t *testing.T, pemData []byte) model.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemData)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := model.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// postgresBin is the folder of Debian's PostgreSQL programs.
func postgresBin(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	if len(dirs) > 0 {
		return dirs[len(dirs)-1]
	}
	interopTool(t, "postgres", "") // fails on CI, skips elsewhere
	return ""
}

// pgCluster is a throw-away PostgreSQL server of the suite.
type pgCluster struct {
	data, sockets, bin string
	port               int
	run                []string // how its programs run: as the postgres user under root
}

// ctl runs pg_ctl on the cluster.
func (c *pgCluster) ctl(t *testing.T, action string) {
	t.Helper()
	args := append(slices.Clone(c.run), filepath.Join(c.bin, "pg_ctl"), "-D", c.data, action)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl %s: %v\n%s", action, err, out)
	}
}

// postgresCluster makes and starts a cluster: initdb's own
// postgresql.conf with the suite's SSL settings added, its pg_hba.conf
// and pg_ident.conf replaced; the roles and databases made. As root the
// cluster is the postgres user's (PostgreSQL refuses to run as root).
func postgresCluster(t *testing.T, bin, certs string) *pgCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "certgov-pg-interop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var run []string
	owner := -1
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("no postgres user to run PostgreSQL as: %v", err)
		}
		owner, _ = strconv.Atoi(u.Uid)
		run = []string{"runuser", "-u", "postgres", "--"}
		os.Chown(dir, owner, -1)
	}
	c := &pgCluster{data: filepath.Join(dir, "data"), sockets: dir, bin: bin, port: freePort(t), run: run}
	command := func(args ...string) {
		t.Helper()
		args = append(slices.Clone(run), args...)
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	command(filepath.Join(bin, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
	write := func(name string, data []byte) {
		t.Helper()
		path := filepath.Join(c.data, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if owner >= 0 {
			os.Chown(path, owner, -1)
		}
	}
	write("server.crt", mustRead(t, filepath.Join(certs, "server.pem")))
	write("server.key", mustRead(t, filepath.Join(certs, "server.key")))
	write("root-and-partners.pem", mustRead(t, filepath.Join(certs, "root-and-partners.pem")))
	write("pg_hba.conf", []byte(interopHBA))
	write("pg_ident.conf", []byte(interopIdent))
	settings := fmt.Sprintf("\n# the suite's\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root-and-partners.pem'\nfsync = off\n", c.port, dir)
	write("postgresql.conf", append(mustRead(t, filepath.Join(c.data, "postgresql.conf")), settings...))
	command(filepath.Join(bin, "pg_ctl"), "-D", c.data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		args := append(slices.Clone(run), filepath.Join(bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "stop")
		exec.Command(args[0], args[1:]...).Run()
	})

	ctx := context.Background()
	admin, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", dir, c.port))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, role := range interopRoles {
		if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pgx.Identifier{role}.Sanitize(), interopPassword)); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range interopDatabases[:len(interopDatabases)-1] {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// logIn logs in over SSL with the client's certificate (and the chain
// it sends) as role to database, with the role's password when asked;
// nil when PostgreSQL lets it in.
func (c *pgCluster) logIn(t *testing.T, certs, client, role, db string) error {
	t.Helper()
	certFile := filepath.Join(certs, client+".full.pem")
	if _, err := os.Stat(certFile); err != nil {
		chain, _ := os.ReadFile(filepath.Join(certs, client+".chain"))
		os.WriteFile(certFile, append(mustRead(t, filepath.Join(certs, client+".pem")), chain...), 0o600)
	}
	config, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s sslmode=require sslcert=%s sslkey=%s connect_timeout=5",
		c.port, db, certFile, filepath.Join(certs, client+".key")))
	if err != nil {
		t.Fatal(err)
	}
	config.User, config.Password = role, interopPassword
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return err
	}
	conn.Close(ctx)
	return nil
}

// openCommandsStore opens the database the certgov command (its first
// argument) uses in this test: the default one, or the test's own
// PostgreSQL database in that pass. It is closed when the test ends.
func openCommandsStore(t *testing.T, command string) *store.Store {
	t.Helper()
	name := "certgov.db"
	if command == "demo" {
		name = "demo.db"
	}
	db, _ := store.DefaultPath(name)
	if args := withDatabase(t, []string{command}); args[0] == "--db" {
		db = args[1]
	}
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
