package profile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks"
)

// Fleet defaults. A few runs at once keep a laptop or a monitoring host
// responsive; Exchange allows 18 PowerShell sessions per user by default
// (PowerShellMaxConcurrency), and a runbook's own sessions must still fit.
const (
	DefaultParallel        = 4
	DefaultSessionsPerUser = 3
)

// refusalCodes are the findings that mean the server refused the
// password itself, not the route to it: once seen, the credential is not
// tried again in the same fleet run, so a wrong password does not lock
// the account out by being tried once per deployment.
var refusalCodes = []string{"AUTH-BAD-CREDENTIALS", "SPN-PREAUTH-FAILED"}

// Fleet runs many deployments concurrently, each with its own Env,
// budget and results, with safety across them: at most SessionsPerUser
// PowerShell sessions (the rbac probe) per user at once, and a credential
// that one deployment refused is not sent to the others.
type Fleet struct {
	Parallel        int // runs at once; 0 means DefaultParallel
	SessionsPerUser int // 0 means DefaultSessionsPerUser
	Getenv          func(string) string
	// Password supplies the password of a run whose profile names no
	// source (the CLI's EXDIAG_PASSWORD or prompt); nil leaves it empty.
	Password func(user string) (checks.Secret, error)
	// Prepare, when set, adjusts each run's configuration before it
	// starts (the CLI's -v, a test's budget).
	Prepare func(*checks.Config)
	// NewEnv builds each run's Env; nil means checks.NewEnv.
	NewEnv func(Run, *checks.Config) *checks.Env
	// Checks is the probe list; nil means checks.All().
	Checks []checks.Check
	// Done is called as each run ends, from its goroutine.
	Done func(Outcome)
}

// Outcome is one run of a fleet.
type Outcome struct {
	Run     Run
	Config  *checks.Config // nil when the run could not start
	Results []checks.Result
	Started time.Time
	Elapsed time.Duration
	// Err is why the run did not happen: a bad value, a missing password,
	// a credential refused by another deployment, an interruption.
	Err error
}

// ExitCode is the run's exit code: its results', or 3 when it did not run.
func (o Outcome) ExitCode() int {
	if o.Err != nil {
		return 3
	}
	return checks.ExitCode(o.Results)
}

// Execute runs every run and returns their outcomes in the order given.
func (f *Fleet) Execute(ctx context.Context, runs []Run) []Outcome {
	parallel := f.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	perUser := f.SessionsPerUser
	if perUser <= 0 {
		perUser = DefaultSessionsPerUser
	}
	getenv := f.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	newEnv := f.NewEnv
	if newEnv == nil {
		newEnv = func(_ Run, c *checks.Config) *checks.Env { return checks.NewEnv(c) }
	}
	list := f.Checks
	if list == nil {
		list = checks.All()
	}
	s := &safety{perUser: perUser, sessions: map[string]chan struct{}{}, creds: map[[32]byte]*credential{}}
	s.cond = sync.NewCond(&s.mu)

	out := make([]Outcome, len(runs))
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Outcome{Run: r}
			defer func() {
				out[i] = o
				if f.Done != nil {
					f.Done(o)
				}
			}()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				o.Err = errors.New("not run: interrupted")
				return
			}
			cfg, err := r.Config(getenv)
			if err == nil && cfg.User != "" && cfg.Password.Empty() && f.Password != nil {
				cfg.Password, err = f.Password(cfg.User)
			}
			if err != nil {
				o.Err = err
				return
			}
			if f.Prepare != nil {
				f.Prepare(cfg)
			}
			o.Config = cfg
			o.Started = time.Now()
			o.Results, o.Err = s.run(ctx, r.Name(), cfg, list, func(ctx context.Context, list []checks.Check) []checks.Result {
				rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
				defer cancel()
				env := newEnv(r, cfg)
				// a finished run's keep-alive connections would hold their
				// buffers and goroutines while the rest of the fleet runs
				defer env.CloseIdle()
				return checks.Run(rctx, env, list)
			})
			o.Elapsed = time.Since(o.Started)
		}()
	}
	wg.Wait()
	return out
}

// safety is the state a fleet run shares across its runs.
type safety struct {
	perUser  int
	mu       sync.Mutex
	cond     *sync.Cond
	sessions map[string]chan struct{} // user → session slots
	creds    map[[32]byte]*credential
}

// credential tracks one user name and password across the fleet. Until
// one run has sent it without a refusal, runs using it go one at a time,
// so a wrong password is refused once, not once per deployment.
type credential struct {
	inFlight  bool   // a run is trying it for the first time
	trusted   bool   // it was sent and not refused
	refusedBy string // the run that saw it refused
}

func credKey(user string, pw checks.Secret) [32]byte {
	return sha256.Sum256([]byte(strings.ToLower(user) + "\x00" + pw.Reveal()))
}

