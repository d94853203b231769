package checks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSpecConfigDefaults(t *testing.T) {
	c, err := Spec{URI: "https://Mail.Contoso.test"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "mail.contoso.test" || c.Port != 443 || c.URI.Path != "/PowerShell" {
		t.Errorf("endpoint = %s %d %s", c.Host, c.Port, c.URI.Path)
	}
	if c.Authentication != "basic" || c.ConfigName != "Microsoft.Exchange" || c.HTTPPort != 80 || c.Timeout != DefaultTimeout {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// Each bad value is an *InputError naming its field, so a profile file can
// point at the line that holds it, and its message is one lowercase line
// that ends with what to do.
func TestSpecConfigErrorsNameTheirField(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, maxCAFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	u := "https://mail.contoso.test/PowerShell"
	cases := []struct {
		field string
		spec  Spec
	}{
		{"uri", Spec{}},
		{"uri", Spec{URI: "ftp://x/"}},
		{"uri", Spec{URI: "https://u:p@x/"}},
		{"checks", Spec{URI: u, Checks: []string{"ping"}}},
		{"external-dns", Spec{URI: u, ExternalDNS: []string{"dns.contoso.test"}}},
		{"internal-dns", Spec{URI: u, InternalDNS: []string{"127.0.0.1:0"}}},
		{"expect-external", Spec{URI: u, ExpectExternal: []string{"1.2.3"}}},
		{"resolve", Spec{URI: u, Resolve: []string{"mail:443"}}},
		{"backend", Spec{URI: u, Backends: []string{"cas1"}}},
		{"kdc", Spec{URI: u, KDCs: []string{"dc1:x"}}},
		{"ldap", Spec{URI: u, LDAPURL: "http://dc1"}},
		{"ldap", Spec{URI: u, LDAPURL: "ldap://bob:hunter2@dc1"}},
		{"authentication", Spec{URI: u, Authentication: "digest"}},
		{"ca-file", Spec{URI: u, CAFiles: []string{filepath.Join(dir, "nope.pem")}}},
		{"ca-file", Spec{URI: u, CAFiles: []string{fifo}}},
		{"ca-file", Spec{URI: u, CAFiles: []string{big}}},
		{"http-port", Spec{URI: u, HTTPPort: 70000}},
		{"min-cmdlets", Spec{URI: u, MinCmdlets: -1}},
		{"timeout", Spec{URI: u, Timeout: -time.Second}},
		{"user", Spec{URI: u, User: "bob"}},
		{"authentication", Spec{URI: u, Authentication: "Default"}},
		{"authentication", Spec{URI: u, Authentication: "credssp"}},
		{"realm", Spec{URI: u, Authentication: "kerberos", User: `CONTOSO\bob`}},
		{"spn", Spec{URI: u, SPNs: []string{"HTTP/mail.contoso.test@CONTOSO.TEST"}}},
		{"spn", Spec{URI: u, SPNs: []string{"HTTP/mail.contoso.test:0"}}},
		{"spn", Spec{URI: u, SPNs: []string{"HTTP/"}}},
		{"spn", Spec{URI: u, SPNs: []string{"mail contoso"}}},
		{"spn", Spec{URI: u, SPNs: []string{"HTTP/a.contoso.test", "http/b.contoso.test"}}},
	}
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() { _, err := tc.spec.Config(); done <- err }()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: validation blocked", tc.field)
		}
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want an *InputError", tc.field, err)
			continue
		}
		if ie.Field != tc.field {
			t.Errorf("field = %q, want %q (%s)", ie.Field, tc.field, ie.Msg)
		}
		if strings.Contains(ie.Msg, "\n") || ie.Msg != strings.ToLower(ie.Msg[:1])+ie.Msg[1:] || !strings.Contains(ie.Msg, "; ") {
			t.Errorf("%s: message %q is not one lowercase line that says what to do", tc.field, ie.Msg)
		}
		if strings.Contains(ie.Msg, "hunter2") {
			t.Errorf("%s: message echoes a password: %q", tc.field, ie.Msg)
		}
	}
}

func TestSpecAuthenticationMechanisms(t *testing.T) {
	u := "https://mail.contoso.test/PowerShell"
	for _, a := range []string{"basic", "Negotiate", "KERBEROS", "ntlm"} {
		c, err := Spec{URI: u, Authentication: a, User: "bob@contoso.test"}.Config()
		if err != nil {
			t.Errorf("%s: %v", a, err)
			continue
		}
		if c.Authentication != strings.ToLower(a) {
			t.Errorf("%s: authentication = %q", a, c.Authentication)
		}
		if got, want := c.WindowsAuth(), a != "basic"; got != want {
			t.Errorf("%s: WindowsAuth = %v, want %v", a, got, want)
		}
	}
	_, err := Spec{URI: u, Authentication: "digest"}.Config()
	if err == nil || !strings.Contains(err.Error(), "basic, negotiate, kerberos or ntlm") {
		t.Errorf("the error does not list the mechanisms: %v", err)
	}
	// kerberos with a realm from --realm or the UPN; negotiate without one
	// falls back to NTLM at run time, so it is no input error
	for _, s := range []Spec{
		{URI: u, Authentication: "kerberos", User: `CONTOSO\bob`, Realm: "CONTOSO.TEST"},
		{URI: u, Authentication: "kerberos", User: "bob@contoso.test"},
		{URI: u, Authentication: "kerberos"},
		{URI: u, Authentication: "negotiate", User: `CONTOSO\bob`},
	} {
		if _, err := s.Config(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func TestSpecLogonSPN(t *testing.T) {
	u := "https://Mail.Contoso.test/PowerShell"
	cases := []struct {
		spns        []string
		logon, used string
	}{
		{nil, "", "HTTP/mail.contoso.test"},
		{[]string{"autodiscover.contoso.test"}, "", "HTTP/mail.contoso.test"},
		{[]string{"WSMAN/cas1.contoso.test"}, "", "HTTP/mail.contoso.test"},
		{[]string{"autodiscover.contoso.test", "HTTP/lb.contoso.test"}, "HTTP/lb.contoso.test", "HTTP/lb.contoso.test"},
		{[]string{" http/lb.contoso.test:8443 "}, "http/lb.contoso.test:8443", "http/lb.contoso.test:8443"},
		{[]string{"HTTP/lb.contoso.test", "HTTP/lb.contoso.test"}, "HTTP/lb.contoso.test", "HTTP/lb.contoso.test"},
	}
	for _, tc := range cases {
		c, err := Spec{URI: u, SPNs: tc.spns}.Config()
		if err != nil {
			t.Errorf("%q: %v", tc.spns, err)
			continue
		}
		if c.LogonSPN != tc.logon || c.KerberosSPN() != tc.used {
			t.Errorf("%q: LogonSPN %q KerberosSPN %q, want %q %q", tc.spns, c.LogonSPN, c.KerberosSPN(), tc.logon, tc.used)
		}
		if len(c.ExtraSPNs) != len(tc.spns) {
			t.Errorf("%q: the spn check lost names: %q", tc.spns, c.ExtraSPNs)
		}
	}
}
