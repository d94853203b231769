package checks

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func testEnv(sel ...string) *Env {
	return NewEnv(&Config{Host: "mail.contoso.test", Port: 443, Checks: sel})
}

func finding(code string) []Finding { return []Finding{{Code: code, Summary: "x"}} }

// runList runs hand-made checks, giving each the doc Validate asks for.
func runList(ctx context.Context, env *Env, list []Check) []Result {
	for i := range list {
		if list[i].Doc == "" {
			list[i].Doc = "test check " + list[i].ID
		}
	}
	return Run(ctx, env, list)
}

func TestRunnerStatusFromFindings(t *testing.T) {
	list := []Check{
		{ID: "a", Run: func(context.Context, *Env) Outcome { return Outcome{} }},
		{ID: "b", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-CNAME")} }},
		{ID: "c", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-EXT-NXDOMAIN")} }},
		{ID: "d", Run: func(context.Context, *Env) Outcome { return Outcome{Err: errors.New("boom")} }},
		{ID: "e", Run: func(context.Context, *Env) Outcome { return Outcome{Skip: "not needed here"} }},
		{ID: "f", Inputs: func(*Config) string { return "no --user given" }, Run: func(context.Context, *Env) Outcome { t.Error("ran"); return Outcome{} }},
		{ID: "g", Run: func(context.Context, *Env) Outcome {
			return Outcome{Findings: []Finding{{Code: "DNS-EXT-NXDOMAIN", Downgrade: SevInfo}}}
		}},
	}
	rs := runList(context.Background(), testEnv(), list)
	want := map[string]Status{"a": StatusPass, "c": StatusFail, "d": StatusError, "e": StatusSkip, "f": StatusSkip, "g": StatusPass}
	for i, r := range rs {
		if r.ID != list[i].ID {
			t.Fatalf("result %d is %s, want list order", i, r.ID)
		}
		if w, ok := want[r.ID]; ok && r.Status != w {
			t.Errorf("%s: status %s, want %s", r.ID, r.Status, w)
		}
	}
	if rs[5].SkipReason != "no --user given" || rs[4].SkipReason != "not needed here" {
		t.Errorf("skip reasons: %q %q", rs[5].SkipReason, rs[4].SkipReason)
	}
	if f := rs[2].Findings[0]; f.Severity != SevFail || len(f.Remediation) == 0 || len(f.References) == 0 {
		t.Errorf("finding not filled from the catalog: %+v", f)
	}
	if rs[6].Findings[0].Severity != SevInfo {
		t.Errorf("downgrade ignored: %+v", rs[6].Findings[0])
	}
	if ExitCode(rs) != 3 {
		t.Errorf("exit code %d, want 3 (an errored probe)", ExitCode(rs))
	}
}

func TestRunnerUnknownCodeStaysVisible(t *testing.T) {
	rs := runList(context.Background(), testEnv(), []Check{{ID: "a", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("NOT-A-CODE")} }}})
	if rs[0].Status != StatusFail || !strings.Contains(rs[0].Findings[0].Remediation[0], "not in the catalog") {
		t.Errorf("unknown code: %+v", rs[0])
	}
}

func TestRunnerPanicBecomesError(t *testing.T) {
	rs := runList(context.Background(), testEnv(), []Check{{ID: "a", Run: func(context.Context, *Env) Outcome { panic("kaboom") }}})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "kaboom") {
		t.Errorf("panic: %+v", rs[0])
	}
}

