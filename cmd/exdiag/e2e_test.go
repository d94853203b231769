package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
)

var update = flag.Bool("update", false, "rewrite the golden files of the lab scenarios")

// binDir holds the binary the end-to-end tests share; TestMain removes it.
var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds exdiag once for all the end-to-end tests: each build
// costs seconds on a small machine.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "exdiag-e2e-"); binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "exdiag"), ".")
		cmd.Stderr = os.Stderr
		binErr = cmd.Run()
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return filepath.Join(binDir, "exdiag")
}

func runBinary(t *testing.T, bin string, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.Bytes(), errb.String()
}

// goldenScenarios keep end-to-end golden files: the renderers have their
// own goldens from hand-made Docs (report/testdata), so these few only pin
// what the lab's real runs put into a Doc.
var goldenScenarios = map[string]bool{"healthy": true, "cas2-basic-disabled": true, "backend-untrusted": true, "proxy-502": true}

// TestLabScenarios runs the built binary on every lab scenario: each must
// raise the codes it is built to raise, with the exit code its worst
// finding gives; a few match golden table and JSON files too (volatile
// values masked before rendering, so column widths do not move).
func TestLabScenarios(t *testing.T) {
	bin := buildBinary(t)
	// a few labs at a time: each is a whole deployment, and 40 of them on
	// two cores measure the scheduler, not exdiag
	slots := make(chan struct{}, 4)
	for _, s := range fixtures.Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			code, out, stderr := runBinary(t, bin, "run", "--lab="+s.Name, "--format", "json")
			<-slots
			var doc report.Doc
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("exit %d, stdout is not the JSON report: %v\n%s\nstderr: %s", code, err, out, stderr)
			}
			if doc.ExitCode != code {
				t.Errorf("exit code %d but the report says %d", code, doc.ExitCode)
			}
			got := map[string]bool{}
			worst := 0
			for _, c := range doc.Checks {
				if c.Status == "error" {
					t.Errorf("check %s errored: %s", c.ID, c.Error)
				}
				for _, f := range c.Findings {
					got[f.Code] = true
					switch f.Severity {
					case "fail":
						worst = max(worst, 2)
					case "warn":
						worst = max(worst, 1)
					}
				}
			}
			for _, w := range s.Want {
				if !got[w] {
					t.Errorf("scenario %s must raise %s; got %v", s.Name, w, keys(got))
				}
			}
			if len(s.Want) == 0 && code != 0 {
				t.Errorf("scenario %s must pass, exit %d with %v", s.Name, code, keys(got))
			}
			if code != 3 && code != worst {
				t.Errorf("exit %d, want %d from the worst finding", code, worst)
			}
			// a broken deployment shows where on the path it breaks
			if i := report.FirstFailing(doc.Path); code == 2 && i < 0 {
				t.Errorf("exit 2 but no hop of the path failed: %+v", doc.Path)
			} else if code == 0 && i >= 0 {
				t.Errorf("exit 0 but hop %+v failed", doc.Path[i])
			}
			if !goldenScenarios[s.Name] {
				return
			}
			mask(&doc)
			golden(t, s.Name+".json", renderAs(t, "json", doc))
			golden(t, s.Name+".txt", renderAs(t, "table", doc))
		})
	}
}

func renderAs(t *testing.T, format string, d report.Doc) []byte {
	t.Helper()
	f, ok := report.Lookup(format)
	if !ok {
		t.Fatalf("no format %s", format)
	}
	var b bytes.Buffer
	if err := f.Render(&b, d, report.Options{Width: 120}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no golden file %s (run go test ./cmd/exdiag -run TestLabScenarios -update): %v", path, err)
	}
	if !bytes.Equal(want, got) {
		os.WriteFile(path+".got", got, 0o644) // for diff(1); ignored by git
		t.Errorf("%s differs from the golden file (diff it with %s.got; rerun with -update if the change is intended): %s", path, path, firstDiff(want, got))
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d\nwant: %s\n got: %s", i+1, wl, gl)
		}
	}
	return "same lines, different bytes"
}

var maskers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?( UTC)?)?`), "DATE"},
	{regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "GUID"},
	{regexp.MustCompile(`(?i)\b([0-9a-f]{2}:){15,}[0-9a-f]{2}\b|\b[0-9a-f]{32,}\b`), "HEX"},
	{regexp.MustCompile(`(127\.0\.0\.1|localhost|\.test|\]|\d+\.\d+\.\d+\.\d+):\d{2,5}\b`), "${1}:PORT"},
	{regexp.MustCompile(`\b((?i:port)|-vz \S+) \d{4,5}\b`), "${1} PORT"}, // a lab port in a filled remediation step
	{regexp.MustCompile(`/tmp/exdiag-lab-[^/"\s]+`), "LABDIR"},
	{regexp.MustCompile(`\b\d+(\.\d+)?\s?(ms|µs|s)\b`), "N ms"},
}

var volatileKeys = regexp.MustCompile(`(_ms|serial|fingerprint|sha256|sha1|not_before|not_after|shell_id|rtt|token68)$`)

// mask replaces every value that changes from run to run (ports, times,
// fresh certificates, ids) so golden files compare what matters.
func mask(d *report.Doc) {
	d.StartedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d.DurationMS = 0
	d.Version = "VERSION"
	d.Target.URI = maskString(d.Target.URI)
	d.Target.Port = 0
	d.Vantage.Host = "VANTAGE"
	for i, r := range d.Vantage.Resolvers {
		d.Vantage.Resolvers[i] = maskString(r)
	}
	for k, v := range d.Inputs {
		d.Inputs[k] = maskValue(k, v)
	}
	for i := range d.Path {
		d.Path[i].Target = maskString(d.Path[i].Target)
		if d.Path[i].Hop == "client" {
			d.Path[i].Target = "VANTAGE"
		}
	}
	for i := range d.Certificates {
		c := &d.Certificates[i]
		c.Target, c.NotAfter, c.DaysRemaining = maskString(c.Target), "MASKED", 0
	}
	for i := range d.Checks {
		c := &d.Checks[i]
		c.DurationMS = 0
		c.SkipReason = maskString(c.SkipReason)
		c.Summary = maskString(c.Summary)
		c.Error = maskString(c.Error)
		c.Observed = maskValue("", c.Observed)
		for j := range c.Findings {
			f := &c.Findings[j]
			f.Summary = maskString(f.Summary)
			f.Target = maskString(f.Target)
			for k := range f.Remediation { // filled with ports and thumbprints
				f.Remediation[k] = maskString(f.Remediation[k])
			}
		}
		for j := range c.Targets {
			h := &c.Targets[j]
			h.Target, h.SkipReason = maskString(h.Target), maskString(h.SkipReason)
		}
	}
}

func maskString(s string) string {
	for _, m := range maskers {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

func maskValue(key string, v any) any {
	if volatileKeys.MatchString(key) && v != nil {
		return "MASKED"
	}
	switch x := v.(type) {
	case string:
		return maskString(x)
	case []any:
		for i := range x {
			x[i] = maskValue(key, x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = maskValue(k, x[k])
		}
		return x
	case float64:
		if strings.HasSuffix(key, "port") {
			return 0
		}
		return x
	}
	return v
}

func TestMaskKeepsMeaning(t *testing.T) {
	in := "connect 127.0.0.1:41234 for mail.contoso.test:8443 expired 2025-11-25T10:00:00Z in 12 ms"
	want := "connect 127.0.0.1:PORT for mail.contoso.test:PORT expired DATE in N ms"
	if got := maskString(in); got != want {
		t.Errorf("mask:\n got %s\nwant %s", got, want)
	}
}
