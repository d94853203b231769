package checks

import (
	"net/url"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/miekg/dns"
)

func TestRunParams(t *testing.T) {
	u, _ := url.Parse("https://mail.fabrikam.example:8443/PowerShell")
	for _, tc := range []struct {
		user                   string
		realm                  string
		logon, domain, wantRlm string
	}{
		{`FABRIKAM\ops`, "", "ops", "FABRIKAM", ""},
		{"ops@fabrikam.example", "", "ops", "fabrikam.example", "FABRIKAM.EXAMPLE"},
		{`FABRIKAM\ops`, "fabrikam.example", "ops", "FABRIKAM", "FABRIKAM.EXAMPLE"},
	} {
		c := &Config{URI: u, Host: "mail.fabrikam.example", Port: 8443, User: tc.user, Realm: tc.realm, ExpectExternal: []string{"198.51.100.7"}}
		p := runParams(c)
		want := map[string]string{
			catalog.ParamHost: "mail.fabrikam.example", catalog.ParamPort: "8443", catalog.ParamZone: "fabrikam.example",
			catalog.ParamURI: u.String(), catalog.ParamHTTPPort: "80", catalog.ParamUser: tc.user,
			catalog.ParamLogonName: tc.logon, catalog.ParamDomain: tc.domain, catalog.ParamRealm: tc.wantRlm,
			catalog.ParamPublicAddr: "198.51.100.7", catalog.ParamInternalAddr: "",
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("user %q realm %q: %s = %q, want %q", tc.user, tc.realm, k, p[k], v)
			}
		}
	}
	if z := parentZone("10.0.0.1"); z != "" {
		t.Errorf("an IP literal has no zone, got %q", z)
	}
}

// The codes no lab scenario raises still get their evidence: rendered
// steps name the resolver, the backend and the run's values, never the
// words for an unobserved value.
func TestParamsOfCodesTheLabDoesNotRaise(t *testing.T) {
	u, _ := url.Parse("https://mail.fabrikam.example/PowerShell")
	cfg := &Config{URI: u, Host: "mail.fabrikam.example", Port: 443, ExpectExternal: []string{"198.51.100.7"}, ExpectInternal: []string{"10.1.0.20"}}
	fs := dnsFindings(cfg.Host, []dnsView{
		{View: viewExternal, Resolver: "192.0.2.53:53", Rcode: dns.RcodeSuccess},
		{View: viewInternal, Resolver: "10.1.0.10:53", Rcode: dns.RcodeNameError},
	}, nil, nil)
	b, _ := url.Parse("https://cas3.fabrikam.example/PowerShell")
	fs = append(fs, toFindings(b.String(), targetParams(b, true), []tlsinspect.Issue{{Code: tlsinspect.CodeConnectFailed, Summary: "refused"}})...)
	withRunParams(cfg, fs)
	want := map[string][]string{
		"DNS-EXT-NO-ADDRESS": {"nslookup mail.fabrikam.example 192.0.2.53", "198.51.100.7", "fabrikam.example"},
		"DNS-INT-NXDOMAIN":   {"nslookup mail.fabrikam.example 10.1.0.10", "10.1.0.20"},
		"TLS-CONNECT-FAILED": {"Test-NetConnection cas3.fabrikam.example -Port 443", "to cas3 "},
	}
	for _, f := range fs {
		steps, _ := catalog.Render(f.Code, f.Params)
		all := strings.Join(steps, "\n")
		for _, w := range want[f.Code] {
			if !strings.Contains(all, w) {
				t.Errorf("%s: steps lack %q:\n%s", f.Code, w, all)
			}
		}
		for _, p := range catalog.Vocabulary {
			if strings.Contains(all, p.Unknown) && f.Params[p.Name] == "" {
				t.Errorf("%s: %s was not observed: %q", f.Code, p.Name, all)
			}
		}
		delete(want, f.Code)
	}
	if len(want) > 0 {
		t.Errorf("no finding for %v", want)
	}
}
