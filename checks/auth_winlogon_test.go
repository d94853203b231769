package checks

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/exdiag/exdiag/checks/winauth"
)

// fakeWinContext carries its channel binding's hash in its token, so the
// fake IIS below can check it as Extended Protection does.
type fakeWinContext struct {
	mech string
	cb   *winauth.ChannelBindings
}

func (c *fakeWinContext) Scheme() string { return "Negotiate" }
func (c *fakeWinContext) Mech() string   { return c.mech }
func (c *fakeWinContext) Step(in []byte) ([]byte, bool, error) {
	h := c.cb.Hash()
	switch {
	case in == nil && c.mech == winauth.Kerberos:
		return []byte("ap-req:" + hex.EncodeToString(h[:])), false, nil
	case in == nil:
		return []byte("ntlm-negotiate"), false, nil
	case string(in) == "ntlm-challenge":
		return []byte("ntlm-auth:" + hex.EncodeToString(h[:])), true, nil
	case string(in) == "ap-rep":
		return nil, true, nil
	}
	return nil, false, errors.New("unexpected token")
}

// epaVdir is IIS with Windows authentication and Extended Protection:
// a logon per connection, a binding that must be the one it expects (or
// none, as "Allow" takes), mutual authentication for Kerberos.
type epaVdir struct {
	expect  [16]byte // the binding hash the backend's certificate gives
	noneOK  bool     // a logon without binding is taken
	refuse  bool     // the account's password is wrong
	mu      sync.Mutex
	authed  map[string]bool
	logons  int
	enumDid int
}

func (v *epaVdir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.authed == nil {
		v.authed = map[string]bool{}
	}
	tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Authorization"), "Negotiate "))
	ok := func(h string) bool {
		if v.refuse {
			return false
		}
		var zero [16]byte
		return h == hex.EncodeToString(v.expect[:]) || v.noneOK && h == hex.EncodeToString(zero[:])
	}
	switch s := string(tok); {
	case v.authed[r.RemoteAddr]:
	case strings.HasPrefix(s, "ap-req:"):
		v.logons++
		if !ok(strings.TrimPrefix(s, "ap-req:")) {
			w.Header().Set("WWW-Authenticate", "Negotiate")
			w.WriteHeader(401)
			return
		}
		w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString([]byte("ap-rep")))
	case s == "ntlm-negotiate":
		w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString([]byte("ntlm-challenge")))
		w.WriteHeader(401)
		return
	case strings.HasPrefix(s, "ntlm-auth:"):
		v.logons++
		if !ok(strings.TrimPrefix(s, "ntlm-auth:")) {
			w.Header().Set("WWW-Authenticate", "Negotiate")
			w.WriteHeader(401)
			return
		}
	default:
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.WriteHeader(401)
		return
	}
	v.authed[r.RemoteAddr] = true
	v.enumDid++
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	w.Write([]byte(soapOK))
}

func winFixture(t *testing.T, v *epaVdir, mech string, verdict Verdict, backends ...*fakeVdir) *authFixture {
	fx := newAuthFixture(t, append([]*fakeVdir{{}}, backends...)...)
	fx.srv[0].Config.Handler = v
	fx.cfg.User, fx.cfg.Password, fx.cfg.Authentication = `CONTOSO\u`, NewSecret("pw"), mech
	fx.env.winMechFor = func(ctx context.Context, u *url.URL) *winMech {
		used := winauth.Kerberos
		if mech == winauth.NTLM {
			used = winauth.NTLM
		}
		return &winMech{Requested: mech, Used: used, SPN: fx.cfg.KerberosSPN(), Verdict: verdict,
			NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) {
				return &fakeWinContext{mech: used, cb: cb}, nil
			}}
	}
	return fx
}

func frontHash(t *testing.T, fx *authFixture) [16]byte {
	cb, err := winauth.EndPointOf(fx.srv[0].Certificate())
	if err != nil {
		t.Fatal(err)
	}
	return cb.Hash()
}

