package report

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics of one run, shared by the prometheus format and `exdiag
// serve`'s /probe endpoint, so a textfile and a scrape carry the same
// series. Names follow the Prometheus conventions: base units (seconds),
// _timestamp_seconds for points in time, one 0/1 series per state.
var (
	descProbeSuccess = prometheus.NewDesc("probe_success",
		"1 when the deployment works: no check failed and none errored (exit code 0 or 1).", nil, nil)
	descProbeDuration = prometheus.NewDesc("probe_duration_seconds",
		"How long the whole run took.", nil, nil)
	descExitCode = prometheus.NewDesc("exdiag_exit_code",
		"The run's exit code: 0 pass, 1 warn, 2 the deployment is broken, 3 exdiag could not tell.", nil, nil)
	descBuildInfo = prometheus.NewDesc("exdiag_build_info",
		"Always 1; the version label is exdiag's version.", []string{"version"}, nil)
	descCheckStatus = prometheus.NewDesc("exdiag_check_status",
		"1 for the status each check ended in, 0 for the others.", []string{"check", "status"}, nil)
	descCheckDuration = prometheus.NewDesc("exdiag_check_duration_seconds",
		"How long each check ran (0 when it was skipped).", []string{"check"}, nil)
	descFinding = prometheus.NewDesc("exdiag_finding",
		"How many findings of a catalog code a check raised for a target (see exdiag explain CODE).",
		[]string{"check", "code", "severity", "target"}, nil)
	descCertExpiry = prometheus.NewDesc("exdiag_tls_cert_expiry_timestamp_seconds",
		"When the leaf certificate an endpoint presented expires, in Unix seconds.", []string{"target"}, nil)
	descRBACCommands = prometheus.NewDesc("exdiag_rbac_commands",
		"Commands the remote PowerShell session exposes to the user.", nil, nil)
	descDNSAddresses = prometheus.NewDesc("exdiag_dns_addresses",
		"Addresses each DNS view answered for the endpoint's name.", []string{"view"}, nil)
)

// statuses are the values exdiag_check_status has a series for.
var statuses = []string{"pass", "warn", "fail", "skip", "error"}

// Collector exposes one run's Doc as metrics. A Doc is a finished run, so
// Collect is a pure function of it; register a fresh Collector per run
// (per /probe request) on a fresh registry.
type Collector struct{ doc Doc }

// NewCollector returns the metrics of d.
func NewCollector(d Doc) *Collector { return &Collector{doc: Clean(d)} }

// Collect registers the metrics of d on reg.
func Collect(reg prometheus.Registerer, d Doc) error { return reg.Register(NewCollector(d)) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descProbeSuccess, descProbeDuration, descExitCode, descBuildInfo,
		descCheckStatus, descCheckDuration, descFinding, descCertExpiry, descRBACCommands, descDNSAddresses} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := c.doc
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	success := 0.0
	if d.ExitCode == 0 || d.ExitCode == 1 {
		success = 1
	}
	gauge(descProbeSuccess, success)
	gauge(descProbeDuration, float64(d.DurationMS)/1000)
	gauge(descExitCode, float64(d.ExitCode))
	gauge(descBuildInfo, 1, d.Version)

	type findingKey struct{ check, code, severity, target string }
	findings := map[findingKey]int{}
	var order []findingKey
	for _, k := range d.Checks {
		for _, s := range statuses {
			v := 0.0
			if k.Status == s {
				v = 1
			}
			gauge(descCheckStatus, v, k.ID, s)
		}
		gauge(descCheckDuration, float64(k.DurationMS)/1000, k.ID)
		for _, f := range k.Findings {
			key := findingKey{k.ID, f.Code, string(f.Severity), f.Target}
			if findings[key] == 0 {
				order = append(order, key)
			}
			findings[key]++
		}
	}
	// one series per code and target: the same label set twice would make
	// the exposition invalid, so repeats are counted
	for _, key := range order {
		gauge(descFinding, float64(findings[key]), key.check, key.code, key.severity, key.target)
	}

	seen := map[string]bool{}
	for _, cert := range d.Certificates {
		if cert.Position != 0 || seen[cert.Target] {
			continue
		}
		t, err := time.Parse(time.RFC3339, cert.NotAfter)
		if err != nil {
			continue
		}
		seen[cert.Target] = true
		gauge(descCertExpiry, float64(t.Unix()), cert.Target)
	}

	var rbac struct {
		CommandCount *int `json:"command_count"`
	}
	if r := d.check("rbac"); r != nil && (r.Status == "pass" || r.Status == "warn" || r.Status == "fail") &&
		observed(r, &rbac) && rbac.CommandCount != nil {
		gauge(descRBACCommands, float64(*rbac.CommandCount))
	}

	var dns dnsObserved
	if observed(d.check("dns"), &dns) {
		views := map[string]int{}
		var vorder []string
		for _, v := range dns.Views {
			if _, ok := views[v.View]; !ok {
				vorder = append(vorder, v.View)
			}
			views[v.View] += len(v.Addresses)
		}
		for _, v := range vorder {
			gauge(descDNSAddresses, float64(views[v]), v)
		}
	}
}
