package trust

import (
	"slices"
	"strings"
	"time"

	"certgov/model"
)

// RefusedNow says why a server whose configuration admits c refuses it in
// a handshake today, or "": c is not valid now; the server checks CRLs
// and one of them revokes it (revokedBy names the CRL), or, as OpenSSL
// checks every certificate of the chain once it checks CRLs at all (nginx
// ssl_crl), a CA of the chain has no CRL there (issuers are the issuers
// of the chain's certificates, the leaf's first, up to the self-signed
// anchor, which issues its own); or, where the server verifies no chain
// (optional_no_ca), verification fails for a reason nginx does not
// forgive: nginx lets only an unknown issuer pass there, so a purpose
// that excludes client authentication or a signature too weak for
// OpenSSL 3 still refuses. A server that ignores every verification
// error (model.Server.IgnoresVerifyErrors) refuses nothing of this.
func RefusedNow(c *model.Certificate, srv *model.Server, now time.Time, revokedBy string, issuers []string) string {
	if srv != nil && srv.IgnoresVerifyErrors {
		return ""
	}
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
	if len(srv.CRLs) > 0 && srv.Mode != model.VerifyOff && !srv.CRLMissingOK {
		checked := "every certificate of the chain"
		if srv.CRLLeafOnly && len(issuers) > 1 {
			issuers, checked = issuers[:1], "the leaf"
		}
		for _, issuer := range issuers {
			if !slices.Contains(srv.CRLIssuers, issuer) {
				return "its CRLs hold none from " + issuer + ", and OpenSSL then refuses (it checks " + checked + ")"
			}
		}
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
