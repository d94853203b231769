package tlsinspect

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Codes this package raises (catalog spelling).
const (
	CodeConnectFailed    = "TLS-CONNECT-FAILED"
	CodeUntrustedRoot    = "TLS-UNTRUSTED-ROOT"
	CodeIncompleteChain  = "TLS-INCOMPLETE-CHAIN"
	CodeNameMismatch     = "TLS-NAME-MISMATCH"
	CodeExpired          = "TLS-EXPIRED"
	CodeNotYetValid      = "TLS-NOT-YET-VALID"
	CodeExpiresSoon      = "TLS-EXPIRES-SOON"
	CodeExpiresImminent  = "TLS-EXPIRES-IMMINENT"
	CodeWeak             = "TLS-WEAK"
	CodeBackendUntrusted = "TLS-BACKEND-UNTRUSTED"
)

// ExpiryWarning is how close to NotAfter a certificate raises
// TLS-EXPIRES-SOON when the policy names no threshold.
const ExpiryWarning = 30 * 24 * time.Hour

// Policy is what the classification depends on besides the report.
type Policy struct {
	Host   string // the name the client asks for
	Now    time.Time
	SkipCA bool // --skip-ca-check: the user accepts an untrusted root
	SkipCN bool // --skip-cn-check: the user accepts a name mismatch
	// Backend classifies a CAS certificate as the proxy sees it: an
	// untrusted or mismatching one is TLS-BACKEND-UNTRUSTED, and the
	// client's skip options do not apply (the proxy does not skip).
	Backend bool
	// WarnBefore and CritBefore are how close to NotAfter a certificate
	// raises TLS-EXPIRES-SOON (0: ExpiryWarning) and TLS-EXPIRES-IMMINENT
	// (0: never), a profile's warn_days and crit_days.
	WarnBefore, CritBefore time.Duration
}

// Issue is one problem found; Accepted means the user's skip option
// covers it, so the probe reports it as info.
type Issue struct {
	Code     string
	Summary  string
	Accepted bool
	// Cert is the certificate the issue is about (the leaf unless a CA
	// certificate of the chain is at fault); nil when none was presented.
	Cert *x509.Certificate
	// NameMismatch marks a backend's untrusted verdict that is about the
	// name, not the root, so the fix says which names to use.
	NameMismatch bool
	// Legacy names the old protocol version an issue is about.
	Legacy string
}

// Classify turns a report into issues, in a stable order.
func Classify(r *Report, p Policy) []Issue {
	if r.ConnErr != nil || r.ConnReason != "" {
		return []Issue{{Code: CodeConnectFailed, Summary: r.ConnReason}}
	}
	if len(r.Chain) == 0 {
		return []Issue{{Code: CodeConnectFailed, Summary: "the server presented no certificate"}}
	}
	var out []Issue
	leaf := r.Chain[0]
	untrusted := CodeUntrustedRoot
	if p.Backend {
		untrusted = CodeBackendUntrusted
	}
	switch r.Trust {
	case Untrusted:
		s := fmt.Sprintf("the certificate of %s is not trusted: %s", p.Host, r.TrustReason)
		if p.Backend {
			s += "; the proxy will refuse this backend (502)"
		} else if p.SkipCA {
			s += "; accepted because of --skip-ca-check"
		}
		out = append(out, Issue{Code: untrusted, Summary: s, Accepted: p.SkipCA && !p.Backend, Cert: leaf})
	case TrustedWithExtra:
		var names []string
		for _, c := range r.Missing {
			names = append(names, quote(c.Subject.String()))
		}
		out = append(out, Issue{Code: CodeIncompleteChain, Summary: fmt.Sprintf(
			"the server does not send the intermediate %s; the chain verified only with it from %s, so clients that cannot fetch it fail",
			strings.Join(names, ", "), r.MissingFrom), Cert: leaf})
	}
	if err := leaf.VerifyHostname(p.Host); err != nil {
		code := CodeNameMismatch
		s := fmt.Sprintf("the certificate does not cover %s; it covers %s", p.Host, coveredNames(leaf))
		if p.Backend {
			code = untrusted
			s += "; the proxy will refuse this backend (502)"
		} else if p.SkipCN {
			s += "; accepted because of --skip-cn-check"
		}
		out = append(out, Issue{Code: code, Summary: s, Accepted: p.SkipCN && !p.Backend, Cert: leaf, NameMismatch: p.Backend})
	}
	out = append(out, validity(r, p)...)
	out = append(out, weakness(r)...)
	return out
}

