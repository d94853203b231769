package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/report"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// refusalCodes are the findings that mean "this password is wrong": the
// server said so, so sending it again only counts towards a lockout.
var refusalCodes = map[string]bool{"AUTH-BAD-CREDENTIALS": true, "SPN-PREAUTH-FAILED": true}

// outcome is one probe's result, shared by every scrape that waited for it.
type outcome struct {
	target Target
	doc    report.Doc
	log    []byte
	// rbacAge is how old the rbac result in doc is (0 when it ran now);
	// hasRBAC is false when the doc has no rbac result that ran.
	rbacAge time.Duration
	hasRBAC bool
	// withheld is true when the password was not sent because the server
	// refused it earlier; retryIn is the back-off left.
	withheld bool
	retryIn  time.Duration
	timeout  time.Duration
}

func (s *Service) handleProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("target")
	if name == "" {
		http.Error(w, "the target parameter is missing; give /probe?target=DEPLOYMENT[&vantage=VANTAGE]", http.StatusBadRequest)
		return
	}
	s.mu.RLock()
	t, err := s.fleet.find(name, q.Get("vantage"))
	s.mu.RUnlock()
	if err != nil {
		s.metrics.requests.WithLabelValues("unknown_target").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	budget, err := s.deadline(r, 0)
	if err != nil {
		s.metrics.requests.WithLabelValues("bad_timeout").Inc()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.metrics.requests.WithLabelValues("probe").Inc()

	// One probe per target at a time: a scrape that arrives while one runs
	// (two Prometheus servers, a person with curl) waits for it and shares
	// its result. The probe's context keeps the first request's deadline
	// but not its cancellation, so the others still get an answer if the
	// first one hangs up.
	ch := s.flight.DoChan(t.Key(), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), budget)
		defer cancel()
		return s.probe(ctx, t, budget)
	})
	wait, cancel := context.WithTimeout(r.Context(), budget+time.Second)
	defer cancel()
	var res singleflightResult
	select {
	case v := <-ch:
		res = singleflightResult{v.Val, v.Err}
	case <-wait.Done():
		http.Error(w, "the probe did not finish within the scrape timeout; raise scrape_timeout", http.StatusServiceUnavailable)
		return
	}
	if res.err != nil {
		// exdiag could not tell (a password file gone, every slot busy):
		// not a verdict on the deployment, so no probe_success=0.
		http.Error(w, res.err.Error(), http.StatusServiceUnavailable)
		return
	}
	o := res.val.(*outcome)
	reg := prometheus.NewRegistry()
	if err := collectProbe(reg, o); err != nil {
		http.Error(w, "cannot collect the probe's metrics: "+err.Error()+"; please report it", http.StatusInternalServerError)
		return
	}
	if q.Get("debug") == "true" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(debugText(o, reg))
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

type singleflightResult struct {
	val any
	err error
}

// probe runs the target's checks once, under the service's protections.
func (s *Service) probe(ctx context.Context, t Target, budget time.Duration) (*outcome, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		s.metrics.errors.WithLabelValues("busy").Inc()
		return nil, err
	}
	defer release()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()

	cfg, err := t.Config()
	if err != nil {
		s.metrics.errors.WithLabelValues("config").Inc()
		s.o.Logger.Error("cannot build the run", "target", t.Key(), "err", err)
		return nil, fmt.Errorf("target %s: %v", t.Key(), err)
	}
	if cfg.Timeout > 0 && cfg.Timeout < budget {
		budget = cfg.Timeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, budget)
		defer cancel()
	}
	now := s.o.Now()
	o := &outcome{target: t, timeout: budget}

	// A password the server refused is not sent again until a reload or
	// the back-off has passed; its refusing results are served instead.
	var cred credKey
	var refusedResults []checks.Result
	if cfg.HasCredentials() {
		cred = credKey{user: cfg.User, digest: sha256.Sum256([]byte(cfg.Password.Reveal()))}
		s.mu.Lock()
		if r, ok := s.refused[cred]; ok {
			if left := r.until.Sub(now); left > 0 {
				o.withheld, o.retryIn, refusedResults = true, left, r.results
			} else {
				delete(s.refused, cred)
			}
		}
		s.mu.Unlock()
	}
	log := newDebugLog(cfg.Password.Reveal())
	if o.withheld {
		cfg.Password = checks.Secret{}
		log.Logf("the password of %s was refused; not sending it for another %s (reload to retry now)",
			cfg.User, o.retryIn.Round(time.Second))
	}

	// rbac opens a PowerShell session: at most once per interval per
	// deployment, the last result served in between.
	var cached *rbacEntry
	list := s.o.Checks
	if cfg.Selected("rbac") && !o.withheld {
		s.mu.RLock()
		if e, ok := s.rbac[t.Deployment]; ok && now.Sub(e.at) < t.rbacInterval() {
			cached = &e
		}
		s.mu.RUnlock()
		if cached != nil {
			// leave rbac out of the list rather than out of --checks: a
			// check named there must have its inputs, the others not
			list = without(list, "rbac")
			log.Logf("rbac: serving the result of %s ago (rbac_interval %s)", now.Sub(cached.at).Round(time.Second), t.rbacInterval())
		}
	}

	env := s.o.NewEnv(cfg)
	env.Logf = log.Logf
	started := time.Now()
	results := checks.Run(ctx, env, list)
	elapsed := time.Since(started)

	results = s.splice(results, t, cfg, cached, refusedResults, o, now)
	if !o.withheld && cfg.HasCredentials() {
		if rs := refusals(results); rs != nil {
			s.mu.Lock()
			// a rotating wrong password adds a key each time: drop the
			// expired ones so the map stays as small as the back-offs
			for k, r := range s.refused {
				if !now.Before(r.until) {
					delete(s.refused, k)
				}
			}
			s.refused[cred] = refusal{until: now.Add(t.backoff()), results: rs}
			s.mu.Unlock()
			s.metrics.refusals.Inc()
			log.Logf("the server refused the password of %s; it is not sent again for %s or until a reload", cfg.User, t.backoff())
		}
	}
	o.doc = report.Build(report.Meta{
		Version: s.o.Version, Started: started, Elapsed: elapsed,
		Target:  report.Target{URI: cfg.URI.String(), Host: cfg.Host, Port: cfg.Port},
		Vantage: report.Vantage{Host: s.host},
	}, results)
	o.log = log.Bytes()
	s.metrics.observe(o, elapsed)
	s.o.Logger.Debug("probe", "target", t.Key(), "status", o.doc.Status, "duration", elapsed.Round(time.Millisecond),
		"rbac_age", o.rbacAge.Round(time.Second), "password_withheld", o.withheld)
	s.mu.Lock()
	s.last[t.Key()] = lastProbe{at: now, status: o.doc.Status, duration: elapsed}
	s.mu.Unlock()
	return o, nil
}

