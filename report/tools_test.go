package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// needTool skips when an outside checker is missing, except under CI
// (CI=true), where scripts/install-report.sh must have installed it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; scripts/install-report.sh installs it", name)
	}
	t.Skipf("%s is not installed; run scripts/install-report.sh (as root) to install it", name)
	return ""
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJUnitValidatesAgainstXSD(t *testing.T) {
	xmllint := needTool(t, "xmllint")
	f, _ := Lookup("junit")
	for name, mk := range cases() {
		path := writeTemp(t, name+".xml", render(t, f, mk(), Options{}))
		out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput()
		if err != nil {
			t.Errorf("%s: xmllint: %v\n%s", name, err, out)
		}
	}
	// the schema does reject what it should, so a pass means something
	bad := writeTemp(t, "bad.xml", []byte(`<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>`))
	if err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), bad).Run(); err == nil {
		t.Error("xmllint accepted a testsuite without tests/failures/errors")
	}
}

func TestPrometheusPassesPromtool(t *testing.T) {
	promtool := needTool(t, "promtool")
	f, _ := Lookup("prometheus")
	for name, mk := range cases() {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(render(t, f, mk(), Options{}))
		// promtool exits non-zero for errors and for lint problems alike
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: promtool check metrics: %v\n%s", name, err, out)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader("# TYPE x_total counter\nx_total{a=\"1\"} 1\nx_total{a=\"1\"} 2\n")
	if err := cmd.Run(); err == nil {
		t.Error("promtool accepted a duplicated series")
	}
}

var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// TestHTMLInChromium loads the report in a real headless Chromium: the
// page must log nothing to the console (there is no script; a CSP
// violation or a parse problem would show there) and its DOM must mark
// the failing hop.
func TestHTMLInChromium(t *testing.T) {
	needTool(t, "chromium")
	if testing.Short() {
		t.Skip("chromium takes seconds; skipped with -short")
	}
	script, _ := filepath.Abs(filepath.Join("..", "scripts", "render-html.sh"))
	dir := t.TempDir()
	load := func(name string, page []byte) (dom, log string) {
		t.Helper()
		in := filepath.Join(dir, name+".html")
		os.WriteFile(in, page, 0o644)
		png, domf, logf := filepath.Join(dir, name+".png"), filepath.Join(dir, name+".dom"), filepath.Join(dir, name+".log")
		if out, err := exec.Command("bash", script, in, png, domf, logf).CombinedOutput(); err != nil {
			l, _ := os.ReadFile(logf)
			t.Fatalf("%s: %v\n%s\n%s", script, err, out, l)
		}
		if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: no screenshot: %v", name, err)
		}
		d, _ := os.ReadFile(domf)
		l, _ := os.ReadFile(logf)
		return string(d), string(l)
	}

	// control: a console message is seen, so silence means something
	_, log := load("control", []byte(`<!DOCTYPE html><title>c</title><script>console.error("exdiag-control")</script>`))
	if !strings.Contains(log, "exdiag-control") {
		t.Fatalf("the console message of the control page is not in Chromium's log; the check would prove nothing:\n%s", log)
	}

	f, _ := Lookup("html")
	for _, c := range []struct {
		name, hop string
	}{{"broken", "cas2"}, {"hostile", "proxy"}} {
		dom, log := load(c.name, render(t, f, cases()[c.name](), Options{}))
		if m := consoleLine.FindAllString(log, -1); len(m) > 0 {
			t.Errorf("%s: console messages:\n%s", c.name, strings.Join(m, "\n"))
		}
		i := strings.Index(dom, `id="failing-hop"`)
		if i < 0 {
			t.Fatalf("%s: no failing hop in the DOM:\n%s", c.name, dom)
		}
		end := strings.Index(dom[i:], "</g>")
		if hop := dom[i : i+end]; !strings.Contains(hop, c.hop) || !strings.Contains(hop, "first failure") {
			t.Errorf("%s: failing hop should be %s: %s", c.name, c.hop, hop)
		}
		if strings.Contains(dom, "<script") || strings.Contains(dom, "<img") {
			t.Errorf("%s: hostile markup became elements", c.name)
		}
		if keep := os.Getenv("EXDIAG_SCREENSHOT_DIR"); keep != "" {
			b, _ := os.ReadFile(filepath.Join(dir, c.name+".png"))
			os.WriteFile(filepath.Join(keep, c.name+".png"), b, 0o644)
		}
	}
}
