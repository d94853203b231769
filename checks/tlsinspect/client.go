package tlsinspect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"time"
)

// ClientConfig is the TLS configuration of every probe that talks to the
// endpoint as New-PSSession would: the trust anchors and intermediates of
// LoadTrust, the name of the host dialled, and -SkipCACheck /
// -SkipCNCheck each waiving one verification while keeping the other.
// Intermediates from --ca-file are used the way a Windows client uses its
// intermediate store, so a missing intermediate is the tls probe's warning
// and does not stop the session probes.
func ClientConfig(roots *x509.CertPool, extra []*x509.Certificate, skipCA, skipCN bool) *tls.Config {
	return &tls.Config{
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
		// Go verifies chain and name together and knows no extra
		// intermediates; VerifyConnection below does both checks instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			if !skipCA {
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				for _, c := range extra {
					inter.AddCert(c)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
					return err
				}
			}
			if !skipCN {
				return leaf.VerifyHostname(cs.ServerName)
			}
			return nil
		},
	}
}

// DialTLS is an http.Transport DialTLSContext that handshakes with cfg
// (a ClientConfig) on connections from dial, and verifies the host the URL
// names, a DNS name or an IP address alike. crypto/tls sends no SNI for an
// IP address and leaves ConnectionState.ServerName empty then, so a
// VerifyConnection that reads it would check an IP-SAN certificate
// against no name at all ("not valid for any names").
// A handshakeTimeout above zero bounds the handshake, as the Transport's
// TLSHandshakeTimeout would (which it does not apply to DialTLSContext).
func DialTLS(dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config, handshakeTimeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = strings.Trim(host, "[]")
		}
		if verify := cfg.VerifyConnection; verify != nil {
			name := c.ServerName
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				if cs.ServerName == "" {
					cs.ServerName = name
				}
				return verify(cs)
			}
		}
		hctx := ctx
		if handshakeTimeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, handshakeTimeout)
			defer cancel()
		}
		tc := tls.Client(raw, c)
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, err
		}
		return tc, nil
	}
}
