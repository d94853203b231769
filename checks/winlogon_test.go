package checks

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/fixtures/kdcserver"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

const winPassword = "Tr0ub4dor&3-winlogon"

func testCert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Unix(1e9, 0), NotAfter: time.Unix(4e9, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func winConfig(t *testing.T, uri, auth string, mod func(*Spec)) *Config {
	t.Helper()
	s := Spec{URI: uri, Authentication: auth, User: "ops@fabrikam.example", Backends: []string{"https://cas1.fabrikam.example/PowerShell"}}
	if mod != nil {
		mod(&s)
	}
	c, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	c.Password = NewSecret(winPassword)
	return c
}

func TestClassifyWindowsLogon(t *testing.T) {
	front, cas := testCert(t, "mail.fabrikam.example"), testCert(t, "cas1.fabrikam.example")
	const spn = "HTTP/mail.fabrikam.example"
	kdcErr := func(code int32) error {
		return fmt.Errorf("tgs: %w", &kerb.KDCError{Code: code, KDC: "dc1.fabrikam.example:88"})
	}
	krbErr := func(code int32, name string) *winauth.KerberosError {
		return &winauth.KerberosError{Code: code, Name: name, By: "the server", Text: "e-text " + winPassword}
	}
	ok := logonResult{Mech: "kerberos", Status: 200, Rounds: 1, MutualVerified: true, Bound: true, Cert: front}
	refused := logonResult{Mech: "kerberos", Status: 401, Rounds: 1, Bound: true, Cert: front, Err: errors.New("the server answered 401 to the last token")}
	ntlmOK := logonResult{Mech: "ntlm", Status: 200, Rounds: 2, Bound: true, Cert: front}
	ntlmRefused := logonResult{Mech: "ntlm", Status: 401, Rounds: 2, Bound: true, Cert: front}
	unreachable := &kerb.UnreachableError{Attempts: []string{"dc1.fabrikam.example:88: i/o timeout"}}

	https := "https://mail.fabrikam.example/PowerShell"
	cases := []struct {
		name    string
		uri     string
		auth    string
		mod     func(*Spec)
		l       windowsLogon
		want    []string // codes, in order
		variant string   // the first finding's variant param
		params  map[string]string
		text    string // in the first summary
		err     string // windowsLogonError contains
		// unobserved are step values this logon cannot know
		unobserved map[string]bool
	}{
		{name: "basic is no windows logon", auth: "basic", l: windowsLogon{Requested: "basic", Result: refused}},
		{name: "a verified kerberos logon", auth: "kerberos", l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: ok}},
		{name: "after the logon the answer is httpauth's", auth: "kerberos",
			l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Mech: "kerberos", Status: 403, MutualVerified: true}}},
		{name: "no spn", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN)},
			want: []string{"SPN-MISSING"}, params: map[string]string{catalog.ParamSPN: spn, catalog.ParamKDC: "dc1.fabrikam.example"}, text: "KDC_ERR_S_PRINCIPAL_UNKNOWN"},
		{name: "spn on two accounts", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_PRINCIPAL_NOT_UNIQUE)},
			want: []string{"SPN-DUPLICATE"}},
		{name: "no kdc answered", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: unreachable},
			want: []string{"SPN-KDC-UNREACHABLE"}, unobserved: map[string]bool{catalog.ParamKDC: true}},
		{name: "the named kdc did not answer", auth: "kerberos", mod: func(s *Spec) { s.KDCs = []string{"dc3.fabrikam.example"} },
			l:    windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: unreachable},
			want: []string{"SPN-KDC-UNREACHABLE"}, params: map[string]string{catalog.ParamKDC: "dc3.fabrikam.example"}},
		{name: "this machine has no route to --kdc", auth: "kerberos", mod: func(s *Spec) { s.KDCs = []string{"dc1.fabrikam.example"} },
			l:   windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: &kerb.UnreachableError{Attempts: []string{"no route"}, Local: true}},
			err: "probe host's network"},
		{name: "wrong password at the kdc", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_PREAUTH_FAILED)},
			want: []string{"SPN-PREAUTH-FAILED"}},
		{name: "wrong password found on the client side", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: fmt.Errorf("as: %w", kerb.ErrBadPassword)},
			want: []string{"SPN-PREAUTH-FAILED"}},
		{name: "a revoked account", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_CLIENT_REVOKED)},
			want: []string{"SPN-ACCOUNT-DISABLED"}},
		{name: "an odd kdc answer is no verdict", auth: "kerberos", l: windowsLogon{Requested: "kerberos", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_BADOPTION)},
			err: "no kerberos logon"},
		{name: "modified", auth: "kerberos", l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Mech: "kerberos", Status: 401, ServerError: krbErr(41, "KRB_AP_ERR_MODIFIED")}},
			want: []string{"AUTH-KERBEROS-MODIFIED"}, params: map[string]string{catalog.ParamSPN: spn, catalog.ParamMechanism: "kerberos"}, text: "KRB_AP_ERR_MODIFIED (41)"},
		{name: "bad key version", auth: "kerberos", l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 401, Err: fmt.Errorf("step: %w", krbErr(44, ""))}},
			want: []string{"AUTH-KERBEROS-MODIFIED"}, text: "KRB_AP_ERR_BADKEYVER"},
		{name: "skew", auth: "kerberos", mod: func(s *Spec) { s.KDCs = []string{"dc2.fabrikam.example:88"} },
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 401, ServerError: krbErr(37, "KRB_AP_ERR_SKEW")}},
			want: []string{"AUTH-KERBEROS-SKEW"}, params: map[string]string{catalog.ParamKDC: "dc2.fabrikam.example", catalog.ParamRealm: "FABRIKAM.EXAMPLE"}},
		{name: "skew says the server's clock", auth: "kerberos",
			l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 401,
				ServerError: &winauth.KerberosError{Code: 37, Name: "KRB_AP_ERR_SKEW", ServerTime: time.Date(2026, 12, 1, 15, 10, 3, 0, time.UTC)}}},
			want: []string{"AUTH-KERBEROS-SKEW"}, text: "its clock read 2026-12-01T15:10:03Z"},
		{name: "another krb-error", auth: "kerberos", l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 401, ServerError: krbErr(32, "KRB_AP_ERR_TKT_EXPIRED")}},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "KRB_AP_ERR_TKT_EXPIRED (32)"},
		{name: "negotiate fell back for want of an spn", auth: "negotiate",
			l:    windowsLogon{Requested: "negotiate", Used: "ntlm", SPN: spn, Fallback: kdcErr(errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN), Result: ntlmOK},
			want: []string{"AUTH-NTLM-FALLBACK"}, variant: "no-spn", params: map[string]string{catalog.ParamSPN: spn, catalog.ParamMechanism: "ntlm"}, text: "knows no " + spn},
		{name: "negotiate fell back for want of a kdc, and ntlm was refused", auth: "negotiate",
			l:    windowsLogon{Requested: "negotiate", Used: "ntlm", SPN: spn, TicketErr: unreachable, Fallback: unreachable, Result: ntlmRefused},
			want: []string{"AUTH-NTLM-FALLBACK", "AUTH-WINDOWS-LOGON-FAILED"}, variant: "no-kdc"},
		{name: "negotiate fell back for a reason of its own", auth: "negotiate",
			l:    windowsLogon{Requested: "negotiate", Used: "ntlm", SPN: spn, Fallback: errors.New("negotiate fell back to ntlm because no realm to ask"), Result: ntlmOK},
			want: []string{"AUTH-NTLM-FALLBACK"}, variant: "other", text: "fell back to ntlm for https://mail.fabrikam.example/PowerShell because no realm to ask;"},
		{name: "no realm given to exdiag is no fall back of the deployment's", auth: "negotiate",
			l: windowsLogon{Requested: "negotiate", Used: "ntlm", SPN: spn, TicketErr: fmt.Errorf("no realm: %w", errNoRealm),
				Fallback: fmt.Errorf("negotiate fell back to ntlm because kerberos failed: %w", fmt.Errorf("no realm: %w", errNoRealm)), Result: ntlmOK}},
		{name: "a refused password is no fall back", auth: "negotiate",
			l:    windowsLogon{Requested: "negotiate", Used: "ntlm", SPN: spn, TicketErr: kdcErr(errorcode.KDC_ERR_PREAUTH_FAILED), Result: ntlmRefused},
			want: []string{"SPN-PREAUTH-FAILED"}},
		{name: "extended protection: the unbound logon passed", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: refused, Unbound: &logonResult{Status: 200, MutualVerified: true}},
			want: []string{"AUTH-EXTENDED-PROTECTION"}, params: map[string]string{catalog.ParamProxyThumbprint: tlsinspect.Thumbprint(front)}, text: "without a channel binding was answered 200"},
		{name: "an unbound logon that did not complete is no proof", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: refused, Unbound: &logonResult{Status: 200, Err: errors.New("no mutual authentication token")}},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}},
		{name: "extended protection: the kerberos ticket was good and the cas presents another certificate", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: refused, FrontCert: front, BackendCert: cas},
			want: []string{"AUTH-EXTENDED-PROTECTION"}, text: "the proxy presents mail.fabrikam.example"},
		{name: "an ntlm 401 behind a proxy with its own certificate may be the password", auth: "ntlm",
			l:    windowsLogon{Requested: "ntlm", Used: "ntlm", Result: ntlmRefused, FrontCert: front, BackendCert: cas},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "if the password is right and the vdir has extended protection"},
		{name: "extended protection: the password was accepted and the cas presents another certificate", auth: "ntlm",
			l:    windowsLogon{Requested: "ntlm", Used: "ntlm", Result: ntlmRefused, Unbound: &logonResult{Mech: "ntlm", Status: 401}, FrontCert: front, BackendCert: cas},
			want: []string{"AUTH-EXTENDED-PROTECTION"}, params: map[string]string{
				catalog.ParamProxySubject: "CN=mail.fabrikam.example", catalog.ParamCASThumbprint: tlsinspect.Thumbprint(cas),
				catalog.ParamCASSubject: "CN=cas1.fabrikam.example", catalog.ParamBackendURL: "https://cas1.fabrikam.example/PowerShell", catalog.ParamServer: "cas1"}},
		{name: "one certificate end to end: a refusal is a refusal", auth: "ntlm",
			l:    windowsLogon{Requested: "ntlm", Used: "ntlm", Result: ntlmRefused, FrontCert: front, BackendCert: front},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "a wrong password"},
		{name: "bound and unbound both refused", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: refused, Unbound: &logonResult{Status: 401}},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "401 to the last token"},
		{name: "an unbound logon is no extended protection", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 401}, FrontCert: front, BackendCert: cas},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}},
		{name: "one certificate end to end: a kerberos refusal is a refusal", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: refused, FrontCert: front, BackendCert: front},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}},
		{name: "400 to the token", auth: "negotiate", l: windowsLogon{Requested: "negotiate", Used: "kerberos", SPN: spn, Result: logonResult{Status: 400}},
			want: []string{"AUTH-NEGOTIATE-400"}},
		{name: "ntlm over http", uri: "http://mail.fabrikam.example/PowerShell", auth: "negotiate",
			l:    windowsLogon{Requested: "negotiate", Used: "ntlm", Result: logonResult{Mech: "ntlm", Status: 401}},
			want: []string{"AUTH-NEGOTIATE-HTTP"}},
		{name: "kerberos over http is the supported path", uri: "http://mail.fabrikam.example/PowerShell", auth: "kerberos",
			l: windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 200, MutualVerified: true}}},
		{name: "no mutual authentication answer", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 200}},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "no mutual-authentication answer"},
		{name: "a mutual answer that does not verify", auth: "kerberos",
			l:    windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Status: 200, Err: errors.New("ap-rep ctime differs")}},
			want: []string{"AUTH-WINDOWS-LOGON-FAILED"}, text: "ap-rep ctime differs"},
		{name: "no answer at all", auth: "kerberos",
			l:   windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: spn, Result: logonResult{Err: errors.New("connection reset by peer")}},
			err: "got no answer: connection reset"},
	}
	authCodes := append(append([]string(nil), AuthCheck.Codes...), AuthCheck.Borrows...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uri := tc.uri
			if uri == "" {
				uri = https
			}
			cfg := winConfig(t, uri, tc.auth, tc.mod)
			fs := classifyWindowsLogon(cfg.URI, cfg, tc.l)
			var got []string
			for _, f := range fs {
				got = append(got, f.Code)
				if !slices.Contains(authCodes, f.Code) {
					t.Errorf("%s is not in the auth check's Codes or Borrows", f.Code)
				}
				if strings.Contains(f.Summary, winPassword) {
					t.Errorf("%s summary carries the password: %q", f.Code, f.Summary)
				}
				if f.Target == "" || f.Summary == "" {
					t.Errorf("%s has no target or summary: %+v", f.Code, f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("codes = %v, want %v (%+v)", got, tc.want, fs)
			}
			err := windowsLogonError(cfg.URI, cfg, tc.l)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error = %v, want it to say %q", err, tc.err)
			case err != nil && strings.Contains(err.Error(), winPassword):
				t.Errorf("error carries the password: %v", err)
			}
			if len(fs) == 0 {
				return
			}
			if tc.variant != "" && fs[0].Params[catalog.ParamVariant] != tc.variant {
				t.Errorf("variant = %q, want %q", fs[0].Params[catalog.ParamVariant], tc.variant)
			}
			for k, v := range tc.params {
				if fs[0].Params[k] != v {
					t.Errorf("param %s = %q, want %q", k, fs[0].Params[k], v)
				}
			}
			if !strings.Contains(fs[0].Summary, tc.text) {
				t.Errorf("summary %q does not say %q", fs[0].Summary, tc.text)
			}
			// the steps the user reads name this deployment: every value
			// they need was observed (or is the run's own)
			withRunParams(cfg, fs)
			for _, f := range fs {
				for _, step := range catalog.Steps(f.Code, f.Params) {
					for _, name := range catalog.Placeholders(step) {
						if f.Params[name] == "" && !tc.unobserved[name] {
							t.Errorf("%s: {%s} was not set for %q", f.Code, name, step)
						}
					}
				}
			}
		})
	}
}

