package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/report"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/pflag"
)

func runWidth(t *testing.T, width int, args ...string) (int, string, string) {
	t.Helper()
	var c captured
	io := c.io()
	io.Width = width
	code := Main(args, io, func(string) string { return "" })
	return code, c.out.String(), c.err.String()
}

// offline is a quick run that reaches nothing but the in-process lab on
// loopback: its dns check alone.
var offline = []string{"run", "--lab=healthy", "--checks", "dns"}

func TestSeveralOutputsFromOneRun(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	args := append(append([]string{}, offline...), "--output", "json="+p("run.json"), "--output", p("ticket.md"),
		"--output", p("ci.xml"), "--output", "nagios="+p("nagios.txt"), "--output", p("page.html"), "--output", p("m.prom"))
	code, out, errs := run(t, nil, args...)
	if code == 3 {
		t.Fatalf("exit 3: %s", errs)
	}
	if !strings.Contains(out, "path:") {
		t.Errorf("the screen keeps the table, got %q", out)
	}
	for name, want := range map[string]string{"run.json": `"schema_version": 1`, "ticket.md": "# exdiag:", "ci.xml": "<testsuites",
		"nagios.txt": "EXDIAG ", "page.html": "<!DOCTYPE html>", "m.prom": "probe_success"} {
		b, err := os.ReadFile(p(name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q", name, err, want)
		}
		if !strings.Contains(errs, "wrote "+p(name)+"\n") {
			t.Errorf("stderr does not say wrote %s: %q", name, errs)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 6 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestOutputKeepsModeAndWritesThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.json")
	os.WriteFile(target, []byte("old"), 0o640)
	os.Chmod(target, 0o640)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, nil, append(append([]string{}, offline...), "--output", link)...); code == 3 {
		t.Fatalf("exit 3: %s", errs)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept: %v", fi.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), `"schema_version"`) {
		t.Errorf("the link's target was not written: %q", b)
	}
	fresh := filepath.Join(dir, "new.md")
	run(t, nil, append(append([]string{}, offline...), "--output", fresh)...)
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o666&^umask() {
		t.Errorf("a new file gets 0666 less the umask, not the temp file's 0600: %v %v", fi.Mode().Perm(), err)
	}
	dangling := filepath.Join(dir, "dangling.json")
	os.Symlink("nowhere/x.json", dangling)
	if code, _, errs := run(t, nil, append(append([]string{}, offline...), "--output", dangling)...); code != 3 || !strings.Contains(errs, "symlink") {
		t.Errorf("a dangling symlink must be refused: %d %q", code, errs)
	}
}

func TestOutputMistakes(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"unknown ext":    {[]string{"--output", filepath.Join(dir, "r.csv")}, "write --output FORMAT="},
		"unknown format": {[]string{"--output", "jsn=" + filepath.Join(dir, "r")}, "did you mean json?"},
		"bad --format":   {[]string{"--format", "markdwn"}, "did you mean markdown?"},
		"bad --color":    {[]string{"--color", "sometimes"}, "auto, always or never"},
		"same file":      {[]string{"--output", filepath.Join(dir, "a.json"), "--output", "markdown=" + filepath.Join(dir, "a.json")}, "given twice"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run(t, nil, append(append([]string{}, offline...), c.args...)...)
			if code != 3 || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q (want %q)", code, out, errs, c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused run left files: %v", entries)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}} {
			code, out, errs := runWidth(t, 80, args...)
			if code != 0 || !strings.HasPrefix(out, "usage: exdiag "+c.name) || errs != "" {
				t.Errorf("%v: exit %d %q %q", args, code, out, errs)
			}
		}
	}
	_, out, _ := runWidth(t, 80, "run", "--help")
	for _, want := range []string{"\ntarget:\n", "\nDNS:\n", "\nTLS:\n", "\ncredentials:\n", "\nKerberos/LDAP:\n", "\nRBAC:\n", "\noutput:\n", "examples:", "exit codes:", "--lab cas2-basic-disabled"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	var f runFlags
	newRunFlagSet(&f).VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden && !strings.Contains(out, "--"+fl.Name+" ") {
			t.Errorf("run --help does not list --%s", fl.Name)
		}
	})
	for _, w := range []int{60, 80, 100} {
		for _, args := range [][]string{{"run", "--help"}, {"help"}, {"explain", "--help"}} {
			_, out, _ := runWidth(t, w, args...)
			for _, l := range strings.Split(out, "\n") {
				if n := text.StringWidthWithoutEscSequences(l); n > w {
					t.Errorf("%v at %d columns: %d cells: %q", args, w, n, l)
				}
			}
		}
	}
}

