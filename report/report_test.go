package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/checks"
	"github.com/jedib0t/go-pretty/v6/text"
)

var update = flag.Bool("update", false, "rewrite the renderer golden files")

func render(t *testing.T, f Format, d Doc, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.Render(&b, d, o); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b.Bytes()
}

// TestGolden renders every case in every format; one golden file each.
func TestGolden(t *testing.T) {
	for name, mk := range cases() {
		for _, f := range Formats() {
			t.Run(name+"/"+f.Name, func(t *testing.T) {
				golden(t, name+"."+f.Name, render(t, f, mk(), Options{Width: 120}))
			})
		}
		t.Run(name+"/table-80-ascii", func(t *testing.T) {
			f, _ := Lookup("table")
			golden(t, name+".table-80-ascii", render(t, f, mk(), Options{Width: 80, ASCII: true}))
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no golden file %s (run go test ./report -run TestGolden -update): %v", path, err)
	}
	if !bytes.Equal(want, got) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from its golden file; diff it with %s.got, rerun with -update if intended", path, path)
	}
}

func TestRegistryIsComplete(t *testing.T) {
	want := []string{"table", "json", "markdown", "junit", "nagios", "html", "prometheus"}
	if got := Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("formats %v, want %v", got, want)
	}
	for ext, name := range map[string]string{"r.json": "json", "T.MD": "markdown", "x.xml": "junit", "p.html": "html", "m.prom": "prometheus", "t.txt": "table"} {
		if f, ok := ForFile(ext); !ok || f.Name != name {
			t.Errorf("%s: got %q, want %s", ext, f.Name, name)
		}
	}
	if _, ok := ForFile("report.csv"); ok {
		t.Error(".csv must not map to a format")
	}
}

func TestJSONFollowsSchema(t *testing.T) {
	f, _ := Lookup("json")
	b := render(t, f, caseBroken(), Options{})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "tool", "version", "started_at", "duration_ms", "target", "vantage", "inputs", "status", "exit_code", "summary", "path", "certificates", "checks"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if m["started_at"] != "2026-11-26T12:00:00Z" {
		t.Errorf("started_at %v must be whole seconds", m["started_at"])
	}
	if m["status"] != "fail" || m["exit_code"].(float64) != 2 {
		t.Errorf("status/exit: %v %v", m["status"], m["exit_code"])
	}
	certs := m["certificates"].([]any)
	if c := certs[2].(map[string]any); c["target"] != cas1 || c["days_remaining"].(float64) != 9 {
		t.Errorf("cas1 leaf expires 2026-12-06, 9 whole days after the start: %v", c)
	}
	var back Doc
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(Path(back)) != fmt.Sprint(caseBroken().Path) {
		t.Errorf("the path derived from the JSON differs from the one of the results:\n%v\n%v", Path(back), caseBroken().Path)
	}
}

func TestPathMarksTheFailingBackend(t *testing.T) {
	p := caseBroken().Path
	var got []string
	for _, h := range p {
		got = append(got, h.Hop+":"+h.Label+":"+h.Status)
	}
	want := "client:client:pass dns:DNS (external):pass proxy:proxy:pass router:ARR:pass backend:cas1:pass backend:cas2:fail runspace:runspace:skip"
	if strings.Join(got, " ") != want {
		t.Errorf("path\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if i := FirstFailing(p); i < 0 || p[i].Label != "cas2" || p[i].Codes[0] != "AUTH-BASIC-NOT-OFFERED" || p[i].Target != cas2 {
		t.Errorf("first failing hop: %d %+v", i, p)
	}
	if p[2].Target != "203.0.113.10:443" {
		t.Errorf("proxy hop target %q", p[2].Target)
	}
	// an SPN of the published name concerns every CAS; a backend's own, that one
	d := caseHealthy()
	d.Checks[4].Findings = []checks.Finding{{Code: "SPN-MISSING", Severity: checks.SevFail, Target: "HTTP/mail.contoso.test"}}
	d.Checks[4].Status = "fail"
	var marked []string
	for _, h := range Path(d) {
		if h.Status == "fail" {
			marked = append(marked, h.Label)
		}
	}
	if strings.Join(marked, ",") != "cas1,cas2" {
		t.Errorf("SPN-MISSING for the published name marks %v, want cas1,cas2", marked)
	}
	d.Checks[4].Findings[0].Target = "HTTP/cas2.contoso.test"
	if p := Path(d); p[FirstFailing(p)].Label != "cas2" {
		t.Errorf("a backend's SPN marks that backend: %+v", p)
	}
	// a proxy's own error page marks the proxy, not a backend
	h := caseHostile().Path
	if i := FirstFailing(h); h[i].Hop != "proxy" {
		t.Errorf("hostile: first failing hop %+v", h[i])
	}
	for _, x := range h {
		if x.Hop == "router" && (x.Status != "fail" || x.Codes[0] != "AUTH-PROXY-502") {
			t.Errorf("a 502 the proxy wrote marks the proxy's routing: %+v", x)
		}
	}
}

// TestNoRawControlsOutsideJSON proves the hostile case's escapes and
// markup reach no format raw (JSON escapes them itself).
func TestNoRawControlsOutsideJSON(t *testing.T) {
	for _, f := range Formats() {
		out := string(render(t, f, caseHostile(), Options{Width: 100}))
		for _, r := range out {
			if r != '\n' && unsafeRune(r) {
				t.Errorf("%s carries control %U", f.Name, r)
				break
			}
		}
		if f.Name == "html" || f.Name == "markdown" || f.Name == "junit" {
			for _, bad := range []string{"<script>", "<img", "<b>"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s carries raw markup %q", f.Name, bad)
				}
			}
		}
		if f.Name == "nagios" {
			first, _, _ := strings.Cut(out, "\n")
			if strings.Count(first, "|") != 1 || strings.Contains(first, "9999") {
				t.Errorf("server text reached the perfdata: %s", first)
			}
		}
	}
}

