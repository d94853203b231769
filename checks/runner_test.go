package checks

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testEnv(sel ...string) *Env {
	return NewEnv(&Config{Host: "mail.contoso.test", Port: 443, Checks: sel})
}

func finding(code string) []Finding { return []Finding{{Code: code, Summary: "x"}} }

func TestRunnerStatusFromFindings(t *testing.T) {
	list := []Check{
		{ID: "a", Run: func(context.Context, *Env) Outcome { return Outcome{} }},
		{ID: "b", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-CNAME")} }},
		{ID: "c", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-EXT-NXDOMAIN")} }},
		{ID: "d", Run: func(context.Context, *Env) Outcome { return Outcome{Err: errors.New("boom")} }},
		{ID: "e"},
		{ID: "f", Inputs: func(*Config) string { return "no --user given" }, Run: func(context.Context, *Env) Outcome { t.Error("ran"); return Outcome{} }},
		{ID: "g", Run: func(context.Context, *Env) Outcome {
			return Outcome{Findings: []Finding{{Code: "DNS-EXT-NXDOMAIN", Downgrade: SevInfo}}}
		}},
	}
	rs := Run(context.Background(), testEnv(), list)
	want := map[string]Status{"a": StatusPass, "c": StatusFail, "d": StatusError, "e": StatusSkip, "f": StatusSkip, "g": StatusPass}
	for i, r := range rs {
		if r.ID != list[i].ID {
			t.Fatalf("result %d is %s, want list order", i, r.ID)
		}
		if w, ok := want[r.ID]; ok && r.Status != w {
			t.Errorf("%s: status %s, want %s", r.ID, r.Status, w)
		}
	}
	if rs[5].SkipReason != "no --user given" || rs[4].SkipReason != "not implemented yet" {
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
	rs := Run(context.Background(), testEnv(), []Check{{ID: "a", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("NOT-A-CODE")} }}})
	if rs[0].Status != StatusFail || !strings.Contains(rs[0].Findings[0].Remediation[0], "not in the catalog") {
		t.Errorf("unknown code: %+v", rs[0])
	}
}

func TestRunnerPanicBecomesError(t *testing.T) {
	rs := Run(context.Background(), testEnv(), []Check{{ID: "a", Run: func(context.Context, *Env) Outcome { panic("kaboom") }}})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "kaboom") {
		t.Errorf("panic: %+v", rs[0])
	}
}

func TestRunnerPrerequisites(t *testing.T) {
	var ranDependent atomic.Bool
	list := []Check{
		{ID: "base", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-EXT-NXDOMAIN")} }},
		{ID: "dep", Requires: []string{"base"}, Run: func(context.Context, *Env) Outcome { ranDependent.Store(true); return Outcome{} }},
		{ID: "dep-of-dep", Requires: []string{"dep"}, Run: func(context.Context, *Env) Outcome { t.Error("ran behind a failed chain"); return Outcome{} }},
		{ID: "warned", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-CNAME")} }},
		{ID: "dep2", Requires: []string{"warned"}, Run: func(context.Context, *Env) Outcome { return Outcome{} }},
	}
	rs := Run(context.Background(), testEnv(), list)
	if ranDependent.Load() || rs[1].Status != StatusSkip || !strings.Contains(rs[1].SkipReason, "prerequisite base") {
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
	ranDependent.Store(false)
	rs = Run(context.Background(), testEnv(), soft)
	if !ranDependent.Load() || rs[0].Status != StatusFail || rs[1].Status != StatusPass {
		t.Errorf("non-gating failure: %+v", rs[:2])
	}

	// an unselected prerequisite does not gate, and is not reported
	ranDependent.Store(false)
	rs = Run(context.Background(), testEnv("dep"), list)
	if len(rs) != 1 || rs[0].ID != "dep" || !ranDependent.Load() {
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
	rs := Run(ctx, testEnv(), []Check{{ID: "a", Run: run}, {ID: "b", Run: run}})
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
	rs := Run(ctx, testEnv(), []Check{{ID: "a", Run: func(c context.Context, _ *Env) Outcome {
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

func TestRunnerAbandonsAProbeThatIgnoresItsDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	rs := Run(ctx, testEnv(), []Check{{ID: "stuck", Run: func(context.Context, *Env) Outcome { <-block; return Outcome{} }}})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "deadline") {
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
