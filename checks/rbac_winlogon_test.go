package checks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// sealingContext is a Kerberos-like context (one leg, mutual) with a
// toy seal, for the session over http.
type sealingContext struct{ fakeWinContext }

func (sealingContext) Wrap(msg []byte) ([]byte, []byte, error) {
	return []byte("sig"), xorBytes(msg), nil
}
func (sealingContext) Unwrap(h, b []byte) ([]byte, error) { return xorBytes(b), nil }

func xorBytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ 0x77
	}
	return out
}

// winPSRP is a remote PowerShell endpoint behind IIS's Windows
// authentication: a Kerberos logon per connection (the fake contexts'
// ap-req), sealed answers over http.
type winPSRP struct {
	t      *testing.T
	srv    *psrpserver.Server
	sealed bool
	refuse bool
	mu     sync.Mutex
	authed map[string]bool
	logons int
	tries  int // AP-REQs seen, accepted or not
}

func (v *winPSRP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	if v.authed == nil {
		v.authed = map[string]bool{}
	}
	authed := v.authed[r.RemoteAddr]
	if !authed {
		tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.Header.Get("Authorization"), "Negotiate "))
		if strings.HasPrefix(string(tok), "ap-req:") {
			v.tries++
		}
		if !strings.HasPrefix(string(tok), "ap-req:") || v.refuse {
			v.mu.Unlock()
			w.Header().Set("WWW-Authenticate", "Negotiate")
			w.WriteHeader(401)
			return
		}
		v.logons++
		v.authed[r.RemoteAddr] = true
		w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString([]byte("ap-rep")))
	}
	v.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if v.sealed && len(body) == 0 {
		return // the handshake's empty POST
	}
	in := r.Clone(psrpserver.WithUser(r.Context(), "u"))
	if v.sealed {
		msg, _, err := winauth.UnsealBody(sealingContext{}, winauth.ProtocolSPNEGO, r.Header.Get("Content-Type"), body)
		if err != nil {
			v.t.Errorf("unseal: %v", err)
			w.WriteHeader(400)
			return
		}
		body = msg
		in.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	}
	in.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	v.srv.ServeHTTP(rec, in)
	out := rec.Body.Bytes()
	if v.sealed {
		out, _ = winauth.SealBody(sealingContext{}, winauth.ProtocolSPNEGO, out)
		w.Header().Set("Content-Type", winauth.SealedContentType(winauth.ProtocolSPNEGO))
	} else {
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
	}
	w.WriteHeader(rec.Code)
	w.Write(out)
}

func rbacWindowsEnv(t *testing.T, v *winPSRP) *Env {
	fx := newAuthFixture(t, &fakeVdir{})
	if v.sealed {
		ts := httptest.NewServer(v)
		t.Cleanup(ts.Close)
		u, _ := url.Parse(ts.URL + "/PowerShell")
		fx.cfg.URI, fx.cfg.Host = u, u.Hostname()
		fx.cfg.Port, _ = strconv.Atoi(u.Port())
	} else {
		fx.srv[0].Config.Handler = v
	}
	fx.cfg.User, fx.cfg.Password, fx.cfg.Authentication = "u@CONTOSO.TEST", NewSecret("pw"), winauth.Kerberos
	fx.cfg.Checks = []string{"rbac"}
	fx.env.winMechFor = func(ctx context.Context, u *url.URL) *winMech {
		return &winMech{Requested: winauth.Kerberos, Used: winauth.Kerberos, SPN: fx.cfg.KerberosSPN(), Verdict: Accepted,
			NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) {
				return &sealingContext{fakeWinContext{mech: winauth.Kerberos, cb: cb}}, nil
			}}
	}
	return fx.env
}

