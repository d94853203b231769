package tlsinspect

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
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
