package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/report"
)

// The demo, end to end with the built binary: a lab of three
// scenarios serves in the background, its profile runs as a fleet with
// each run's own exit code and the worst as the process's, and one
// deployment of it runs alone.
func TestLabFleetEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "f.yaml")
	serve := exec.Command(bin, "lab", "serve", "healthy", "bad-password", "dns-cname", "--config-out", prof)
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Signal(os.Interrupt); serve.Wait() })

	// the exports it prints are what the user pastes
	exports := map[string]string{}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
				exports[k] = strings.Trim(v, "'")
			}
			if strings.HasPrefix(line, "exdiag run --config") {
				ready <- nil
				return
			}
		}
		ready <- sc.Err()
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lab serve printed no profile")
	}
	if len(exports) != 2 {
		t.Fatalf("exports %v", exports)
	}
	for k, v := range exports {
		t.Setenv(k, v)
	}

	code, out, stderr := runBinary(t, bin, "run", "--config", prof, "--format", "json")
	if code != 2 {
		t.Fatalf("fleet exit %d, want 2 (the worst run's); stderr %s", code, stderr)
	}
	var fleet struct {
		SchemaVersion int             `json:"schema_version"`
		Runs          []report.RunDoc `json:"runs"`
	}
	if err := json.Unmarshal(out, &fleet); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"healthy": 0, "bad-password": 2, "dns-cname": 1}
	if fleet.SchemaVersion != 1 || len(fleet.Runs) != 3 {
		t.Fatalf("fleet report %s", out)
	}
	for _, r := range fleet.Runs {
		if w, ok := want[r.Deployment]; !ok || r.ExitCode != w || r.Labels["scenario"] != r.Deployment || len(r.Checks) != 6 {
			t.Errorf("run %s: exit %d, labels %v, %d checks", r.Deployment, r.ExitCode, r.Labels, len(r.Checks))
		}
	}
	if strings.Contains(string(out), exports["EXDIAG_LAB_PASSWORD"]) {
		t.Error("the report carries the password")
	}

	code, out, stderr = runBinary(t, bin, "run", "--config", prof, "healthy")
	if code != 0 || !strings.Contains(string(out), "== healthy ==") {
		t.Fatalf("healthy alone: exit %d\n%s%s", code, out, stderr)
	}
	// a flag given wins over the file: no checks but dns
	code, out, _ = runBinary(t, bin, "run", "--config", prof, "bad-password", "--checks", "dns", "--format", "json")
	if code != 0 || strings.Count(string(out), `"id":`) != 1 {
		t.Fatalf("--checks dns over the file: exit %d\n%s", code, out)
	}
	code, out, _ = runBinary(t, bin, "config", "check", prof)
	if code != 0 || !strings.Contains(string(out), "ok, 3 deployments, 3 runs") {
		t.Fatalf("config check: exit %d %s", code, out)
	}
}

// A file with an inline password, an unknown key or a bad value stops
// the run with exit 3 and FILE:LINE:COL, before any network call.
func TestBadProfileExits3(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ body, want string }{
		"password": {"deployments:\n  - name: a\n    uri: https://x.test\n    password: hunter2\n", ":4:5: an inline password is refused"},
		"unknown":  {"deployments:\n  - name: a\n    uri: https://x.test\n    uri_: x\n", `:4:5: unknown key "uri_"`},
		"value":    {"deployments:\n  - name: a\n    uri: https://x.test\n    expect_external: [10.0.0.300]\n", `:4:23: a: expect_external "10.0.0.300" is not an IP address`},
	}
	for name, tc := range cases {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"run", "--config", p}, {"config", "check", p}} {
			code, _, errb := run(t, nil, args...)
			if code != 3 || !strings.HasPrefix(errb, "exdiag: "+p+tc.want) || strings.Contains(errb, "hunter2") {
				t.Errorf("%s %v: exit %d, stderr %q", name, args[0], code, errb)
			}
		}
	}
}

// --save-config appends the flags given as a deployment, keeps what the
// file held, never writes a password, and refuses a name taken.
func TestSaveConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fleet.yaml")
	orig := "# our customers\ndeployments:\n  - name: old # keep me\n    uri: https://old.test\n"
	if err := os.WriteFile(p, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXDIAG_PASSWORD": "hunter2"}
	args := []string{"run", "--uri", "https://new.contoso.test/PowerShell", "--user", `CONTOSO\admin`, "--checks", "dns",
		"--resolve", "new.contoso.test:443:127.0.0.1", "--timeout", "2s", "--save-config", p, "new"}
	code, _, errb := run(t, env, args...)
	if code == 3 {
		t.Fatalf("save: %s", errb)
	}
	b, _ := os.ReadFile(p)
	got := string(b)
	if !strings.HasPrefix(got, orig) || !strings.Contains(got, "  - name: new\n") || !strings.Contains(got, "password_env: EXDIAG_PASSWORD") ||
		strings.Contains(got, "hunter2") || strings.Contains(got, "timeout: 30s") {
		t.Fatalf("saved file:\n%s", got)
	}
	if code, _, errb := run(t, nil, "config", "check", p); code != 0 {
		t.Fatalf("the saved file does not check: %s", errb)
	}
	if code, _, errb := run(t, env, args...); code != 3 || !strings.Contains(errb, `deployment "new" is in`) {
		t.Fatalf("a duplicate name: exit %d %s", code, errb)
	}
}

// A format that describes one run (a JUnit file, a Nagios line) is
// refused for a fleet before anything runs, on the screen or in a file.
func TestOneRunFormatsRefuseAFleet(t *testing.T) {
	p := filepath.Join(t.TempDir(), "two.yaml")
	body := "deployments:\n  - name: a\n    uri: https://a.test\n  - name: b\n    uri: https://b.test\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--format", "junit"}, {"--output", "nagios=" + filepath.Join(t.TempDir(), "n.txt")}} {
		code, out, errb := run(t, nil, append([]string{"run", "--config", p}, args...)...)
		if code != 3 || out != "" || !strings.Contains(errb, "renders one run, and 2 are selected") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errb)
		}
	}
}