func TestRBACSessionOverKerberos(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(map[bool]string{false: "https", true: "sealed http"}[sealed], func(t *testing.T) {
			srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox", "Get-Command", "Set-Mailbox"}}, FragmentsPerReceive: 2})
			v := &winPSRP{t: t, srv: srv, sealed: sealed}
			env := rbacWindowsEnv(t, v)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rs := Run(ctx, env, []Check{RBACCheck})
			obs, _ := rs[0].Observed.(*RBACObserved)
			if rs[0].Error != "" || obs == nil || obs.CommandCount != 3 || !obs.ShellDeleted || obs.Mechanism != "kerberos" || obs.Sealed != sealed {
				t.Fatalf("result %+v observed %+v", rs[0], obs)
			}
			if v.logons != 1 || srv.OpenShells() != 0 {
				t.Fatalf("%d logons, %d open shells", v.logons, srv.OpenShells())
			}
			b, _ := json.Marshal(rs[0])
			if strings.Contains(string(b), `"pw"`) {
				t.Fatal("the password is in the result")
			}
		})
	}
}

func TestRBACWindowsLogonRefused(t *testing.T) {
	srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}})
	v := &winPSRP{t: t, srv: srv, refuse: true}
	env := rbacWindowsEnv(t, v)
	rs := Run(context.Background(), env, []Check{RBACCheck})
	if len(rs[0].Findings) != 1 || rs[0].Findings[0].Code != "RBAC-SESSION-FAILED" || !strings.Contains(rs[0].Findings[0].Summary, "kerberos logon failed") {
		t.Fatalf("result %+v", rs[0])
	}
	if srv.ShellsCreated() != 0 {
		t.Fatal("a shell without a logon")
	}
}

// Without a Sealer, a session over http is not attempted at all.
func TestRBACOverHTTPNeedsASealer(t *testing.T) {
	srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}})
	v := &winPSRP{t: t, srv: srv, sealed: true}
	env := rbacWindowsEnv(t, v)
	env.winMechFor = func(ctx context.Context, u *url.URL) *winMech {
		return &winMech{Requested: winauth.Kerberos, Used: winauth.Kerberos, Verdict: Accepted,
			NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) {
				return &fakeWinContext{mech: winauth.Kerberos, cb: cb}, nil
			}}
	}
	rs := Run(context.Background(), env, []Check{RBACCheck})
	if !strings.Contains(rs[0].Error, "use an https uri") || v.logons != 0 {
		t.Fatalf("result %+v, %d logons", rs[0], v.logons)
	}
}

// The auth probe's logon authenticates its connection; the rbac session
// goes on over it, so the run logs on once.
func TestAuthLogonCarriesTheSession(t *testing.T) {
	srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox", "Get-Command"}}})
	v := &winPSRP{t: t, srv: srv}
	env := rbacWindowsEnv(t, v)
	env.Config.Checks = []string{"auth", "rbac"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := Run(ctx, env, []Check{AuthCheck, RBACCheck})
	var rbac *RBACObserved
	for _, r := range rs {
		if o, ok := r.Observed.(*RBACObserved); ok {
			rbac = o
		}
	}
	if rbac == nil || rbac.CommandCount != 2 || !rbac.ShellDeleted {
		t.Fatalf("results %+v", rs)
	}
	if v.logons != 1 {
		t.Fatalf("%d logons in the run, want 1", v.logons)
	}
	if tr, _ := env.takeWindows(); tr != nil {
		t.Fatal("the kept connection outlived the run")
	}
}

// The auth probe's refused logon is the session's too: rbac does not log
// on again only to be refused alike.
func TestRefusedWindowsLogonIsNotRepeatedByTheSession(t *testing.T) {
	srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}})
	v := &winPSRP{t: t, srv: srv, refuse: true}
	env := rbacWindowsEnv(t, v)
	env.Config.Checks = []string{"auth", "rbac"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := Run(ctx, env, []Check{AuthCheck, RBACCheck})
	for _, r := range rs {
		if o, ok := r.Observed.(*RBACObserved); ok && o.ShellCreated {
			t.Errorf("rbac %+v", r)
		}
	}
	if srv.ShellsCreated() != 0 || v.tries != 2 { // the bound logon and the unbound comparison, both auth's
		t.Fatalf("%d logons sent, want auth's 2", v.tries)
	}
}
