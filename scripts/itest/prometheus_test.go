package itest

// `exdiag serve` scraped by a real Prometheus (Debian's package, started by
// scripts/servers/prometheus.sh) the blackbox_exporter way, against a lab
// fleet from `exdiag lab serve … --config-out`.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// labAdminPassword is the lab administrator's test password, which a lab
// profile reads from EXDIAG_LAB_PASSWORD.
const labAdminPassword = "Lab-Admin-Pass1"

// StartExdiag runs the built exdiag binary in the background like a
// server script, stopped (TERM, then KILL) when the test ends.
func StartExdiag(t *testing.T, env []string, args ...string) *Server {
	t.Helper()
	cmd := exec.Command(exdiagBin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	return startProcess(t, "exdiag "+strings.Join(args[:min(2, len(args))], " "), cmd)
}

// httpGet fetches url with a deadline and returns the status and body.
func httpGet(t *testing.T, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// promtoolCheck lints an exposition with `promtool check metrics`.
func promtoolCheck(t *testing.T, what, body string) {
	t.Helper()
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics on %s: %v\n%s", what, err, out.String())
	}
}

// promQuery asks Prometheus' HTTP API for an instant vector and returns
// each series' instance label and value.
func promQuery(t *testing.T, base, query string) map[string]float64 {
	t.Helper()
	code, body := httpGet(t, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if code != http.StatusOK {
		t.Fatalf("query %s: %d %s", query, code, body)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", query, err, body)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
		out[s.Metric["instance"]] = v
	}
	return out
}

func TestPrometheusScrapesServe(t *testing.T) {
	NeedBinaries(t, "prometheus", "promtool")
	work := serverDir(t, "exdiag-serve-")
	fleet := filepath.Join(work, "fleet.yaml")
	lab := StartExdiag(t, nil, "lab", "serve", "healthy", "basic-disabled", "--config-out", fleet)
	lab.WaitReady(t, "the profile file", 60*time.Second, func() bool {
		_, err := os.Stat(fleet)
		return err == nil && strings.Contains(lab.Output(), "EXDIAG_LAB_PASSWORD")
	})

	serveAddr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	srv := StartExdiag(t, []string{"EXDIAG_LAB_PASSWORD=" + labAdminPassword},
		"serve", "--config", fleet, "--listen", serveAddr)
	srv.WaitReady(t, "a listener on "+serveAddr, 30*time.Second, func() bool { return Accepts(serveAddr) })

	// every answer passes Prometheus' own linter
	timeout := map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "10"}
	for _, target := range []string{"healthy", "basic-disabled"} {
		code, body := httpGet(t, "http://"+serveAddr+"/probe?target="+target, timeout)
		if code != http.StatusOK {
			t.Fatalf("/probe?target=%s: %d %s", target, code, body)
		}
		promtoolCheck(t, "/probe?target="+target, body)
	}
	code, body := httpGet(t, "http://"+serveAddr+"/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	promtoolCheck(t, "/metrics", body)

	promDir := serverDir(t, "exdiag-prometheus-")
	// the alert rules the README documents, checked and loaded as written
	rules := filepath.Join(promDir, "rules.yml")
	if err := os.WriteFile(rules, []byte(readmeBlock(t, "### Alert rules")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the README's alert rules: %v\n%s", err, out)
	}
	readmeScrape := filepath.Join(promDir, "readme-scrape.yml")
	if err := os.WriteFile(readmeScrape, []byte(readmeBlock(t, "### Scrape configuration")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "check", "config", "--syntax-only", readmeScrape).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config on the README's scrape configuration: %v\n%s", err, out)
	}
	promAddr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: exdiag
    metrics_path: /probe
    scrape_interval: 2s
    scrape_timeout: 2s
    static_configs:
      - targets: [healthy, basic-disabled]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: %[1]s
  - job_name: exdiag-self
    static_configs:
      - targets: ['%[1]s']
`, serveAddr)
	if err := os.WriteFile(filepath.Join(promDir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "check", "config", filepath.Join(promDir, "prometheus.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	prom := StartServer(t, "prometheus.sh", []string{"PROM_PORT=" + strings.Split(promAddr, ":")[1], "PROM_DIR=" + promDir})
	base := "http://" + promAddr
	prom.WaitReady(t, "Prometheus ready", 60*time.Second, func() bool {
		c, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		c.Body.Close()
		return c.StatusCode == http.StatusOK
	})

	// poll until both targets have been scraped, with a bounded deadline
	var success map[string]float64
	deadline := time.Now().Add(60 * time.Second)
	for {
		success = promQuery(t, base, `probe_success{job="exdiag"}`)
		if len(success) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if v, ok := success["healthy"]; !ok || v != 1 {
		t.Errorf("probe_success for healthy: %v (present %v), want 1; all: %v", v, ok, success)
	}
	if v, ok := success["basic-disabled"]; !ok || v != 0 {
		t.Errorf("probe_success for basic-disabled: %v (present %v), want 0; all: %v", v, ok, success)
	}
	findings := promQuery(t, base, `exdiag_finding{job="exdiag",code="AUTH-BASIC-NOT-OFFERED"} == 1`)
	if _, ok := findings["basic-disabled"]; !ok {
		t.Errorf("no exdiag_finding with code AUTH-BASIC-NOT-OFFERED for basic-disabled: %v", findings)
	}
	if f := promQuery(t, base, `exdiag_finding{job="exdiag",instance="healthy",severity="fail"}`); len(f) != 0 {
		t.Errorf("healthy has failing findings: %v", f)
	}
	// the self-scrape runs on its own schedule: wait for its first sample
	var up map[string]float64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		up = promQuery(t, base, `up`)
		if len(up) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	for _, inst := range []string{"healthy", "basic-disabled", serveAddr} {
		if up[inst] != 1 {
			t.Errorf("up{instance=%q} = %v, want 1 (all: %v)", inst, up[inst], up)
		}
	}
	// the README's rule fires its pending state for the broken deployment only
	deadline = time.Now().Add(20 * time.Second)
	for {
		alerts := promQuery(t, base, `ALERTS{alertname="ExchangeRemotePowerShellDown"}`)
		if _, ok := alerts["basic-disabled"]; ok || time.Now().After(deadline) {
			if !ok {
				t.Errorf("the README's ExchangeRemotePowerShellDown rule is not pending for basic-disabled: %v", alerts)
			}
			if _, bad := alerts["healthy"]; bad {
				t.Errorf("ExchangeRemotePowerShellDown is pending for healthy")
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// the service's own metrics, as Prometheus stored them
	deadline = time.Now().Add(20 * time.Second)
	for {
		probes := promQuery(t, base, `sum(exdiag_probes_total)`)
		if probes[""] >= 2 || time.Now().After(deadline) {
			if probes[""] < 2 {
				t.Errorf("exdiag_probes_total in Prometheus: %v", probes)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// readmeBlock is the indented block that follows heading in README.md,
// unindented: the documentation's examples are the ones the test runs.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	var out []string
	started := false
	for _, l := range strings.Split(after, "\n") {
		switch {
		case strings.HasPrefix(l, "    "):
			started = true
			out = append(out, strings.TrimPrefix(l, "    "))
		case l == "" && !started:
		case l == "":
			out = append(out, "")
		default:
			if started {
				return strings.Join(out, "\n") + "\n"
			}
		}
	}
	t.Fatalf("README.md has no indented block under %q", heading)
	return ""
}
