package spnldap_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/spnldap"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/ldapserver"
)

// an external test: the fixtures import checks, which imports this package
const base = "DC=contoso,DC=test"

// tlsDir serves the directory with a lab-CA certificate for
// dc1.contoso.test, over LDAPS (implicit TLS) or plain LDAP with StartTLS.
func tlsDir(t *testing.T, implicit bool) (addr string, pki *fixtures.PKI) {
	t.Helper()
	pki, err := fixtures.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.Leaf(fixtures.LeafOpts{Names: []string{"dc1.contoso.test"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ldapserver.Server{
		Accounts: []ldapserver.Account{{DN: "CN=EXCH-ASA,CN=Computers," + base,
			Attributes: map[string][]string{"sAMAccountName": {"EXCH-ASA$"}, "servicePrincipalName": {"HTTP/mail.contoso.test"}}}},
		Credentials: []ldapserver.Credential{{Names: []string{`CONTOSO\administrator`}, Password: "Lab-Admin-Pass1"}},
	}
	var l net.Listener = ln
	if implicit {
		l = tls.NewListener(ln, cfg)
	} else {
		s.TLSConfig = cfg
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), pki
}

// A remote directory gets the password only inside TLS; the name in the
// URL is what the certificate is checked against.
func TestEncryptedBindToRemoteDirectory(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		implicit  bool
	}{
		{"ldaps", "ldaps://dc1.contoso.test", true},
		{"starttls", "ldap://dc1.contoso.test/?starttls", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, pki := tlsDir(t, tc.implicit)
			dial := func(ctx context.Context, network, a string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := spnldap.Open(ctx, spnldap.Options{URL: tc.url, Base: base, BindName: `CONTOSO\administrator`, Password: "Lab-Admin-Pass1", Dial: dial, RootCAs: pki.RootPool()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			owners, err := c.Owners(ctx, "HTTP/mail.contoso.test")
			if err != nil || len(owners) != 1 || owners[0].Account != "EXCH-ASA$" {
				t.Fatalf("owners %v err %v", owners, err)
			}

			// without the lab CA the certificate is not trusted: no bind
			_, err = spnldap.Open(ctx, spnldap.Options{URL: tc.url, Base: base, BindName: `CONTOSO\administrator`, Password: "Lab-Admin-Pass1", Dial: dial})
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("untrusted certificate gave %v", err)
			}
		})
	}
}
