package tlsinspect

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"
)

// Cert is one certificate as the report shows it.
type Cert struct {
	Subject            string   `json:"subject"`
	Issuer             string   `json:"issuer"`
	SANs               []string `json:"sans"`
	NotBefore          string   `json:"not_before"`
	NotAfter           string   `json:"not_after"`
	Key                string   `json:"key"`
	SignatureAlgorithm string   `json:"signature_algorithm"`
	SHA256             string   `json:"sha256"`
}

// Describe renders certificates for the report.
func Describe(certs []*x509.Certificate) []Cert {
	out := make([]Cert, 0, len(certs))
	for _, c := range certs {
		sum := sha256.Sum256(c.Raw)
		sans := append([]string{}, c.DNSNames...)
		for _, ip := range c.IPAddresses {
			sans = append(sans, ip.String())
		}
		out = append(out, Cert{
			Subject:            c.Subject.String(),
			Issuer:             c.Issuer.String(),
			SANs:               sans,
			NotBefore:          c.NotBefore.UTC().Format(time.RFC3339),
			NotAfter:           c.NotAfter.UTC().Format(time.RFC3339),
			Key:                KeyName(c),
			SignatureAlgorithm: c.SignatureAlgorithm.String(),
			SHA256:             hex.EncodeToString(sum[:]),
		})
	}
	return out
}

// KeyName is "RSA 2048", "ECDSA P-256" or "Ed25519".
func KeyName(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}
