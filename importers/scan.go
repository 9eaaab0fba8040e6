package importers

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// ScanTimeout bounds one scan: the TCP connection and the handshake
// together. A scan tries once: no retries to storm a server with.
const ScanTimeout = 10 * time.Second

// ScanSourceKey is the source key of a scan of target ("HOST:PORT"), as
// scanned from the named host's point of view.
func ScanSourceKey(host, target string) string {
	return model.SourceKey(host, "tls:"+target)
}

// Scan connects to target (HOST:PORT) as a client without a key: it
// records the server's own certificate chain (inventory, whose expiry
// findings apply) and the CA names the server asks clients for (the
// certificate_authorities of its CertificateRequest), as a scanned server
// that findings compare with the imported configuration of host (import
// --host) at that port. serverName is the SNI to send (default: target's
// host). The handshake may fail once the server wants a certificate that
// is not sent; what was seen until then is the result. starttls names
// the protocol that asks for TLS first: "postgres" (PostgreSQL's
// SSLRequest), or "" for TLS from the first byte.
func Scan(ctx context.Context, target, serverName, host, starttls string, now time.Time) model.FileResult {
	key := ScanSourceKey(host, target)
	res := model.FileResult{Source: model.Source{Path: key, Kind: model.KindTLSScan, ImportedAt: now.UTC().Truncate(time.Second)}}
	addr, port, err := net.SplitHostPort(target)
	if err != nil || port == "" {
		res.Err = fmt.Errorf("scan %s: want HOST:PORT", target)
		return res
	}
	if serverName == "" && net.ParseIP(addr) == nil {
		serverName = addr
	}
	var chain [][]byte
	var asked bool
	var caNames [][]byte
	config := &tls.Config{
		ServerName: serverName,
		// certgov inventories the server's chain; it does not judge it
		// here (its findings do).
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			chain = raw
			return nil
		},
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked, caNames = true, cri.AcceptableCAs
			return &tls.Certificate{}, nil // no key: certgov holds none
		},
	}
	ctx, cancel := context.WithTimeout(ctx, ScanTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		res.Err = fmt.Errorf("scan %s: %w", target, err)
		return res
	}
	defer raw.Close()
	if deadline, ok := ctx.Deadline(); ok {
		raw.SetDeadline(deadline)
	}
	if err := startTLS(raw, starttls); err != nil {
		res.Err = fmt.Errorf("scan %s: %w", target, err)
		return res
	}
	conn := tls.Client(raw, config)
	handshake := conn.HandshakeContext(ctx)
	if len(chain) == 0 {
		res.Err = fmt.Errorf("scan %s: no TLS server certificate: %w", target, cmpErr(handshake, errors.New("none sent")))
		return res
	}
	r := &reader{ctx: ctx, path: key, opts: Options{Host: host, seen: newFactsCache()}, res: &res}
	h := sha256.New()
	for i, der := range chain {
		h.Write(der)
		r.addCertificate(der, 0, fmt.Sprintf("served at %s, certificate %d", target, i+1))
	}
	srv := model.Server{Kind: model.ScannedEndpoint, Host: host, Listen: []string{port}, Location: target,
		Mode: model.VerifyOff, Depth: -1, Scope: "scan " + target}
	if serverName != "" {
		srv.Names = []string{serverName}
	}
	if asked {
		srv.Mode = model.VerifyOptional // it asks; whether it insists a keyless scan cannot tell
		for _, der := range caNames {
			h.Write(der)
			dn, err := model.ParseRawDN(der)
			if err != nil {
				r.problem(0, "certificate_authorities", err)
				continue
			}
			srv.CANames = append(srv.CANames, dn.String())
		}
	}
	h.Write([]byte(strings.Join(srv.Names, ",") + srv.Mode))
	res.Source.ContentSHA256 = hex.EncodeToString(h.Sum(nil))
	slices.Sort(srv.CANames)
	res.Servers = append(res.Servers, srv)
	return res
}

func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// StartTLSProtocols are the protocols Scan can ask for TLS in.
var StartTLSProtocols = []string{"postgres"}

// startTLS asks the server for TLS the protocol's way before the
// handshake: PostgreSQL's SSLRequest (length 8, code 80877103), which
// the server answers with one byte, S to go on in TLS or N.
func startTLS(conn net.Conn, protocol string) error {
	switch protocol {
	case "":
		return nil
	case "postgres":
		if _, err := conn.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
			return err
		}
		answer := make([]byte, 1)
		if _, err := io.ReadFull(conn, answer); err != nil {
			return fmt.Errorf("no answer to PostgreSQL's SSLRequest: %w", err)
		}
		if answer[0] != 'S' {
			return errors.New("the PostgreSQL server does not do SSL (ssl = off)")
		}
		return nil
	}
	return fmt.Errorf("unknown --starttls protocol %q (known: %s)", protocol, strings.Join(StartTLSProtocols, ", "))
}
