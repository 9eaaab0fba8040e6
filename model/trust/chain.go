package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"certgov/model"
)

// VerifyChain finds the trusted certificates that leaf's chain verifies
// to for client authentication. anchors holds the certificates a chain may
// end at: the self-signed certificates of anchor lists, and every
// certificate of lists that accept partial chains; roots names (by
// SHA-256 fingerprint) those of them that are self-signed. intermediates
// are the other CA certificates known (a client sends its chain). A
// self-signed leaf listed as an anchor is its own chain. Chains are
// checked at moments within the leaf's validity (its start, then its end),
// so an expired certificate still shows which CA it belongs to; whether it
// is expired is a finding of its own.
func VerifyChain(leaf *x509.Certificate, anchors, intermediates *x509.CertPool, roots map[string]bool) model.Chain {
	if why := model.ClientAuthPurpose(leaf); why != "" {
		return model.Chain{Problem: why}
	}
	var chains [][]*x509.Certificate
	var err error
	for _, at := range []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)} {
		chains, err = leaf.Verify(x509.VerifyOptions{
			Roots: anchors, Intermediates: intermediates, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		return model.Chain{Problem: chainProblem(err)}
	}
	var out model.Chain
	for _, chain := range chains {
		fp := fingerprintHex(chain[len(chain)-1].Raw)
		out.AddEnd(model.ChainEnd{Anchor: fp, Root: roots[fp], Depth: max(len(chain)-2, 0)})
	}
	return out
}

// chainProblem says in a reviewer's words why no chain verified.
func chainProblem(err error) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "a CA certificate of its chain is not valid while it is"
		case x509.IncompatibleUsage:
			return "the extended key usage of its chain does not allow TLS client authentication"
		case x509.NotAuthorizedToSign:
			return "its issuer is not allowed to sign certificates (no CA basic constraint)"
		case x509.CANotAuthorizedForThisName:
			return "a name constraint of its chain excludes it"
		case x509.TooManyIntermediates:
			return "its chain is longer than a path length constraint allows"
		}
		return invalid.Error()
	case errors.As(err, &unknown):
		if strings.Contains(unknown.Error(), "insecure algorithm") {
			// Go keeps the reason unexported: its message names it.
			return "a signature of its chain uses " + insecureAlgorithm(unknown.Error()) + ", which OpenSSL 3 (at its default security level) and Go refuse as too weak; Java still accepts SHA-1 from a private CA"
		}
		return "no imported trust anchor verifies its issuer"
	}
	return err.Error()
}

