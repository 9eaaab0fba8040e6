package trust

import (
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// RefusedNow says why a server whose configuration admits c refuses it in
// a handshake today, or "": c is not valid now, a CRL the server checks
// revokes it (revokedBy names the CRL), or, where the server verifies no
// chain (optional_no_ca), verification fails for a reason nginx does not
// forgive: nginx lets only an unknown issuer pass there, so a purpose
// that excludes client authentication or a signature too weak for
// OpenSSL 3 still refuses.
func RefusedNow(c *model.Certificate, srv *model.Server, now time.Time, revokedBy string) string {
	switch {
	case now.Before(c.NotBefore):
		return "not valid before " + c.NotBefore.UTC().Format(time.DateOnly)
	case now.After(c.NotAfter):
		return "expired on " + c.NotAfter.UTC().Format(time.DateOnly)
	case srv == nil:
		return ""
	case revokedBy != "" && len(srv.CRLs) > 0:
		return "revoked by " + revokedBy
	}
	if srv.Mode != model.VerifyOptionalNoCA {
		return "" // its chain verified, which checked the rest
	}
	if len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, "clientAuth") {
		return "its extended key usage does not allow TLS client authentication"
	}
	if len(c.KeyUsage) > 0 && !slices.Contains(c.KeyUsage, "digitalSignature") && !slices.Contains(c.KeyUsage, "keyAgreement") {
		return "its key usage allows neither digitalSignature nor keyAgreement"
	}
	if !c.SelfSigned && WeakSignature(c.SignatureAlgorithm) {
		return "its signature algorithm " + c.SignatureAlgorithm + " is too weak for OpenSSL 3 at its default security level"
	}
	return ""
}

// WeakSignature reports signature algorithms OpenSSL 3 refuses at its
// default security level (and Go refuses to verify): SHA-1, MD5, MD2.
func WeakSignature(algorithm string) bool {
	a := strings.ToUpper(algorithm)
	return strings.Contains(a, "SHA1") || strings.Contains(a, "MD5") || strings.Contains(a, "MD2")
}
