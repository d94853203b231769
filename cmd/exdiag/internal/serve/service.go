package serve

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// Budgets of a probe request, in one place.
const (
	// DefaultTimeoutOffset is taken off Prometheus' scrape timeout so the
	// answer is written before Prometheus gives up on it.
	DefaultTimeoutOffset = 500 * time.Millisecond
	// defaultScrapeTimeout stands in when a client sends no
	// X-Prometheus-Scrape-Timeout-Seconds (curl, a person): Prometheus'
	// own default.
	defaultScrapeTimeout = 10 * time.Second
	// minProbeTimeout is the least budget worth starting a probe with.
	minProbeTimeout = 100 * time.Millisecond
	// DefaultMaxConcurrent bounds the probes running at once over the
	// whole fleet: each holds a few connections and, for rbac, a session.
	DefaultMaxConcurrent = 8
	// maxDebugLog bounds the probe log kept for ?debug=true.
	maxDebugLog = 256 << 10
)

// Options configure a Service. Load is required.
type Options struct {
	// Load reads and validates the configuration file; it runs at start
	// and on every reload.
	Load          func() (*Fleet, error)
	TimeoutOffset time.Duration // default DefaultTimeoutOffset
	MaxConcurrent int           // default DefaultMaxConcurrent
	Logger        *slog.Logger  // default discards
	Version       string
	// Checks and NewEnv are the probes and their network seams; tests
	// inject fakes. Defaults: checks.All and checks.NewEnv.
	Checks []checks.Check
	NewEnv func(*checks.Config) *checks.Env
	Now    func() time.Time
}

// Service answers /probe, /metrics, / and /-/reload.
type Service struct {
	o       Options
	slots   chan struct{}
	flight  singleflight.Group
	metrics *serviceMetrics
	reg     *prometheus.Registry
	host    string // the vantage: where the probes run from

	mu         sync.RWMutex
	fleet      *Fleet
	reloadErr  error
	reloadedAt time.Time
	// rbac holds the last rbac result per deployment, so a session is
	// opened at most once per interval however often Prometheus scrapes.
	rbac map[string]rbacEntry
	// refused holds credentials the server refused as a bad password,
	// keyed by user and a digest of the password kept only in memory.
	refused map[credKey]refusal
	last    map[string]lastProbe
}

type rbacEntry struct {
	result checks.Result
	at     time.Time
}

type credKey struct {
	user   string
	digest [sha256.Size]byte
}

type lastProbe struct {
	at       time.Time
	status   string
	duration time.Duration
}

// New loads the configuration and returns the service; a configuration
// that does not validate is an error, so the process does not start on it.
func New(o Options) (*Service, error) {
	if o.Load == nil {
		return nil, errors.New("serve: Options.Load is required")
	}
	if o.TimeoutOffset <= 0 {
		o.TimeoutOffset = DefaultTimeoutOffset
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Checks == nil {
		o.Checks = checks.All()
	}
	if o.NewEnv == nil {
		o.NewEnv = checks.NewEnv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	fleet, err := o.Load()
	if err != nil {
		return nil, err
	}
	s := &Service{
		o:       o,
		slots:   make(chan struct{}, o.MaxConcurrent),
		fleet:   fleet,
		rbac:    map[string]rbacEntry{},
		refused: map[credKey]refusal{},
		last:    map[string]lastProbe{},
	}
	s.host, _ = os.Hostname()
	s.reloadedAt = o.Now()
	s.reg, s.metrics = newServiceMetrics(s)
	s.metrics.reloadOK.Set(1)
	s.metrics.reloadTime.Set(float64(s.reloadedAt.Unix()))
	return s, nil
}

// Reload reads the file again. When the new configuration does not
// validate, the old one stays in force and the error is returned (and
// logged). A successful reload forgets refused passwords: reloading is how
// an operator says "the password is fixed, try again".
func (s *Service) Reload() error {
	fleet, err := s.o.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reloadErr = err
		s.metrics.reloadOK.Set(0)
		s.o.Logger.Error("reload failed; keeping the previous configuration", "err", err)
		return err
	}
	s.fleet, s.reloadErr, s.reloadedAt = fleet, nil, s.o.Now()
	s.refused = map[credKey]refusal{}
	keep := map[string]bool{}
	keys := map[string]bool{}
	for _, t := range fleet.Targets {
		keep[t.Deployment] = true
		keys[t.Key()] = true
	}
	// drop what belongs to deployments that left the file, so a long run
	// of edits cannot grow the maps
	for d := range s.rbac {
		if !keep[d] {
			delete(s.rbac, d)
		}
	}
	for k := range s.last {
		if !keys[k] {
			delete(s.last, k)
		}
	}
	s.metrics.reloadOK.Set(1)
	s.metrics.reloadTime.Set(float64(s.reloadedAt.Unix()))
	s.o.Logger.Info("configuration reloaded", "targets", len(fleet.Targets))
	return nil
}

// Handler routes the service's endpoints.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/probe", s.handleProbe)
	mux.Handle("/metrics", s.metricsHandler())
	mux.HandleFunc("/-/reload", s.handleReload)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/{$}", s.handleStatus)
	return mux
}

func (s *Service) handleReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST")
		http.Error(w, "reload takes POST; e.g. curl -X POST http://HOST/-/reload", http.StatusMethodNotAllowed)
		return
	}
	if err := s.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("reload failed, previous configuration kept: %v", err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "reloaded")
}

// deadline is the probe's budget: Prometheus' scrape timeout less the
// offset, never more than the target's own --timeout.
func (s *Service) deadline(r *http.Request, max time.Duration) (time.Duration, error) {
	scrape := defaultScrapeTimeout
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		var secs float64
		if _, err := fmt.Sscanf(v, "%g", &secs); err != nil || secs <= 0 || secs > 24*3600 {
			return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q is not a positive number of seconds", v)
		}
		scrape = time.Duration(secs * float64(time.Second))
	}
	d := scrape - s.o.TimeoutOffset
	if max > 0 && d > max {
		d = max
	}
	if d < minProbeTimeout {
		return 0, fmt.Errorf("the scrape timeout %s leaves no time for a probe after --timeout-offset %s; raise scrape_timeout or lower --timeout-offset", scrape, s.o.TimeoutOffset)
	}
	return d, nil
}

// acquire waits for one of the service's probe slots until ctx ends.
func (s *Service) acquire(ctx context.Context) (func(), error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("all %d probe slots were busy until the deadline; raise --max-concurrent or the scrape timeout", cap(s.slots))
	}
}
