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
