package serve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/fixtures"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// labTarget starts a lab scenario and returns the target that reaches it.
func labTarget(t *testing.T, scenario string) Target {
	t.Helper()
	s, err := fixtures.Find(scenario)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := fixtures.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	spec := lab.Spec()
	password := lab.Password()
	return Target{Deployment: scenario, Config: func() (*checks.Config, error) {
		c, err := spec.Config()
		if err != nil {
			return nil, err
		}
		c.Password = checks.NewSecret(password)
		return c, nil
	}}
}

// clock is a test clock the service reads through Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, o Options, targets ...Target) (*Service, *httptest.Server) {
	t.Helper()
	if o.Load == nil {
		o.Load = func() (*Fleet, error) { return &Fleet{Targets: targets}, nil }
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

// get fetches path with Prometheus' scrape timeout header.
func get(t *testing.T, srv *httptest.Server, path string, timeout string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func parse(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not the text exposition format: %v\n%s", err, body)
	}
	return mfs
}

// value returns the value of the series of family name whose labels
// include want, and whether it exists.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := value(mfs, name, want)
	if !ok {
		t.Fatalf("no series %s%v", name, want)
	}
	return v
}

// promtool checks an exposition the way Prometheus' own linter does. It
// is skipped outside CI when promtool is not installed.
func promtool(t *testing.T, body string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed; scripts/install-prometheus.sh installs it")
		}
		t.Log("promtool is not installed; run scripts/install-prometheus.sh to lint the exposition")
		return
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out.String(), body)
	}
}

