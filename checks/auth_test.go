package checks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/httpauth"
)

const soapOK = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`

// fakeVdir is an in-process stand-in for the /PowerShell vdir, enough to
// drive each branch of the probe.
type fakeVdir struct {
	noBasic, noWindows bool
	password           string
	after              func(w http.ResponseWriter) // answer once authenticated
	mu                 sync.Mutex
	seen               []*http.Request
	bodies             []string
}

func (f *fakeVdir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, r)
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	w.Header().Set("Server", "Microsoft-IIS/10.0")
	authz := r.Header.Get("Authorization")
	challenge := func() {
		if !f.noBasic {
			w.Header().Add("WWW-Authenticate", `Basic realm="vdir"`)
		}
		if !f.noWindows {
			w.Header().Add("WWW-Authenticate", "Negotiate")
		}
		w.WriteHeader(401)
	}
	switch {
	case strings.HasPrefix(authz, "Negotiate "):
		if f.noWindows {
			w.WriteHeader(400)
			return
		}
		type2 := append([]byte("NTLMSSP\x00"), 2, 0, 0, 0)
		w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(type2))
		w.WriteHeader(401)
	case strings.HasPrefix(authz, "Basic ") && !f.noBasic:
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(authz, "Basic "))
		_, pw, _ := strings.Cut(string(raw), ":")
		if pw != f.password {
			challenge()
			return
		}
		if f.after != nil {
			f.after(w)
			return
		}
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, soapOK)
	default:
		challenge()
	}
}

type authFixture struct {
	cfg  *Config
	env  *Env
	dir  string
	vdir []*fakeVdir
	srv  []*httptest.Server
}

// newAuthFixture starts one TLS server per vdir; the first is the URI,
// the others are --backend hosts (cas1.test, cas2.test, ...).
func newAuthFixture(t *testing.T, vdirs ...*fakeVdir) *authFixture {
	t.Helper()
	fx := &authFixture{dir: t.TempDir(), vdir: vdirs, cfg: &Config{Authentication: "basic", Timeout: 10 * time.Second}}
	var pemData []byte
	for i, v := range vdirs {
		s := httptest.NewUnstartedServer(v)
		s.Config.ErrorLog = quietLog
		s.StartTLS()
		t.Cleanup(s.Close)
		fx.srv = append(fx.srv, s)
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})...)
		port, _ := strconv.Atoi(s.URL[strings.LastIndex(s.URL, ":")+1:])
		// httptest's certificate is for example.com; the backends reach it
		// through --resolve under that name with distinct ports
		u, _ := url.Parse(fmt.Sprintf("https://example.com:%d/PowerShell", port))
		fx.cfg.Resolve = append(fx.cfg.Resolve, ResolveEntry{Host: "example.com", Port: port, Addr: "127.0.0.1"})
		if i == 0 {
			fx.cfg.URI, fx.cfg.Host, fx.cfg.Port = u, "example.com", port
		} else {
			fx.cfg.Backends = append(fx.cfg.Backends, u)
		}
	}
	ca := filepath.Join(fx.dir, "ca.pem")
	if err := os.WriteFile(ca, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	fx.cfg.CAFiles = []string{ca}
	fx.env = NewEnv(fx.cfg)
	return fx
}

func (fx *authFixture) run(t *testing.T) (Result, authObserved) {
	t.Helper()
	fx.cfg.Checks = []string{"auth"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rs := Run(ctx, fx.env, []Check{AuthCheck})
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	obs, _ := rs[0].Observed.(authObserved)
	return rs[0], obs
}

var quietLog = log.New(io.Discard, "", 0)

func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func authCodes(r Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code+"@"+f.Target)
	}
	return out
}

func TestAuthHealthy(t *testing.T) {
	v := &fakeVdir{password: "pw-1"}
	fx := newAuthFixture(t, v)
	fx.cfg.User, fx.cfg.Password = `CONTOSO\admin`, NewSecret("pw-1")
	r, obs := fx.run(t)
	if r.Status != StatusPass || len(r.Findings) != 0 || r.Error != "" {
		t.Fatalf("healthy endpoint: status %s findings %v error %q", r.Status, authCodes(r), r.Error)
	}
	if obs.Status != 401 || !httpauth.Offers(obs.Challenges, "basic") || obs.Basic == nil || obs.Basic.Status != 200 || !obs.Basic.SOAP {
		t.Fatalf("observed %+v", obs)
	}
	if obs.Negotiate == nil || !obs.Negotiate.WindowsAuth {
		t.Fatalf("negotiate probe did not see the NTLM challenge: %+v", obs.Negotiate)
	}
	if len(v.seen) != 3 {
		t.Fatalf("%d requests, want unauthenticated, negotiate, basic", len(v.seen))
	}
	for i, req := range v.seen {
		if req.Method != "POST" || req.URL.Path != "/PowerShell" || req.URL.Query().Get("PSVersion") != "5.1" ||
			req.Header.Get("Content-Type") != "application/soap+xml;charset=UTF-8" || req.Header.Get("User-Agent") != "Microsoft WinRM Client" {
			t.Fatalf("request %d is not WinRM-like: %s %s %v", i, req.Method, req.URL, req.Header)
		}
		if !strings.Contains(v.bodies[i], "enumeration/Enumerate") || !strings.Contains(v.bodies[i], "windows/shell") {
			t.Fatalf("request %d body is not a WS-Management Enumerate: %s", i, v.bodies[i])
		}
	}
}

func TestAuthFindings(t *testing.T) {
	tests := []struct {
		name string
		vdir *fakeVdir
		pw   string
		auth string
		want string
		warn bool
	}{
		{"basic disabled", &fakeVdir{noBasic: true, password: "pw"}, "pw", "", "AUTH-BASIC-NOT-OFFERED", false},
		{"bad password", &fakeVdir{password: "right"}, "wrong", "", "AUTH-BAD-CREDENTIALS", false},
		{"windows auth off warns basic users", &fakeVdir{noWindows: true, password: "pw"}, "pw", "", "AUTH-NEGOTIATE-400", true},
		{"windows auth off fails negotiate users", &fakeVdir{noWindows: true}, "", "negotiate", "AUTH-NEGOTIATE-400", false},
		{"html after login", &fakeVdir{password: "pw", after: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>portal</html>")
		}}, "pw", "", "AUTH-NOT-WSMAN", false},
		{"user not enabled", &fakeVdir{password: "pw", after: func(w http.ResponseWriter) {
			w.Header().Set("X-RemotePS-FailureCategory", "AuthZ-CmdletAccessDeniedException")
			w.WriteHeader(403)
		}}, "pw", "", "AUTH-FORBIDDEN", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newAuthFixture(t, tt.vdir)
			if tt.pw != "" {
				fx.cfg.User, fx.cfg.Password = "u", NewSecret(tt.pw)
			}
			if tt.auth != "" {
				fx.cfg.Authentication = tt.auth
			}
			r, _ := fx.run(t)
			if len(r.Findings) != 1 || r.Findings[0].Code != tt.want {
				t.Fatalf("findings %v, want %s", authCodes(r), tt.want)
			}
			// the catalog may not know the code yet, so look at the request
			if (r.Findings[0].Downgrade == SevWarn) != tt.warn {
				t.Fatalf("downgrade %q, want warn=%v", r.Findings[0].Downgrade, tt.warn)
			}
		})
	}
}

// The report must name exactly the backend with Basic disabled.
func TestAuthBackendsNamed(t *testing.T) {
	front := &fakeVdir{password: "pw"}
	cas1 := &fakeVdir{password: "pw"}
	cas2 := &fakeVdir{password: "pw", noBasic: true}
	fx := newAuthFixture(t, front, cas1, cas2)
	fx.cfg.User, fx.cfg.Password = "u", NewSecret("pw")
	r, obs := fx.run(t)
	want := "AUTH-BASIC-NOT-OFFERED@" + fx.cfg.Backends[1].String()
	if got := authCodes(r); len(got) != 1 || got[0] != want {
		t.Fatalf("findings %v, want [%s]", got, want)
	}
	if len(obs.Backends) != 2 || obs.Backends[0].Basic == nil || obs.Backends[0].Basic.Status != 200 || obs.Backends[1].Status != 401 {
		t.Fatalf("backends observed: %+v", obs.Backends)
	}
}

func TestAuthBackendTransportFailures(t *testing.T) {
	front := &fakeVdir{}
	fx := newAuthFixture(t, front, &fakeVdir{}, &fakeVdir{})
	// backend 1 presents a certificate nobody trusts; backend 2 is down
	untrusted := httptest.NewUnstartedServer(&fakeVdir{})
	untrusted.Config.ErrorLog = quietLog
	untrusted.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "example.com")}}
	untrusted.StartTLS()
	defer untrusted.Close()
	fx.cfg.CAFiles = fx.cfg.CAFiles[:1]
	pemOnlyFront := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.srv[0].Certificate().Raw})
	os.WriteFile(fx.cfg.CAFiles[0], pemOnlyFront, 0o600)
	fx.srv[1].Close()
	fx.srv[2].Close()
	fx.srv[1] = untrusted
	uport := untrusted.URL[strings.LastIndex(untrusted.URL, ":")+1:]
	p, _ := strconv.Atoi(uport)
	fx.cfg.Backends[0], _ = url.Parse("https://example.com:" + uport + "/PowerShell")
	fx.cfg.Resolve = append(fx.cfg.Resolve, ResolveEntry{Host: "example.com", Port: p, Addr: "127.0.0.1"})
	r, obs := fx.run(t)
	got := strings.Join(authCodes(r), " ")
	if !strings.Contains(got, "AUTH-PROXY-BACKEND-CERT@"+fx.cfg.Backends[0].String()) ||
		!strings.Contains(got, "AUTH-PROXY-BACKEND-DOWN@"+fx.cfg.Backends[1].String()) || len(r.Findings) != 2 {
		t.Fatalf("findings %v", got)
	}
	if obs.Backends[0].Error == "" || obs.Backends[1].Error == "" {
		t.Fatalf("backend errors not observed: %+v", obs.Backends)
	}
}

func TestAuthNeverSendsBasicOverHTTP(t *testing.T) {
	v := &fakeVdir{password: "pw"}
	s := httptest.NewServer(v)
	defer s.Close()
	u, _ := url.Parse(s.URL + "/PowerShell")
	cfg := &Config{URI: u, Host: u.Hostname(), User: "u", Password: NewSecret("pw"), Authentication: "basic"}
	cfg.Port, _ = strconv.Atoi(u.Port())
	cfg.Checks = []string{"auth"}
	rs := Run(context.Background(), NewEnv(cfg), []Check{AuthCheck})
	obs := rs[0].Observed.(authObserved)
	if obs.Basic == nil || !strings.Contains(obs.Basic.Refused, "plain http") {
		t.Fatalf("basic over http not refused: %+v", obs.Basic)
	}
	for _, r := range v.seen {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Basic") {
			t.Fatal("basic credentials went over plain http")
		}
	}
	// the seed's "Basic over http://" case, with the WinRM client's words
	if got := authCodes(rs[0]); len(got) != 1 || !strings.HasPrefix(got[0], "AUTH-BASIC-HTTP@") {
		t.Fatalf("basic over an http uri: findings %v", got)
	}
	if f := rs[0].Findings[0]; !strings.Contains(f.Summary, "unencrypted traffic is currently disabled") || !strings.Contains(strings.Join(f.Remediation, " "), "https://") {
		t.Fatalf("finding %+v", f)
	}
	// negotiate over http with windows authentication on the vdir (an
	// NTLM challenge) is the seed's second case; the fake vdir offers it
	cfg.Authentication = "negotiate"
	rs = Run(context.Background(), NewEnv(cfg), []Check{AuthCheck})
	if !strings.Contains(strings.Join(authCodes(rs[0]), " "), "AUTH-NEGOTIATE-HTTP") {
		t.Fatalf("findings %v", authCodes(rs[0]))
	}
}

func TestAuthRedirectNotFollowed(t *testing.T) {
	var other int
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other++ }))
	defer elsewhere.Close()
	v := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/x", http.StatusFound)
	})
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = v
	fx.cfg.User, fx.cfg.Password = "u", NewSecret("pw")
	r, obs := fx.run(t)
	if other != 0 || obs.Status != 302 || obs.Location == "" {
		t.Fatalf("redirect followed or not recorded: other=%d %+v", other, obs)
	}
	if got := authCodes(r); len(got) != 1 || !strings.HasPrefix(got[0], "AUTH-REDIRECTED") {
		t.Fatalf("findings %v", got)
	}
}

func TestAuthBoundedAndRedacted(t *testing.T) {
	const pw = "Canary-Secret-42"
	basic := base64.StdEncoding.EncodeToString([]byte("u:" + pw))
	v := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// a hostile endpoint echoes what it got, everywhere it can
		echo := r.Header.Get("Authorization") + " " + pw
		w.Header().Set("Server", echo)
		w.Header().Add("WWW-Authenticate", `Basic realm="`+echo+`"`)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(401)
		io.WriteString(w, "Authorization: "+echo+" "+strings.Repeat("x", 1<<20))
	})
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = v
	fx.cfg.User, fx.cfg.Password = "u", NewSecret(pw)
	r, obs := fx.run(t)
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), pw) || strings.Contains(string(b), basic) {
		t.Fatalf("secret in the result: %s", b)
	}
	if len(obs.BodyExcerpt) > 512 || obs.BodyExcerpt == "" {
		t.Fatalf("excerpt of %d bytes", len(obs.BodyExcerpt))
	}
}

func TestAuthHonoursDeadline(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	fx.cfg.Checks = []string{"auth"}
	rs := Run(ctx, fx.env, []Check{AuthCheck})
	// the run's own budget ran out before the request's: exdiag's limit,
	// an error that blames nothing on the server
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "raise --timeout") || len(rs[0].Findings) != 0 {
		t.Fatalf("hung server: %+v", rs[0])
	}
}

// TestAuthRequestBudget: one hung request ends at its own budget, nested
// inside a run deadline that is still far away.
func TestAuthRequestBudget(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	fx.env.Budgets.Request = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx.cfg.Checks = []string{"auth"}
	rs := Run(ctx, fx.env, []Check{AuthCheck})
	if ctx.Err() != nil || rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "deadline") {
		t.Fatalf("the request budget did not end the hung request inside the run deadline: %+v", rs[0])
	}
}

func TestAuthSkipChecks(t *testing.T) {
	fx := newAuthFixture(t, &fakeVdir{})
	fx.cfg.CAFiles = nil
	r, _ := fx.run(t)
	if r.Status != StatusError {
		t.Fatalf("untrusted front without --ca-file: %+v", r)
	}
	fx.cfg.SkipCACheck = true
	fx.env = NewEnv(fx.cfg)
	r, obs := fx.run(t)
	if r.Status == StatusError || obs.Status != 401 {
		t.Fatalf("--skip-ca-check did not skip: %+v", r)
	}
}

func TestBasicRefusal(t *testing.T) {
	uri, _ := url.Parse("https://mail.contoso.test/PowerShell")
	be, _ := url.Parse("https://cas1.contoso.test/PowerShell")
	cfg := &Config{URI: uri, Backends: []*url.URL{be}, User: "u", Password: NewSecret("p")}
	for _, tt := range []struct {
		u      string
		refuse bool
	}{
		{"https://mail.contoso.test/PowerShell", false},
		{"https://CAS1.contoso.test:444/PowerShell", false},
		{"http://mail.contoso.test/PowerShell", true},
		{"https://evil.example/PowerShell", true},
	} {
		u, _ := url.Parse(tt.u)
		if got := basicRefusal(cfg, u) != ""; got != tt.refuse {
			t.Errorf("%s: refused=%v, want %v", tt.u, got, tt.refuse)
		}
	}
}

// A Create that stalls holds auth's Basic step only for auth's own
// request budget, not the session's: auth reports the step as unanswered
// and passes the lead turn on, so the other logons are not held back
// while the session keeps waiting within its own budget.
func TestAuthDoesNotWaitPastItsBudgetForTheCreate(t *testing.T) {
	release := make(chan struct{})
	fx := newAuthFixture(t, &fakeVdir{})
	fx.srv[0].Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Negotiate") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Add("WWW-Authenticate", `Basic realm="r"`)
		w.WriteHeader(401)
	})
	defer close(release)
	fx.cfg.User, fx.cfg.Password = "u", NewSecret("pw")
	fx.env.Budgets = Budgets{Request: 200 * time.Millisecond, Session: 20 * time.Second}
	fx.env.cred.expectLead()
	fx.env.lead = newLeadCreate()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rbacDone := make(chan struct{})
	go func() { defer close(rbacDone); runRBAC(ctx, fx.env) }()
	o := runAuth(ctx, fx.env)
	obs := o.Observed.(authObserved)
	if obs.Basic == nil || obs.Basic.Request != "create" || !strings.Contains(obs.Basic.Error, "no answer within") {
		t.Fatalf("auth's basic step %+v, want the Create unanswered within auth's budget", obs.Basic)
	}
	select {
	case <-rbacDone:
		t.Fatal("the session ended before auth gave up: the test proves nothing")
	default:
	}
	l, err := fx.env.Credential(ctx, false)
	if err != nil {
		t.Fatalf("after auth gave up on the Create the next logon got %v", err)
	}
	l.Done(Inconclusive, "")
}

// A hostile server echoes the logon's token without its scheme word: the
// NTLM AUTHENTICATE or the SPNEGO AP-REQ is no password, but what an
// offline cracker starts from, so no excerpt keeps it.
func TestRedactorDropsBareLogonTokens(t *testing.T) {
	ntlm := base64.StdEncoding.EncodeToString(append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{7}, 300)...))
	spnego := base64.StdEncoding.EncodeToString(append([]byte{0x60, 0x82, 0x05, 0x00}, bytes.Repeat([]byte{9}, 300)...))
	var r redactor
	for _, tok := range []string{ntlm, spnego} {
		if got := r.excerpt([]byte("<p>you sent " + tok + "</p>")); strings.Contains(got, tok[:40]) {
			t.Fatalf("excerpt keeps the token: %s", got)
		}
	}
	if got := r.clean("Windows authentication is off on this virtual directory"); !strings.Contains(got, "authentication is off") {
		t.Fatalf("plain text changed: %s", got)
	}
}
