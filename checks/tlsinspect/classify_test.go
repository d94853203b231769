package tlsinspect

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// cert builds a certificate value for the classifier: only the fields it
// reads matter, so no signing is needed.
func cert(mod func(*x509.Certificate)) *x509.Certificate {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := &x509.Certificate{
		Subject:            pkix.Name{CommonName: "mail.contoso.test"},
		Issuer:             pkix.Name{CommonName: "Contoso Issuing CA"},
		RawSubject:         []byte("leaf"),
		RawIssuer:          []byte("issuing"),
		DNSNames:           []string{"mail.contoso.test", "autodiscover.contoso.test"},
		NotBefore:          now.Add(-100 * 24 * time.Hour),
		NotAfter:           now.Add(200 * 24 * time.Hour),
		PublicKey:          &k.PublicKey,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
		Raw:                []byte{byte(len("x"))},
	}
	if mod != nil {
		mod(c)
	}
	c.Raw = []byte(c.Subject.String() + c.NotAfter.String())
	return c
}

func inter() *x509.Certificate {
	return cert(func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "Contoso Issuing CA"}
		c.RawSubject, c.RawIssuer = []byte("issuing"), []byte("root")
		c.DNSNames = nil
	})
}

func rsaKey(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}
}

func TestClassify(t *testing.T) {
	leaf := cert(nil)
	trusted := func(chain ...*x509.Certificate) *Report {
		return &Report{Chain: chain, Verified: chain, Trust: Trusted, Version: tls.VersionTLS13}
	}
	tests := []struct {
		name     string
		r        *Report
		p        Policy
		want     []string
		accepted []bool
		say      string // a fragment the first summary must carry
	}{
		{name: "healthy", r: trusted(leaf, inter()), want: nil},
		{name: "connect failed", r: &Report{ConnErr: errors.New("x"), ConnReason: "connection refused: nothing listens on a:443"},
			want: []string{CodeConnectFailed}, say: "nothing listens"},
		{name: "no certificate", r: &Report{}, want: []string{CodeConnectFailed}},
		{name: "untrusted root", r: &Report{Chain: []*x509.Certificate{leaf}, Trust: Untrusted, TrustReason: "the certificate is self-signed"},
			want: []string{CodeUntrustedRoot}, accepted: []bool{false}, say: "self-signed"},
		{name: "untrusted root accepted by --skip-ca-check", r: &Report{Chain: []*x509.Certificate{leaf}, Trust: Untrusted, TrustReason: "self-signed"},
			p: Policy{SkipCA: true}, want: []string{CodeUntrustedRoot}, accepted: []bool{true}, say: "--skip-ca-check"},
		{name: "incomplete chain", r: &Report{Chain: []*x509.Certificate{leaf}, Verified: []*x509.Certificate{leaf, inter()},
			Trust: TrustedWithExtra, Missing: []*x509.Certificate{inter()}, MissingFrom: "--ca-file"},
			want: []string{CodeIncompleteChain}, say: "Contoso Issuing CA"},
		{name: "name mismatch lists covered names", r: trusted(cert(func(c *x509.Certificate) { c.DNSNames = []string{"webmail.contoso.test"} })),
			want: []string{CodeNameMismatch}, accepted: []bool{false}, say: "it covers webmail.contoso.test"},
		{name: "name mismatch without SAN", r: trusted(cert(func(c *x509.Certificate) { c.DNSNames = nil })),
			want: []string{CodeNameMismatch}, say: "no subject alternative name"},
		{name: "name mismatch accepted by --skip-cn-check", r: trusted(cert(func(c *x509.Certificate) { c.DNSNames = []string{"x.test"} })),
			p: Policy{SkipCN: true}, want: []string{CodeNameMismatch}, accepted: []bool{true}},
		{name: "wildcard covers the host", r: trusted(cert(func(c *x509.Certificate) { c.DNSNames = []string{"*.contoso.test"} })), want: nil},
		{name: "expired", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(-48 * time.Hour) })),
			want: []string{CodeExpired}, say: "2 days ago"},
		{name: "expired intermediate", r: trusted(leaf, cert(func(c *x509.Certificate) {
			c.Subject = pkix.Name{CommonName: "Old CA"}
			c.RawSubject, c.RawIssuer = []byte("old"), []byte("root")
			c.NotAfter = now.Add(-time.Hour)
		})), want: []string{CodeExpired}, say: "Old CA"},
		{name: "not yet valid", r: trusted(cert(func(c *x509.Certificate) { c.NotBefore = now.Add(72 * time.Hour) })),
			want: []string{CodeNotYetValid}, say: "clock"},
		{name: "expires within 30 days", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(10 * 24 * time.Hour) })),
			want: []string{CodeExpiresSoon}, say: "in 10 days"},
		{name: "31 days left is fine", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(31 * 24 * time.Hour) })), want: nil},
		{name: "warn_days moves the warning", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(40 * 24 * time.Hour) })),
			p: Policy{WarnBefore: 60 * 24 * time.Hour}, want: []string{CodeExpiresSoon}, say: "in 40 days"},
		{name: "crit_days fails inside it", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(5 * 24 * time.Hour) })),
			p: Policy{WarnBefore: 60 * 24 * time.Hour, CritBefore: 7 * 24 * time.Hour}, want: []string{CodeExpiresImminent}, say: "critical threshold is 7 days"},
		{name: "crit_days warns between the thresholds", r: trusted(cert(func(c *x509.Certificate) { c.NotAfter = now.Add(20 * 24 * time.Hour) })),
			p: Policy{CritBefore: 7 * 24 * time.Hour}, want: []string{CodeExpiresSoon}},
		{name: "sha1 signature", r: trusted(cert(func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA })),
			want: []string{CodeWeak}, say: "SHA1-RSA"},
		{name: "sha1 rejected by the verifier is weak, not untrusted", r: &Report{Chain: []*x509.Certificate{cert(func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA })},
			Trust: InsecureSig, TrustReason: "verifiers reject its SHA1-RSA signature"},
			want: []string{CodeWeak}, say: "verifiers reject"},
		{name: "sha1 self-signature of a root is ignored", r: trusted(leaf, cert(func(c *x509.Certificate) {
			c.RawSubject, c.RawIssuer = []byte("root"), []byte("root")
			c.SignatureAlgorithm = x509.SHA1WithRSA
		})), want: nil},
		{name: "rsa 1024", r: trusted(cert(func(c *x509.Certificate) { c.PublicKey = rsaKey(1024) })),
			want: []string{CodeWeak}, say: "1024 bits"},
		{name: "rsa 2048 is fine", r: trusted(cert(func(c *x509.Certificate) { c.PublicKey = rsaKey(2048) })), want: nil},
		{name: "legacy protocol accepted", r: func() *Report { r := trusted(leaf); r.Legacy = tls.VersionTLS11; return r }(),
			want: []string{CodeWeak}, say: "TLS 1.1"},
		{name: "backend untrusted ignores --skip-ca-check", r: &Report{Chain: []*x509.Certificate{leaf}, Trust: Untrusted, TrustReason: "self-signed"},
			p: Policy{Backend: true, SkipCA: true}, want: []string{CodeBackendUntrusted}, accepted: []bool{false}, say: "502"},
		{name: "backend name mismatch", r: trusted(leaf), p: Policy{Host: "cas1.contoso.test", Backend: true},
			want: []string{CodeBackendUntrusted}, say: "does not cover cas1.contoso.test"},
		{name: "several problems at once", r: &Report{Chain: []*x509.Certificate{cert(func(c *x509.Certificate) {
			c.DNSNames = []string{"other.test"}
			c.NotAfter = now.Add(-time.Hour)
		})}, Trust: Untrusted, TrustReason: "self-signed"},
			want: []string{CodeUntrustedRoot, CodeNameMismatch, CodeExpired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.p.Host == "" {
				tt.p.Host = "mail.contoso.test"
			}
			tt.p.Now = now
			got := Classify(tt.r, tt.p)
			var codes []string
			for _, is := range got {
				codes = append(codes, is.Code)
			}
			if !slices.Equal(codes, tt.want) {
				t.Fatalf("codes = %v, want %v (%+v)", codes, tt.want, got)
			}
			for i, a := range tt.accepted {
				if got[i].Accepted != a {
					t.Errorf("issue %d accepted = %v, want %v", i, got[i].Accepted, a)
				}
			}
			if tt.say != "" && !strings.Contains(got[0].Summary, tt.say) {
				t.Errorf("summary %q lacks %q", got[0].Summary, tt.say)
			}
			for _, is := range got {
				if is.Summary == "" || is.Summary != strings.ToLower(is.Summary[:1])+is.Summary[1:] {
					t.Errorf("summary %q must be non-empty and start lowercase", is.Summary)
				}
			}
		})
	}
}

func TestValidMoment(t *testing.T) {
	c := cert(func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-10*time.Hour), now.Add(-time.Hour) })
	if m := validMoment([]*x509.Certificate{c}, now); !m.Before(c.NotAfter) || m.Before(c.NotBefore) {
		t.Errorf("validMoment for an expired leaf = %v, not within its validity", m)
	}
	ok := cert(nil)
	if m := validMoment([]*x509.Certificate{ok}, now); !m.Equal(now) {
		t.Errorf("validMoment of a valid chain = %v, want now", m)
	}
}