// The negotiate probe already raised AUTH-NEGOTIATE-400 for the endpoint:
// the logon's own 400 is the same fact and is not reported twice.
func TestAddWindowsLogonSaysItOnce(t *testing.T) {
	cfg := winConfig(t, "https://mail.fabrikam.example/PowerShell", "negotiate", nil)
	target := cfg.URI.Redacted()
	have := []Finding{{Code: "AUTH-NEGOTIATE-400", Target: target, Summary: "an NTLM negotiate token was answered 400"}}
	l := windowsLogon{Requested: "negotiate", Used: "kerberos", SPN: cfg.KerberosSPN(), Result: logonResult{Status: 400}}
	got, _ := addWindowsLogon(have, cfg.URI, cfg, l)
	if len(got) != 1 {
		t.Errorf("findings = %+v, want the one AUTH-NEGOTIATE-400", got)
	}
	l.Result = logonResult{Status: 401}
	got, _ = addWindowsLogon(have, cfg.URI, cfg, l)
	if len(got) != 2 || got[1].Code != "AUTH-WINDOWS-LOGON-FAILED" {
		t.Errorf("findings = %+v, want the 400 and the refused logon", got)
	}
}

// A logon to a --backend is that hop's: its params name the CAS.
func TestClassifyWindowsLogonOnABackend(t *testing.T) {
	cfg := winConfig(t, "https://mail.fabrikam.example/PowerShell", "kerberos", nil)
	b := cfg.Backends[0]
	l := windowsLogon{Requested: "kerberos", Used: "kerberos", SPN: "HTTP/cas1.fabrikam.example",
		Result: logonResult{Status: 401, ServerError: &winauth.KerberosError{Code: 41, Name: "KRB_AP_ERR_MODIFIED"}}}
	fs := classifyWindowsLogon(b, cfg, l)
	if len(fs) != 1 || fs[0].Params[catalog.ParamServer] != "cas1" || fs[0].Target != b.Redacted() {
		t.Fatalf("findings = %+v", fs)
	}
	steps, _ := catalog.Render(fs[0].Code, fs[0].Params)
	if !strings.Contains(steps[0], "cas1 cannot decrypt a ticket for HTTP/cas1.fabrikam.example") {
		t.Errorf("first step %q does not name the backend", steps[0])
	}
}