func TestDidYouMean(t *testing.T) {
	uri := "https://mail.contoso.test/PowerShell"
	for args, want := range map[string]string{
		"rnu":                                 `unknown command "rnu" (did you mean run?)`,
		"help chekcs":                         "did you mean checks?",
		"run --uri " + uri + " --fromat json": "unknown flag --fromat (did you mean --format?)",
		"run --uri " + uri + " --checks dsn":  "did you mean dns?",
		"explain AUTH-BASIC-NOT-OFERED":       "did you mean AUTH-BASIC-NOT-OFFERED?",
		"run --lab cas2-basic-disable":        "did you mean cas2-basic-disabled?",
		"lab serve healty":                    "did you mean healthy?",
		"run -ConnectionUri " + uri + " -Authentication Basic -Credential $c": "exdiag flags use two dashes: did you mean --uri / --authentication basic / --user?",
		"run --uri " + uri + " -SkipCACheck":                                  "did you mean --skip-ca-check?",
		"run -ConnectionUri " + uri + " -Authentication Kerberos":             "did you mean --uri / --authentication kerberos?",
		"run -ConnectionUri " + uri + " -Authentication Default":              "did you mean --uri / --authentication negotiate?",
	} {
		code, _, errs := run(t, nil, strings.Fields(args)...)
		if code != 3 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, %q; want %q", args, code, errs, want)
		}
	}
}

func TestTimeoutBareNumberIsSeconds(t *testing.T) {
	var f runFlags
	fs := newRunFlagSet(&f)
	if err := fs.Parse([]string{"--timeout", "5"}); err != nil || f.spec.Timeout != 5*time.Second {
		t.Errorf("--timeout 5: %v %v", f.spec.Timeout, err)
	}
	if err := fs.Parse([]string{"--timeout", "1m30s"}); err != nil || f.spec.Timeout != 90*time.Second {
		t.Errorf("--timeout 1m30s: %v %v", f.spec.Timeout, err)
	}
	if err := fs.Parse([]string{"--timeout", "soon"}); err == nil {
		t.Error("--timeout soon must be refused")
	}
}

func TestExplainAndChecksFormats(t *testing.T) {
	code, out, _ := run(t, nil, "explain", "auth")
	if code != 0 || !strings.Contains(out, "AUTH-BASIC-NOT-OFFERED") || strings.Contains(out, "DNS-") {
		t.Errorf("explain auth lists the auth codes only: %q", out)
	}
	code, out, _ = run(t, nil, "explain", "--format", "json", "AUTH-BASIC-NOT-OFFERED")
	var e codeInfo
	if code != 0 || json.Unmarshal([]byte(out), &e) != nil || e.Code != "AUTH-BASIC-NOT-OFFERED" || len(e.Remediation) == 0 {
		t.Errorf("explain --format json: %d %q", code, out)
	}
	code, out, _ = run(t, nil, "explain", "--format", "markdown", "auth")
	if code != 0 || !strings.Contains(out, "## AUTH-BASIC-NOT-OFFERED") {
		t.Errorf("explain --format markdown: %q", out)
	}
	code, out, _ = run(t, nil, "checks", "--format", "json")
	var cs []checkInfo
	if code != 0 || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != len(checkIDs()) || len(cs[0].Codes) == 0 {
		t.Errorf("checks --format json: %q", out)
	}
	if code, out, _ = run(t, nil, "checks", "--format", "markdown"); code != 0 || !strings.HasPrefix(out, "| check |") {
		t.Errorf("checks --format markdown: %q", out)
	}
}

// TestLabTableFitsEightyColumns is the done-when: a real lab run
// at COLUMNS=80 prints no line wider than 80 cells.
func TestLabTableFitsEightyColumns(t *testing.T) {
	code, out, errs := runWidth(t, 80, "run", "--lab", "cas2-basic-disabled")
	if code != 2 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, l := range strings.Split(out, "\n") {
		if n := text.StringWidthWithoutEscSequences(l); n > 80 {
			t.Errorf("%d cells: %q", n, l)
		}
	}
	if !strings.Contains(out, ">>✗ cas2<<") {
		t.Errorf("the path does not mark cas2:\n%s", out)
	}
	_ = report.ListBelow
}