// refusal is a password the server refused: withheld until until, its
// refusing results served meanwhile.
type refusal struct {
	until   time.Time
	results []checks.Result
}

// splice puts the served rbac result (fresh or cached) and, while a
// password is withheld, the results that refused it, into the run's
// results, and records a fresh rbac result for the next scrapes.
func (s *Service) splice(results []checks.Result, t Target, cfg *checks.Config, cached *rbacEntry,
	refused []checks.Result, o *outcome, now time.Time) []checks.Result {
	byID := map[string]int{}
	for i, r := range results {
		byID[r.ID] = i
	}
	for _, r := range refused {
		if i, ok := byID[r.ID]; ok {
			results[i] = r
		}
	}
	if o.withheld {
		if i, ok := byID["rbac"]; ok {
			results[i] = checks.Result{ID: "rbac", Title: results[i].Title, Status: checks.StatusSkip,
				SkipReason: "not tried: the server refused the password; fix it and reload, or wait for the back-off",
				Findings:   []checks.Finding{}}
		}
		return results
	}
	if cached == nil {
		if i, ok := byID["rbac"]; ok && results[i].Status != checks.StatusSkip {
			s.mu.Lock()
			s.rbac[t.Deployment] = rbacEntry{result: results[i], at: now}
			s.mu.Unlock()
			s.metrics.sessions.Inc()
			o.hasRBAC = true
		}
		return results
	}
	r := cached.result
	// the session's answer is only as good as today's logon: if auth does
	// not pass now, rbac is skipped as the runner would skip it
	if i, ok := byID["auth"]; ok && (results[i].Status == checks.StatusFail || results[i].Status == checks.StatusError) {
		r = checks.Result{ID: "rbac", Title: r.Title, Status: checks.StatusSkip,
			SkipReason: fmt.Sprintf("prerequisite auth did not pass (%s)", results[i].Status), Findings: []checks.Finding{}}
	} else {
		o.hasRBAC, o.rbacAge = true, now.Sub(cached.at)
	}
	// the runner left rbac out; put it back in its place in the list
	out := make([]checks.Result, 0, len(results)+1)
	placed := false
	for _, c := range s.o.Checks {
		if c.ID == "rbac" {
			out, placed = append(out, r), true
			continue
		}
		if i, ok := byID[c.ID]; ok {
			out = append(out, results[i])
		}
	}
	if !placed {
		out = append(out, r)
	}
	return out
}

// refusals returns the results that carry a bad-password finding.
func refusals(rs []checks.Result) []checks.Result {
	var out []checks.Result
	for _, r := range rs {
		for _, f := range r.Findings {
			if refusalCodes[f.Code] {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// without is list less the check id.
func without(list []checks.Check, id string) []checks.Check {
	out := make([]checks.Check, 0, len(list))
	for _, c := range list {
		if c.ID != id {
			out = append(out, c)
		}
	}
	return out
}

// debugText is ?debug=true: the probe log, then the metrics as text.
func debugText(o *outcome, reg *prometheus.Registry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "probe of %s (timeout %s)\n\nlog:\n", o.target.Key(), o.timeout)
	b.Write(o.log)
	b.WriteString("\nmetrics:\n")
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Fprintf(&b, "cannot gather the metrics: %v\n", err)
		return b.Bytes()
	}
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		_ = enc.Encode(mf)
	}
	return b.Bytes()
}
