package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
)

// Run executes the selected checks of list concurrently and returns their
// results in list order.
//
// The contract:
//   - list is validated first (see Validate; a prerequisite may also be
//     one of All); an invalid set yields one error result per check and
//     runs nothing.
//   - ctx without a deadline gets RunBudget; Run returns at most
//     OverrunGrace after ctx ends, whatever a probe does.
//   - Every check starts at once; its prerequisites decide what is
//     reported, not when it runs. A prerequisite's result is read only
//     once it is final; one still running when ctx ends makes the
//     dependent an error ("did not finish before the deadline"), never a
//     guess.
//   - Gating is per hop: a prerequisite's failure on the published URI
//     reports the whole dependent as skipped (its observed evidence kept,
//     its findings dropped); its failure on one --backend only skips that
//     backend in the dependent (the probe asks hopGate, which waits for the
//     verdict), which is reported in Result.Targets.
//   - A probe still running when ctx ends is exdiag's limit, not the
//     server's: its check is an error (budget ran out, or interrupted) and
//     its findings are dropped, so nothing is blamed on the server.
//   - A check named in Config.Checks whose inputs are missing is an error;
//     one left to the default selection is skipped.
func Run(ctx context.Context, env *Env, list []Check) []Result {
	scrub := protect(env) // every result and log line passes the secret scrubber (scrub.go)
	if err := validate(list, All()); err != nil {
		rs := make([]Result, len(list))
		for i, c := range list {
			rs[i] = Result{ID: c.ID, Title: c.Title, Status: StatusError, Findings: []Finding{},
				Error: "the check set is invalid: " + err.Error() + "; please report it"}
		}
		return rs
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, RunBudget)
		defer cancel()
	}
	cfg := env.Config
	nodes := make(map[string]*node, len(list))
	var order []*node
	for _, c := range list {
		if cfg.Selected(c.ID) {
			n := &node{check: c, done: make(chan struct{}), gates: c.Gates == nil || c.Gates(cfg)}
			nodes[c.ID] = n
			order = append(order, n)
		}
	}
	for _, n := range order {
		if n.check.LeadsLogon {
			env.cred.expectLead()
		}
		if l := nodes[n.check.LogonFor]; l != nil && l.check.LeadsLogon && (n.check.Inputs == nil || n.check.Inputs(cfg) == "") {
			env.lead = newLeadCreate()
		}
	}
	var wg sync.WaitGroup
	for _, n := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(n.done) // publishes n.result and n.cause
			if n.check.LeadsLogon {
				// the lead's turn ends with the check, whether it ran,
				// was gated or ran out of time
				defer env.LeadDone()
			}
			if n.check.LogonFor != "" {
				// a check that never started sent no Create: the lead's
				// classifier must not wait for one
				defer env.lead.publish(nil, nil, "the "+n.check.ID+" probe did not start")
			}
			var reqs []*node
			for _, id := range n.check.Requires {
				if r := nodes[id]; r != nil { // an unselected prerequisite does not gate
					reqs = append(reqs, r)
				}
			}
			n.result, n.cause = runNode(ctx, env, n.check, reqs)
		}()
	}
	wg.Wait()
	env.CloseIdle() // the run is over: no connection or dial of it lives on
	out := make([]Result, len(order))
	for i, n := range order {
		out[i] = n.result
	}
	return scrub(out)
}

// node is one selected check in a run. result and cause are written by
// the check's own goroutine only, and read by others only after done is
// closed.
type node struct {
	check  Check
	gates  bool
	done   chan struct{}
	result Result
	// cause, per hop, is why the check did not run there because of a
	// prerequisite (the root cause, so a chain names the first failure).
	cause map[string]string
}

// FrontHop is the hop key of the published URI; a --backend's key is its
// URL's String().
const FrontHop = ""

// hops are the targets a check reaches: the published URI, and each
// --backend when the probe checks backends on their own.
func hops(c Check, cfg *Config) []string {
	hs := []string{FrontHop}
	if c.Backends {
		for _, b := range cfg.Backends {
			hs = append(hs, b.String())
		}
	}
	return hs
}

