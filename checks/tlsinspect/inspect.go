// Package tlsinspect performs the TLS handshakes of the tls probe and
// judges the certificate chain a server presents. Inspect talks to the
// network; Classify is a pure function of what Inspect saw, so every rule
// is table-tested without a server.
package tlsinspect

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
)

// Options says where to connect and what to trust.
type Options struct {
	Dial       netx.DialFunc
	Addr       string // host:port handed to Dial
	ServerName string // SNI, and the name the certificate must carry
	// Roots are the trust anchors: system roots plus the self-issued
	// certificates of every --ca-file.
	Roots *x509.CertPool
	// Extra are the other --ca-file certificates: intermediates the user
	// holds, used to tell "incomplete chain" from "untrusted".
	Extra []*x509.Certificate
	// FetchAIA, when set (--fetch-aia), downloads the issuer named by a
	// certificate's AIA URL.
	FetchAIA func(ctx context.Context, url string) ([]*x509.Certificate, error)
	Now      time.Time
	// Legacy adds one concurrent handshake limited to TLS 1.0/1.1, to
	// learn whether the server still accepts them.
	Legacy bool
}

// Trust is the verdict of chain verification.
type Trust int

const (
	TrustNone        Trust = iota // no certificate was seen
	Trusted                       // verifies with what the server sent
	TrustedWithExtra              // verifies only with an intermediate it did not send
	Untrusted                     // does not lead to a trusted root
	InsecureSig                   // rejected because of a SHA-1 (or worse) signature
)

// Report is everything Inspect saw.
type Report struct {
	Address     string // the remote address the connection reached
	Version     uint16
	CipherSuite uint16
	ALPN        string
	Chain       []*x509.Certificate // as presented, leaf first
	Verified    []*x509.Certificate // the chain that verified, if any
	Trust       Trust
	TrustReason string              // why untrusted, for people
	Missing     []*x509.Certificate // intermediates the server did not send
	MissingFrom string              // where they came from: "--ca-file" or "the AIA URL"
	Legacy      uint16              // a legacy version the server accepted, 0 if none

	ConnErr    error  // the handshake did not complete
	ConnReason string // ConnErr in words
}

// Inspect handshakes with the server (and, with Legacy, once more limited
// to TLS 1.0/1.1, concurrently) and verifies the chain it presents. It
// never blocks past ctx's deadline.
func Inspect(ctx context.Context, o Options) *Report {
	legacy := make(chan uint16, 1)
	if o.Legacy {
		go func() { legacy <- legacyVersion(ctx, o) }()
	} else {
		legacy <- 0
	}
	r := &Report{}
	state, addr, err := handshake(ctx, o, &tls.Config{
		ServerName: o.ServerName,
		// The chain is verified below against our own pools, with the
		// rules we report on; the handshake must succeed to see it.
		InsecureSkipVerify: true,
		NextProtos:         []string{"h2", "http/1.1"},
	})
	r.Address = addr
	r.Legacy = <-legacy
	if err != nil {
		r.ConnErr = err
		r.ConnReason = describe(err, o.Addr)
		if r.Legacy != 0 && !isTimeout(err) {
			r.ConnReason = "the server accepts only " + VersionName(r.Legacy) + ", which current clients refuse"
		}
		return r
	}
	r.Version, r.CipherSuite, r.ALPN = state.Version, state.CipherSuite, state.NegotiatedProtocol
	r.Chain = state.PeerCertificates
	if len(r.Chain) == 0 {
		r.Trust, r.TrustReason = Untrusted, "the server presented no certificate"
		return r
	}
	verify(ctx, r, o)
	return r
}

// handshake dials and completes one TLS handshake under ctx.
func handshake(ctx context.Context, o Options, cfg *tls.Config) (tls.ConnectionState, string, error) {
	conn, err := o.Dial(ctx, "tcp", o.Addr)
	if err != nil {
		return tls.ConnectionState{}, "", &phaseError{phase: "connect", err: err}
	}
	defer conn.Close()
	addr := ""
	if ra := conn.RemoteAddr(); ra != nil {
		addr = ra.String()
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) // a server that stalls mid-record must not outlive ctx
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, addr, &phaseError{phase: "handshake", err: err}
	}
	return tc.ConnectionState(), addr, nil
}

// legacyVersion returns the TLS 1.0/1.1 version the server agrees to, or 0.
func legacyVersion(ctx context.Context, o Options) uint16 {
	var suites []uint16
	// Every suite, insecure ones included: the question is only whether
	// the server agrees to the old protocol at all.
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		suites = append(suites, s.ID)
	}
	state, _, err := handshake(ctx, o, &tls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: true, // only the protocol version matters here
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         tls.VersionTLS11,
		CipherSuites:       suites,
	})
	if err != nil {
		return 0
	}
	return state.Version
}