func TestProbeLabScenarios(t *testing.T) {
	healthy := labTarget(t, "healthy")
	expired := labTarget(t, "tls-expires-soon")
	broken := labTarget(t, "basic-disabled")
	_, srv := newService(t, Options{Version: "test"}, healthy, expired, broken)

	code, body := get(t, srv, "/probe?target=healthy", "30")
	if code != http.StatusOK {
		t.Fatalf("healthy: status %d: %s", code, body)
	}
	promtool(t, body)
	mfs := parse(t, body)
	if v := mustValue(t, mfs, "probe_success", nil); v != 1 {
		t.Errorf("healthy: probe_success %v, want 1\n%s", v, body)
	}
	for _, c := range []string{"dns", "tls", "redirect", "auth", "rbac"} {
		if v := mustValue(t, mfs, "exdiag_check_status", map[string]string{"check": c, "status": "pass"}); v != 1 {
			t.Errorf("healthy: check %s not pass\n%s", c, body)
		}
	}
	if v := mustValue(t, mfs, "exdiag_rbac_commands", nil); v < 100 {
		t.Errorf("healthy: exdiag_rbac_commands %v", v)
	}
	if v := mustValue(t, mfs, "exdiag_rbac_result_age_seconds", nil); v != 0 {
		t.Errorf("a fresh rbac result has age %v", v)
	}
	if v := mustValue(t, mfs, "probe_timeout_seconds", nil); v != 29.5 {
		t.Errorf("probe_timeout_seconds %v, want the scrape timeout less the 0.5s offset", v)
	}

	_, body = get(t, srv, "/probe?target=tls-expires-soon", "30")
	mfs = parse(t, body)
	if v := mustValue(t, mfs, "probe_success", nil); v != 1 {
		t.Errorf("a warning is no failure: probe_success %v", v)
	}
	if v := mustValue(t, mfs, "exdiag_finding", map[string]string{"code": "TLS-EXPIRES-SOON", "check": "tls", "severity": "warn"}); v != 1 {
		t.Errorf("TLS-EXPIRES-SOON %v", v)
	}
	soon := false
	for _, m := range mfs["exdiag_tls_cert_expiry_timestamp_seconds"].GetMetric() {
		days := (m.GetGauge().GetValue() - float64(time.Now().Unix())) / 86400
		soon = soon || days > 5 && days < 15
	}
	if !soon {
		t.Errorf("no certificate expires in about 10 days:\n%s", body)
	}

	_, body = get(t, srv, "/probe?target=basic-disabled", "30")
	promtool(t, body)
	mfs = parse(t, body)
	if v := mustValue(t, mfs, "probe_success", nil); v != 0 {
		t.Errorf("basic-disabled: probe_success %v, want 0", v)
	}
	if _, ok := value(mfs, "exdiag_finding", map[string]string{"code": "AUTH-BASIC-NOT-OFFERED"}); !ok {
		t.Errorf("basic-disabled: no exdiag_finding with its code\n%s", body)
	}

	code, body = get(t, srv, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	promtool(t, body)
	mfs = parse(t, body)
	total := 0.0
	for _, s := range []string{"pass", "warn", "fail", "error"} {
		total += mustValue(t, mfs, "exdiag_probes_total", map[string]string{"status": s})
	}
	if total != 3 {
		t.Errorf("exdiag_probes_total sums to %v, want 3", total)
	}
	for _, name := range []string{"go_goroutines", "process_open_fds", "exdiag_probes_in_flight", "exdiag_config_last_reload_successful"} {
		mustValue(t, mfs, name, nil)
	}

	if code, body := get(t, srv, "/probe?target=nope", "30"); code != http.StatusBadRequest || !strings.Contains(body, "healthy") {
		t.Errorf("unknown target: %d %s", code, body)
	}
	if code, _ := get(t, srv, "/probe", "30"); code != http.StatusBadRequest {
		t.Errorf("no target: %d", code)
	}
	if code, body := get(t, srv, "/", ""); code != http.StatusOK || !strings.Contains(body, "target=basic-disabled") {
		t.Errorf("status page: %d %s", code, body)
	}
}

// The rbac session runs once per interval per deployment; the scrapes in
// between get the last result and its age.
func TestRBACInterval(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	target := labTarget(t, "healthy")
	target.RBACInterval = 10 * time.Minute
	_, srv := newService(t, Options{Now: clk.Now}, target)

	_, body := get(t, srv, "/probe?target=healthy", "30")
	if v := mustValue(t, parse(t, body), "exdiag_rbac_result_age_seconds", nil); v != 0 {
		t.Fatalf("first probe: age %v", v)
	}
	clk.Add(4 * time.Minute)
	_, body = get(t, srv, "/probe?target=healthy", "30")
	promtool(t, body)
	mfs := parse(t, body)
	if v := mustValue(t, mfs, "exdiag_rbac_result_age_seconds", nil); v != 240 {
		t.Errorf("second probe: age %v, want 240", v)
	}
	if v := mustValue(t, mfs, "exdiag_check_status", map[string]string{"check": "rbac", "status": "pass"}); v != 1 {
		t.Errorf("the cached rbac result is not served:\n%s", body)
	}
	if v := mustValue(t, mfs, "exdiag_check_status", map[string]string{"check": "auth", "status": "pass"}); v != 1 {
		t.Errorf("auth did not run on the second probe:\n%s", body)
	}
	if v := mustValue(t, mfs, "probe_success", nil); v != 1 {
		t.Errorf("serving the cached rbac result changed the verdict:\n%s", body)
	}
	clk.Add(7 * time.Minute)
	_, body = get(t, srv, "/probe?target=healthy", "30")
	if v := mustValue(t, parse(t, body), "exdiag_rbac_result_age_seconds", nil); v != 0 {
		t.Errorf("after the interval the session runs again; age %v", v)
	}
	_, body = get(t, srv, "/metrics", "")
	if v := mustValue(t, parse(t, body), "exdiag_rbac_sessions_total", nil); v != 2 {
		t.Errorf("exdiag_rbac_sessions_total %v, want 2 for three probes over 11 minutes", v)
	}
}

// A refused password is not sent again until the back-off passes or the
// file is reloaded; the probe keeps reporting the refusal meanwhile.
func TestBadPasswordBackoff(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	target := labTarget(t, "bad-password")
	target.BadPasswordBackoff = 30 * time.Minute
	var logons atomic.Int32
	inner := target.Config
	target.Config = func() (*checks.Config, error) { return inner() }
	s, srv := newService(t, Options{Now: clk.Now, NewEnv: func(c *checks.Config) *checks.Env {
		if !c.Password.Empty() {
			logons.Add(1)
		}
		return checks.NewEnv(c)
	}}, target)

	_, body := get(t, srv, "/probe?target=bad-password", "30")
	mfs := parse(t, body)
	if _, ok := value(mfs, "exdiag_finding", map[string]string{"code": "AUTH-BAD-CREDENTIALS"}); !ok {
		t.Fatalf("the lab did not refuse the password:\n%s", body)
	}
	if v := mustValue(t, mfs, "exdiag_password_withheld", nil); v != 0 {
		t.Errorf("first probe withheld the password")
	}
	for range 3 {
		clk.Add(5 * time.Minute)
		_, body = get(t, srv, "/probe?target=bad-password", "30")
		promtool(t, body)
	}
	mfs = parse(t, body)
	if v := mustValue(t, mfs, "exdiag_password_withheld", nil); v != 1 {
		t.Errorf("the refused password was sent again:\n%s", body)
	}
	if v := mustValue(t, mfs, "exdiag_password_retry_seconds", nil); v != 15*60 {
		t.Errorf("retry in %v s, want 900", v)
	}
	if v := mustValue(t, mfs, "probe_success", nil); v != 0 {
		t.Errorf("a withheld password must not look healthy")
	}
	if _, ok := value(mfs, "exdiag_finding", map[string]string{"code": "AUTH-BAD-CREDENTIALS"}); !ok {
		t.Errorf("the refusal is not reported while the password is withheld:\n%s", body)
	}
	if n := logons.Load(); n != 1 {
		t.Errorf("%d runs carried the password, want 1", n)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, srv, "/probe?target=bad-password", "30")
	if v := mustValue(t, parse(t, body), "exdiag_password_withheld", nil); v != 0 {
		t.Errorf("a reload must let the password be tried again")
	}
	if n := logons.Load(); n != 2 {
		t.Errorf("%d runs carried the password after the reload, want 2", n)
	}
	clk.Add(31 * time.Minute)
	_, body = get(t, srv, "/probe?target=bad-password", "30")
	if v := mustValue(t, parse(t, body), "exdiag_password_withheld", nil); v != 0 {
		t.Errorf("the back-off has passed; the password must be tried again")
	}
}

// fakeTarget runs no network: its Config is a valid run of the fake checks.
func fakeTarget(name string) Target {
	return Target{Deployment: name, Config: func() (*checks.Config, error) {
		return checks.Spec{URI: "https://" + name + ".example.test/PowerShell", Timeout: time.Minute}.Config()
	}}
}

// A scrape that arrives while the same target's probe runs shares it.
func TestSingleflight(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int32
	slow := checks.Check{ID: "slow", Title: "slow", Doc: "a test probe", Run: func(ctx context.Context, env *checks.Env) checks.Outcome {
		runs.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return checks.Outcome{}
	}}
	_, srv := newService(t, Options{Checks: []checks.Check{slow}}, fakeTarget("a"))
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = get(t, srv, "/probe?target=a", "10")
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the other scrapes arrive and join
	close(release)
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusOK {
			t.Errorf("status %d", c)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("%d probes ran for 5 concurrent scrapes of one target, want 1", n)
	}
}

// No more than --max-concurrent probes run; one that cannot get a slot
// before its deadline answers 503 (exdiag could not tell) rather than
// probe_success 0.
func TestMaxConcurrent(t *testing.T) {
	release := make(chan struct{})
	var running, peak atomic.Int32
	slow := checks.Check{ID: "slow", Title: "slow", Doc: "a test probe", Run: func(ctx context.Context, env *checks.Env) checks.Outcome {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		defer running.Add(-1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return checks.Outcome{}
	}}
	_, srv := newService(t, Options{Checks: []checks.Check{slow}, MaxConcurrent: 2}, fakeTarget("a"), fakeTarget("b"), fakeTarget("c"))
	var wg sync.WaitGroup
	for _, n := range []string{"a", "b"} {
		wg.Add(1)
		go func() { defer wg.Done(); get(t, srv, "/probe?target="+n, "30") }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	code, body := get(t, srv, "/probe?target=c", "1")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "--max-concurrent") {
		t.Errorf("a third probe with both slots busy: %d %s", code, body)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak %d concurrent probes, want 2", p)
	}
	_, body = get(t, srv, "/metrics", "")
	if v := mustValue(t, parse(t, body), "exdiag_probe_errors_total", map[string]string{"reason": "busy"}); v != 1 {
		t.Errorf("busy errors %v", v)
	}
}

func TestDeadline(t *testing.T) {
	var got atomic.Int64
	probe := checks.Check{ID: "p", Title: "p", Doc: "a test probe", Run: func(ctx context.Context, env *checks.Env) checks.Outcome {
		d, _ := ctx.Deadline()
		got.Store(int64(time.Until(d)))
		return checks.Outcome{}
	}}
	short := fakeTarget("short")
	short.Config = func() (*checks.Config, error) {
		return checks.Spec{URI: "https://short.example.test/PowerShell", Timeout: 2 * time.Second}.Config()
	}
	_, srv := newService(t, Options{Checks: []checks.Check{probe}, TimeoutOffset: 250 * time.Millisecond}, fakeTarget("a"), short)
	for _, c := range []struct {
		path, header string
		want         float64
	}{
		{"/probe?target=a", "3", 2.75},
		{"/probe?target=a", "", 9.75},    // no header: Prometheus' default 10s
		{"/probe?target=short", "30", 2}, // the target's own timeout is the maximum
	} {
		code, body := get(t, srv, c.path, c.header)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
		if v := mustValue(t, parse(t, body), "probe_timeout_seconds", nil); v != c.want {
			t.Errorf("%s with header %q: timeout %v, want %v", c.path, c.header, v, c.want)
		}
		if left := time.Duration(got.Load()).Seconds(); left > c.want || left < c.want-1 {
			t.Errorf("%s: the probe's context had %.2fs left, want about %v", c.path, left, c.want)
		}
	}
	if code, _ := get(t, srv, "/probe?target=a", "0.2"); code != http.StatusBadRequest {
		t.Errorf("a scrape timeout below the offset: %d", code)
	}
	if code, _ := get(t, srv, "/probe?target=a", "soon"); code != http.StatusBadRequest {
		t.Errorf("a malformed scrape timeout: %d", code)
	}
}

// A reload that does not validate keeps the old configuration.
func TestReloadKeepsOldConfig(t *testing.T) {
	probe := checks.Check{ID: "p", Title: "p", Doc: "a test probe", Run: func(context.Context, *checks.Env) checks.Outcome { return checks.Outcome{} }}
	var mu sync.Mutex
	fleet, loadErr := &Fleet{Targets: []Target{fakeTarget("a")}}, error(nil)
	_, srv := newService(t, Options{Checks: []checks.Check{probe}, Load: func() (*Fleet, error) {
		mu.Lock()
		defer mu.Unlock()
		return fleet, loadErr
	}})
	mu.Lock()
	loadErr = errors.New("f.yaml:3:5: unknown key \"ur\"; did you mean uri?")
	mu.Unlock()
	resp, err := srv.Client().Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), "f.yaml:3:5") {
		t.Errorf("failed reload: %d %s", resp.StatusCode, b)
	}
	if code, _ := get(t, srv, "/probe?target=a", "5"); code != http.StatusOK {
		t.Errorf("the old configuration is gone after a failed reload: %d", code)
	}
	_, body := get(t, srv, "/metrics", "")
	if v := mustValue(t, parse(t, body), "exdiag_config_last_reload_successful", nil); v != 0 {
		t.Errorf("exdiag_config_last_reload_successful %v after a failed reload", v)
	}
	if code, body := get(t, srv, "/", ""); !strings.Contains(body, "unknown key") {
		t.Errorf("the status page does not show the failed reload: %d", code)
	}

	mu.Lock()
	fleet, loadErr = &Fleet{Targets: []Target{fakeTarget("b")}}, nil
	mu.Unlock()
	resp, err = srv.Client().Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := get(t, srv, "/probe?target=b", "5"); code != http.StatusOK {
		t.Errorf("the new configuration is not in force: %d", code)
	}
	if code, _ := get(t, srv, "/probe?target=a", "5"); code != http.StatusBadRequest {
		t.Errorf("a removed target still answers: %d", code)
	}
	if code, _ := get(t, srv, "/-/reload", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", code)
	}
}

