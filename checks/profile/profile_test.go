package profile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
)

// the example, with a CA file that exists
const example = `defaults:
  timeout: 20s
  ca_file: [corp-root.pem]
  warn_days: 45
deployments:
  - name: contoso
    labels: {customer: contoso, tier: gold}
    uri: https://mail.contoso.com/PowerShell
    user: CONTOSO\helpdesk
    password_env: CONTOSO_PW
    expect_external: [203.0.113.10]
    require_cmdlet: [Get-Mailbox]
    ignore: [DNS-CNAME]
    vantages:
      external: {external_dns: [8.8.8.8]}
      proxy:    {internal_dns: [10.0.0.10], backend: [https://cas1.contoso.com/PowerShell], timeout: 40s}
  - name: fabrikam
    uri: https://mail.fabrikam.com
    crit_days: 7
`

func writeProfile(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "corp-root.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMergesLayers(t *testing.T) {
	path := writeProfile(t, example)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Deployments) != 2 || !slices.Equal(f.Deployments[0].Vantages, []string{"external", "proxy"}) {
		t.Fatalf("deployments %+v", f.Deployments)
	}
	runs, err := f.Runs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range runs {
		names = append(names, r.Name())
	}
	if !slices.Equal(names, []string{"contoso/external", "contoso/proxy", "fabrikam"}) {
		t.Fatalf("runs %q", names)
	}
	ext, proxy, fab := runs[0], runs[1], runs[2]
	if ext.Spec.Timeout != 20*time.Second || proxy.Spec.Timeout != 40*time.Second {
		t.Errorf("timeouts %v %v: the vantage must win over defaults", ext.Spec.Timeout, proxy.Spec.Timeout)
	}
	if !slices.Equal(ext.Spec.ExternalDNS, []string{"8.8.8.8"}) || len(ext.Spec.InternalDNS) != 0 || len(proxy.Spec.ExternalDNS) != 0 {
		t.Errorf("vantage overrides leaked: %+v / %+v", ext.Spec, proxy.Spec)
	}
	if want := filepath.Join(filepath.Dir(path), "corp-root.pem"); !slices.Equal(fab.Spec.CAFiles, []string{want}) {
		t.Errorf("ca_file %q, want %q (relative to the file)", fab.Spec.CAFiles, want)
	}
	if ext.Labels["tier"] != "gold" || ext.Password.Env != "CONTOSO_PW" || !slices.Equal(ext.Ignore, []string{"DNS-CNAME"}) {
		t.Errorf("run %+v", ext)
	}
	if ext.WarnDays != 45 || fab.WarnDays != 45 || fab.CritDays != 7 {
		t.Errorf("thresholds %d %d %d", ext.WarnDays, fab.WarnDays, fab.CritDays)
	}
	cfg, err := ext.Config(func(k string) string {
		if k == "CONTOSO_PW" {
			return "s3cret"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password.Reveal() != "s3cret" || cfg.ExpiryWarn != 45*24*time.Hour || !slices.Equal(cfg.Accept, []string{"DNS-CNAME"}) {
		t.Errorf("config %+v", cfg)
	}
	if _, err := ext.Config(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "CONTOSO_PW is not set") {
		t.Errorf("unset variable: %v", err)
	}

	sel, err := f.Runs("contoso/proxy", "fabrikam")
	if err != nil || len(sel) != 2 || sel[0].Name() != "contoso/proxy" {
		t.Errorf("selection %v %v", sel, err)
	}
	if sel, err := f.Runs("contoso"); err != nil || len(sel) != 2 {
		t.Errorf("a deployment selects its vantages: %v %v", sel, err)
	}
	for _, bad := range []string{"nope", "contoso/inside", "fabrikam/x"} {
		if _, err := f.Runs(bad); err == nil {
			t.Errorf("%s was selected", bad)
		}
	}
}

// Each bad file is refused with FILE:LINE:COL at the key or value at fault,
// a lowercase message that ends with what to do, and no secret.
func TestLoadErrorsPointAtTheLine(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"inline password", "deployments:\n  - name: a\n    uri: https://x.test\n    password: hunter2\n", ":4:5: an inline password is refused; put it in a file and give password_file: PATH, or in an environment variable and give password_env: NAME"},
		{"unknown key", "deployments:\n  - name: a\n    uri: https://x.test\n    extrnal_dns: [1.1.1.1]\n", `:4:5: unknown key "extrnal_dns" in deployment "a"; did you mean external_dns?`},
		{"dash key", "deployments:\n  - name: a\n    uri: https://x.test\n    external-dns: [1.1.1.1]\n", `:4:5: unknown key "external-dns" in deployment "a"; write it as external_dns`},
		{"bad value", "deployments:\n  - name: a\n    uri: https://x.test\n    external_dns: [1.1.1.1, nine]\n", `:4:29: a: external_dns "nine" is not ADDR[:PORT]`},
		{"bad uri", "deployments:\n  - name: a\n    uri: ftp://x.test\n", `:3:10: a: uri "ftp://x.test" is not an http(s) URL`},
		{"wrong type", "deployments:\n  - name: a\n    uri: https://x.test\n    min_cmdlets: lots\n", `:4:18: min_cmdlets must be a whole number`},
		{"bool type", "deployments:\n  - name: a\n    uri: https://x.test\n    skip_ca_check: \"yes\"\n", `:4:20: skip_ca_check must be true or false`},
		{"duration", "defaults:\n  timeout: 30\ndeployments:\n  - name: a\n    uri: https://x.test\n", `:2:12: timeout must be a duration with a unit`},
		{"duplicate deployment", "deployments:\n  - name: a\n    uri: https://x.test\n  - name: a\n    uri: https://y.test\n", `:4:11: deployment name "a" is used already at line 2`},
		{"duplicate vantage", "deployments:\n  - name: a\n    uri: https://x.test\n    vantages:\n      v: {}\n      v: {}\n", `:6:7: not valid YAML:`},
		{"unknown code", "deployments:\n  - name: a\n    uri: https://x.test\n    ignore: [DNS-CNAME, NOPE-X]\n", `:4:25: ignore: unknown finding code "NOPE-X"`},
		{"no name", "deployments:\n  - uri: https://x.test\n", `:2:5: a deployment has no name; add name: NAME`},
		{"bad yaml", "deployments:\n  - name: [a\n", `not valid YAML`},
		{"crit above warn", "deployments:\n  - name: a\n    uri: https://x.test\n    crit_days: 40\n", `:4:16: a: crit_days 40 is not below warn_days 30`},
		{"alias", "defaults: &d\n  timeout: 3s\ndeployments:\n  - name: a\n    uri: https://x.test\n", `anchors and aliases are not supported`},
		{"both password sources", "deployments:\n  - name: a\n    uri: https://x.test\n    password_file: pw\n    password_env: PW\n", `:5:19: both password_file and password_env are given; keep one`},
		{"empty", "# nothing\n", `the file is empty`},
		{"no uri", "deployments:\n  - name: a\n    user: CONTOSO\\x\n", `:2:11: a: uri is missing; add the ConnectionUri to the deployment`},
		{"deep", "deployments: " + strings.Repeat("[", 40) + "\n", `:1:30: nesting deeper than 16 levels`},
		{"spn with a realm", "deployments:\n  - name: a\n    uri: https://x.test\n    spn: [HTTP/lb.x.test@X.TEST]\n", `:4:11: a: spn "HTTP/lb.x.test@X.TEST" names a realm`},
		{"kerberos mechanism misspelt", "deployments:\n  - name: a\n    uri: https://x.test\n    authentication: kerberso\n", `:4:21: a: authentication "kerberso" is not supported; use basic, negotiate, kerberos or ntlm`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeProfile(t, tc.body)
			_, err := Load(path)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path) || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q\nwant %s%s", msg, path, tc.want)
			}
			if strings.Contains(msg, "hunter2") {
				t.Fatal("the error echoes the password")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("%T is not Errors", err)
			}
			for _, e := range es {
				var pe *Error
				if errors.As(e, &pe) && strings.Contains(pe.Source, "hunter2") {
					t.Fatal("the excerpt shows the password")
				}
			}
		})
	}
}

