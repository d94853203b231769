package report

import (
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/prometheus/client_golang/prometheus"
)

// Collect registers a run's metrics on reg: the one definition of the
// metric families that `exdiag serve` answers on /probe. Names follow
// Prometheus' conventions (base units, _seconds), and a finding's catalog
// code is a label, so an alert rule can say
// exdiag_finding{code="TLS-EXPIRES-SOON"} == 1.
func Collect(reg prometheus.Registerer, d Doc) error {
	success := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "probe_success",
		Help: "1 when no check failed or errored (warnings pass), else 0.",
	})
	if d.Status == string(checks.StatusPass) || d.Status == string(checks.StatusWarn) {
		success.Set(1)
	}
	duration := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "probe_duration_seconds",
		Help: "How long the run took.",
	})
	duration.Set(float64(d.DurationMS) / 1000)
	exit := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exdiag_exit_code",
		Help: "The exit code `exdiag run` would have given: 0 pass, 1 warning, 2 failure, 3 exdiag could not tell.",
	})
	exit.Set(float64(d.ExitCode))
	status := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "exdiag_check_status",
		Help: "1 for each check's status, 0 for its other statuses.",
	}, []string{"check", "status"})
	checkDur := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "exdiag_check_duration_seconds",
		Help: "How long each check took.",
	}, []string{"check"})
	finding := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "exdiag_finding",
		Help: "How many findings of a catalog code a check raised for a target (see exdiag explain CODE).",
	}, []string{"check", "code", "severity", "target"})
	notAfter := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "exdiag_tls_cert_expiry_timestamp_seconds",
		Help: "When the leaf certificate an endpoint presented expires, in Unix seconds.",
	}, []string{"target"})
	commands := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exdiag_rbac_commands",
		Help: "Commands the user's remote PowerShell session lists.",
	})
	addrs := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "exdiag_dns_addresses",
		Help: "Addresses each DNS view returned for the name.",
	}, []string{"view"})
	reg.MustRegister(success, duration, exit, status, checkDur, finding)
	var haveCert, haveRBAC, haveDNS bool
	for _, c := range d.Checks {
		for _, s := range []checks.Status{checks.StatusPass, checks.StatusWarn, checks.StatusFail, checks.StatusSkip, checks.StatusError} {
			v := 0.0
			if c.Status == string(s) {
				v = 1
			}
			status.WithLabelValues(c.ID, string(s)).Set(v)
		}
		checkDur.WithLabelValues(c.ID).Set(float64(c.DurationMS) / 1000)
		for _, f := range c.Findings {
			finding.WithLabelValues(c.ID, f.Code, string(f.Severity), f.Target).Inc()
		}
		switch o := c.Observed.(type) {
		case checks.TLSObserved:
			for _, e := range append([]checks.TLSEndpoint{o.TLSEndpoint}, o.Backends...) {
				if len(e.Chain) == 0 {
					continue
				}
				if t, err := time.Parse(time.RFC3339, e.Chain[0].NotAfter); err == nil {
					target := e.URL
					if target == "" {
						target = d.Target.URI
					}
					notAfter.WithLabelValues(target).Set(float64(t.Unix()))
					haveCert = true
				}
			}
		case *checks.RBACObserved:
			if c.Status != string(checks.StatusError) {
				commands.Set(float64(o.CommandCount))
				haveRBAC = true
			}
		case checks.DNSObserved:
			for _, v := range o.Views {
				addrs.WithLabelValues(v.View).Add(float64(len(v.Addresses)))
				haveDNS = true
			}
		}
	}
	// a family with nothing observed is left out rather than reported as 0
	if haveCert {
		reg.MustRegister(notAfter)
	}
	if haveRBAC {
		reg.MustRegister(commands)
	}
	if haveDNS {
		reg.MustRegister(addrs)
	}
	return nil
}