func TestWindowsLogonBoundToTheConnection(t *testing.T) {
	v := &epaVdir{}
	fx := winFixture(t, v, winauth.Kerberos, Accepted, &fakeVdir{})
	v.expect = frontHash(t, fx)
	_, obs := fx.run(t)
	// what the classification compares: the certificate the logon was
	// bound to, and the one the backend presents
	if a := obs.win; a == nil || a.FrontCert == nil || !a.FrontCert.Equal(fx.srv[0].Certificate()) || a.BackendCert == nil || a.Result.Mech != "kerberos" {
		t.Fatalf("attempt %+v", obs.win)
	}
	w := obs.Windows
	if w == nil || !w.Established || !w.MutualVerified || !w.Bound || w.Used != "kerberos" || w.SPN != "HTTP/example.com" || w.Unbound != nil {
		t.Fatalf("windows logon %+v", w)
	}
	if w.Answer == nil || w.Answer.Status != 200 || !w.Answer.SOAP {
		t.Fatalf("answer %+v", w.Answer)
	}
	if obs.Basic == nil || !strings.Contains(obs.Basic.Refused, "windows authentication instead") {
		t.Fatalf("basic %+v", obs.Basic)
	}
	if v.logons != 1 {
		t.Fatalf("%d logons", v.logons)
	}
}

// A proxy that terminates TLS presents its own certificate: the binding
// the client computes is not the backend's, and only the logon without
// it goes through.
func TestExtendedProtectionBehindAnOffloadingProxy(t *testing.T) {
	v := &epaVdir{expect: [16]byte{1, 2, 3}, noneOK: true}
	fx := winFixture(t, v, winauth.Kerberos, Accepted)
	_, obs := fx.run(t)
	w := obs.Windows
	if w == nil || w.Established || w.Status != 401 || !w.Bound || w.Unbound == nil || !w.Unbound.Established {
		t.Fatalf("windows logon %+v unbound %+v", w, w.Unbound)
	}
	if v.logons != 2 {
		t.Fatalf("%d logons, want the bound and the unbound one", v.logons)
	}
	if !fx.env.cred.accepted() {
		t.Fatal("the password was accepted by the kdc and the unbound logon")
	}
}

// An NTLM 401 cannot tell a wrong password from a rejected binding, so
// it is not retried, and nobody else sends the password.
func TestNTLMRefusalIsOneFailedLogon(t *testing.T) {
	v := &epaVdir{refuse: true, noneOK: true}
	fx := winFixture(t, v, winauth.NTLM, Inconclusive)
	_, obs := fx.run(t)
	w := obs.Windows
	if w == nil || w.Established || w.Status != 401 || w.Unbound != nil || w.Used != "ntlm" {
		t.Fatalf("windows logon %+v", w)
	}
	if v.logons != 1 {
		t.Fatalf("%d failed logons, want 1", v.logons)
	}
	if _, err := fx.env.Credential(context.Background(), false); err == nil {
		t.Fatal("the password may be sent again after the ntlm refusal")
	}
}

func TestNoTicketSendsNoLogon(t *testing.T) {
	v := &epaVdir{}
	fx := winFixture(t, v, winauth.Kerberos, Inconclusive)
	fx.env.winMechFor = func(ctx context.Context, u *url.URL) *winMech {
		return &winMech{Requested: "kerberos", SPN: "HTTP/example.com", TicketErr: errors.New("KDC_ERR_S_PRINCIPAL_UNKNOWN")}
	}
	_, obs := fx.run(t)
	if w := obs.Windows; w == nil || w.Refused == "" || !strings.Contains(w.TicketError, "PRINCIPAL_UNKNOWN") || w.Established {
		t.Fatalf("windows logon %+v", w)
	}
	if v.logons != 0 {
		t.Fatal("a logon went out without a ticket")
	}
}