// insecureAlgorithm picks the algorithm's name out of Go's message
// ("… insecure algorithm SHA1-RSA …").
func insecureAlgorithm(message string) string {
	_, rest, _ := strings.Cut(message, "insecure algorithm ")
	name, _, _ := strings.Cut(rest, " ")
	name = strings.Trim(name, `"()\`)
	if name == "" {
		return "SHA-1 or MD5"
	}
	return name
}

// ChainVerifier answers VerifyChain's question for many leaves at the cost
// of about one signature check each. x509.Verify builds every chain from
// scratch, checking the issuing CA's signature by its root again for every
// leaf (a P-384 root makes that a millisecond a leaf). The verifier splits
// the work: each CA's own chains to the anchors are built once, with their
// validity window; a leaf is then verified against its issuing CAs alone
// (one signature), and inherits the chains of the issuer that signed it, at
// the same moments VerifyChain uses. Where a CA above the issuer carries
// name constraints, which bind the leaf's names, the leaf goes through
// VerifyChain whole. Verify is safe for concurrent use.
type ChainVerifier struct {
	mu                     sync.Mutex // guards upstream and fingerprints
	anchors, intermediates *x509.CertPool
	issuers                *x509.CertPool // every CA and anchor, as roots of the one-step check
	roots                  map[string]bool
	anchorList             []*x509.Certificate
	isAnchor               map[*x509.Certificate]bool
	fingerprints           map[*x509.Certificate]string
	upstream               map[*x509.Certificate]*caChains
	bySubject              map[string][]*x509.Certificate // every CA and anchor, by raw subject
}

// caChains are one CA's verified chains to anchors.
type caChains struct {
	ends        []chainWindow
	problem     string
	constrained bool // a CA above it has name constraints
}

// chainWindow is one chain end and the moments at which the whole chain is
// valid.
type chainWindow struct {
	end       model.ChainEnd
	from, til time.Time
}

// NewChainVerifier takes the anchors (self-signed certificates of anchor
// lists, and every certificate of lists that accept partial chains), the
// other CA certificates, and the fingerprints of the self-signed anchors,
// as VerifyChain does.
func NewChainVerifier(anchors, intermediates []*x509.Certificate, roots map[string]bool) *ChainVerifier {
	v := &ChainVerifier{anchors: x509.NewCertPool(), intermediates: x509.NewCertPool(), issuers: x509.NewCertPool(),
		roots: roots, anchorList: anchors, isAnchor: map[*x509.Certificate]bool{},
		fingerprints: map[*x509.Certificate]string{}, upstream: map[*x509.Certificate]*caChains{}, bySubject: map[string][]*x509.Certificate{}}
	for _, c := range anchors {
		v.anchors.AddCert(c)
		v.issuers.AddCert(c)
		v.isAnchor[c] = true
		v.bySubject[string(c.RawSubject)] = append(v.bySubject[string(c.RawSubject)], c)
	}
	for _, c := range intermediates {
		v.intermediates.AddCert(c)
		v.issuers.AddCert(c)
		v.bySubject[string(c.RawSubject)] = append(v.bySubject[string(c.RawSubject)], c)
	}
	return v
}

// verifySHA1 finds the chains of a leaf signed with SHA-1, which Go and
// OpenSSL 3 refuse and Java's PKIX still accepts for client certificates
// of a private CA: the leaf's signature is checked by hand against each
// issuing CA, whose own chains were verified as usual. Its ends are
// marked Weak: only servers that accept SHA-1 take them.
func (v *ChainVerifier) verifySHA1(leaf *x509.Certificate) model.Chain {
	var out model.Chain
	for _, issuer := range v.bySubject[string(leaf.RawIssuer)] {
		if !(issuer.BasicConstraintsValid && issuer.IsCA) || !model.SignedBy(leaf, issuer.PublicKey) {
			continue
		}
		v.mu.Lock()
		up := v.chainsOf(issuer)
		v.mu.Unlock()
		if up.constrained {
			continue
		}
		for _, at := range []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)} {
			for _, w := range up.ends {
				if !at.Before(w.from) && !at.After(w.til) {
					end := w.end
					end.Weak = true
					out.AddEnd(end)
				}
			}
		}
	}
	return out
}

// Verify is VerifyChain(leaf, anchors, intermediates, roots).
func (v *ChainVerifier) Verify(leaf *x509.Certificate) model.Chain {
	if why := model.ClientAuthPurpose(leaf); why != "" {
		return model.Chain{Problem: why}
	}
	var lastErr error
	problem := ""
	for _, at := range []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)} {
		steps, err := leaf.Verify(x509.VerifyOptions{Roots: v.issuers, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			lastErr = err
			continue
		}
		var out model.Chain
		for _, step := range steps {
			if len(step) == 1 {
				// The leaf is a CA or an anchor itself: Verify took it as
				// its own root, so build its chain in full.
				return VerifyChain(leaf, v.anchors, v.intermediates, v.roots)
			}
			issuer := step[len(step)-1]
			v.mu.Lock()
			up := v.chainsOf(issuer)
			v.mu.Unlock()
			if up.constrained {
				return VerifyChain(leaf, v.anchors, v.intermediates, v.roots)
			}
			if up.problem != "" {
				problem = up.problem
			}
			for _, w := range up.ends {
				if !at.Before(w.from) && !at.After(w.til) {
					out.AddEnd(w.end)
				}
			}
		}
		if out.Verified() {
			return out
		}
	}
	why := "no imported trust anchor verifies its issuer"
	switch {
	case problem != "":
		why = problem
	case lastErr != nil:
		why = chainProblem(lastErr)
	}
	var out model.Chain
	if leaf.SignatureAlgorithm == x509.SHA1WithRSA || leaf.SignatureAlgorithm == x509.ECDSAWithSHA1 {
		out = v.verifySHA1(leaf)
	}
	out.Problem = why
	return out
}

// chainsOf builds, once, the chains from issuer (as the leaf's issuing CA)
// to the anchors: issuer is an anchor itself, or a CA whose own chain
// verifies for client authentication, checked at its start, its end and
// the present, each chain with the window in which all its certificates
// are valid.
func (v *ChainVerifier) chainsOf(issuer *x509.Certificate) *caChains {
	if up, ok := v.upstream[issuer]; ok {
		return up
	}
	up := &caChains{}
	v.upstream[issuer] = up
	seen := map[string]bool{}
	anchors := v.anchors
	if v.isAnchor[issuer] {
		// An anchor ends a chain by itself. x509.Verify stops at a
		// certificate found among the roots, so the chains through it to
		// anchors above (an intermediate listed in a truststore, whose root
		// is listed elsewhere) are built without it among the roots.
		fp := v.fingerprint(issuer)
		up.ends = append(up.ends, chainWindow{end: model.ChainEnd{Anchor: fp, Root: v.roots[fp], Depth: 0}, from: issuer.NotBefore, til: issuer.NotAfter})
		if v.roots[fp] {
			return up
		}
		anchors = x509.NewCertPool()
		for _, a := range v.anchorList {
			if a != issuer {
				anchors.AddCert(a)
			}
		}
	}
	for _, at := range []time.Time{issuer.NotBefore.Add(time.Second), issuer.NotAfter.Add(-time.Second), time.Now()} {
		chains, err := issuer.Verify(x509.VerifyOptions{Roots: anchors, Intermediates: v.intermediates, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if err != nil {
			up.problem = chainProblem(err)
			continue
		}
		for _, chain := range chains {
			// Below an issuer that is not the anchor, the issuer is an
			// intermediate: it must be a CA, and every CA above it has one
			// more intermediate below it than Verify counted.
			if len(chain) > 1 && !(issuer.BasicConstraintsValid && issuer.IsCA) {
				up.problem = "its issuer is not allowed to sign certificates (no CA basic constraint)"
				continue
			}
			if !pathLengthsHold(chain) {
				up.problem = "its chain is longer than a path length constraint allows"
				continue
			}
			w := chainWindow{from: chain[0].NotBefore, til: chain[0].NotAfter}
			for _, c := range chain[1:] {
				up.constrained = up.constrained || hasNameConstraints(c)
				w.from = maxTime(w.from, c.NotBefore)
				w.til = minTime(w.til, c.NotAfter)
			}
			end := chain[len(chain)-1]
			fp := v.fingerprint(end)
			// Every certificate of the issuer's chain but its anchor sits
			// between the leaf and the anchor.
			depth := len(chain) - 1
			key := fmt.Sprint(fp, w.from, w.til, depth)
			if !seen[key] {
				seen[key] = true
				w.end = model.ChainEnd{Anchor: fp, Root: v.roots[fp], Depth: depth}
				up.ends = append(up.ends, w)
			}
		}
	}
	if len(up.ends) > 0 {
		up.problem = ""
	}
	return up
}

// pathLengthsHold checks the CAs above chain[0] with chain[0] counted as
// an intermediate, as it is below a leaf.
func pathLengthsHold(chain []*x509.Certificate) bool {
	for i, c := range chain[1:] {
		below := i + 1
		limited := c.MaxPathLen > 0 || (c.MaxPathLen == 0 && c.MaxPathLenZero)
		if c.BasicConstraintsValid && limited && below > c.MaxPathLen {
			return false
		}
	}
	return true
}

func hasNameConstraints(c *x509.Certificate) bool {
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
		len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0 ||
		c.PermittedDNSDomainsCritical
}

func (v *ChainVerifier) fingerprint(c *x509.Certificate) string {
	fp, ok := v.fingerprints[c]
	if !ok {
		fp = fingerprintHex(c.Raw)
		v.fingerprints[c] = fp
	}
	return fp
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func fingerprintHex(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