// run runs the list under the credential's rules: the first run of a
// credential holds the others back until its logons are judged (the auth
// and spn probes have answered), not until it ends, and a refusal seen at
// any time stops the runs that have not started.
func (s *safety) run(ctx context.Context, name string, cfg *checks.Config, list []checks.Check, fn func(context.Context, []checks.Check) []checks.Result) ([]checks.Result, error) {
	list = s.gated(list, cfg.User)
	if !cfg.HasCredentials() || !slices.ContainsFunc(list, func(c checks.Check) bool { return logsOn(c) && cfg.Selected(c.ID) }) {
		return fn(ctx, list), nil // the password is not sent
	}
	key := credKey(cfg.User, cfg.Password)
	s.mu.Lock()
	c := s.creds[key]
	if c == nil {
		c = &credential{}
		s.creds[key] = c
	}
	// a cancelled context must wake the waiters, or they would wait for
	// a first run that never ends
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	for c.refusedBy == "" && !c.trusted && c.inFlight && ctx.Err() == nil {
		s.cond.Wait()
	}
	switch {
	case c.refusedBy != "":
		s.mu.Unlock()
		return nil, fmt.Errorf("not tried: the password was refused by %s", c.refusedBy)
	case ctx.Err() != nil:
		s.mu.Unlock()
		return nil, errors.New("not run: interrupted")
	}
	first := !c.trusted
	if first {
		c.inFlight = true
	}
	s.mu.Unlock()

	// the probes that send the password report their verdict as they end
	var mu sync.Mutex
	pending, sentOK := 0, false
	var release sync.Once
	done := func() {
		release.Do(func() {
			s.mu.Lock()
			if first {
				c.inFlight = false
			}
			mu.Lock()
			ok := sentOK
			mu.Unlock()
			if ok && c.refusedBy == "" {
				c.trusted = true
			}
			s.cond.Broadcast()
			s.mu.Unlock()
		})
	}
	defer done() // probes that were skipped never report
	list = append([]checks.Check(nil), list...)
	for i, ch := range list {
		// auth judges rbac's logon unless rbac runs alone: its Basic step
		// is rbac's Create, or its own request, which rbac's waits for
		judges := logsOn(ch) && (ch.ID != checks.RBACCheck.ID || !cfg.Selected(checks.AuthCheck.ID))
		if !judges || ch.Run == nil || !cfg.Selected(ch.ID) {
			continue
		}
		pending++
		inner := ch.Run
		list[i].Run = func(ctx context.Context, env *checks.Env) checks.Outcome {
			o := inner(ctx, env)
			if refusedOutcome(o) {
				s.mu.Lock()
				if c.refusedBy == "" {
					c.refusedBy = name
				}
				s.mu.Unlock()
			}
			mu.Lock()
			pending--
			if o.Err == nil && o.Skip == "" && !refusedOutcome(o) {
				sentOK = true
			}
			last := pending == 0
			mu.Unlock()
			if last {
				done()
			}
			return o
		}
	}
	return fn(ctx, list), nil
}

// logsOn is true for the probes that send the password.
func logsOn(c checks.Check) bool {
	return c.ID == checks.AuthCheck.ID || c.ID == checks.SPNCheck.ID || c.ID == checks.RBACCheck.ID
}

func refusedOutcome(o checks.Outcome) bool {
	for _, f := range o.Findings {
		for _, c := range refusalCodes {
			if f.Code == c {
				return true
			}
		}
	}
	return false
}

// gated wraps the rbac probe so that no more than perUser sessions of one
// user are open across the fleet; the wait counts against the run's
// budget, as a session that cannot start in time cannot start at all.
func (s *safety) gated(list []checks.Check, user string) []checks.Check {
	if user == "" {
		return list
	}
	s.mu.Lock()
	key := strings.ToLower(user)
	slots := s.sessions[key]
	if slots == nil {
		slots = make(chan struct{}, s.perUser)
		s.sessions[key] = slots
	}
	s.mu.Unlock()
	out := append([]checks.Check(nil), list...)
	for i, c := range out {
		if c.ID != checks.RBACCheck.ID || c.Run == nil {
			continue
		}
		inner := c.Run
		out[i].Run = func(ctx context.Context, env *checks.Env) checks.Outcome {
			select {
			case slots <- struct{}{}:
			default:
				// the session waits for a slot: the auth probe must not
				// wait for its Create, and logs on with its own Basic
				env.ForgoLead("no powershell session slot was free")
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return checks.Outcome{Err: fmt.Errorf("no PowerShell session slot for %s within the budget (at most %d at once across the fleet); raise --timeout or --sessions-per-user", user, s.perUser)}
				}
			}
			defer func() { <-slots }()
			return inner(ctx, env)
		}
	}
	return out
}
