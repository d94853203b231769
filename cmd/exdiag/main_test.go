package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/report"
)

type captured struct{ out, err bytes.Buffer }

func (c *captured) io() *report.IO {
	return &report.IO{In: strings.NewReader(""), Out: &c.out, Err: &c.err}
}

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var c captured
	code := Main(args, c.io(), func(k string) string { return env[k] })
	return code, c.out.String(), c.err.String()
}

func TestBadInputIsOneLineAndExit3(t *testing.T) {
	dir := t.TempDir()
	uri := "https://mail.contoso.test/PowerShell"
	cases := map[string][]string{
		"no uri":                   {"run"},
		"malformed uri":            {"run", "--uri", "mail.contoso.test/PowerShell"},
		"ftp uri":                  {"run", "--uri", "ftp://mail.contoso.test/"},
		"credentials in uri":       {"run", "--uri", "https://u:p@mail.contoso.test/PowerShell"},
		"bad resolver":             {"run", "--uri", uri, "--external-dns", "not an address"},
		"resolver hostname":        {"run", "--uri", uri, "--internal-dns", "dns.contoso.test"},
		"bad resolver port":        {"run", "--uri", uri, "--external-dns", "127.0.0.1:99999"},
		"unknown check":            {"run", "--uri", uri, "--checks", "dns,ping"},
		"bad expect":               {"run", "--uri", uri, "--expect-external", "203.0.113.300"},
		"bad resolve":              {"run", "--uri", uri, "--resolve", "mail.contoso.test:443"},
		"bad backend":              {"run", "--uri", uri, "--backend", "cas1"},
		"unknown flag":             {"run", "--uri", uri, "--frobnicate"},
		"password flag":            {"run", "--uri", uri, "--password", "hunter2"},
		"bad auth":                 {"run", "--uri", uri, "--authentication", "digest"},
		"kerberos without a realm": {"run", "--uri", uri, "--authentication", "kerberos", "--user", `CONTOSO\bob`},
		"spn with a realm":         {"run", "--uri", uri, "--spn", "HTTP/mail.contoso.test@CONTOSO.TEST"},
		"bad format":               {"run", "--uri", uri, "--format", "xml"},
		"missing ca file":          {"run", "--uri", uri, "--ca-file", filepath.Join(dir, "nope.pem")},
		"zero timeout":             {"run", "--uri", uri, "--timeout", "0s"},
		"user without domain":      {"run", "--uri", uri, "--user", "bob"},
		"no password":              {"run", "--uri", uri, "--user", `CONTOSO\bob`},
		"output in missing folder": {"run", "--uri", uri, "--checks", "dns", "--output", filepath.Join(dir, "missing", "r.json")},
		"unknown command":          {"frob"},
		"explain unknown":          {"explain", "NOPE"},
		"unknown scenario":         {"run", "--lab", "nope"},
		"lab with uri":             {"run", "--lab=healthy", "--uri", uri},
		"stray argument":           {"run", "--uri", uri, "extra"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errs := run(t, nil, args...)
			if code != 3 {
				t.Errorf("exit %d, want 3", code)
			}
			if out != "" {
				t.Errorf("stdout must stay empty, got %q", out)
			}
			lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exdiag: ") {
				t.Errorf("want one line on stderr, got %q", errs)
			}
			if strings.Contains(errs, "hunter2") {
				t.Errorf("the refused password was echoed: %q", errs)
			}
			if e := lines[0]; e != strings.ToLower(e[:9])+e[9:] {
				t.Errorf("message should start lowercase: %q", e)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad input left files behind: %v", entries)
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "pw")
	os.WriteFile(pf, []byte("from-file\n"), 0o600)
	io := &report.IO{}
	if s, err := readPassword("u", pf, io, func(string) string { return "" }); err != nil || s.Reveal() != "from-file" {
		t.Errorf("password file: %v", err)
	}
	if s, err := readPassword("u", pf, io, func(string) string { return "from-env" }); err != nil || s.Reveal() != "from-env" {
		t.Errorf("EXDIAG_PASSWORD must win: %v", err)
	}
	os.WriteFile(pf, nil, 0o600)
	if _, err := readPassword("u", pf, io, func(string) string { return "" }); err == nil {
		t.Error("an empty password file must be refused")
	}
}

func TestOutputFileIsWrittenWholeAndStdoutStaysEmpty(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	// no selected check reaches the network: spn named with basic over
	// https has nothing to check, an error (exit 3) the report still carries
	code, out, _ := run(t, nil, "run", "--uri", "https://mail.contoso.test/PowerShell", "--checks", "spn", "--format", "json", "--output", path)
	if code != 3 {
		t.Fatalf("exit %d, want 3 (spn named but nothing to check)", code)
	}
	if out != "" {
		t.Errorf("stdout should be empty with --output, got %q", out)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(b, []byte(`"schema_version": 1`)) || !bytes.Contains(b, []byte("named in --checks")) {
		t.Errorf("report file: %v %s", err, b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestExplainAndListings(t *testing.T) {
	code, out, _ := run(t, nil, "explain", "dns-ext-nxdomain")
	if code != 0 || !strings.Contains(out, "remediation:") || !strings.Contains(out, "references:") {
		t.Errorf("explain: %d %q", code, out)
	}
	code, out, _ = run(t, nil, "checks")
	for _, id := range []string{"dns", "tls", "redirect", "auth", "spn", "rbac"} {
		if code != 0 || !strings.Contains(out, id+" ") {
			t.Errorf("checks lacks %s: %q", id, out)
		}
	}
	code, out, _ = run(t, nil, "lab", "list")
	if code != 0 || !strings.Contains(out, "healthy") || !strings.Contains(out, "(default)") {
		t.Errorf("lab list: %q", out)
	}
	if code, out, _ = run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "exdiag ") {
		t.Errorf("version: %q", out)
	}
}
