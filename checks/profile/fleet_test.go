package profile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
)

func fleetFile(t *testing.T, n int) []Run {
	t.Helper()
	var b strings.Builder
	b.WriteString("defaults:\n  user: CONTOSO\\admin\n  password_env: PW\ndeployments:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: d%d\n    uri: https://mail%d.contoso.test/PowerShell\n", i, i)
	}
	f, err := Parse("fleet.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := f.Runs()
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func getenvPW(k string) string {
	if k == "PW" {
		return "pw"
	}
	return ""
}

// A refused password is sent once: the first run that tries it sees the
// refusal, and the others are reported as not tried, naming it.
func TestFleetStopsARefusedCredential(t *testing.T) {
	var sent atomic.Int32
	auth := checks.Check{ID: checks.AuthCheck.ID, Doc: "fake auth", Run: func(context.Context, *checks.Env) checks.Outcome {
		sent.Add(1)
		time.Sleep(10 * time.Millisecond)
		return checks.Outcome{Findings: []checks.Finding{{Code: "AUTH-BAD-CREDENTIALS", Summary: "401"}}}
	}}
	fl := &Fleet{Parallel: 4, Getenv: getenvPW, Checks: []checks.Check{auth}}
	out := fl.Execute(context.Background(), fleetFile(t, 5))
	if sent.Load() != 1 {
		t.Fatalf("the password was sent %d times", sent.Load())
	}
	var tried string
	for _, o := range out {
		if o.Err == nil {
			tried = o.Run.Name()
			if o.ExitCode() != 2 {
				t.Errorf("%s: exit %d", tried, o.ExitCode())
			}
		}
	}
	for _, o := range out {
		if o.Run.Name() == tried {
			continue
		}
		if o.Err == nil || o.Err.Error() != "not tried: the password was refused by "+tried || o.ExitCode() != 3 {
			t.Errorf("%s: %v", o.Run.Name(), o.Err)
		}
	}
}

// No more than SessionsPerUser rbac probes of one user run at once, while
// the runs themselves go in parallel.
func TestFleetLimitsSessionsPerUser(t *testing.T) {
	var mu sync.Mutex
	open, peak := 0, 0
	rbac := checks.Check{ID: checks.RBACCheck.ID, Doc: "fake rbac", Run: func(context.Context, *checks.Env) checks.Outcome {
		mu.Lock()
		open++
		peak = max(peak, open)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		open--
		mu.Unlock()
		return checks.Outcome{}
	}}
	auth := checks.Check{ID: checks.AuthCheck.ID, Doc: "fake auth", Run: func(context.Context, *checks.Env) checks.Outcome { return checks.Outcome{} }}
	var done atomic.Int32
	fl := &Fleet{Parallel: 8, SessionsPerUser: 2, Getenv: getenvPW, Checks: []checks.Check{auth, rbac},
		Done: func(Outcome) { done.Add(1) }}
	out := fl.Execute(context.Background(), fleetFile(t, 9))
	for _, o := range out {
		if o.Err != nil || o.ExitCode() != 0 {
			t.Errorf("%s: %v", o.Run.Name(), o.Err)
		}
	}
	if peak != 2 || done.Load() != 9 {
		t.Errorf("peak sessions %d (want 2), %d runs reported done", peak, done.Load())
	}
}

// An interrupted fleet reports the runs it did not start, rather than
// waiting for them.
func TestFleetInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := (&Fleet{Getenv: getenvPW, Checks: []checks.Check{}}).Execute(ctx, fleetFile(t, 3))
	for _, o := range out {
		if o.Err == nil || !strings.Contains(o.Err.Error(), "interrupted") {
			t.Errorf("%s: %v", o.Run.Name(), o.Err)
		}
	}
}

// The first run of a credential holds the others back only until its
// logons are judged: the second run's auth starts while the first run's
// rbac session is still open.
func TestFleetReleasesACredentialOnceJudged(t *testing.T) {
	var starts atomic.Int32
	second := make(chan struct{})
	auth := checks.Check{ID: checks.AuthCheck.ID, Doc: "fake auth", Run: func(context.Context, *checks.Env) checks.Outcome {
		if starts.Add(1) == 2 {
			close(second)
		}
		return checks.Outcome{}
	}}
	var waitedOut atomic.Bool
	rbac := checks.Check{ID: checks.RBACCheck.ID, Doc: "fake rbac", Requires: []string{checks.AuthCheck.ID}, Run: func(context.Context, *checks.Env) checks.Outcome {
		select {
		case <-second:
		case <-time.After(5 * time.Second):
			waitedOut.Store(true)
		}
		return checks.Outcome{}
	}}
	fl := &Fleet{Parallel: 2, Getenv: getenvPW, Checks: []checks.Check{auth, rbac}}
	for _, o := range fl.Execute(context.Background(), fleetFile(t, 2)) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	if waitedOut.Load() {
		t.Error("the second run waited for the whole first run")
	}
}
