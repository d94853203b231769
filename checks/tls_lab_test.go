package checks_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/hostile"
)

// labConfig turns the flags a lab adds into a Config, the way the CLI
// would, for the flags the tls and redirect probes read.
func labConfig(t *testing.T, args []string) *checks.Config {
	t.Helper()
	c := &checks.Config{HTTPPort: 80}
	for i := 0; i+1 < len(args); i += 2 {
		v := args[i+1]
		switch args[i] {
		case "--uri":
			u, err := url.Parse(v)
			if err != nil {
				t.Fatal(err)
			}
			c.URI, c.Host = u, u.Hostname()
			c.Port, _ = strconv.Atoi(u.Port())
		case "--resolve":
			p := strings.Split(v, ":")
			port, _ := strconv.Atoi(p[1])
			c.Resolve = append(c.Resolve, checks.ResolveEntry{Host: p[0], Port: port, Addr: p[2]})
		case "--http-port":
			c.HTTPPort, _ = strconv.Atoi(v)
		case "--ca-file":
			c.CAFiles = append(c.CAFiles, v)
		case "--backend":
			u, _ := url.Parse(v)
			c.Backends = append(c.Backends, u)
		}
	}
	return c
}

func startLab(t *testing.T, name string) *fixtures.Lab {
	t.Helper()
	s, err := fixtures.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	l, err := fixtures.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func runChecks(t *testing.T, cfg *checks.Config, timeout time.Duration, list ...checks.Check) []checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return checks.Run(ctx, checks.NewEnv(cfg), list)
}

func TestTLSAndRedirectLabScenarios(t *testing.T) {
	names := []string{"healthy"}
	for _, s := range fixtures.Scenarios() {
		if strings.HasPrefix(s.Name, "tls-") || strings.HasPrefix(s.Name, "http-") || s.Name == "backend-untrusted" {
			names = append(names, s.Name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, name)
			rs := runChecks(t, labConfig(t, l.Args()), 20*time.Second, checks.TLSCheck, checks.RedirectCheck)
			var got []string
			for _, r := range rs {
				if r.Status == checks.StatusError || r.Status == checks.StatusSkip {
					t.Fatalf("%s: %s %s%s", r.ID, r.Status, r.Error, r.SkipReason)
				}
				for _, f := range r.Findings {
					got = append(got, f.Code)
				}
			}
			want := l.Scenario.Want
			if name == "healthy" && len(got) != 0 {
				t.Fatalf("healthy raised %v", got)
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("want %s among %v", w, got)
				}
			}
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("unexpected %s (want only %v)", g, want)
				}
			}
			obs := rs[0].Observed.(checks.TLSObserved)
			if len(obs.Chain) == 0 || obs.Chain[0].Subject == "" || obs.Chain[0].NotAfter == "" || obs.TLSVersion == "" {
				t.Errorf("tls observed lacks the chain: %+v", obs)
			}
			if len(obs.Backends) != 2 || obs.Backends[0].URL == "" || len(obs.Backends[0].Chain) == 0 {
				t.Errorf("tls observed lacks the backends: %+v", obs.Backends)
			}
			red := rs[1].Observed.(checks.RedirectObserved)
			if name == "healthy" && (red.Status != 301 || red.HSTS != fixtures.HSTSValue) {
				t.Errorf("redirect observed %+v", red)
			}
		})
	}
}

func TestTLSSkipOptionsDowngrade(t *testing.T) {
	for _, tc := range []struct{ scenario, code string }{{"tls-untrusted", "TLS-UNTRUSTED-ROOT"}, {"tls-name-mismatch", "TLS-NAME-MISMATCH"}} {
		t.Run(tc.scenario, func(t *testing.T) {
			l := startLab(t, tc.scenario)
			cfg := labConfig(t, l.Args())
			cfg.SkipCACheck, cfg.SkipCNCheck = true, true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out := checks.TLSCheck.Run(ctx, checks.NewEnv(cfg))
			if len(out.Findings) != 1 || out.Findings[0].Code != tc.code || out.Findings[0].Downgrade != checks.SevInfo {
				t.Fatalf("findings %+v, want %s downgraded to info", out.Findings, tc.code)
			}
		})
	}
}

func TestTLSBadCAFileIsAnError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	u, _ := url.Parse("https://mail.contoso.test/PowerShell")
	cfg := &checks.Config{URI: u, Host: "mail.contoso.test", Port: 443, CAFiles: []string{bad}}
	out := checks.TLSCheck.Run(context.Background(), checks.NewEnv(cfg))
	if out.Err == nil || !strings.Contains(out.Err.Error(), bad) {
		t.Fatalf("err = %v, want one naming %s", out.Err, bad)
	}
}