// A dependent runs while its prerequisite does (its network work waits
// only for its inputs), but what the prerequisite decides is what is
// reported: behind a failure it is skipped, its evidence kept and its
// findings dropped, and the skip carries down the chain.
func TestRunnerPrerequisites(t *testing.T) {
	list := []Check{
		{ID: "base", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-EXT-NXDOMAIN")} }},
		{ID: "dep", Requires: []string{"base"}, Run: func(context.Context, *Env) Outcome {
			return Outcome{Observed: "seen", Findings: finding("TLS-CONNECT-FAILED")}
		}},
		{ID: "dep-of-dep", Requires: []string{"dep"}, Run: func(context.Context, *Env) Outcome { return Outcome{} }},
		{ID: "warned", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-CNAME")} }},
		{ID: "dep2", Requires: []string{"warned"}, Run: func(context.Context, *Env) Outcome { return Outcome{} }},
	}
	rs := runList(context.Background(), testEnv(), list)
	if rs[1].Status != StatusSkip || !strings.Contains(rs[1].SkipReason, "prerequisite base") || rs[1].Observed != "seen" || len(rs[1].Findings) != 0 {
		t.Errorf("dependent of a failed check: %+v", rs[1])
	}
	if rs[2].Status != StatusSkip || rs[2].SkipReason != "prerequisite base did not pass (fail)" {
		t.Errorf("a failure must gate transitively: %+v", rs[2])
	}
	if rs[4].Status != StatusPass {
		t.Errorf("a warning must not gate: %+v", rs[4])
	}

	// a check whose Gates says no reports its failure without gating
	soft := append([]Check(nil), list[:2]...)
	soft[0].Gates = func(*Config) bool { return false }
	rs = runList(context.Background(), testEnv(), soft)
	if rs[0].Status != StatusFail || rs[1].Status != StatusFail || len(rs[1].Findings) != 1 {
		t.Errorf("non-gating failure: the dependent reports its own verdict: %+v", rs[:2])
	}

	// an unselected prerequisite does not gate, and is not reported
	rs = runList(context.Background(), testEnv("dep"), list)
	if len(rs) != 1 || rs[0].ID != "dep" || rs[0].Status != StatusFail {
		t.Errorf("--checks dep alone: %+v", rs)
	}
}

func TestRunnerIndependentChecksRunConcurrently(t *testing.T) {
	// each check waits for the other to start: sequential running would deadlock
	started := make(chan string, 2)
	both := make(chan struct{})
	run := func(ctx context.Context, _ *Env) Outcome {
		started <- "x"
		select {
		case <-both:
		case <-ctx.Done():
			return Outcome{Err: ctx.Err()}
		}
		return Outcome{}
	}
	go func() { <-started; <-started; close(both) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs := runList(ctx, testEnv(), []Check{{ID: "a", Run: run}, {ID: "b", Run: run}})
	for _, r := range rs {
		if r.Status != StatusPass {
			t.Errorf("%s: %s %s", r.ID, r.Status, r.Error)
		}
	}
}

func TestRunnerGivesEachCheckTheRunDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	want, _ := ctx.Deadline()
	rs := runList(ctx, testEnv(), []Check{{ID: "a", Run: func(c context.Context, _ *Env) Outcome {
		got, ok := c.Deadline()
		if !ok || got.After(want) {
			return Outcome{Err: errors.New("probe context lacks the run's deadline")}
		}
		return Outcome{}
	}}})
	if rs[0].Status != StatusPass {
		t.Error(rs[0].Error)
	}
}

// TestRunnerAbandonsAProbeThatIgnoresItsDeadline is the backstop for a
// probe bug: Run still returns after OverrunGrace, with an error that says
// so. (Every real probe stops; TestNoGoroutineOutlivesARun proves it.)
func TestRunnerAbandonsAProbeThatIgnoresItsDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	env := testEnv()
	env.Budgets.Overrun = 50 * time.Millisecond
	rs := runList(ctx, env, []Check{{ID: "stuck", Run: func(context.Context, *Env) Outcome { <-block; return Outcome{} }}})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "did not stop at the deadline") {
		t.Errorf("stuck probe: %+v", rs[0])
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret("canary-Pa55")
	for _, got := range []string{s.String(), s.GoString()} {
		if strings.Contains(got, "canary") {
			t.Errorf("secret leaked: %s", got)
		}
	}
	b, _ := s.MarshalJSON()
	if strings.Contains(string(b), "canary") {
		t.Error("secret leaked in JSON")
	}
	if s.Reveal() != "canary-Pa55" {
		t.Error("Reveal lost the password")
	}
}

// TestRunnerDeadlineWhilePrerequisiteRuns is the deadline path: the run
// ends while a prerequisite is still writing its result. The dependent
// must not read that result (go test -race flagged it), must not report
// a verdict of its own, and must say the prerequisite did not finish.
func TestRunnerDeadlineWhilePrerequisiteRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rs := runList(ctx, testEnv(), []Check{
		{ID: "slow", Run: func(ctx context.Context, _ *Env) Outcome {
			<-ctx.Done()
			time.Sleep(30 * time.Millisecond) // still busy after the deadline
			return Outcome{Summary: "late"}
		}},
		{ID: "dep", Requires: []string{"slow"}, Run: func(context.Context, *Env) Outcome { return Outcome{Summary: "passed"} }},
	})
	if rs[1].Status != StatusError || !strings.Contains(rs[1].Error, "prerequisite slow did not finish before the deadline") {
		t.Errorf("dependent: %+v", rs[1])
	}
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "raise --timeout") || ExitCode(rs) != 3 {
		t.Errorf("a probe cut by the run's budget is exdiag's limit (exit 3): %+v", rs[0])
	}
}

