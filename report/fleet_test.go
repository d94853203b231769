package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
)

func fleetSample() FleetDoc {
	pass := Build("1.0.0", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), time.Second,
		Target{URI: "https://mail.fabrikam.test/PowerShell"}, []checks.Result{{ID: "dns", Title: "DNS", Status: checks.StatusPass}})
	notRun := Build("1.0.0", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), 0, Target{URI: "https://mail.contoso.test/PowerShell"}, nil)
	notRun.Status, notRun.ExitCode = "error", 3
	return FleetDoc{SchemaVersion: SchemaVersion, Runs: []RunDoc{
		{Deployment: "contoso", Vantage: "external", Labels: map[string]string{"tier": "gold"}, Doc: sample()},
		{Deployment: "fabrikam", Doc: pass},
		{Deployment: "contoso", Vantage: "proxy", Error: "not tried: the password was refused by contoso/external", Doc: notRun},
	}}
}

// The fleet JSON is one object of runs, each the single-run report with
// the deployment's names beside it; its exit code is the worst run's.
func TestFleetJSON(t *testing.T) {
	f := fleetSample()
	b, err := FleetJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		SchemaVersion int              `json:"schema_version"`
		Runs          []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 1 || len(m.Runs) != 3 {
		t.Fatalf("%s", b)
	}
	r := m.Runs[0]
	if r["deployment"] != "contoso" || r["vantage"] != "external" || r["labels"].(map[string]any)["tier"] != "gold" ||
		r["tool"] != "exdiag" || len(r["checks"].([]any)) != 3 {
		t.Errorf("run %v", r)
	}
	if _, ok := m.Runs[1]["vantage"]; ok {
		t.Error("an empty vantage is written")
	}
	if m.Runs[2]["error"] != "not tried: the password was refused by contoso/external" || m.Runs[2]["exit_code"].(float64) != 3 {
		t.Errorf("run %v", m.Runs[2])
	}
	if f.ExitCode() != 3 {
		t.Errorf("exit %d", f.ExitCode())
	}
}

// One summary row per deployment and vantage: verdict, exit code, first
// failing hop, codes, or why the run did not happen.
func TestFleetSummary(t *testing.T) {
	out := FleetSummary(fleetSample(), false)
	for _, want := range []string{
		"│ contoso    │ external │ ERROR   │    3 │ dns               │ DNS-EXT-NXDOMAIN",
		"│ fabrikam   │ -        │ PASS    │    0 │ -                 │ -",
		"│ contoso    │ proxy    │ ERROR   │    3 │ -                 │ not tried: the password was refused by",
		"3 runs; exit 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	table := FleetTable(fleetSample(), false)
	if strings.Count(table, "== ") != 3 || !strings.Contains(table, "== contoso/proxy ==\nERROR not tried") {
		t.Errorf("table:\n%s", table)
	}
	if strings.Contains(table, "\x1b[") {
		t.Error("colour without colour")
	}
}