func TestTableFitsTheTerminal(t *testing.T) {
	f, _ := Lookup("table")
	for name, mk := range cases() {
		for _, w := range []int{60, 80, 99, 100, 132} {
			for _, colour := range []bool{false, true} {
				out := string(render(t, f, mk(), Options{Width: w, Colour: colour}))
				for _, l := range strings.Split(out, "\n") {
					if n := text.StringWidthWithoutEscSequences(l); n > w {
						t.Errorf("%s at %d columns (colour %v): %d cells: %q", name, w, colour, n, l)
					}
				}
				if w < ListBelow && strings.Contains(out, "┌") {
					t.Errorf("%s at %d columns should use the list layout", name, w)
				}
			}
		}
	}
}

func TestTableColourOnlyWhenAsked(t *testing.T) {
	f, _ := Lookup("table")
	plain := string(render(t, f, caseBroken(), Options{}))
	if strings.Contains(plain, "\x1b") {
		t.Errorf("plain table has escape codes:\n%s", plain)
	}
	for _, want := range []string{"AUTH-BASIC-NOT-OFFERED on cas2.contoso.test", "fix: on every CAS", ">>✗ cas2<<", "1 info: SPN-SHORT-NAME-MISSING", "exit 2", "exdiag explain"} {
		if !strings.Contains(plain, want) {
			t.Errorf("table lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(plain, "appcmd") {
		t.Error("the table shows only the first remediation step")
	}
	if !strings.Contains(string(render(t, f, caseBroken(), Options{Colour: true})), "\x1b[") {
		t.Error("colour table has no colour")
	}
	ascii := string(render(t, f, caseBroken(), Options{ASCII: true}))
	for _, r := range ascii {
		if r > 0x7e {
			t.Errorf("--ascii table has %q", r)
			break
		}
	}
}

func TestDaysRemainingRoundsDown(t *testing.T) {
	for notAfter, want := range map[string]int{
		"2026-11-26T13:00:00Z": 0, "2026-11-27T12:00:00Z": 1, "2026-11-26T11:00:00Z": -1,
		"2026-11-25T12:00:00Z": -1, "2026-11-25T11:59:59Z": -2, "not a time": 0,
	} {
		d := Doc{StartedAt: started, Checks: []CheckJSON{{ID: "tls", Observed: map[string]any{"address": "a:443", "chain": chain("CN=x", notAfter)}}}}
		if got := certificates(d)[0].DaysRemaining; got != want {
			t.Errorf("not_after %s: %d days, want %d", notAfter, got, want)
		}
	}
}

func TestFindingsFoldByCode(t *testing.T) {
	d := caseBroken()
	d.Checks[3].Findings = append(d.Checks[3].Findings, basicNotOffered(cas1, "Exchange"))
	g := Grouped(d)
	if g[0].Code != "AUTH-BASIC-NOT-OFFERED" || len(g[0].Targets) != 2 || g[len(g)-1].Severity != "info" {
		t.Errorf("groups: %+v", g)
	}
}

// BenchmarkRender renders the broken case in every format: go test
// ./report -run '^$' -bench Render -benchmem
func BenchmarkRender(b *testing.B) {
	d := caseBroken()
	for _, f := range Formats() {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var w bytes.Buffer
				if err := f.Render(&w, d, Options{Width: 120}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFixesStayWithTheirTarget: one code on two CAS servers whose filled
// fixes differ keeps one line for the code, and each server its own fix,
// in the table and in the ticket; the same fix for both stays one step.
func TestFixesStayWithTheirTarget(t *testing.T) {
	f := func(target, fix string) checks.Finding {
		return checks.Finding{Code: "TLS-BACKEND-UNTRUSTED", Severity: checks.SevFail, Target: target,
			Summary: "untrusted " + target, Remediation: []string{fix}}
	}
	doc := func(fs ...checks.Finding) Doc {
		return Build(Meta{Version: "test"}, []checks.Result{{ID: "tls", Title: "TLS", Status: checks.StatusFail, Findings: fs}})
	}
	differ := doc(f("https://cas1.fabrikam.example/PowerShell", "import the root of cas1"), f("https://cas2.fabrikam.example/PowerShell", "import the root of cas2"))
	same := doc(f("https://cas1.fabrikam.example/PowerShell", "enable basic"), f("https://cas2.fabrikam.example/PowerShell", "enable basic"))
	for _, name := range []string{"table", "markdown"} {
		fm, _ := Lookup(name)
		out := string(render(t, fm, differ, Options{}))
		for _, want := range []string{"import the root of cas1", "import the root of cas2", "untrusted https://cas2"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
		if n := strings.Count(out, "TLS-BACKEND-UNTRUSTED"); n != 1 {
			t.Errorf("%s names the code %d times, want one line for it:\n%s", name, n, out)
		}
		if out := string(render(t, fm, same, Options{})); strings.Count(out, "enable basic") != 1 {
			t.Errorf("%s repeats a fix both targets share:\n%s", name, out)
		}
	}
}