func TestServeProtections(t *testing.T) {
	f, err := Parse("f.yaml", []byte(`defaults:
  rbac_interval: 30m
deployments:
  - name: a
    uri: https://a.example.com/PowerShell
    bad_password_backoff: 2h
  - name: b
    uri: https://b.example.com/PowerShell
    rbac_interval: 5m
`))
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := f.Runs()
	if runs[0].RBACInterval != 30*time.Minute || runs[0].BadPasswordBackoff != 2*time.Hour {
		t.Errorf("a: %v %v", runs[0].RBACInterval, runs[0].BadPasswordBackoff)
	}
	if runs[1].RBACInterval != 5*time.Minute || runs[1].BadPasswordBackoff != 0 {
		t.Errorf("b: %v %v", runs[1].RBACInterval, runs[1].BadPasswordBackoff)
	}
	_, err = Parse("f.yaml", []byte(`deployments:
  - name: a
    uri: https://a.example.com/PowerShell
    rbac_interval: 10ms
`))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:4:20: rbac_interval 10ms is out of range") {
		t.Errorf("a too short interval: %v", err)
	}
}

// Append keeps the file's text and fits the new entry to its list,
// wherever the list sits and however it is indented.
func TestAppendKeepsTheFile(t *testing.T) {
	for name, orig := range map[string]string{
		"indented, last":       "# ours\ndeployments:\n  - name: a # keep\n    uri: https://a.test\n",
		"flush, then defaults": "deployments:\n- name: a\n  uri: https://a.test\ndefaults:\n  timeout: 5s\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(p, []byte(orig), 0o640); err != nil {
				t.Fatal(err)
			}
			e := Entry{Name: "b", Spec: checksSpec("https://b.test/PowerShell"), Password: PasswordSource{Env: "B_PW"}}
			if err := Append(p, e); err != nil {
				t.Fatal(err)
			}
			f, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			runs, _ := f.Runs()
			if len(runs) != 2 || runs[1].Deployment != "b" || runs[1].Password.Env != "B_PW" || runs[1].Spec.URI != "https://b.test/PowerShell" {
				t.Fatalf("runs %+v", runs)
			}
			b, _ := os.ReadFile(p)
			for _, line := range strings.Split(strings.TrimSpace(orig), "\n") {
				if !strings.Contains(string(b), line+"\n") {
					t.Errorf("line %q was lost:\n%s", line, b)
				}
			}
			if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", st.Mode().Perm())
			}
			if err := Append(p, e); err == nil || !strings.Contains(err.Error(), `deployment "b" is in`) {
				t.Errorf("a duplicate: %v", err)
			}
		})
	}
}

func checksSpec(uri string) checks.Spec {
	return checks.Spec{URI: uri, ExpectExternal: []string{"203.0.113.10"}}
}

// A deployment logs on with Kerberos through a load-balanced name whose
// SPN is on an alternate service account: the profile's keys are the
// run flags', so the logon's SPN comes from spn as from --spn.
func TestProfileWindowsLogon(t *testing.T) {
	f, err := Load(writeProfile(t, "deployments:\n  - name: a\n    uri: https://mail.x.test\n    user: ops@x.test\n    authentication: kerberos\n    spn: [autodiscover.x.test, HTTP/lb.x.test]\n"))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := f.Runs()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := runs[0].Config(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Authentication != checks.AuthKerberos || cfg.KerberosSPN() != "HTTP/lb.x.test" || len(cfg.ExtraSPNs) != 2 {
		t.Errorf("config: authentication %q, logon spn %q, spns %q", cfg.Authentication, cfg.KerberosSPN(), cfg.ExtraSPNs)
	}
}