// ?debug=true shows the probe log, and the password never appears in it,
// even when a probe logs it by mistake.
func TestDebugLogHasNoSecret(t *testing.T) {
	const canary = "Canary-Pw-7f3e9d"
	leaky := checks.Check{ID: "leaky", Title: "leaky", Doc: "a test probe", Run: func(ctx context.Context, env *checks.Env) checks.Outcome {
		env.Logf("sending Basic with password %s", env.Config.Password.Reveal())
		return checks.Outcome{}
	}}
	target := fakeTarget("a")
	target.Config = func() (*checks.Config, error) {
		c, err := checks.Spec{URI: "https://a.example.test/PowerShell", User: `CONTOSO\mon`}.Config()
		if err == nil {
			c.Password = checks.NewSecret(canary)
		}
		return c, err
	}
	lab := labTarget(t, "healthy")
	_, srv := newService(t, Options{Checks: append(checks.All(), leaky)}, target, lab)
	for _, q := range []string{"target=a", "target=healthy"} {
		code, body := get(t, srv, "/probe?debug=true&"+q, "30")
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		for _, secret := range []string{canary, fixtures.AdminPassword} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the debug output carries the password:\n%s", q, body)
			}
		}
		if !strings.Contains(body, "log:") || !strings.Contains(body, "probe_success") {
			t.Errorf("%s: debug output lacks the log or the metrics:\n%s", q, body)
		}
	}
	_, body := get(t, srv, "/probe?debug=true&target=a", "30")
	if !strings.Contains(body, "sending Basic with password [redacted]") {
		t.Errorf("the probe's log line is missing:\n%s", body)
	}
}

// BenchmarkProbe measures one /probe of the healthy lab, the rbac session
// included each time (a 1ns rbac_interval: the worst case).
func BenchmarkProbe(b *testing.B) {
	s, err := fixtures.Find("healthy")
	if err != nil {
		b.Fatal(err)
	}
	lab, err := fixtures.Start(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	defer lab.Close()
	spec := lab.Spec()
	target := Target{Deployment: "healthy", RBACInterval: time.Nanosecond, Config: func() (*checks.Config, error) {
		c, err := spec.Config()
		if err == nil {
			c.Password = checks.NewSecret(lab.Password())
		}
		return c, err
	}}
	svc, err := New(Options{Load: func() (*Fleet, error) { return &Fleet{Targets: []Target{target}}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/probe?target=healthy", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
