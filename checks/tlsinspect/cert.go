package tlsinspect

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
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
	// SHA1 is the thumbprint Get-ExchangeCertificate and IIS show (upper
	// case, no separators), so a fix can name the certificate to rebind.
	SHA1 string `json:"sha1"`
}

// Describe renders certificates for the report.
func Describe(certs []*x509.Certificate) []Cert {
	out := make([]Cert, 0, len(certs))
	for _, c := range certs {
		sum := sha256.Sum256(c.Raw)
		out = append(out, Cert{
			Subject:            c.Subject.String(),
			Issuer:             c.Issuer.String(),
			SANs:               SANs(c),
			NotBefore:          c.NotBefore.UTC().Format(time.RFC3339),
			NotAfter:           c.NotAfter.UTC().Format(time.RFC3339),
			Key:                KeyName(c),
			SignatureAlgorithm: c.SignatureAlgorithm.String(),
			SHA256:             hex.EncodeToString(sum[:]),
			SHA1:               Thumbprint(c),
		})
	}
	return out
}

// SANs lists c's DNS and IP subject alternative names.
func SANs(c *x509.Certificate) []string {
	sans := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	return sans
}

// Thumbprint is c's SHA-1 thumbprint as Windows shows it: 40 upper-case
// hex digits. SHA-1 names the certificate here; it vouches for nothing.
func Thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
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