// A Kerberos logon finds its realm and KDCs as the spn probe does, and
// when it cannot, the error classifies as the spn probe's finding.
func TestKerberosLogonInputs(t *testing.T) {
	cfg := winConfig(t, "https://mail.fabrikam.example/PowerShell", "kerberos", func(s *Spec) {
		s.KDCs = []string{"dc1.fabrikam.example"}
		s.SPNs = []string{"HTTP/lb.fabrikam.example"}
	})
	k, err := kerberosLogonInputs(context.Background(), NewEnv(cfg))
	if err != nil || k.Account != "ops" || k.Realm != "FABRIKAM.EXAMPLE" || !slices.Equal(k.KDCs, []string{"dc1.fabrikam.example:88"}) ||
		k.SPN != "HTTP/lb.fabrikam.example" || k.Dial == nil {
		t.Fatalf("inputs %+v, %v", k, err)
	}

	cfg = winConfig(t, "https://mail.fabrikam.example/PowerShell", "kerberos", nil)
	env := NewEnv(cfg)
	env.LookupSRV = func(context.Context, string, string, string) (string, []*net.SRV, error) {
		return "", nil, errors.New("no such host")
	}
	_, err = kerberosLogonInputs(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "give --kdc") {
		t.Fatalf("no kdc: %v", err)
	}
	fs := classifyWindowsLogon(cfg.URI, cfg, windowsLogon{Requested: "kerberos", SPN: cfg.KerberosSPN(), TicketErr: err})
	if len(fs) != 1 || fs[0].Code != "SPN-KDC-UNREACHABLE" {
		t.Errorf("no kdc classifies as %+v", fs)
	}

	cfg = winConfig(t, "https://mail.fabrikam.example/PowerShell", "negotiate", func(s *Spec) { s.User = `FABRIKAM\ops` })
	if _, err := kerberosLogonInputs(context.Background(), NewEnv(cfg)); err == nil || !strings.Contains(err.Error(), "give --realm") {
		t.Errorf("no realm: %v", err)
	}
}

