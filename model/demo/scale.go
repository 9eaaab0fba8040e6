package demo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ScaleGeneration changes whenever GenerateScale writes other files for
// the same arguments, so that benchmarks do not measure a cached estate
// of an older generator. 2: the gateways' DN maps gate their servers
// through if/return, and the servers are named.
const ScaleGeneration = 2

// GenerateScale builds an estate of about n certificates shaped like a
// large organisation's, for benchmarks: two roots (one P-384, one RSA) with
// two issuing CAs each; 60% of the certificates CA-signed workloads with
// one to three versions each; 40% self-signed partner certificates, some
// re-issued with the same key; CA bundles and chain files; pin lists for
// half of the partners; nginx gateways with CA files and DN maps that
// gate them; OAuth registrations with DN and SAN rules; Envoy contexts
// with SAN prefixes.
// Files hold up to 100 certificates. Keys are fresh; structure and dates
// are fixed by seed.
func GenerateScale(now time.Time, n int, seed uint64) (*Estate, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	days := func(d int) time.Time { return day.Add(time.Duration(d) * 24 * time.Hour) }
	e := &Estate{Files: map[string][]byte{}}
	issuing, err := addScalePKI(e, NewGenerator(seed), days)
	if err != nil {
		return nil, err
	}
	results, err := issueScale(scaleIdentities(n), issuing, days, seed)
	if err != nil {
		return nil, err
	}
	addScaleCertificateFiles(e, results)
	return e, addScaleTrust(e, results)
}

// addScalePKI adds two roots (P-384 and RSA) with two issuing CAs each,
// and the bundles that hold them; it returns the issuing CAs.
func addScalePKI(e *Estate, g *Generator, days func(int) time.Time) ([]*Issued, error) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaRoot, err := RSAKey(2048)
	if err != nil {
		return nil, err
	}
	roots := make([]*Issued, 2)
	for i, key := range []crypto.Signer{p384, rsaRoot} {
		if roots[i], err = g.SelfSigned(Template{CommonName: fmt.Sprintf("Scale Root CA %c", 'A'+i), Org: "Scale Corp", CA: true,
			NotBefore: days(-2000), NotAfter: days(3000), Key: key}); err != nil {
			return nil, err
		}
	}
	var issuing []*Issued
	for i := range 4 {
		ca, err := g.Issue(Template{CommonName: fmt.Sprintf("Scale Issuing CA %d", i+1), Org: "Scale Corp", CA: true,
			NotBefore: days(-1500), NotAfter: days(1500)}, roots[i/2])
		if err != nil {
			return nil, err
		}
		issuing = append(issuing, ca)
	}
	e.add("pki/bundle-a.pem", concat(roots[0].PEM(), issuing[0].PEM(), issuing[1].PEM()))
	e.add("pki/bundle-b.pem", concat(roots[1].PEM(), issuing[2].PEM(), issuing[3].PEM()))
	e.add("pki/roots.pem", concat(roots[0].PEM(), roots[1].PEM()))
	return issuing, nil
}

// scaleIdentity is one identity of a scale estate.
type scaleIdentity struct {
	partner  bool
	index    int
	versions int
}

// scaleIdentities are n certificates' identities: per block of ten, six
// workloads and four partners; a workload has one to three versions, a
// partner one or two.
func scaleIdentities(n int) []scaleIdentity {
	var ids []scaleIdentity
	for total, i := 0, 0; total < n; i++ {
		id := scaleIdentity{partner: i%10 >= 6, index: i, versions: 1 + i%3}
		if id.partner {
			id.versions = 1 + i%2
		}
		id.versions = min(id.versions, n-total)
		ids = append(ids, id)
		total += id.versions
	}
	return ids
}

// scaleIssued is an identity's certificates (PEM, oldest first) and the
// names and hashes of its current one, which trust configurations quote.
type scaleIssued struct {
	pem       [][]byte
	fpHex     string
	spki      string
	dn, uri   string
	partner   bool
	issuerIdx int
}