func TestRunnerAppliesADefaultDeadline(t *testing.T) {
	rs := runList(context.Background(), testEnv(), []Check{{ID: "a", Run: func(ctx context.Context, _ *Env) Outcome {
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > RunBudget {
			return Outcome{Err: errors.New("no default deadline")}
		}
		return Outcome{}
	}}})
	if rs[0].Status != StatusPass {
		t.Error(rs[0].Error)
	}
}

func TestRunnerNamedCheckWithoutInputsIsAnError(t *testing.T) {
	list := func() []Check {
		return []Check{{ID: "a", Inputs: func(*Config) string { return "no credentials given (--user …)" },
			Run: func(context.Context, *Env) Outcome { t.Error("ran"); return Outcome{} }}}
	}
	rs := runList(context.Background(), testEnv("a"), list())
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "named in --checks") || ExitCode(rs) != 3 {
		t.Errorf("named: %+v", rs[0])
	}
	rs = runList(context.Background(), testEnv(), list())
	if rs[0].Status != StatusSkip || ExitCode(rs) != 0 {
		t.Errorf("default selection: %+v", rs[0])
	}
	// a probe that finds it has nothing to check ("not needed here") is
	// the same: an error when named, a quiet skip otherwise
	notNeeded := []Check{{ID: "a", Run: func(context.Context, *Env) Outcome { return Outcome{Skip: "not needed here"} }}}
	if rs = runList(context.Background(), testEnv("a"), notNeeded); rs[0].Status != StatusError {
		t.Errorf("named, not needed: %+v", rs[0])
	}
	if rs = runList(context.Background(), testEnv(), notNeeded); rs[0].Status != StatusSkip {
		t.Errorf("default, not needed: %+v", rs[0])
	}
}

func TestRunnerInterruptBlamesNothingOnTheServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rs := runList(ctx, testEnv(), []Check{{ID: "a", Run: func(ctx context.Context, _ *Env) Outcome {
		cancel()
		<-ctx.Done()
		return Outcome{Findings: finding("DNS-RESOLVER-TIMEOUT")}
	}}})
	if rs[0].Status != StatusError || len(rs[0].Findings) != 0 || !strings.Contains(rs[0].Error, "interrupted") {
		t.Errorf("interrupted: %+v", rs[0])
	}
}

