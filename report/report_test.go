package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
)

func sample() Doc {
	rs := []checks.Result{
		{ID: "dns", Title: "DNS split view", Status: checks.StatusFail, Duration: 12 * time.Millisecond,
			Observed: map[string]any{"views": []any{}},
			Findings: []checks.Finding{{Code: "DNS-EXT-NXDOMAIN", Severity: checks.SevFail, Target: "external 192.0.2.53:53",
				Summary: "mail.contoso.test does not exist", Remediation: []string{"create the record", "second"}, References: []string{"https://example.invalid"}}}},
		{ID: "tls", Title: "TLS certificate chain", Status: checks.StatusSkip, SkipReason: "prerequisite dns did not pass (fail)"},
		{ID: "rbac", Title: "RBAC cmdlets", Status: checks.StatusError, Error: "internal error"},
	}
	return Build("1.0.0", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), 412*time.Millisecond,
		Target{URI: "https://mail.contoso.test/PowerShell", Host: "mail.contoso.test", Port: 443}, rs)
}

func TestJSONFollowsSchema(t *testing.T) {
	b, err := JSON(sample())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "tool", "version", "started_at", "duration_ms", "target", "status", "exit_code", "summary", "checks"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if m["status"] != "error" || m["exit_code"].(float64) != 3 || m["schema_version"].(float64) != 1 {
		t.Errorf("status/exit: %v %v", m["status"], m["exit_code"])
	}
	c := m["checks"].([]any)[0].(map[string]any)
	f := c["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"code", "severity", "target", "summary", "remediation", "references"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %s", k)
		}
	}
	if strings.Contains(string(b), "\x1b") {
		t.Error("JSON carries an escape code")
	}
	skipped := m["checks"].([]any)[1].(map[string]any)
	if skipped["findings"] == nil {
		t.Error("findings must be [] not null")
	}
}

func TestTableColourOnlyWhenAsked(t *testing.T) {
	plain := Table(sample(), false)
	if strings.Contains(plain, "\x1b") {
		t.Errorf("plain table has escape codes:\n%s", plain)
	}
	for _, want := range []string{"DNS-EXT-NXDOMAIN", "fix: create the record", "prerequisite dns", "exit 3", "exdiag explain"} {
		if !strings.Contains(plain, want) {
			t.Errorf("table lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "second") {
		t.Error("table should show only the first remediation step")
	}
	if !strings.Contains(Table(sample(), true), "\x1b[") {
		t.Error("colour table has no colour")
	}
}