// issueScale issues every identity's certificates on four workers, each
// with its own generator, so that the estate is the same for a seed.
func issueScale(ids []scaleIdentity, issuing []*Issued, days func(int) time.Time, seed uint64) ([]scaleIssued, error) {
	results := make([]scaleIssued, len(ids))
	workers := 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := NewGenerator(seed + uint64(w) + 1)
			for k := w; k < len(ids); k += workers {
				id := ids[k]
				r := &results[k]
				r.partner = id.partner
				key := ECDSAKey()
				team := fmt.Sprintf("team-%02d", id.index%40)
				for v := range id.versions {
					end := (id.index*7)%420 - 30 + v*90
					t := Template{NotBefore: days(end - 365), NotAfter: days(end), Key: key}
					var cert *Issued
					var err error
					if id.partner {
						t.CommonName, t.Org, t.OrgUnit = fmt.Sprintf("partner-%06d", id.index), fmt.Sprintf("Partner %d", id.index), "integration"
						cert, err = gen.SelfSigned(t)
					} else {
						if v > 0 {
							t.Key = ECDSAKey() // workloads rotate their key
						}
						r.issuerIdx = id.index % 4
						t.CommonName, t.Org, t.OrgUnit = fmt.Sprintf("svc-%06d.%s.svc", id.index, team), "Scale Corp", team
						t.URIs = []string{fmt.Sprintf("spiffe://scale.example/ns/%s/sa/svc-%06d", team, id.index)}
						cert, err = gen.Issue(t, issuing[r.issuerIdx])
					}
					if err != nil {
						errs <- err
						return
					}
					r.pem = append(r.pem, cert.PEM())
					if v == id.versions-1 {
						sum := sha256.Sum256(cert.Cert.Raw)
						spki := sha256.Sum256(cert.Cert.RawSubjectPublicKeyInfo)
						r.fpHex = fmt.Sprintf("%x", sum)
						r.spki = base64.StdEncoding.EncodeToString(spki[:])
						r.dn = cert.Cert.Subject.String()
						if len(t.URIs) > 0 {
							r.uri = t.URIs[0]
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return results, nil

}

// addScaleCertificateFiles adds the certificates in files of up to 100.
func addScaleCertificateFiles(e *Estate, results []scaleIssued) {
	var file [][]byte
	certsInFile, fileNo := 0, 0
	flush := func() {
		if len(file) > 0 {
			e.add(fmt.Sprintf("certs/%03d/bundle-%05d.pem", fileNo%500, fileNo), concat(file...))
			fileNo++
			file, certsInFile = nil, 0
		}
	}
	for _, r := range results {
		file = append(file, r.pem...)
		certsInFile += len(r.pem)
		if certsInFile >= 100 {
			flush()
		}
	}
	flush()

}

// addScaleTrust adds the trust configuration: pins for half of the
// partners, in lists of 500; 20 nginx gateways, each trusting one bundle
// with a DN map of 50 workloads; OAuth registrations naming 1% of
// workloads by DN or URI; an Envoy context per root with a SAN prefix per
// team.
func addScaleTrust(e *Estate, results []scaleIssued) error {
	var pins strings.Builder
	pinFile := 0
	pinned := 0
	type client struct {
		ClientID  string `json:"client_id"`
		Method    string `json:"token_endpoint_auth_method"`
		SubjectDN string `json:"tls_client_auth_subject_dn,omitempty"`
		SANURI    string `json:"tls_client_auth_san_uri,omitempty"`
	}
	var clients []client
	maps := make([]strings.Builder, 20)
	for k, r := range results {
		switch {
		case r.partner && k%2 == 0:
			fmt.Fprintf(&pins, "%s  partner %d\n", r.fpHex, k)
			if pinned++; pinned%500 == 0 {
				e.add(fmt.Sprintf("pins/pins-%03d.txt", pinFile), []byte(pins.String()))
				pins.Reset()
				pinFile++
			}
		case !r.partner && k%100 == 1:
			c := client{ClientID: fmt.Sprintf("client-%d", k), Method: "tls_client_auth", SubjectDN: r.dn}
			if k%200 == 1 {
				c.SubjectDN, c.SANURI = "", r.uri
			}
			clients = append(clients, c)
		case !r.partner && k%37 == 2:
			m := &maps[k%20]
			if m.Len() < 50*120 {
				fmt.Fprintf(m, "    %q allowed;\n", r.dn)
			}
		}
	}
	if pins.Len() > 0 {
		e.add(fmt.Sprintf("pins/pins-%03d.txt", pinFile), []byte(pins.String()))
	}
	for i := range maps {
		bundle := "bundle-a.pem"
		if i%2 == 1 {
			bundle = "bundle-b.pem"
		}
		// The DN map gates the server through its if/return, as nginx
		// configurations do.
		conf := fmt.Sprintf("map $ssl_client_s_dn $allowed {\n    default 0;\n%s}\n\nserver {\n    listen 443 ssl;\n    server_name gw-%02d.example;\n    ssl_verify_client on;\n    ssl_client_certificate ../../pki/%s;\n    if ($allowed = 0) { return 403; }\n}\n", maps[i].String(), i, bundle)
		e.add(fmt.Sprintf("gateways/gw-%02d/nginx.conf", i), []byte(conf))
	}
	registrations, err := json.MarshalIndent(map[string]any{"clients": clients}, "", "  ")
	if err != nil {
		return err
	}
	e.add("oauth/clients.json", registrations)
	for i := range 2 {
		var envoy strings.Builder
		envoy.WriteString("static_resources:\n  listeners:\n  - name: mesh\n    filter_chains:\n    - transport_socket:\n        typed_config:\n          common_tls_context:\n            validation_context:\n")
		fmt.Fprintf(&envoy, "              trusted_ca: {filename: ../pki/bundle-%c.pem}\n              match_typed_subject_alt_names:\n", 'a'+i)
		for t := i; t < 40; t += 2 {
			fmt.Fprintf(&envoy, "              - {san_type: URI, matcher: {prefix: \"spiffe://scale.example/ns/team-%02d/\"}}\n", t)
		}
		e.add(fmt.Sprintf("mesh/envoy-%c.yaml", 'a'+i), []byte(envoy.String()))
	}
	return nil
}