// verify sets Trust, Verified and Missing.
func verify(ctx context.Context, r *Report, o Options) {
	leaf := r.Chain[0]
	sent := x509.NewCertPool()
	for _, c := range r.Chain[1:] {
		sent.AddCert(c)
	}
	roots := o.Roots
	if roots == nil {
		roots = x509.NewCertPool()
	}
	vo := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: sent,
		// Expiry is its own finding; verify at a moment the presented
		// certificates are valid so it does not hide the trust verdict.
		CurrentTime: validMoment(r.Chain, o.Now),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	chains, err := leaf.Verify(vo)
	if err == nil {
		r.Trust, r.Verified = Trusted, chains[0]
		return
	}
	firstErr := err
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		extra, from := o.Extra, "--ca-file"
		if o.FetchAIA != nil {
			if got := fetchIssuers(ctx, r.Chain[len(r.Chain)-1], o.FetchAIA); len(got) > 0 {
				extra = append(append([]*x509.Certificate(nil), extra...), got...)
				if len(o.Extra) == 0 {
					from = "the AIA URL"
				} else {
					from = "--ca-file or the AIA URL"
				}
			}
		}
		if len(extra) > 0 {
			more := x509.NewCertPool()
			for _, c := range r.Chain[1:] {
				more.AddCert(c)
			}
			for _, c := range extra {
				more.AddCert(c)
			}
			vo.Intermediates = more
			if chains, err := leaf.Verify(vo); err == nil {
				r.Trust, r.Verified, r.MissingFrom = TrustedWithExtra, chains[0], from
				r.Missing = notSent(chains[0], r.Chain)
				if len(r.Missing) == 0 { // verified with what was sent after all
					r.Trust = Trusted
				}
				return
			}
			// The user may trust an intermediate (or the leaf) directly.
			anchors := roots.Clone()
			for _, c := range o.Extra {
				anchors.AddCert(c)
			}
			vo.Roots, vo.Intermediates = anchors, sent
			if chains, err := leaf.Verify(vo); err == nil {
				r.Trust, r.Verified = Trusted, chains[0]
				return
			}
		}
	}
	// An expired leaf may predate its (reissued) intermediate, so no moment
	// suits both: judge the trust of the issuer the server sent instead.
	var ci x509.CertificateInvalidError
	if errors.As(firstErr, &ci) && ci.Reason == x509.Expired && len(r.Chain) > 1 && leaf.CheckSignatureFrom(r.Chain[1]) == nil {
		rest := x509.NewCertPool()
		for _, c := range r.Chain[2:] {
			rest.AddCert(c)
		}
		vo.Intermediates, vo.CurrentTime, vo.KeyUsages = rest, o.Now, []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
		if chains, err := r.Chain[1].Verify(vo); err == nil {
			r.Trust, r.Verified = Trusted, append([]*x509.Certificate{leaf}, chains[0]...)
			return
		}
	}
	var ia x509.InsecureAlgorithmError
	if errors.As(firstErr, &ia) {
		r.Trust, r.TrustReason = InsecureSig, "verifiers reject its "+x509.SignatureAlgorithm(ia).String()+" signature"
		return
	}
	r.Trust, r.TrustReason = Untrusted, untrustedReason(firstErr, r.Chain)
}

// notSent lists the CA certificates of chain, other than its root, that
// the server did not present.
func notSent(chain, presented []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range chain[1:] {
		if selfIssued(c) {
			continue
		}
		found := false
		for _, p := range presented {
			if bytes.Equal(p.Raw, c.Raw) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}

// validMoment is now, moved into the window in which every presented
// certificate is valid when now is outside it.
func validMoment(chain []*x509.Certificate, now time.Time) time.Time {
	from, to := chain[0].NotBefore, chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if c.NotAfter.Before(to) {
			to = c.NotAfter
		}
	}
	if from.After(to) {
		from, to = chain[0].NotBefore, chain[0].NotAfter
	}
	switch {
	case now.Before(from):
		return from.Add(time.Second)
	case now.After(to):
		return to.Add(-time.Second)
	}
	return now
}

func selfIssued(c *x509.Certificate) bool { return bytes.Equal(c.RawIssuer, c.RawSubject) }

func untrustedReason(err error, chain []*x509.Certificate) string {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	last := chain[len(chain)-1]
	switch {
	case errors.As(err, &ua) && len(chain) == 1 && selfIssued(chain[0]):
		return "the certificate is self-signed (" + chain[0].Subject.String() + ")"
	case errors.As(err, &ua):
		return "the chain ends at " + quote(last.Subject.String()) + ", issued by " + quote(last.Issuer.String()) + ", which is in neither the system roots nor any --ca-file"
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.NotAuthorizedToSign:
			return "a certificate in the chain is signed by a certificate that is not a CA"
		case x509.IncompatibleUsage:
			return "the certificate is not issued for server authentication (extended key usage)"
		case x509.CANotAuthorizedForThisName:
			return "the issuing CA is not allowed to issue for this name (name constraints)"
		}
	}
	return "verification failed: " + err.Error()
}

func quote(s string) string { return "\"" + s + "\"" }