// TestRunnerGatesPerHop: a prerequisite that fails on one backend skips
// that backend only; a failure on the published URI skips the whole
// dependent, transitively.
func TestRunnerGatesPerHop(t *testing.T) {
	front, _ := url.Parse("https://mail.contoso.test/PowerShell")
	cas1, _ := url.Parse("https://cas1.contoso.test/PowerShell")
	cas2, _ := url.Parse("https://cas2.contoso.test/PowerShell")
	env := NewEnv(&Config{URI: front, Host: "mail.contoso.test", Port: 443, Backends: []*url.URL{cas1, cas2}})
	var probed sync.Map
	base := Check{ID: "base", Backends: true, Run: func(context.Context, *Env) Outcome {
		return Outcome{Findings: []Finding{{Code: "TLS-BACKEND-UNTRUSTED", Hop: cas2.String(), Summary: "x"}}}
	}}
	dep := Check{ID: "dep", Backends: true, Requires: []string{"base"}, Run: func(ctx context.Context, env *Env) Outcome {
		for _, b := range env.Config.Backends {
			if hopGate(ctx, b.String()) == "" {
				probed.Store(b.String(), true)
			}
		}
		return Outcome{}
	}}
	front2 := Check{ID: "front-only", Requires: []string{"dep"}, Run: func(context.Context, *Env) Outcome { return Outcome{} }}
	// a hop skipped in dep stays skipped, for the same root cause, in
	// what requires dep
	dep2 := Check{ID: "dep2", Backends: true, Requires: []string{"dep"}, Run: func(ctx context.Context, env *Env) Outcome {
		if hopGate(ctx, cas2.String()) == "" {
			t.Error("dep2 probed cas2 behind dep's skip")
		}
		return Outcome{}
	}}
	rs := runList(context.Background(), env, []Check{base, dep, front2, dep2})
	if _, ok := probed.Load(cas1.String()); !ok {
		t.Error("cas1 passed base, yet dep did not probe it")
	}
	if _, ok := probed.Load(cas2.String()); ok {
		t.Error("cas2 failed base, yet dep probed it")
	}
	if rs[1].Status != StatusPass || rs[2].Status != StatusPass {
		t.Errorf("a backend failure gated the front: %+v %+v", rs[1], rs[2])
	}
	want := []TargetResult{
		{Target: front.String(), Status: StatusPass},
		{Target: cas1.String(), Status: StatusPass},
		{Target: cas2.String(), Status: StatusSkip, SkipReason: "prerequisite base did not pass for " + cas2.String() + " (fail)"},
	}
	if !reflect.DeepEqual(rs[1].Targets, want) {
		t.Errorf("targets:\n got %+v\nwant %+v", rs[1].Targets, want)
	}
	if !reflect.DeepEqual(rs[3].Targets, want) {
		t.Errorf("transitive targets:\n got %+v\nwant %+v", rs[3].Targets, want)
	}
	if rs[0].Targets[2].Status != StatusFail {
		t.Errorf("base's own targets: %+v", rs[0].Targets)
	}

	// the published URI failing gates everything after it
	base.Run = func(context.Context, *Env) Outcome {
		return Outcome{Findings: []Finding{{Code: "TLS-UNTRUSTED-ROOT", Summary: "x"}}}
	}
	rs = runList(context.Background(), env, []Check{base, dep, front2})
	if rs[1].Status != StatusSkip || rs[2].Status != StatusSkip || rs[2].SkipReason != "prerequisite base did not pass (fail)" {
		t.Errorf("front failure: %+v %+v", rs[1], rs[2])
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(All()); err != nil {
		t.Fatalf("the check set: %v", err)
	}
	run := func(context.Context, *Env) Outcome { return Outcome{} }
	for _, tt := range []struct {
		name string
		list []Check
		want string
	}{
		{"no id", []Check{{Doc: "d", Run: run}}, "has no id"},
		{"no doc", []Check{{ID: "a", Run: run}}, "has no doc"},
		{"bad id", []Check{{ID: "DNS,tls", Doc: "d", Run: run}}, "not lowercase"},
		{"no run", []Check{{ID: "a", Doc: "d"}}, "has no Run"},
		{"twice", []Check{{ID: "a", Doc: "d", Run: run}, {ID: "a", Doc: "d", Run: run}}, "listed twice"},
		{"typo", []Check{{ID: "a", Doc: "d", Run: run, Requires: []string{"dsn"}}}, `requires "dsn"`},
		{"self", []Check{{ID: "a", Doc: "d", Run: run, Requires: []string{"a"}}}, "requires itself"},
		{"cycle", []Check{
			{ID: "a", Doc: "d", Run: run, Requires: []string{"c"}},
			{ID: "b", Doc: "d", Run: run, Requires: []string{"a"}},
			{ID: "c", Doc: "d", Run: run, Requires: []string{"b"}},
		}, "cycle: a -> c -> b -> a"},
		{"unknown code", []Check{{ID: "a", Doc: "d", Run: run, Codes: []string{"NOT-A-CODE"}}}, "not in the catalog"},
		{"logon of no check", []Check{{ID: "a", Doc: "d", Run: run, LogonFor: "auht"}}, `carries the logon of "auht"`},
		{"logon of a follower", []Check{{ID: "a", Doc: "d", Run: run}, {ID: "b", Doc: "d", Run: run, LogonFor: "a"}}, `carries the logon of "a"`},
	} {
		err := Validate(tt.list)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	// Run refuses an invalid set rather than running it half-gated
	rs := Run(context.Background(), testEnv(), []Check{{ID: "a", Doc: "d", Requires: []string{"dsn"}, Run: func(context.Context, *Env) Outcome {
		t.Error("ran an invalid set")
		return Outcome{}
	}}})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "invalid") {
		t.Errorf("invalid set: %+v", rs[0])
	}
}

// TestBudgetsNest: each budget fits inside the one above it (budgets.go
// draws the tree), so a stalled server's own budget always ends first.
func TestBudgetsNest(t *testing.T) {
	for _, tt := range []struct {
		inner, outer   string
		innerD, outerD time.Duration
	}{
		{"RequestBudget", "RunBudget", RequestBudget, RunBudget},
		{"HandshakeBudget", "RequestBudget", HandshakeBudget, RequestBudget},
		{"ExchangeBudget", "RunBudget", ExchangeBudget, RunBudget},
		{"AIAFetchBudget", "ExchangeBudget", AIAFetchBudget, ExchangeBudget},
		{"DNSQueryBudget", "ExchangeBudget", DNSQueryBudget, ExchangeBudget},
		{"KDCExchangeBudget", "RunBudget", KDCExchangeBudget, RunBudget},
		{"LDAPBudget", "RunBudget", LDAPBudget, RunBudget},
		{"SessionRequestBudget", "RunBudget", SessionRequestBudget, RunBudget},
		{"DeadlineSlack", "DNSQueryBudget", DeadlineSlack, DNSQueryBudget},
		{"ReceiveWait", "SessionRequestBudget", ReceiveWait, SessionRequestBudget},
		{"ShellDeleteBudget", "RunBudget", ShellDeleteBudget, RunBudget},
		{"OverrunGrace", "RunBudget", OverrunGrace, RunBudget},
		{"LateShellDeleteBudget", "OverrunGrace", LateShellDeleteBudget, OverrunGrace},
	} {
		if tt.innerD <= 0 || tt.innerD >= tt.outerD {
			t.Errorf("%s (%v) must be positive and shorter than %s (%v)", tt.inner, tt.innerD, tt.outer, tt.outerD)
		}
	}
	// the retries a DNS view makes (two UDP tries, then TCP) fit its exchange
	if 3*DNSQueryBudget >= ExchangeBudget {
		t.Errorf("three DNS queries (%v) must fit ExchangeBudget (%v)", 3*DNSQueryBudget, ExchangeBudget)
	}
}

// TestDependentStartsBeforeItsPrerequisiteEnds is issue 15's point: a
// dependent's own work starts at once, so a prerequisite that waits for
// it still finishes (a runner that started it after the verdict would
// deadlock here until the deadline).
func TestDependentStartsBeforeItsPrerequisiteEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	started := make(chan struct{})
	rs := runList(ctx, testEnv(), []Check{
		{ID: "base", Run: func(ctx context.Context, _ *Env) Outcome {
			select {
			case <-started:
				return Outcome{Summary: "saw the dependent start"}
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
		}},
		{ID: "dep", Requires: []string{"base"}, Run: func(context.Context, *Env) Outcome { close(started); return Outcome{Summary: "ran"} }},
	})
	if rs[0].Status != StatusPass || rs[1].Status != StatusPass || rs[1].Summary != "ran" {
		t.Errorf("dependent did not start with its prerequisite: %+v / %+v", rs[0], rs[1])
	}
}
