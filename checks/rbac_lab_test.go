package checks_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// rbacLab serves the lab's user set behind an httptest TLS server that
// authenticates Basic like IIS, and returns an Env whose connections to
// mail.contoso.test reach it. Each tap sees every request first.
func rbacLabEnv(t testing.TB, cfg psrpserver.Config, user, password string, taps ...func(*http.Request)) (*checks.Env, *psrpserver.Server) {
	t.Helper()
	srv := psrpserver.New(cfg)
	users := fixtures.RBACUsers()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, tap := range taps {
			tap(r)
		}
		u, p, ok := r.BasicAuth()
		if !ok || users[u] != p {
			w.Header().Set("WWW-Authenticate", `Basic realm="mail.contoso.test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r.WithContext(psrpserver.WithUser(r.Context(), u)))
	}))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	// trust the httptest certificate through --ca-file, as a user would
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	rbacWritePEM(t, caFile, ts.TLS)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	u, _ := url.Parse("https://example.com:" + strconv.Itoa(port) + "/PowerShell")
	c := &checks.Config{URI: u, Host: "example.com", Port: port, User: user, Password: checks.NewSecret(password),
		CAFiles: []string{caFile}, Resolve: []checks.ResolveEntry{{Host: "example.com", Port: port, Addr: "127.0.0.1"}}}
	env := checks.NewEnv(c)
	return env, srv
}

func rbacWritePEM(t testing.TB, path string, cfg *tls.Config) {
	t.Helper()
	var b strings.Builder
	for _, der := range cfg.Certificates[0].Certificate {
		b.WriteString("-----BEGIN CERTIFICATE-----\n")
		enc := base64.StdEncoding.EncodeToString(der)
		for len(enc) > 64 {
			b.WriteString(enc[:64] + "\n")
			enc = enc[64:]
		}
		b.WriteString(enc + "\n-----END CERTIFICATE-----\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func rbacLabConfig() psrpserver.Config {
	return psrpserver.Config{
		Commands:         map[string][]string{fixtures.AdminUser: fixtures.AdminCommands(), fixtures.HelpdeskUser: fixtures.HelpdeskCommands()},
		RemotePSDisabled: []string{fixtures.NoRemoteUser},
		NoDataYet:        true,
	}
}

func rbacRun(t testing.TB, env *checks.Env) checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env.Config.Checks = []string{"rbac"}
	res := checks.Run(ctx, env, []checks.Check{checks.RBACCheck})
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	return res[0]
}

func rbacCodes(r checks.Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	return out
}

func rbacObserved(t testing.TB, r checks.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.Observed)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRBACProbeLab(t *testing.T) {
	cases := []struct {
		name, user, pass string
		cfg              func(*psrpserver.Config)
		min              int
		require          []string
		want             []string
		count            float64
	}{
		{"admin", fixtures.AdminUser, fixtures.AdminPassword, nil, 600, []string{"Get-Mailbox", "set-mailbox"}, nil, 692},
		{"helpdesk", fixtures.HelpdeskUser, fixtures.HelpdeskPassword, nil, 600, []string{"Set-Mailbox", "Get-Mailbox"}, []string{"RBAC-LIMITED", "RBAC-MISSING-CMDLET"}, 90},
		{"not enabled", fixtures.NoRemoteUser, fixtures.NoRemotePassword, nil, 0, nil, []string{"RBAC-REMOTEPS-DISABLED"}, 0},
		{"quota", fixtures.AdminUser, fixtures.AdminPassword, func(c *psrpserver.Config) { c.LeakedShells = map[string]int{fixtures.AdminUser: 18} }, 0, nil, []string{"RBAC-SHELL-QUOTA"}, 0},
		{"wrong configuration", fixtures.AdminUser, fixtures.AdminPassword, func(c *psrpserver.Config) { c.ConfigNames = []string{"Other"} }, 0, nil, []string{"RBAC-SESSION-FAILED"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := rbacLabConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			env, srv := rbacLabEnv(t, cfg, c.user, c.pass)
			env.Config.MinCmdlets, env.Config.RequireCmdlets = c.min, c.require
			r := rbacRun(t, env)
			if !slices.Equal(rbacCodes(r), c.want) {
				t.Fatalf("status %s codes %v, want %v (%+v %s)", r.Status, rbacCodes(r), c.want, r.Findings, r.Error)
			}
			obs := rbacObserved(t, r)
			if obs["command_count"] != c.count || srv.OpenShells() != 0 {
				t.Fatalf("command_count %v open shells %d", obs["command_count"], srv.OpenShells())
			}
			if c.name == "admin" {
				if obs["import_count"] != float64(685) || obs["ps_version"] != "5.1.17763.1" || obs["protocol_version"] != "2.3" || obs["shell_deleted"] != true {
					t.Fatalf("observed %v", obs)
				}
				if m := obs["missing_cmdlets"].([]any); len(m) != 0 {
					t.Fatalf("missing %v", m)
				}
				t.Logf("rbac probe on the lab: %v commands, %v round trips, %v ms, %v no-data retries", obs["command_count"], obs["round_trips"], obs["duration_ms"], obs["no_data_retries"])
			}
			if c.name == "helpdesk" {
				if m := obs["missing_cmdlets"].([]any); len(m) != 1 || m[0] != "Set-Mailbox" {
					t.Fatalf("missing %v", m)
				}
			}
			if c.want != nil && obs["shell_created"] == true && obs["shell_deleted"] != true {
				t.Fatalf("the shell was created and not deleted: %v", obs)
			}
			if c.name == "not enabled" && obs["shell_created"] != false {
				t.Fatalf("observed %v", obs)
			}
			if c.name == "quota" {
				f := obs["fault"].(map[string]any)
				if f["code_hex"] != "0x803381E4" || f["failure_category"] != "WSMan-OverBudgetException" {
					t.Fatalf("fault %v", f)
				}
			}
			b, _ := json.Marshal(r)
			for _, secret := range []string{c.pass, "Authorization"} {
				if strings.Contains(string(b), secret) {
					t.Fatalf("the result carries %q", secret)
				}
			}
		})
	}
}

func BenchmarkRBACProbeLab(b *testing.B) {
	env, srv := rbacLabEnv(b, rbacLabConfig(), fixtures.AdminUser, fixtures.AdminPassword)
	var trips float64
	for b.Loop() {
		r := rbacRun(b, env)
		if r.Status != checks.StatusPass {
			b.Fatalf("%s %v", r.Status, r.Findings)
		}
		trips = rbacObserved(b, r)["round_trips"].(float64)
	}
	if srv.OpenShells() != 0 {
		b.Fatalf("%d shells leaked", srv.OpenShells())
	}
	b.ReportMetric(trips, "round-trips/op")
}

// The session on the healthy lab takes as few WS-Management requests as
// the protocol allows: one Create, one Receive for the opened pool, one
// Command, the Receives the output needs at the envelope size the client
// asks for, and one Delete, with no Signal once the pipeline completed.
func TestRBACRoundTripsLab(t *testing.T) {
	cfg := rbacLabConfig()
	cfg.NoDataYet = false
	env, srv := rbacLabEnv(t, cfg, fixtures.AdminUser, fixtures.AdminPassword)
	r := rbacRun(t, env)
	if r.Status != checks.StatusPass {
		t.Fatalf("%s %v %s", r.Status, r.Findings, r.Error)
	}
	got := srv.Requests()
	t.Logf("requests %v", got)
	obs := rbacObserved(t, r)
	total := 0
	for _, n := range got {
		total += n
	}
	if obs["round_trips"] != float64(total) {
		t.Fatalf("round_trips %v, the server answered %d requests", obs["round_trips"], total)
	}
	if got["Create"] != 1 || got["Command"] != 1 || got["Delete"] != 1 || got["Signal"] != 0 {
		t.Fatalf("requests %v; want one Create, one Command, one Delete and no Signal", got)
	}
	// the admin's 692 commands are about 3 MB of metadata in base64, seven
	// answers at the 512000-byte envelope the client asks for; compressed
	// (the client asks for xpress, as PowerShell does) they take one, plus
	// the pool's one
	if got["Receive"] != 2 || total != 5 || obs["compression"] != "xpress" {
		t.Fatalf("%d requests, %d Receives, compression %v; want 5: Create, Receive, Command, Receive, Delete, compressed", total, got["Receive"], obs["compression"])
	}
}

// logonRun runs auth and rbac (or the checks named in only) against the rbac lab as user, and returns
// their results, the WS-Management action of each request that carried
// Basic credentials (in order), how many requests carried none (or an
// NTLM token), and how many connections the run dialled.
func logonRun(t *testing.T, user, password string, only ...string) (res []checks.Result, authed []string, anon, dials int, srv *psrpserver.Server) {
	t.Helper()
	return logonRunList(t, user, password, []checks.Check{checks.AuthCheck, checks.RBACCheck}, nil, only...)
}

// logonRunList is logonRun over list; heard, when set, hears the action
// of each credentialed request as it arrives.
func logonRunList(t *testing.T, user, password string, list []checks.Check, heard func(string), only ...string) (res []checks.Result, authed []string, anon, dials int, srv *psrpserver.Server) {
	t.Helper()
	cfg := rbacLabConfig()
	cfg.NoDataYet = false
	var mu sync.Mutex
	actionRE := regexp.MustCompile(`<[a-z]+:Action[^>]*>[^<]*/([A-Za-z]+)</[a-z]+:Action>`)
	tap := func(r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		action := "?"
		if m := actionRE.FindSubmatch(body); m != nil {
			action = string(m[1])
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			authed = append(authed, action)
			if heard != nil {
				heard(action)
			}
		} else {
			anon++
		}
	}
	env, srv := rbacLabEnv(t, cfg, user, password, tap)
	var n atomic.Int32
	dial := env.Dial
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return dial(ctx, network, addr)
	}
	env.Config.Checks = []string{"auth", "rbac"}
	if len(only) > 0 {
		env.Config.Checks = only
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res = checks.Run(ctx, env, list)
	mu.Lock()
	defer mu.Unlock()
	return res, slices.Clone(authed), anon, int(n.Load()), srv
}

// authBasic is the auth probe's Basic step on the URI, from its result.
func authBasic(t *testing.T, r checks.Result) (status int, soap bool, request string) {
	t.Helper()
	b, _ := json.Marshal(r.Observed)
	var o struct {
		Basic struct {
			Status  int
			SOAP    bool
			Request string
		}
	}
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o.Basic.Status, o.Basic.SOAP, o.Basic.Request
}

// One logon yields both verdicts: on the healthy lab the front sees
// exactly one request with credentials before the shell exists, the
// session's Create, beside auth's two unauthenticated ones (its 401 probe
// and the negotiate probe); auth sends no Basic Enumerate of its own and
// still reports the Create's answer as its Basic step. Every credentialed
// request is one of the session's, and the run opens no more connections
// than the endpoint transport allows (three requests go out at once; how
// many dials that takes depends on which connection returns to the pool
// first, so only the bound is asserted).
func TestOneLogonForAuthAndRBAC(t *testing.T) {
	res, authed, anon, dials, srv := logonRun(t, fixtures.AdminUser, fixtures.AdminPassword)
	for _, r := range res {
		if r.Status != checks.StatusPass {
			t.Fatalf("%s: %s %v %s", r.ID, r.Status, r.Findings, r.Error)
		}
	}
	if anon != 2 {
		t.Errorf("%d requests without credentials, want auth's two", anon)
	}
	if len(authed) == 0 || authed[0] != "Create" || slices.Contains(authed, "Enumerate") {
		t.Fatalf("credentialed requests %v: want the session's Create first and no Enumerate", authed)
	}
	if rt := rbacObserved(t, res[1])["round_trips"]; float64(len(authed)) != rt {
		t.Errorf("%d credentialed requests, the session made %v: only the session may send the password", len(authed), rt)
	}
	if st, soap, req := authBasic(t, res[0]); st != 200 || !soap || req != "create" {
		t.Errorf("auth's basic step %d soap %v request %q, want the Create's 200 SOAP answer", st, soap, req)
	}
	if dials > 4 {
		t.Errorf("%d connections for auth and rbac, want at most the endpoint transport's 4", dials)
	}
	if srv.OpenShells() != 0 {
		t.Fatalf("%d shells left open", srv.OpenShells())
	}
}

// Without the rbac session (auth alone) auth logs on with its own Basic
// Enumerate, after the unauthenticated request's 401, as before.
func TestAuthAloneSendsItsOwnBasic(t *testing.T) {
	res, authed, _, _, _ := logonRun(t, fixtures.AdminUser, fixtures.AdminPassword, "auth")
	if strings.Join(authed, ",") != "Enumerate" {
		t.Errorf("credentialed requests %v, want auth's one Enumerate", authed)
	}
	if st, soap, req := authBasic(t, res[0]); res[0].Status != checks.StatusPass || st != 200 || !soap || req != "" {
		t.Errorf("auth %s, basic step %d soap %v request %q; want its own Enumerate's 200", res[0].Status, st, soap, req)
	}
}

// A session held back before its Create (a fleet waits for a session
// slot) gives up the lead logon: auth logs on with its own Enumerate
// without waiting for the Create, and the session logs on after it. The
// held session waits until auth's Basic arrived, so an auth that waited
// for the Create would never finish.
func TestForgoneLeadAuthLogsOnItself(t *testing.T) {
	authSent := make(chan struct{})
	var once sync.Once
	held := checks.RBACCheck
	held.Run = func(ctx context.Context, env *checks.Env) checks.Outcome {
		env.ForgoLead("held back for the test")
		select {
		case <-authSent:
		case <-ctx.Done():
		}
		return checks.RBACCheck.Run(ctx, env)
	}
	heard := func(action string) {
		if action == "Enumerate" {
			once.Do(func() { close(authSent) })
		}
	}
	res, authed, _, _, srv := logonRunList(t, fixtures.AdminUser, fixtures.AdminPassword, []checks.Check{checks.AuthCheck, held}, heard)
	for _, r := range res {
		if r.Status != checks.StatusPass {
			t.Fatalf("%s: %s %v %s", r.ID, r.Status, r.Findings, r.Error)
		}
	}
	if len(authed) < 2 || authed[0] != "Enumerate" || authed[1] != "Create" {
		t.Errorf("credentialed requests %v, want auth's Enumerate, then the session", authed)
	}
	if st, _, req := authBasic(t, res[0]); st != 200 || req != "" {
		t.Errorf("auth's basic step %d %q, want its own Enumerate", st, req)
	}
	if srv.OpenShells() != 0 {
		t.Errorf("%d shells left open", srv.OpenShells())
	}
}

// A server that ignores the CompressionType header answers plain stream
// data; the session reads it as it is and says so.
func TestRBACServerWithoutCompression(t *testing.T) {
	cfg := rbacLabConfig()
	cfg.NoDataYet, cfg.IgnoreCompression = false, true
	env, srv := rbacLabEnv(t, cfg, fixtures.AdminUser, fixtures.AdminPassword)
	r := rbacRun(t, env)
	obs := rbacObserved(t, r)
	if r.Status != checks.StatusPass || obs["compression"] != "none" || obs["command_count"] != float64(692) {
		t.Fatalf("%s, compression %v, %v commands: %v %s", r.Status, obs["compression"], obs["command_count"], r.Findings, r.Error)
	}
	if got := srv.Requests(); got["Receive"] < 7 {
		t.Fatalf("requests %v: plain, the metadata takes seven answers", got)
	}
}

// When the Create is refused, the verdicts mean what they meant when auth
// sent its own Basic: a wrong password is auth's failure (the Create was
// the only request that carried it, and rbac is skipped with its
// evidence); a user Exchange refuses a shell after IIS accepted the
// password is rbac's finding, which auth tells apart with an Enumerate
// sent with the password just accepted.
func TestOneLogonRefusedCreate(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		res, authed, _, _, srv := logonRun(t, fixtures.AdminUser, "Wrong-Pass-1")
		if strings.Join(authed, ",") != "Create" {
			t.Errorf("credentialed requests %v, want the one Create", authed)
		}
		if got := rbacCodes(res[0]); res[0].Status != checks.StatusFail || !slices.Contains(got, "AUTH-BAD-CREDENTIALS") {
			t.Errorf("auth %s %v, want AUTH-BAD-CREDENTIALS", res[0].Status, got)
		}
		if st, _, req := authBasic(t, res[0]); st != 401 || req != "create" {
			t.Errorf("auth's basic step %d %q, want the Create's 401", st, req)
		}
		if res[1].Status != checks.StatusSkip || !strings.Contains(res[1].SkipReason, "auth did not pass") || res[1].Observed == nil {
			t.Errorf("rbac %s %q observed %v, want skipped after auth with its evidence", res[1].Status, res[1].SkipReason, res[1].Observed)
		}
		if srv.ShellsCreated() != 0 {
			t.Errorf("%d shells created with a wrong password", srv.ShellsCreated())
		}
	})
	t.Run("not enabled for remote powershell", func(t *testing.T) {
		res, authed, _, _, _ := logonRun(t, fixtures.NoRemoteUser, fixtures.NoRemotePassword)
		if strings.Join(authed, ",") != "Create,Enumerate" {
			t.Errorf("credentialed requests %v, want the Create, then auth's Enumerate", authed)
		}
		if res[0].Status != checks.StatusPass {
			t.Errorf("auth %s %v, want pass: the endpoint took the password", res[0].Status, rbacCodes(res[0]))
		}
		if st, soap, req := authBasic(t, res[0]); st != 200 || !soap || req != "" {
			t.Errorf("auth's basic step %d soap %v request %q, want its own Enumerate's 200", st, soap, req)
		}
		if got := rbacCodes(res[1]); strings.Join(got, ",") != "RBAC-REMOTEPS-DISABLED" {
			t.Errorf("rbac %s %v, want RBAC-REMOTEPS-DISABLED", res[1].Status, got)
		}
	})
}