// coveredNames lists the SANs, or says there are none.
func coveredNames(c *x509.Certificate) string {
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	if len(n) == 0 {
		return "no subject alternative name (clients ignore the common name " + quote(c.Subject.CommonName) + ")"
	}
	return strings.Join(n, ", ")
}

// allCerts is the presented chain plus the verified chain's other members,
// each once.
func allCerts(r *Report) []*x509.Certificate {
	out := append([]*x509.Certificate(nil), r.Chain...)
	for _, v := range r.Verified {
		dup := false
		for _, c := range out {
			if c.Equal(v) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

func validity(r *Report, p Policy) []Issue {
	now, warn := p.Now, p.WarnBefore
	if warn == 0 {
		warn = ExpiryWarning
	}
	var out []Issue
	for i, c := range allCerts(r) {
		what := "the certificate"
		if i > 0 {
			what = "the CA certificate " + quote(c.Subject.String())
		}
		switch {
		case now.After(c.NotAfter):
			out = append(out, Issue{Code: CodeExpired, Cert: c, Summary: fmt.Sprintf("%s expired on %s, %s ago",
				what, c.NotAfter.UTC().Format(time.DateOnly), days(now.Sub(c.NotAfter)))})
		case now.Before(c.NotBefore):
			out = append(out, Issue{Code: CodeNotYetValid, Cert: c, Summary: fmt.Sprintf("%s is valid only from %s, in %s (or this machine's clock is wrong)",
				what, c.NotBefore.UTC().Format(time.RFC3339), days(c.NotBefore.Sub(now)))})
		case p.CritBefore > 0 && c.NotAfter.Sub(now) < p.CritBefore:
			out = append(out, Issue{Code: CodeExpiresImminent, Cert: c, Summary: fmt.Sprintf("%s expires on %s, in %s (the critical threshold is %s)",
				what, c.NotAfter.UTC().Format(time.DateOnly), days(c.NotAfter.Sub(now)), days(p.CritBefore))})
		case c.NotAfter.Sub(now) < warn:
			out = append(out, Issue{Code: CodeExpiresSoon, Cert: c, Summary: fmt.Sprintf("%s expires on %s, in %s",
				what, c.NotAfter.UTC().Format(time.DateOnly), days(c.NotAfter.Sub(now)))})
		}
	}
	return out
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	switch {
	case n == 1:
		return "1 day"
	case n > 1:
		return fmt.Sprintf("%d days", n)
	}
	return "less than a day"
}

func weakSig(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return true
	}
	return false
}

func weakness(r *Report) []Issue {
	var out []Issue
	for i, c := range allCerts(r) {
		what := "the certificate"
		if i > 0 {
			what = "the CA certificate " + quote(c.Subject.String())
		}
		// A root's self-signature is never checked by clients; only its key matters.
		if weakSig(c.SignatureAlgorithm) && !selfIssued(c) {
			s := fmt.Sprintf("%s is signed with %s", what, c.SignatureAlgorithm)
			if r.Trust == InsecureSig {
				s += "; " + r.TrustReason
			}
			out = append(out, Issue{Code: CodeWeak, Summary: s, Cert: c})
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
			out = append(out, Issue{Code: CodeWeak, Cert: c, Summary: fmt.Sprintf("%s has an RSA key of %d bits; reissue with 2048 bits or more", what, k.N.BitLen())})
		}
	}
	if r.Legacy != 0 {
		out = append(out, Issue{Code: CodeWeak, Summary: "the server still accepts " + VersionName(r.Legacy) + "; disable TLS 1.0 and 1.1", Legacy: VersionName(r.Legacy)})
	}
	return out
}

// VersionName is "TLS 1.2" for tls.VersionTLS12.
func VersionName(v uint16) string {
	if v == 0 {
		return ""
	}
	return tls.VersionName(v)
}
