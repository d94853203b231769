package checks

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
)

// overrun is how long the runner waits past the run's deadline for a probe
// that ignores its context before giving up on it, so a buggy probe can
// never hang the run.
const overrun = 2 * time.Second

// Run executes the selected checks of list concurrently, each as soon as
// the selected checks it requires have finished, and returns the results in
// list order. It never blocks much past ctx's deadline.
func Run(ctx context.Context, env *Env, list []Check) []Result {
	cfg := env.Config
	selected := map[string]bool{}
	var run []Check
	for _, c := range list {
		if cfg.Selected(c.ID) {
			selected[c.ID] = true
			run = append(run, c)
		}
	}
	results := make([]Result, len(run))
	rootCause := make([]string, len(run)) // for a gated check: which check failed, and how
	done := make(map[string]chan struct{}, len(run))
	index := make(map[string]int, len(run))
	gates := make(map[string]bool, len(run))
	for i, c := range run {
		done[c.ID] = make(chan struct{})
		index[c.ID] = i
		gates[c.ID] = c.Gates == nil || c.Gates(cfg)
	}

	var wg sync.WaitGroup
	for i, c := range run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[c.ID])
			for _, req := range c.Requires {
				if !selected[req] {
					continue // an unnamed prerequisite does not gate
				}
				select {
				case <-done[req]:
				case <-ctx.Done():
				}
				r := results[index[req]]
				cause := rootCause[index[req]]
				if cause == "" && gates[req] && (r.Status == StatusFail || r.Status == StatusError) {
					cause = fmt.Sprintf("%s did not pass (%s)", req, r.Status)
				}
				if cause != "" {
					results[i] = Result{ID: c.ID, Title: c.Title, Status: StatusSkip,
						SkipReason: "prerequisite " + cause, Findings: []Finding{}}
					rootCause[i] = cause
					return
				}
			}
			results[i] = runOne(ctx, env, c)
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, env *Env, c Check) Result {
	res := Result{ID: c.ID, Title: c.Title, Findings: []Finding{}}
	if c.Run == nil {
		res.Status, res.SkipReason = StatusSkip, "not implemented yet"
		return res
	}
	if c.Inputs != nil {
		if why := c.Inputs(env.Config); why != "" {
			res.Status, res.SkipReason = StatusSkip, why
			return res
		}
	}
	start := time.Now()
	out := make(chan Outcome, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				env.Logf("panic in check %s: %v\n%s", c.ID, p, debug.Stack())
				out <- Outcome{Err: fmt.Errorf("internal error in the %s probe: %v; please report it with the -v output", c.ID, p)}
			}
		}()
		out <- c.Run(cctx, env)
	}()
	var o Outcome
	select {
	case o = <-out:
	case <-ctx.Done():
		// give the probe a moment to report what the deadline cut short
		select {
		case o = <-out:
		case <-time.After(overrun):
			o = Outcome{Err: fmt.Errorf("the %s probe did not stop at the deadline; raise --timeout or report it", c.ID)}
		}
	}
	res.Duration = time.Since(start)
	res.Observed, res.Summary = o.Observed, o.Summary
	res = Resolve(res, accept(o, env.Config.Accept))
	if o.Skip != "" && res.Status != StatusError {
		res.Status, res.SkipReason = StatusSkip, o.Skip
	}
	return res
}

// Resolve fills each finding from the catalog and derives the status.
func Resolve(res Result, o Outcome) Result {
	res.Findings = make([]Finding, 0, len(o.Findings))
	worst := StatusPass
	for _, f := range o.Findings {
		f = fill(f)
		res.Findings = append(res.Findings, f)
		if s := sevStatus(f.Severity); s.Rank() > worst.Rank() {
			worst = s
		}
	}
	res.Status = worst
	if o.Err != nil {
		res.Status, res.Error = StatusError, o.Err.Error()
	}
	return res
}

func fill(f Finding) Finding {
	e, ok := catalog.Lookup(f.Code)
	if !ok {
		// a probe bug; keep it visible rather than dropping it
		f.Severity = SevFail
		f.Remediation = []string{"this finding code is not in the catalog; please report it"}
		f.References = []string{}
		return f
	}
	f.Severity = Severity(e.Severity)
	if f.Downgrade != "" && sevStatus(f.Downgrade).Rank() < sevStatus(f.Severity).Rank() {
		f.Severity = f.Downgrade
	}
	f.Remediation = append([]string(nil), e.Remediation...)
	f.References = append([]string(nil), e.References...)
	return f
}

func sevStatus(s Severity) Status {
	switch s {
	case SevFail:
		return StatusFail
	case SevWarn:
		return StatusWarn
	}
	return StatusPass
}

// Worst is the run's overall status.
func Worst(rs []Result) Status {
	w := StatusPass
	for _, r := range rs {
		if r.Status != StatusSkip && r.Status.Rank() > w.Rank() {
			w = r.Status
		}
	}
	return w
}

// ExitCode follows the Nagios plugin convention.
func ExitCode(rs []Result) int {
	switch Worst(rs) {
	case StatusError:
		return 3
	case StatusFail:
		return 2
	case StatusWarn:
		return 1
	}
	return 0
}
