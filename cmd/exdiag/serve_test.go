package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/cmd/exdiag/internal/serve"
	"github.com/exdiag/exdiag/fixtures"
)

func TestServeBadInputIsOneLineAndExit3(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("deployments:\n  - name: a\n    ur: https://a.example.com/PowerShell\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nopw := filepath.Join(dir, "nopw.yaml")
	if err := os.WriteFile(nopw, []byte("deployments:\n  - name: a\n    uri: https://a.example.com/PowerShell\n    user: CONTOSO\\mon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	webcfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webcfg, []byte("tls_server_config:\n  cert_file: nope.pem\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no config":        {[]string{"serve"}, "--config is missing"},
		"missing file":     {[]string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, "cannot read profile"},
		"unknown key":      {[]string{"serve", "--config", bad}, "bad.yaml:3:5"},
		"no password":      {[]string{"serve", "--config", nopw}, "no password source"},
		"stray argument":   {[]string{"serve", "--config", bad, "extra"}, "unexpected argument"},
		"bad web config":   {[]string{"serve", "--config", bad, "--web.config.file", webcfg}, "--web.config.file"},
		"zero concurrency": {[]string{"serve", "--config", bad, "--max-concurrent", "0"}, "--max-concurrent"},
		"unknown flag":     {[]string{"serve", "--config", bad, "--frob"}, "unknown flag"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run(t, nil, c.args...)
			if code != 3 || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 && name != "unknown key" {
				t.Errorf("stderr %q, want one line with %q", errs, c.want)
			}
		})
	}
}

// A lab profile, as `exdiag lab serve --config-out` writes it, loads into
// serve targets that probe the labs with their passwords.
func TestServeLoadsLabProfile(t *testing.T) {
	var labs []*fixtures.Lab
	for _, name := range []string{"healthy", "bad-password"} {
		s, err := fixtures.Find(name)
		if err != nil {
			t.Fatal(err)
		}
		l, err := fixtures.Start(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		labs = append(labs, l)
	}
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	env, err := fixtures.WriteProfile(path, labs)
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	fleet, err := loadFleet(path, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet.Targets) != 2 || fleet.Targets[0].Deployment != "healthy" {
		t.Fatalf("targets %+v", fleet.Targets)
	}
	svc, err := serve.New(serve.Options{Load: func() (*serve.Fleet, error) { return loadFleet(path, getenv) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	for target, want := range map[string]string{"healthy": "probe_success 1", "bad-password": `code="AUTH-BAD-CREDENTIALS"`} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/probe?target="+target, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: want %s in\n%s", target, want, b)
		}
	}
	// without the password variable the file does not load: serve cannot prompt
	if _, err := loadFleet(path, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "password_env") {
		t.Errorf("a missing password variable: %v", err)
	}
}