// serveHostile starts a listener whose connections get serve; it returns the port.
func serveHostile(t *testing.T, serve func(net.Conn)) int {
	_, p, _ := net.SplitHostPort(hostile.Serve(t, serve))
	port, _ := strconv.Atoi(p)
	return port
}

// silent holds the connection open and says nothing until the peer leaves.
func silent(c net.Conn) { c.Read(make([]byte, 64<<10)); c.Read(make([]byte, 1)) }

func hostileConfig(httpsPort, httpPort int) *checks.Config {
	u, _ := url.Parse("https://mail.contoso.test:" + strconv.Itoa(httpsPort) + "/PowerShell")
	return &checks.Config{URI: u, Host: "mail.contoso.test", Port: httpsPort, HTTPPort: httpPort,
		Resolve: []checks.ResolveEntry{{Host: "mail.contoso.test", Addr: "127.0.0.1"}}}
}

func TestHostileServersEndInFindings(t *testing.T) {
	stall := serveHostile(t, silent)
	_, tp, _ := net.SplitHostPort(hostile.Trickle(t, 50*time.Millisecond))
	slow, _ := strconv.Atoi(tp)
	// each exchange's own budget ends well inside the run's: the stall is
	// the server's, a finding (when the run's budget ends first, it is
	// exdiag's limit and an error)
	env := checks.NewEnv(hostileConfig(stall, slow))
	env.Budgets.Exchange = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs := checks.Run(ctx, env, []checks.Check{checks.TLSCheck, checks.RedirectCheck})
	tlsRes, red := rs[0], rs[1]
	if tlsRes.Status != checks.StatusFail || len(tlsRes.Findings) != 1 || tlsRes.Findings[0].Code != "TLS-CONNECT-FAILED" ||
		!strings.Contains(tlsRes.Findings[0].Summary, "did not complete the TLS handshake") {
		t.Errorf("stalled TLS server: %+v", tlsRes)
	}
	if red.Status != checks.StatusFail || len(red.Findings) != 1 || red.Findings[0].Code != "HTTP-NOT-REDIRECTED" ||
		!strings.Contains(red.Findings[0].Summary, "no complete answer") {
		t.Errorf("trickling http server: %+v", red)
	}
}

// The redirect probe must never send credentials, even when the run has them.
func TestRedirectSendsNoCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	record := func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		mu.Lock()
		seen = append(seen, req.Method+" "+req.URL.Path+" auth="+req.Header.Get("Authorization"))
		mu.Unlock()
		c.Write([]byte("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	}
	port := serveHostile(t, record)
	closed := serveHostile(t, func(net.Conn) {}) // https side: closes at once
	cfg := hostileConfig(closed, port)
	cfg.User, cfg.Password = fixtures.AdminUser, checks.NewSecret(fixtures.AdminPassword)
	rs := runChecks(t, cfg, 5*time.Second, checks.RedirectCheck)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "GET /PowerShell auth=" {
		t.Fatalf("requests seen: %q", seen)
	}
	var got []string
	for _, f := range rs[0].Findings {
		got = append(got, f.Code)
	}
	if !slices.Equal(got, []string{"HTTP-NOT-REDIRECTED", "HTTP-BASIC-OVER-HTTP"}) {
		t.Errorf("codes %v", got)
	}
}

func TestRedirectPortClosed(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rs := runChecks(t, hostileConfig(port, port), 5*time.Second, checks.RedirectCheck)
	if len(rs[0].Findings) != 1 || rs[0].Findings[0].Code != "HTTP-PORT-CLOSED" {
		t.Fatalf("%+v", rs[0])
	}
}

// No address for the host: the redirect probe learnt nothing, an error
// rather than a misleading "port closed".
func TestRedirectUnresolvableIsAnError(t *testing.T) {
	u, _ := url.Parse("https://mail.contoso.test/PowerShell")
	cfg := &checks.Config{URI: u, Host: "mail.contoso.test", Port: 443, HTTPPort: 80}
	env := checks.NewEnv(cfg)
	env.LookupHost = func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New("no such host") }
	out := checks.RedirectCheck.Run(context.Background(), env)
	if out.Err == nil || len(out.Findings) != 0 {
		t.Fatalf("outcome %+v, want an error", out)
	}
}
