package demo

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Seed is the demo's fixed seed: every run builds the same estate
// (names, dates relative to today, structure); keys are fresh each time.
const Seed = 2026

// KeystorePassword protects the demo's keystores: Java's default, as so
// many real truststores keep it.
const KeystorePassword = "changeit"

// Estate is a generated set of files, by slash-separated relative path.
type Estate struct {
	Files map[string][]byte
}

var teams = []struct {
	name     string
	services []string
}{
	{"payments", []string{"ledger", "settlement", "refunds", "card-vault", "fx-rates", "invoicing", "payouts", "fraud-score", "chargebacks", "wallet", "billing-api", "tax-engine", "reconciler", "merchant-api", "risk-gateway"}},
	{"platform", []string{"api-gateway", "service-mesh", "config-server", "secrets-broker", "scheduler", "log-shipper", "metrics-agent", "dns-updater", "ingress", "egress-proxy", "artifact-store", "image-builder", "cert-renewer", "queue-broker", "cache-proxy"}},
	{"data", []string{"etl-runner", "warehouse-loader", "stream-processor", "feature-store", "report-builder", "cdc-connector", "lake-writer", "ml-trainer", "ml-serving", "dq-checker", "backup-agent", "archive-sync", "search-indexer", "kafka-connect"}},
	{"identity", []string{"sso-bridge", "scim-sync", "token-service", "mfa-service", "directory-sync", "session-store", "audit-shipper", "consent-api", "account-api", "password-reset"}},
	{"logistics", []string{"tracking-api", "label-printer", "route-planner", "warehouse-scanner", "carrier-gateway", "customs-docs", "returns-api", "inventory-sync", "dispatch", "fleet-telemetry", "eta-predictor", "dock-scheduler"}},
	{"customer", []string{"crm-sync", "support-desk", "chat-router", "email-sender", "sms-gateway", "survey-api", "loyalty-points", "profile-api", "notification-hub", "voice-ivr"}},
}

var partners = []string{"acme-logistics", "globex-payments", "initech-sftp", "umbrella-health", "hooli-ads", "stark-supply", "wayne-freight", "tyrell-data", "cyberdyne-iot", "soylent-foods",
	"wonka-retail", "oscorp-labs", "aperture-qa", "blackmesa-research", "vandelay-import", "prestige-worldwide", "dunder-paper", "sterling-cooper", "pied-piper", "massive-dynamic",
	"nakatomi-trading", "gringotts-bank", "monarch-solutions", "virtucon", "duff-beverages", "krusty-burger", "bluth-homes", "planet-express", "los-pollos", "gekko-capital",
	"octan-energy", "sirius-cyber", "rekall-travel", "weyland-cargo", "zorg-industries", "omni-consumer", "veridian-dynamics", "lacuna-inc", "abstergo-media", "buy-n-large"}

var ciRepos = []string{"web-frontend", "mobile-app", "payments-core", "infra-terraform", "data-pipelines", "identity-svc", "docs-site", "platform-charts", "ml-models", "logistics-api",
	"customer-portal", "release-tools", "security-scans", "load-tests", "e2e-suite", "db-migrations", "sdk-go", "sdk-python", "sdk-java", "status-page",
	"ops-runbooks", "cost-reports", "chaos-tests", "backup-jobs", "nightly-builds", "canary-deploy", "feature-flags", "observability", "edge-config", "vuln-triage"}

