package spnldap

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/ldapserver"
)

const base = "DC=contoso,DC=test"

func startDir(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &ldapserver.Server{
		Accounts: []ldapserver.Account{
			{DN: "CN=EXCH-ASA,CN=Computers," + base, Attributes: map[string][]string{"sAMAccountName": {"EXCH-ASA$"}, "servicePrincipalName": {"HTTP/mail.contoso.test", "HTTP/mail"}}},
			{DN: "CN=CAS1,CN=Computers," + base, Attributes: map[string][]string{"sAMAccountName": {"CAS1$"}, "servicePrincipalName": {"HTTP/cas1.contoso.test", "HTTP/dup.contoso.test"}}},
			{DN: "CN=CAS2,CN=Computers," + base, Attributes: map[string][]string{"sAMAccountName": {"CAS2$"}, "servicePrincipalName": {"HTTP/cas2.contoso.test", "HTTP/DUP.contoso.test"}}},
			{DN: "CN=Administrator,CN=Users," + base, Attributes: map[string][]string{"sAMAccountName": {"Administrator"}}},
		},
		Credentials: []ldapserver.Credential{{Names: []string{`CONTOSO\administrator`, "CN=Administrator,CN=Users," + base}, Password: "Lab-Admin-Pass1"}},
	}
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return "ldap://" + ln.Addr().String()
}

func open(t *testing.T, url, user, pw string) (*Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return Open(ctx, Options{URL: url, Base: base, BindName: user, Password: pw})
}

func TestOwners(t *testing.T) {
	c, err := open(t, startDir(t), `CONTOSO\administrator`, "Lab-Admin-Pass1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		spn  string
		want []string
	}{
		{"HTTP/mail.contoso.test", []string{"EXCH-ASA$"}},
		{"http/MAIL.contoso.test", []string{"EXCH-ASA$"}}, // case-insensitive, as AD matches
		{"HTTP/mail", []string{"EXCH-ASA$"}},
		{"HTTP/dup.contoso.test", []string{"CAS1$", "CAS2$"}},
		{"HTTP/absent.contoso.test", nil},
		{"HTTP/*", nil},                    // escaped: not a wildcard
		{"x)(servicePrincipalName=*", nil}, // escaped: cannot widen the filter
	} {
		owners, err := c.Owners(context.Background(), tc.spn)
		if err != nil {
			t.Fatalf("%s: %v", tc.spn, err)
		}
		var got []string
		for _, o := range owners {
			got = append(got, o.Account)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: owners %v, want %v", tc.spn, got, tc.want)
		}
	}
}

func TestWrongBase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{URL: startDir(t), Base: "DC=fabrikam,DC=test", BindName: `CONTOSO\administrator`, Password: "Lab-Admin-Pass1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Owners(ctx, "HTTP/mail.contoso.test"); err == nil || !strings.Contains(err.Error(), "--ldap-base") {
		t.Fatalf("got %v, want a hint at --ldap-base", err)
	}
}

func TestBindRefused(t *testing.T) {
	_, err := open(t, startDir(t), `CONTOSO\administrator`, "wrong")
	var be *BindError
	if !errors.As(err, &be) || !be.InvalidCredentials() {
		t.Fatalf("got %v, want invalid credentials", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Error("the error text carries the password")
	}
}

func TestPlainBindToRemoteRefused(t *testing.T) {
	dialled := false
	_, err := Open(context.Background(), Options{URL: "ldap://dc1.contoso.test", BindName: "u", Password: "p",
		Dial: func(ctx context.Context, n, a string) (net.Conn, error) { dialled = true; return nil, errors.New("no") }})
	if !errors.Is(err, ErrPlainBind) || dialled {
		t.Fatalf("got %v (dialled %v), want ErrPlainBind before any dial", err, dialled)
	}
}

func TestSilentDirectoryHonoursDeadline(t *testing.T) {
	addr := hostile.Silent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Open(ctx, Options{URL: "ldap://" + addr, Base: base, BindName: "u", Password: "p"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a silent directory gave no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open ignored its context")
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in       string
		addr     string
		tls, stl bool
		bad      bool
	}{
		{in: "ldap://dc1.contoso.com", addr: "dc1.contoso.com:389"},
		{in: "ldaps://dc1.contoso.com", addr: "dc1.contoso.com:636", tls: true},
		{in: "ldap://dc1:3268/?starttls", addr: "dc1:3268", stl: true},
		{in: "LDAP://[::1]:10389", addr: "[::1]:10389"},
		{in: "http://dc1", bad: true},
		{in: "dc1.contoso.com", bad: true},
	} {
		e, err := ParseURL(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: no error", tc.in)
			}
			continue
		}
		if err != nil || e.Addr != tc.addr || e.TLS != tc.tls || e.StartTLS != tc.stl {
			t.Errorf("%s: got %+v %v", tc.in, e, err)
		}
	}
}