// hopStatus is the final verdict of n on hop h: an error (which always
// concerns the whole check) or the worst finding about that hop. A check
// that does not tell hops apart has one verdict for all of them.
func (n *node) hopStatus(h string) Status {
	r := n.result
	if !n.check.Backends || r.Status == StatusError || r.Status == StatusSkip {
		return r.Status
	}
	worst := StatusPass
	for _, f := range r.Findings {
		if f.Hop == h {
			if s := sevStatus(f.Severity); s.Rank() > worst.Rank() {
				worst = s
			}
		}
	}
	return worst
}

// gateOn is why prerequisite r stops hop h of a dependent, or "".
func (r *node) gateOn(cfg *Config, h string) string {
	// a prerequisite skipped as a whole stops every hop; one skipped on
	// hop h stops h
	if c := r.cause[FrontHop]; c != "" {
		return c
	}
	if c := r.cause[h]; c != "" {
		return c
	}
	if !r.gates {
		return ""
	}
	if s := r.hopStatus(h); s == StatusFail || s == StatusError {
		if h == FrontHop || !r.check.Backends {
			return fmt.Sprintf("%s did not pass (%s)", r.check.ID, s)
		}
		return fmt.Sprintf("%s did not pass for %s (%s)", r.check.ID, redactedHop(cfg, h), s)
	}
	return ""
}

func redactedHop(cfg *Config, h string) string {
	if h == FrontHop {
		if cfg.URI != nil {
			return cfg.URI.Redacted()
		}
		return cfg.Host
	}
	for _, b := range cfg.Backends {
		if b.String() == h {
			return b.Redacted()
		}
	}
	return h
}

// runNode starts the check at once, while its prerequisites still run:
// a probe's network work waits only for its inputs (the connect address,
// a logon verdict), not for another check's verdict (issue 15). What the
// prerequisites decide is what is reported: a check whose prerequisite
// failed on the published URI is shown skipped, its evidence kept and its
// findings dropped; a backend gated per hop is left alone by the probe,
// which asks hopGate and waits there for the verdict. Nothing that carries
// a secret depends on this order: Basic goes only over a connection the
// session's own TLS verification accepted, and every logon waits for the
// lead's verdict (credential.go).
func runNode(ctx context.Context, env *Env, c Check, reqs []*node) (Result, map[string]string) {
	cfg := env.Config
	g := &gate{ready: make(chan struct{})}
	started := make(chan Result, 1)
	go func() { started <- runOne(withHopGate(ctx, g), env, c) }()

	for _, r := range reqs {
		select {
		case <-r.done:
		case <-ctx.Done():
			select {
			case <-r.done: // both ready: the result is final, use it
			default:
				g.set(nil)
				<-started // runOne returns within OverrunGrace of the deadline
				return Result{ID: c.ID, Title: c.Title, Status: StatusError, Findings: []Finding{},
					Error: fmt.Sprintf("prerequisite %s did not finish before the deadline; %s", r.check.ID, endAdvice(ctx))}, nil
			}
		}
	}
	cause := map[string]string{}
	for _, h := range hops(c, cfg) {
		for _, r := range reqs {
			if why := r.gateOn(cfg, h); why != "" {
				cause[h] = why
				break
			}
		}
	}
	g.set(cause)
	res := <-started
	if why := cause[FrontHop]; why != "" {
		return Result{ID: c.ID, Title: c.Title, Status: StatusSkip, SkipReason: "prerequisite " + why,
			Duration: res.Duration, Observed: res.Observed, Findings: []Finding{}}, map[string]string{FrontHop: why}
	}
	if c.Backends && len(cfg.Backends) > 0 && res.Status != StatusError {
		for _, h := range hops(c, cfg) {
			t := TargetResult{Target: redactedHop(cfg, h), Status: StatusPass}
			if why := cause[h]; why != "" {
				t.Status, t.SkipReason = StatusSkip, "prerequisite "+why
			} else {
				for _, f := range res.Findings {
					if s := sevStatus(f.Severity); f.Hop == h && s.Rank() > t.Status.Rank() {
						t.Status = s
					}
				}
			}
			res.Targets = append(res.Targets, t)
		}
	}
	return res, cause
}

