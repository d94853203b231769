package checks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// These tests call the probes directly, not through Run, so they prove
// each probe's own redaction: the runner's scrubber is a second net.

const echoPassword = "Echo-Canary-5150"

func assertNoEcho(t *testing.T, what string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	up := `u:` + echoPassword
	for _, f := range []string{echoPassword, base64.StdEncoding.EncodeToString([]byte(up))} {
		if strings.Contains(string(b), f) {
			t.Fatalf("%s carries the password (as %q): %s", what, f, b)
		}
	}
}

func TestRBACRedactsEchoedFault(t *testing.T) {
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		w.WriteHeader(500)
		io.WriteString(w, hostile.Fault("2150858843", hostile.BasicEcho(r)))
	})
	fx.cfg.User, fx.cfg.Password = "u", NewSecret(echoPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := runRBAC(ctx, fx.env)
	obs, ok := o.Observed.(*RBACObserved)
	if !ok || obs.Fault == nil || !strings.Contains(obs.Fault.Message, "the shell refused") {
		t.Fatalf("the fault was not observed: %+v", o)
	}
	assertNoEcho(t, "the rbac observation", o.Observed)
	assertNoEcho(t, "the rbac findings", o.Findings)
}

// When the rbac session's Create is auth's Basic step, auth's own
// redaction covers that answer too: a server echoes the Authorization it
// got into the Create's 401 (realm, header, page), and the auth probe's
// observation, findings and summary carry none of it.
func TestAuthRedactsEchoInTheSessionsCreate(t *testing.T) {
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := hostile.BasicEcho(r)
		w.Header().Add("WWW-Authenticate", `Basic realm="`+echo+`"`)
		w.Header().Set("X-RemotePS-FailureCategory", echo)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(401)
		io.WriteString(w, "<html>HTTP Error 401.1 - Unauthorized: Access is denied due to invalid credentials. "+echo+"</html>")
	})
	fx.cfg.User, fx.cfg.Password = "u", NewSecret(echoPassword)
	fx.env.cred.expectLead()
	fx.env.lead = newLeadCreate()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go runRBAC(ctx, fx.env)
	o := runAuth(ctx, fx.env)
	obs := o.Observed.(authObserved)
	if obs.Basic == nil || obs.Basic.Request != "create" || obs.Basic.Status != 401 {
		t.Fatalf("auth did not take the Create as its basic step: %+v", obs.Basic)
	}
	assertNoEcho(t, "the auth observation", o.Observed)
	assertNoEcho(t, "the auth findings", o.Findings)
	assertNoEcho(t, "the auth summary", o.Summary)
}

// The redirect probe runs beside the auth probe: a server holds the
// plain-http GET until the Basic header has arrived on https, then echoes
// the password in Location, WWW-Authenticate and (on https) HSTS.
func TestRedirectRedactsEchoAfterBasic(t *testing.T) {
	learnt := make(chan string, 1)
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			select {
			case learnt <- hostile.BasicEcho(r):
			default:
			}
		}
		w.Header().Set("Strict-Transport-Security", "max-age=1; "+hostile.BasicEcho(r))
		w.WriteHeader(401)
	})
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var echo string
		select {
		case echo = <-learnt:
		case <-time.After(5 * time.Second):
		}
		w.Header().Set("Location", "http://x.test/?"+echo)
		w.Header().Add("WWW-Authenticate", `Basic realm="`+echo+`"`)
		w.WriteHeader(302)
	}))
	t.Cleanup(plain.Close)
	_, port, _ := net.SplitHostPort(plain.Listener.Addr().String())
	fx.cfg.HTTPPort, _ = strconv.Atoi(port)
	fx.cfg.Resolve = append(fx.cfg.Resolve, ResolveEntry{Host: "example.com", Port: fx.cfg.HTTPPort, Addr: "127.0.0.1"})
	fx.cfg.User, fx.cfg.Password = "u", NewSecret(echoPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// the auth probe sends Basic on https; the held GET then echoes it
	go runAuth(ctx, fx.env)
	o := runRedirect(ctx, fx.env)
	obs := o.Observed.(RedirectObserved)
	if obs.Status != 302 || !strings.Contains(obs.Location, "[redacted]") {
		t.Fatalf("the echo did not come back: %+v", obs)
	}
	assertNoEcho(t, "the redirect observation", o.Observed)
	assertNoEcho(t, "the redirect findings", o.Findings)
	assertNoEcho(t, "the redirect summary", o.Summary)
}

// go-ldap keeps the directory's diagnosticMessage in the bind error.
func TestSPNRedactsEchoedBindError(t *testing.T) {
	c := spnConfig(func(c *Config) {
		c.LDAPURL = hostile.LDAP(t, hostile.LDAPBehaviour{EchoBind: true})
		c.LDAPBase = "DC=contoso,DC=test"
		c.User, c.Password = "u", NewSecret(echoPassword)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := runSPN(ctx, NewEnv(c))
	if len(o.Findings) == 0 || o.Findings[0].Code != "SPN-PREAUTH-FAILED" {
		t.Fatalf("findings %+v err %v", o.Findings, o.Err)
	}
	assertNoEcho(t, "the spn findings", o.Findings)
	assertNoEcho(t, "the spn observation", o.Observed)
}

// A resolver that answers "localhost" with another address is never
// asked: ldap://localhost goes to 127.0.0.1, and the plain bind with it.
func TestSPNNeverResolvesLocalhost(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	resolver := hostile.LyingDNS(t, func(name string) {
		mu.Lock()
		asked = append(asked, name)
		mu.Unlock()
	})

	dir := hostile.LDAP(t, hostile.LDAPBehaviour{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(dir, "ldap://"))
	c := spnConfig(func(c *Config) {
		c.LDAPURL, c.LDAPBase = "ldap://localhost:"+port, "DC=contoso,DC=test"
		c.InternalDNS = []string{resolver}
	})
	env := NewEnv(c)
	var dialled []string
	real := env.Dial
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		if strings.HasPrefix(addr, "192.0.2.2:") {
			return nil, fmt.Errorf("test: %s is not reachable", addr)
		}
		return real(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	runSPN(ctx, env)
	mu.Lock()
	defer mu.Unlock()
	for _, q := range asked {
		if strings.HasPrefix(strings.ToLower(q), "localhost") {
			t.Errorf("the internal resolver was asked %s", q)
		}
	}
	for _, a := range dialled {
		if strings.HasPrefix(a, "192.0.2.2") {
			t.Errorf("dialled %s for ldap://localhost", a)
		}
	}
	if len(dialled) == 0 || !strings.HasPrefix(dialled[0], "127.0.0.1:") {
		t.Errorf("dialled %v, want 127.0.0.1", dialled)
	}
}