// Generate builds the demo estate for the day of now.
func Generate(now time.Time) (*Estate, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	g := NewGenerator(Seed)
	rng := g.Rand()
	e := &Estate{Files: map[string][]byte{}}
	days := func(n int) time.Time { return day.Add(time.Duration(n) * 24 * time.Hour) }

	rsaPool := make([]crypto.Signer, 3)
	for i := range rsaPool {
		k, err := RSAKey(2048)
		if err != nil {
			return nil, err
		}
		rsaPool[i] = k
	}
	weakKey, err := RSAKey(1024)
	if err != nil {
		return nil, err
	}

	root, err := g.SelfSigned(Template{CommonName: "Example Corp Root CA", Org: "Example Corp", CA: true, NotBefore: days(-1500), NotAfter: days(2150), Key: rsaPool[0]})
	if err != nil {
		return nil, err
	}
	issuing, err := g.Issue(Template{CommonName: "Example Corp Workload CA 2026", Org: "Example Corp", CA: true, NotBefore: days(-1300), NotAfter: days(780)}, root)
	if err != nil {
		return nil, err
	}
	ciCA, err := g.Issue(Template{CommonName: "Example Corp CI Runner CA", Org: "Example Corp", OrgUnit: "ci", CA: true, NotBefore: days(-400), NotAfter: days(700)}, root)
	if err != nil {
		return nil, err
	}
	legacyRoot, err := g.SelfSigned(Template{CommonName: "Example Corp Legacy Root", Org: "Example Corp", CA: true, NotBefore: days(-4000), NotAfter: days(400), Key: rsaPool[1], SHA1: true})
	if err != nil {
		return nil, err
	}
	e.add("pki/ca-bundle.pem", concat(root.PEM(), issuing.PEM(), ciCA.PEM(), legacyRoot.PEM()))
	e.add("pki/workload-ca-chain.pem", concat(issuing.PEM(), root.PEM()))

	// Workloads: CA-signed client certificates with SPIFFE IDs. Lifetimes
	// spread so that some expired, some expire this week, most are fine;
	// a fifth have been rotated at least once.
	var workloads []*Issued
	for ti, team := range teams {
		for si, svc := range team.services {
			for ei, env := range []string{"", "staging", "dr"} {
				if env == "dr" && si%3 != 0 {
					continue
				}
				current, err := e.addWorkload(g, issuing, days, team.name, svc, env, ti*7+si*3+ei)
				if err != nil {
					return nil, err
				}
				workloads = append(workloads, current)
			}
		}
	}
	// The spreadsheet the platform team keeps: owners and review dates for
	// some workloads, a few stale, one row for a certificate long gone.
	var sheet strings.Builder
	sheet.WriteString("Fingerprint (SHA-256);Owner;Review by;Notes\n")
	for i, w := range workloads {
		if i%3 == 0 {
			continue
		}
		sum := sha256.Sum256(w.Cert.Raw)
		team := w.Cert.Subject.OrganizationalUnit[0]
		review := days(30 + i%200).Format("2006-01-02")
		if i%17 == 0 {
			review = days(-20 - i%40).Format("2006-01-02")
		}
		fmt.Fprintf(&sheet, "%X;%s-oncall@example.com;%s;\"%s, attested Q3\"\n", sum, team, review, w.Cert.Subject.CommonName)
	}
	sheet.WriteString("0000000000000000000000000000000000000000000000000000000000000000;legacy-team@example.com;2025-01-31;decommissioned?\n")
	e.add("inventory/platform-certificates.csv", []byte(sheet.String()))

	// The workload CA revoked two certificates after a key compromise;
	// the gateways still trust the CA, so both stay admitted.
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(42), ThisUpdate: days(-3), NextUpdate: days(4),
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: workloads[11].Cert.SerialNumber, RevocationTime: days(-10), ReasonCode: 1},
			{SerialNumber: workloads[60].Cert.SerialNumber, RevocationTime: days(-4), ReasonCode: 1},
		},
	}, issuing.Cert, issuing.Key)
	if err != nil {
		return nil, err
	}
	e.add("pki/workload-ca.crl", crl)

	// Partners: self-signed certificates registered by hand. Some long
	// lived, some expired, some on weak or SHA-1 keys, some copied around.
	var partnerCerts []*Issued
	for pi, p := range partners {
		t := Template{
			CommonName: "partner-" + p, Org: titleCase(p), OrgUnit: "integration",
			Emails:    []string{"mtls-admin@" + p + ".example"},
			NotBefore: days(-rng.IntN(700) - 30),
		}
		switch {
		case pi%10 == 3:
			t.Key = weakKey
		case pi%10 == 7:
			t.Key, t.SHA1 = rsaPool[2], true
		case pi%3 == 0:
			t.Key = Ed25519Key()
		}
		switch {
		case pi%8 == 1:
			t.NotAfter = days(-rng.IntN(60) - 1) // expired
		case pi%8 == 5:
			t.NotAfter = days(rng.IntN(6) + 1) // expires this week
		case pi%6 == 2:
			t.NotAfter = t.NotBefore.AddDate(10, 0, 0) // ten years: a forever pin
		default:
			t.NotAfter = days(rng.IntN(330) + 10)
		}
		issued, err := g.SelfSigned(t)
		if err != nil {
			return nil, err
		}
		partnerCerts = append(partnerCerts, issued)
		path := fmt.Sprintf("partners/%s.pem", p)
		if pi%4 == 2 {
			path = fmt.Sprintf("partners/%s.crt", p)
			e.add(path, concat(textDump(issued.Cert), issued.PEM()))
		} else {
			e.add(path, issued.PEM())
		}
		if pi%7 == 0 {
			// A copy someone made for another gateway: drift.
			e.add(fmt.Sprintf("gateways/legacy-edge/pinned/%s.pem", p), issued.PEM())
		}
	}
	var legacyBundle []*x509.Certificate
	var aliases []string
	var trusted []*x509.Certificate
	for i, p := range partnerCerts {
		if i%3 == 1 {
			legacyBundle = append(legacyBundle, p.Cert)
		}
		if i%2 == 0 {
			aliases = append(aliases, partners[i])
			trusted = append(trusted, p.Cert)
		}
	}
	p7b, err := PKCS7(legacyBundle...)
	if err != nil {
		return nil, err
	}
	e.add("gateways/legacy-edge/partners.p7b", p7b)
	e.add("java/partner-truststore.jks", JKSTrustStore(KeystorePassword, aliases, trusted))

	// CI jobs: short-lived certificates from the CI runner CA, plus a few
	// self-signed Ed25519 ones someone generated by hand.
	var runners [][]byte
	for ci, repo := range ciRepos {
		name := "ci-deploy-" + repo
		t := Template{CommonName: name, OrgUnit: "ci", Org: "Example Corp", URIs: []string{"spiffe://corp.example/ci/" + repo}}
		end := rng.IntN(45) - 5
		t.NotBefore, t.NotAfter = days(end-30), days(end)
		var issued *Issued
		if ci%6 == 5 {
			t.Key = Ed25519Key()
			t.NotAfter = days(end + 700)
			issued, err = g.SelfSigned(t)
		} else {
			issued, err = g.Issue(t, ciCA)
		}
		if err != nil {
			return nil, err
		}
		runners = append(runners, issued.PEM())
	}
	// Written with Windows line endings, as exported from a Windows runner.
	e.add("ci/runner-certs.pem", bytes.ReplaceAll(concat(runners...), []byte("\n"), []byte("\r\n")))

	// A client keystore with its key, as a Java service ships it.
	keystoreCert, err := g.Issue(Template{CommonName: "orders-sync.logistics.svc", OrgUnit: "logistics", Org: "Example Corp",
		URIs: []string{"spiffe://corp.example/ns/logistics/sa/orders-sync"}, NotBefore: days(-200), NotAfter: days(165)}, issuing)
	if err != nil {
		return nil, err
	}
	p12, err := gopkcs12.Modern.Encode(keystoreCert.Key, keystoreCert.Cert, []*x509.Certificate{issuing.Cert, root.Cert}, KeystorePassword)
	if err != nil {
		return nil, err
	}
	e.add("java/orders-sync-client.p12", p12)

	// The same workload deployed on Kubernetes, its key in the manifest.
	keyPEM, err := keystoreCert.KeyPEM()
	if err != nil {
		return nil, err
	}
	manifest := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-sync-mtls\n  namespace: logistics\ntype: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n",
		base64.StdEncoding.EncodeToString(keystoreCert.PEM()), base64.StdEncoding.EncodeToString(keyPEM))
	e.add("k8s/logistics/orders-sync-secret.yaml", []byte(manifest))

	// A team's own CA that no gateway bundle includes: its certificates
	// are CA-signed, but nothing verifies their chain.
	sandboxCA, err := g.SelfSigned(Template{CommonName: "Data Team Sandbox CA", Org: "Example Corp", OrgUnit: "data", CA: true, NotBefore: days(-90), NotAfter: days(640)})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"notebook-runner", "adhoc-exporter", "sandbox-loader"} {
		issued, err := g.Issue(Template{CommonName: name + ".data.sandbox", OrgUnit: "data", Org: "Example Corp",
			NotBefore: days(-60), NotAfter: days(120)}, sandboxCA)
		if err != nil {
			return nil, err
		}
		e.add("services/sandbox/"+name+".crt", issued.PEM())
	}

	// A lookalike: someone made a self-signed certificate with the
	// fx-rates workload's names for a test and left it where clients
	// find it. Name rules must not admit it, and it must not take over the
	// identity.
	lookalike, err := g.SelfSigned(Template{CommonName: "fx-rates.payments.svc", OrgUnit: "payments", Org: "Example Corp",
		URIs: []string{"spiffe://corp.example/ns/payments/sa/fx-rates"}, NotBefore: days(-5), NotAfter: days(360)})
	if err != nil {
		return nil, err
	}
	e.add("downloads/fx-rates-test-client.pem", lookalike.PEM())

	if err := e.addTrustConfigs(partnerCerts); err != nil {
		return nil, err
	}
	e.add("README.txt", []byte("Demo certificate estate generated by certgov demo. Every key here is throwaway.\n"))
	return e, nil
}