// A hostile server echoes what the logon sent into its refusal; neither
// the password nor the tokens reach the report.
func TestWindowsLogonEchoIsScrubbed(t *testing.T) {
	fx := newAuthFixture(t, &fakeVdir{})
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		w.Header().Set("WWW-Authenticate", `Negotiate realm="`+a+`"`)
		w.WriteHeader(401)
		w.Write([]byte("you sent " + a + " for canary-Pa55"))
	})
	fx.srv[0].Config.Handler = echo
	fx.cfg.User, fx.cfg.Password, fx.cfg.Authentication = `CONTOSO\u`, NewSecret("canary-Pa55"), winauth.NTLM
	fx.env.winMechFor = func(ctx context.Context, u *url.URL) *winMech {
		return &winMech{Requested: "ntlm", Used: "ntlm", NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) {
			return &leakyContext{}, nil
		}}
	}
	r, obs := fx.run(t)
	if obs.Windows == nil || obs.Windows.Status != 401 {
		t.Fatalf("windows %+v", obs.Windows)
	}
	b, _ := json.Marshal(r)
	for _, s := range []string{"canary-Pa55", "dG9rZW4gd2l0aC"} { // the token's base64 begins so
		if strings.Contains(string(b), s) {
			t.Fatalf("the report carries %q: %s", s, b)
		}
	}
}

// leakyContext sends a token that would carry the password, the worst a
// broken mechanism could do.
type leakyContext struct{}

func (leakyContext) Scheme() string { return "Negotiate" }
func (leakyContext) Mech() string   { return winauth.NTLM }
func (leakyContext) Step(in []byte) ([]byte, bool, error) {
	return []byte("token with canary-Pa55 inside"), true, nil
}

// IIS's 401.1 page names what it refused: the password (then no other
// probe sends it, and the certificates of proxy and CAS differing does
// not make it Extended Protection) or the binding (then the unbound
// comparison may go, the password was not what failed).
func TestThe401PageDecidesBetweenPasswordAndBinding(t *testing.T) {
	m := &winMech{Requested: "ntlm", Used: "ntlm"}
	refused := winauth.LogonResult{Mech: "ntlm", Status: 401, Rounds: 2, Bound: true}
	for hresult, want := range map[string]Verdict{"0x8007052e": Refused, "0xc000006d": Refused, "0x8009030C": Refused, "0x80090346": Inconclusive, "": Refused} {
		if v, _ := windowsVerdict(m, refused, "https://mail.contoso.test/PowerShell", hresult); v != want {
			t.Errorf("%q: verdict %v, want %v", hresult, v, want)
		}
	}
	u, _ := url.Parse("https://mail.contoso.test/PowerShell")
	b, _ := url.Parse("https://cas1.contoso.test/PowerShell")
	cfg := &Config{URI: u, Host: u.Hostname(), User: `CONTOSO\u`, Authentication: "ntlm", Backends: []*url.URL{b}}
	l := windowsLogon{Requested: "ntlm", Used: "ntlm", SPN: "HTTP/mail.contoso.test", Result: refused,
		FrontCert: &x509.Certificate{Raw: []byte("proxy")}, BackendCert: &x509.Certificate{Raw: []byte("cas")}}
	codes := func(l windowsLogon) []string {
		var out []string
		for _, f := range classifyWindowsLogon(u, cfg, l) {
			out = append(out, f.Code)
		}
		return out
	}
	// without the page an NTLM 401 cannot tell the password from the
	// binding: the certificates alone only hint at extended protection
	if got := codes(l); len(got) != 1 || got[0] != "AUTH-WINDOWS-LOGON-FAILED" {
		t.Fatalf("no page: %v, want a refused logon that hints at the certificates", got)
	}
	l.HResult = "0x80090346"
	if got := codes(l); len(got) != 1 || got[0] != "AUTH-EXTENDED-PROTECTION" {
		t.Fatalf("SEC_E_BAD_BINDINGS: %v, want extended protection", got)
	}
	l.HResult = "0x8007052e"
	if got := codes(l); len(got) != 1 || got[0] != "AUTH-WINDOWS-LOGON-FAILED" {
		t.Fatalf("a refused password: %v", got)
	}
}
