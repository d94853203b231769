package serve

import (
	"net/http"
	"time"

	"github.com/exdiag/exdiag/report"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serviceMetrics are /metrics: the service's own health, as opposed to
// the deployments' (those are on /probe, in a fresh registry per request).
type serviceMetrics struct {
	requests   *prometheus.CounterVec
	probes     *prometheus.CounterVec
	duration   prometheus.Histogram
	errors     *prometheus.CounterVec
	inFlight   prometheus.Gauge
	sessions   prometheus.Counter
	refusals   prometheus.Counter
	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge
}

func newServiceMetrics(s *Service) (*prometheus.Registry, *serviceMetrics) {
	m := &serviceMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exdiag_probe_requests_total",
			Help: "Requests to /probe by outcome: probe (answered by a probe, run or shared), unknown_target, bad_timeout.",
		}, []string{"outcome"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exdiag_probes_total",
			Help: "Probes run, by the run's status (pass, warn, fail, error); requests less probes is what scrapes shared.",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "exdiag_probe_run_duration_seconds",
			Help:    "How long probes took to run.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exdiag_probe_errors_total",
			Help: "Probes exdiag could not run, by reason: busy (no slot before the deadline), config (the target's run could not be built).",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exdiag_probes_in_flight",
			Help: "Probes running now.",
		}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "exdiag_rbac_sessions_total",
			Help: "PowerShell sessions the rbac check opened (at most one per deployment per rbac_interval).",
		}),
		refusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "exdiag_password_refusals_total",
			Help: "Times a server refused a password, which is then not sent again until a reload or the back-off.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exdiag_config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded (1) or failed and the previous one is still in force (0).",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exdiag_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, in Unix seconds.",
		}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.requests, m.probes, m.duration, m.errors, m.inFlight, m.sessions, m.refusals, m.reloadOK, m.reloadTime,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "exdiag_passwords_withheld",
			Help: "Credentials refused as a bad password and not sent until a reload or the back-off has passed.",
		}, func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(len(s.refused))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "exdiag_config_targets",
			Help: "Deployment/vantage pairs the configuration defines.",
		}, func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(len(s.fleet.Targets))
		}),
	)
	// every label value is known in advance, so the series exist from the start
	for _, v := range []string{"probe", "unknown_target", "bad_timeout"} {
		m.requests.WithLabelValues(v)
	}
	for _, v := range []string{"pass", "warn", "fail", "error"} {
		m.probes.WithLabelValues(v)
	}
	for _, v := range []string{"busy", "config"} {
		m.errors.WithLabelValues(v)
	}
	return reg, m
}

func (m *serviceMetrics) observe(o *outcome, elapsed time.Duration) {
	m.probes.WithLabelValues(o.doc.Status).Inc()
	m.duration.Observe(elapsed.Seconds())
}

func (s *Service) metricsHandler() http.Handler {
	return promhttp.InstrumentMetricHandler(s.reg, promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
}

// collectProbe fills a /probe registry: the report's metrics of the run
// (the same families `exdiag run --format prometheus` writes) and what
// only the service knows: how old the rbac answer is and whether a
// refused password is being withheld.
func collectProbe(reg *prometheus.Registry, o *outcome) error {
	if err := report.Collect(reg, o.doc); err != nil {
		return err
	}
	timeout := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "probe_timeout_seconds",
		Help: "The probe's budget: the scrape timeout less --timeout-offset, at most the target's timeout.",
	})
	timeout.Set(o.timeout.Seconds())
	withheld := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exdiag_password_withheld",
		Help: "1 when the server refused this target's password earlier and exdiag did not send it (reload the config to retry now).",
	})
	retry := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exdiag_password_retry_seconds",
		Help: "Seconds until a refused password is sent again; 0 when it is not withheld.",
	})
	if o.withheld {
		withheld.Set(1)
		retry.Set(o.retryIn.Seconds())
	}
	reg.MustRegister(timeout, withheld, retry)
	if o.hasRBAC {
		age := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exdiag_rbac_result_age_seconds",
			Help: "Age of the rbac result served: the session runs at most once per rbac_interval per deployment.",
		})
		age.Set(o.rbacAge.Seconds())
		reg.MustRegister(age)
	}
	return nil
}