// addTrustConfigs writes the server-side trust configuration: a gateway's
// pin list, OAuth client registrations (RFC 8705) and a Keycloak realm,
// with the drift real ones accumulate: a pin for a certificate nobody has
// any more, a registration with a misspelt name, a subject DN pattern
// loose enough to admit a whole team.
func (e *Estate) addTrustConfigs(partners []*Issued) error {
	var pins strings.Builder
	pins.WriteString("# legacy-edge gateway: partner client certificates pinned by hand\n")
	for i, p := range partners {
		sum := sha256.Sum256(p.Cert.Raw)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&pins, "%s  %s\n", colonHex(sum[:]), p.Cert.Subject.CommonName)
		case 1:
			sha1sum := sha1.Sum(p.Cert.Raw)
			fmt.Fprintf(&pins, "%x\t%s (nginx $ssl_client_fingerprint)\n", sha1sum, p.Cert.Subject.CommonName)
		case 2:
			spki := sha256.Sum256(p.Cert.RawSubjectPublicKeyInfo)
			fmt.Fprintf(&pins, "sha256/%s %s\n", base64.StdEncoding.EncodeToString(spki[:]), p.Cert.Subject.CommonName)
		}
	}
	stale := sha256.Sum256([]byte("a certificate retired long ago"))
	fmt.Fprintf(&pins, "sha256:%x  partner-initrode-legacy (retired?)\n", stale)
	e.add("gateways/legacy-edge/pinned-clients.txt", []byte(pins.String()))

	type jwk struct {
		X5C     []string `json:"x5c,omitempty"`
		X5TS256 string   `json:"x5t#S256,omitempty"`
	}
	type client struct {
		ClientID   string `json:"client_id"`
		ClientName string `json:"client_name,omitempty"`
		Method     string `json:"token_endpoint_auth_method"`
		SubjectDN  string `json:"tls_client_auth_subject_dn,omitempty"`
		SANURI     string `json:"tls_client_auth_san_uri,omitempty"`
		SANDNS     string `json:"tls_client_auth_san_dns,omitempty"`
		JWKS       *struct {
			Keys []jwk `json:"keys"`
		} `json:"jwks,omitempty"`
		Bound bool `json:"tls_client_certificate_bound_access_tokens"`
	}
	var clients []client
	for i, p := range partners {
		if i%5 != 3 && i%5 != 4 {
			continue
		}
		k := jwk{X5C: []string{base64.StdEncoding.EncodeToString(p.Cert.Raw)}}
		if i%5 == 4 {
			sum := sha256.Sum256(p.Cert.Raw)
			k = jwk{X5TS256: base64.RawURLEncoding.EncodeToString(sum[:])}
		}
		clients = append(clients, client{ClientID: p.Cert.Subject.CommonName, Method: "self_signed_tls_client_auth", Bound: true,
			JWKS: &struct {
				Keys []jwk `json:"keys"`
			}{Keys: []jwk{k}}})
	}
	clients = append(clients,
		client{ClientID: "ledger", ClientName: "Ledger service", Method: "tls_client_auth", SubjectDN: "CN=ledger.payments.svc,OU=payments,O=Example Corp", Bound: true},
		client{ClientID: "settlement", Method: "tls_client_auth", SANURI: "spiffe://corp.example/ns/payments/sa/settlement", Bound: true},
		client{ClientID: "refunds-v1", Method: "tls_client_auth", SANDNS: "refunds.payment.svc.cluster.local", Bound: true},
	)
	registrations, err := json.MarshalIndent(map[string]any{"clients": clients}, "", "  ")
	if err != nil {
		return err
	}
	e.add("oauth/client-registrations.json", registrations)

	realm := map[string]any{
		"realm": "partners",
		"clients": []map[string]any{
			{"clientId": "tracking-api", "clientAuthenticatorType": "client-x509",
				"attributes": map[string]string{"x509.subjectdn": "CN=tracking-api.logistics.svc,OU=logistics,O=Example Corp", "x509.allow.regex.pattern.comparison": "false"}},
			{"clientId": "payments-batch", "clientAuthenticatorType": "client-x509",
				"attributes": map[string]string{"x509.subjectdn": "CN=.*\\.payments\\.svc,OU=payments,O=Example Corp", "x509.allow.regex.pattern.comparison": "true"}},
			{"clientId": "admin-console", "clientAuthenticatorType": "client-secret", "secret": "**********"},
		},
	}
	realmJSON, err := json.MarshalIndent(realm, "", "  ")
	if err != nil {
		return err
	}
	e.add("keycloak/partners-realm.json", realmJSON)

	var nginx strings.Builder
	nginx.WriteString("# partner-edge: mTLS for logistics carriers\n")
	nginx.WriteString("map $ssl_client_s_dn $carrier {\n    default \"\";\n")
	nginx.WriteString("    \"CN=carrier-gateway.logistics.svc,OU=logistics,O=Example Corp\" carrier-gateway;\n")
	nginx.WriteString("    \"CN=fleet-telemetry.logistics.svc,OU=logistics,O=Example Corp\" fleet;\n")
	nginx.WriteString("    \"CN=dhl-bridge.logistics.svc,OU=logistics,O=Example Corp\" dhl;   # decommissioned in spring\n")
	nginx.WriteString("}\n\nmap $ssl_client_fingerprint $partner_ok {\n    default 0;\n")
	for i, p := range partners {
		if i%7 == 3 {
			sum := sha1.Sum(p.Cert.Raw)
			fmt.Fprintf(&nginx, "    %x 1;   # %s\n", sum, p.Cert.Subject.CommonName)
		}
	}
	// Workloads come in through the company CA; the DN map lets only the
	// carriers' services through (its if/return is what makes it a gate).
	// Paths are relative to nginx's prefix, the folder of nginx.conf.
	nginx.WriteString("}\n\nserver {\n    listen 8443 ssl;\n    server_name carriers.partner-edge.example;\n    ssl_verify_client on;\n    ssl_client_certificate ../../pki/workload-ca-chain.pem;\n    if ($carrier = \"\") { return 403; }\n}\n")
	// Partners are let in by the SHA-1 fingerprint map alone: nothing
	// verifies their self-signed certificates.
	nginx.WriteString("\nserver {\n    listen 8444 ssl;\n    server_name partners.partner-edge.example;\n    ssl_verify_client optional_no_ca;\n    if ($partner_ok != 1) { return 403; }\n}\n")
	// The carriers' own self-signed certificates, pasted into the file
	// nginx calls its CA file: each is its own trust anchor there.
	nginx.WriteString("\nserver {\n    listen 9443 ssl;\n    server_name legacy-carriers.partner-edge.example;\n    ssl_client_certificate carrier-clients.pem;\n    ssl_verify_client on;\n}\n")
	var carriers [][]byte
	for i, p := range partners {
		if i%6 == 1 {
			carriers = append(carriers, p.PEM())
		}
	}
	e.add("gateways/partner-edge/carrier-clients.pem", concat(carriers...))
	e.add("gateways/partner-edge/nginx.conf", []byte(nginx.String()))

	var envoy strings.Builder
	envoy.WriteString("# mesh ingress: payments namespace and two partners by key\n")
	envoy.WriteString("static_resources:\n  listeners:\n  - name: payments_ingress\n    filter_chains:\n    - transport_socket:\n        name: envoy.transport_sockets.tls\n")
	envoy.WriteString("        typed_config:\n          common_tls_context:\n            validation_context:\n")
	envoy.WriteString("              trusted_ca: {filename: ../pki/workload-ca-chain.pem}\n")
	envoy.WriteString("              match_typed_subject_alt_names:\n")
	envoy.WriteString("              - {san_type: URI, matcher: {prefix: \"spiffe://corp.example/ns/payments/\"}}\n")
	// Envoy requires every condition of a context: partners pinned by key
	// get a listener of their own, without trusted_ca.
	envoy.WriteString("  - name: partner_ingress\n    filter_chains:\n    - transport_socket:\n        name: envoy.transport_sockets.tls\n")
	envoy.WriteString("        typed_config:\n          require_client_certificate: true\n          common_tls_context:\n            validation_context:\n")
	envoy.WriteString("              verify_certificate_spki:\n")
	for i, p := range partners {
		if i%9 == 5 {
			spki := sha256.Sum256(p.Cert.RawSubjectPublicKeyInfo)
			fmt.Fprintf(&envoy, "              - %q  # %s\n", base64.StdEncoding.EncodeToString(spki[:]), p.Cert.Subject.CommonName)
		}
	}
	e.add("mesh/envoy-ingress.yaml", []byte(envoy.String()))
	return nil
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// addWorkload issues the versions of one workload identity. Lifetimes
// spread so that some expired, some expire this week, most are fine; a
// fifth have been rotated at least once.
func (e *Estate) addWorkload(g *Generator, issuing *Issued, days func(int) time.Time, team, svc, env string, n int) (*Issued, error) {
	rng := g.Rand()
	lifetime := []int{90, 180, 365, 398}[rng.IntN(4)]
	remaining := rng.IntN(lifetime+30) - 25
	if n%13 == 0 {
		remaining = rng.IntN(7) // expiring this week
	}
	versions := 1
	if n%5 == 0 {
		versions = 2 + rng.IntN(2)
	}
	name, spiffe, dir := svc+"."+team+".svc", "spiffe://corp.example/ns/"+team+"/sa/"+svc, "services/"+team
	if env != "" {
		name = svc + "." + team + "." + env + ".svc"
		spiffe = "spiffe://" + env + ".corp.example/ns/" + team + "/sa/" + svc
		dir = "services/" + env + "/" + team
	}
	var current *Issued
	for v := versions - 1; v >= 0; v-- {
		end := remaining - v*lifetime
		issued, err := g.Issue(Template{
			CommonName: name, OrgUnit: team, Org: "Example Corp",
			URIs: []string{spiffe}, DNSNames: []string{name + ".cluster.local"},
			NotBefore: days(end - lifetime), NotAfter: days(end),
		}, issuing)
		if err != nil {
			return nil, err
		}
		current = issued
		switch {
		case v > 0:
			e.add(fmt.Sprintf("%s/old/%s-v%d.pem", dir, svc, versions-v), issued.PEM())
		case n%9 == 4:
			e.add(fmt.Sprintf("%s/%s.cer", dir, svc), issued.Cert.Raw)
		case n%17 == 6:
			// A private key left beside its certificate.
			key, err := issued.KeyPEM()
			if err != nil {
				return nil, err
			}
			e.add(fmt.Sprintf("%s/%s.pem", dir, svc), concat(issued.PEM(), key))
		default:
			e.add(fmt.Sprintf("%s/%s.crt", dir, svc), concat(issued.PEM(), issuing.PEM()))
		}
	}
	return current, nil
}

func (e *Estate) add(path string, data []byte) { e.Files[path] = data }

// Paths lists the estate's files in order.
func (e *Estate) Paths() []string {
	paths := make([]string, 0, len(e.Files))
	for p := range e.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Write writes the estate below dir: folders 0700, files 0600, since the
// estate holds (throwaway) private keys.
func (e *Estate) Write(dir string) error {
	for _, p := range e.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(full, e.Files[p], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func titleCase(slug string) string {
	words := strings.Split(slug, "-")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// textDump imitates the `openssl x509 -text` header that people paste
// above the PEM block.
func textDump(c *x509.Certificate) []byte {
	return fmt.Appendf(nil, "Certificate:\n    Data:\n        Version: %d (0x%x)\n        Serial Number: %x\n        Issuer: %s\n        Validity\n            Not Before: %s\n            Not After : %s\n        Subject: %s\n",
		c.Version, c.Version-1, c.SerialNumber, c.Issuer, c.NotBefore.Format("Jan _2 15:04:05 2006 GMT"), c.NotAfter.Format("Jan _2 15:04:05 2006 GMT"), c.Subject)
}
