package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func fleetSample() FleetDoc {
	broken, healthy := caseBroken(), caseHealthy()
	broken.Vantage.Name = "external"
	notRun := Build(meta(), nil)
	notRun.Vantage.Name = "proxy"
	notRun.Status, notRun.ExitCode = "error", 3
	return FleetDoc{SchemaVersion: SchemaVersion, Runs: []RunDoc{
		{Deployment: "contoso", Labels: map[string]string{"tier": "gold"}, Doc: broken},
		{Deployment: "fabrikam", Doc: healthy},
		{Deployment: "contoso", Error: "not tried: the password was refused by contoso/external", Doc: notRun},
	}}
}

func fleetRender(t *testing.T, format string, fd FleetDoc) string {
	t.Helper()
	f, _ := Lookup(format)
	var b bytes.Buffer
	if err := RenderFleet(&b, f, fd, Options{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The fleet JSON is one object of runs, each the single-run report with
// the deployment and labels beside it and the vantage's name in its
// vantage; its exit code is the worst run's.
func TestFleetJSON(t *testing.T) {
	fd := fleetSample()
	var m struct {
		SchemaVersion int              `json:"schema_version"`
		Runs          []map[string]any `json:"runs"`
	}
	if err := json.Unmarshal([]byte(fleetRender(t, "json", fd)), &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 1 || len(m.Runs) != 3 {
		t.Fatalf("%+v", m)
	}
	r := m.Runs[0]
	if r["deployment"] != "contoso" || r["vantage"].(map[string]any)["name"] != "external" || r["labels"].(map[string]any)["tier"] != "gold" ||
		r["tool"] != "exdiag" || len(r["checks"].([]any)) != 6 {
		t.Errorf("run %v", r)
	}
	if _, ok := m.Runs[1]["vantage"].(map[string]any)["name"]; ok {
		t.Error("an empty vantage name is written")
	}
	if m.Runs[2]["error"] != "not tried: the password was refused by contoso/external" || m.Runs[2]["exit_code"].(float64) != 3 {
		t.Errorf("run %v", m.Runs[2])
	}
	if fd.ExitCode() != 3 {
		t.Errorf("exit %d", fd.ExitCode())
	}
}

// One summary row per deployment and vantage: verdict, exit code, first
// failing hop, codes, or why the run did not happen.
func TestFleetSummary(t *testing.T) {
	out := fleetRender(t, "table", fleetSample())
	for _, want := range []string{
		"│ contoso    │ external │ FAIL    │    2 │ auth              │ AUTH-BASIC-NOT-OFFERED",
		"│ fabrikam   │ -        │ WARN    │    1 │ -                 │ RBAC-FEW-CMDLETS",
		"│ contoso    │ proxy    │ ERROR   │    3 │ -                 │ not tried: the password was refused by",
		"3 runs; exit 3",
		"== contoso/proxy ==\nERROR not tried",
		"== contoso/external ==\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fleet table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour without colour")
	}
	f, _ := Lookup("junit")
	if err := RenderFleet(&bytes.Buffer{}, f, fleetSample(), Options{}); err == nil {
		t.Error("a one-run format rendered a fleet")
	}
}
