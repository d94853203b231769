package checks

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// hostileRun is every probe pointed at servers that accept and then stall
// or trickle: the web front, the plain-http port, a backend, the
// resolvers, the KDC and the directory.
func hostileRun(t *testing.T) *Config {
	silent := hostile.Silent(t)
	trickle := hostile.Trickle(t, 20*time.Millisecond)
	udp := hostile.SilentUDP(t)
	_, sp, _ := net.SplitHostPort(silent)
	_, tp, _ := net.SplitHostPort(trickle)
	port, _ := strconv.Atoi(sp)
	httpPort, _ := strconv.Atoi(tp)
	u, _ := url.Parse("https://mail.contoso.test:" + sp + "/PowerShell")
	be, _ := url.Parse("https://127.0.0.1:" + tp + "/PowerShell")
	return &Config{
		URI: u, Host: "mail.contoso.test", Port: port, HTTPPort: httpPort,
		Resolve:     []ResolveEntry{{Host: "mail.contoso.test", Addr: "127.0.0.1"}},
		ExternalDNS: []string{udp}, InternalDNS: []string{udp},
		Backends: []*url.URL{be},
		User:     "administrator@CONTOSO.TEST", Password: NewSecret("canary-Pa55"), Authentication: "basic",
		SkipCACheck: true, SkipCNCheck: true,
		Realm: "CONTOSO.TEST", KDCs: []string{silent},
		LDAPURL: "ldap://" + silent, LDAPBase: "DC=contoso,DC=test",
	}
}

// settle waits until no more goroutines run than before, as goleak does:
// polling, since a closed connection's goroutines end a moment later.
// It returns the count it settled at, or fails with every stack.
func settle(t *testing.T, before int) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second) // a dial bounded only by HandshakeBudget (10 s) must fail this
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return n
		}
		if time.Now().After(deadline) {
			var b bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines left behind (%d before the run):\n%s", n-before, before, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoGoroutineOutlivesARun: whether the run's budget ends first (every
// probe cut short) or each exchange's own budget does (every stall a
// finding), Run returns with every goroutine it started gone.
func TestNoGoroutineOutlivesARun(t *testing.T) {
	for _, tt := range []struct {
		name     string
		run      time.Duration
		exchange time.Duration
		checks   []string
	}{
		{"run budget ends first", 150 * time.Millisecond, 0, nil},
		{"exchange budgets end first", 5 * time.Second, 100 * time.Millisecond, nil},
		// auth and rbac alone, so no failed tls gates them off
		{"session probes, run budget", 150 * time.Millisecond, 0, []string{IDAuth, IDRBAC}},
		{"session probes, exchange budgets", 5 * time.Second, 100 * time.Millisecond, []string{IDAuth, IDRBAC}},
		{"rbac alone, run budget", 150 * time.Millisecond, 0, []string{IDRBAC}},
		{"rbac alone, exchange budgets", 5 * time.Second, 100 * time.Millisecond, []string{IDRBAC}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := hostileRun(t)
			cfg.Checks = tt.checks
			before := runtime.NumGoroutine()
			env := NewEnv(cfg)
			env.Budgets = Budgets{Request: tt.exchange, Exchange: tt.exchange, KDCExchange: tt.exchange, LDAP: tt.exchange, Session: tt.exchange}
			if tt.exchange > 0 {
				env.DNS.Client.QueryTimeout = tt.exchange / 4
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.run)
			defer cancel()
			rs := Run(ctx, env, All())
			for _, r := range rs {
				if r.Status == StatusPass {
					t.Errorf("%s passed against hostile servers: %+v", r.ID, r)
				}
			}
			for _, r := range rs {
				t.Logf("%s: %s in %v %s%s", r.ID, r.Status, r.Duration.Round(time.Millisecond), r.Error, r.SkipReason)
			}
			after := settle(t, before)
			t.Logf("goroutines: %d before the run, %d after it settled", before, after)
		})
	}
}