// gate carries the prerequisites' per-hop verdicts to a probe that
// started before they were final; set is called exactly once.
type gate struct {
	ready chan struct{}
	cause map[string]string // nil: the prerequisites did not finish
}

func (g *gate) set(cause map[string]string) {
	g.cause = cause
	close(g.ready)
}

// runEnded reports whether the run's context is done, or its deadline is
// within DeadlineSlack.
func runEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < DeadlineSlack
}

// endAdvice says whose limit ended the run: an interrupt, or exdiag's
// own time budget (never the server's fault).
func endAdvice(ctx context.Context) string {
	if !errors.Is(ctx.Err(), context.Canceled) {
		return "the run's time budget ran out on this side (not a fault of the server); raise --timeout"
	}
	return "the run was interrupted"
}

type hopGateKey struct{}

func withHopGate(ctx context.Context, g *gate) context.Context {
	return context.WithValue(ctx, hopGateKey{}, g)
}

// hopGate tells a probe why it must leave hop (a --backend URL's String())
// alone: a prerequisite failed there. "" means go ahead. It waits until
// the prerequisites are final, so only the hop's own work waits on them.
func hopGate(ctx context.Context, hop string) string {
	g, _ := ctx.Value(hopGateKey{}).(*gate)
	if g == nil {
		return ""
	}
	select {
	case <-g.ready:
	case <-ctx.Done():
		return "prerequisite did not finish before the deadline"
	}
	if g.cause == nil {
		return "prerequisite did not finish before the deadline"
	}
	if why := g.cause[hop]; why != "" {
		return "prerequisite " + why
	}
	return ""
}

func runOne(ctx context.Context, env *Env, c Check) Result {
	res := Result{ID: c.ID, Title: c.Title, Findings: []Finding{}}
	named := len(env.Config.Checks) > 0
	if c.Inputs != nil {
		if why := c.Inputs(env.Config); why != "" {
			if named {
				res.Status, res.Error = StatusError, namedButSkipped(c.ID, why)
			} else {
				res.Status, res.SkipReason = StatusSkip, why
			}
			return res
		}
	}
	if runEnded(ctx) {
		res.Status, res.Error = StatusError, fmt.Sprintf("the %s probe did not start: %s", c.ID, endAdvice(ctx))
		return res
	}
	if env.Progress != nil {
		env.Progress(c.ID, "running")
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
		// every probe stops at its context; this is the backstop for a bug
		t := time.NewTimer(env.overrunGrace())
		select {
		case o = <-out:
		case <-t.C:
			res.Duration = time.Since(start)
			res.Status, res.Error = StatusError, fmt.Sprintf("the %s probe did not stop at the deadline; please report it with the -v output", c.ID)
			return res
		}
		t.Stop()
	}
	res.Duration = time.Since(start)
	res.Observed, res.Summary = o.Observed, o.Summary
	if runEnded(ctx) {
		// cut short by the run's end: what it found so far is not a
		// verdict on the server
		res.Status, res.Error = StatusError, fmt.Sprintf("the %s probe did not finish: %s", c.ID, endAdvice(ctx))
		return res
	}
	withRunParams(env.Config, o.Findings)
	res = Resolve(res, accept(o, env.Config.Accept))
	if o.Skip != "" && res.Status != StatusError {
		if named {
			res.Status, res.Error = StatusError, namedButSkipped(c.ID, o.Skip)
		} else {
			res.Status, res.SkipReason = StatusSkip, o.Skip
		}
	}
	if env.Progress != nil {
		env.Progress(c.ID, string(res.Status))
	}
	return res
}

// namedButSkipped is the error of a check the user named in --checks that
// has nothing to run on: a monitor must not stay green when its
// credentials or inputs went missing.
func namedButSkipped(id, why string) string {
	return fmt.Sprintf("%s was named in --checks but cannot run: %s; give what it needs or leave it out of --checks", id, why)
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
	f.Remediation, f.References = catalog.Render(f.Code, f.Params)
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