// What Apache with mod_auth_gssapi (MIT krb5's acceptor) really answered
// to a real ticket, recorded by scripts/itest/gssapi_test.go into
// checks/winauth/testdata: exdiag's Kerberos context reads each refusal
// and the classification names its cause. MIT says BAD_INTEGRITY where
// Windows says MODIFIED, and BADKEYVER for a keytab one key behind.
func TestClassifyRecordedMITRefusals(t *testing.T) {
	const realm, user, password = "CONTOSO.TEST", "administrator", "Sentinel-Winlogon-Password-7" // the lab KDC's own account
	spn := "HTTP/gss.contoso.test"
	kdc, err := kdcserver.New(realm, map[string]string{user: password}, []string{spn})
	if err != nil {
		t.Fatal(err)
	}
	addr := kdc.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: realm, User: user, Password: password,
		KDCs: []string{addr}, AttemptTimeout: 5 * time.Second, SPN: spn})
	if err != nil {
		t.Fatal(err)
	}
	front := testCert(t, "gss.contoso.test")
	cb, err := winauth.EndPointOf(front)
	if err != nil {
		t.Fatal(err)
	}
	cfg := winConfig(t, "https://gss.contoso.test/PowerShell", "kerberos", func(s *Spec) { s.User = user + "@contoso.test"; s.Backends = nil })
	for file, want := range map[string]string{
		"mit-stale_keytab.neg":                    "AUTH-KERBEROS-MODIFIED",
		"mit-keytab_of_another_account.neg":       "AUTH-KERBEROS-MODIFIED",
		"mit-server_clock_ten_minutes_ahead.neg":  "AUTH-KERBEROS-SKEW",
		"mit-client_clock_ten_minutes_behind.neg": "AUTH-KERBEROS-SKEW",
	} {
		t.Run(file, func(t *testing.T) {
			answer, err := os.ReadFile(filepath.Join("winauth", "testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			c := tkt.NewContext(cb)
			if _, _, err := c.Step(nil); err != nil {
				t.Fatal(err)
			}
			_, done, err := c.Step(answer)
			if done || err == nil {
				t.Fatalf("the refusal established the context: %v", err)
			}
			// as the Transport records a refused leg (winhttp's LogonResult)
			res := logonResult{Mech: c.Mech(), Status: 401, Rounds: 1, Bound: true, Cert: front, Err: err}
			errors.As(err, &res.ServerError)
			fs := classifyWindowsLogon(cfg.URI, cfg, windowsLogon{Requested: "kerberos", Used: c.Mech(), SPN: spn, Result: res})
			if len(fs) != 1 || fs[0].Code != want {
				t.Fatalf("findings %+v, want %s", fs, want)
			}
			if want == "AUTH-KERBEROS-SKEW" && !strings.Contains(fs[0].Summary, "its clock read ") {
				t.Errorf("the skew summary does not say the server's time: %q", fs[0].Summary)
			}
		})
	}
}
