package itest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// What exdiag reports for each way a real MIT acceptor (Apache httpd with
// mod_auth_gssapi) refuses a Kerberos logon, and for a name the real MIT
// KDC has no principal for: the finding codes of the auth check, end to
// end through the binary. MIT names a foreign key KRB_AP_ERR_BAD_INTEGRITY
// and an old one KRB_AP_ERR_BADKEYVER where Windows says
// KRB_AP_ERR_MODIFIED; a server clock ten minutes ahead (faketime) is
// KRB_AP_ERR_SKEW.
func TestExdiagKerberosFindingsAgainstApacheGSSAPI(t *testing.T) {
	l, kdcDir, certs := startGSSLab(t, []string{"faketime"},
		"KDC_EXTRA_SPNS="+gssSPN+" "+otherSPN, "KDC_KEYTABS="+gssSPN+" "+otherSPN, "KDC_RECREATE="+otherSPN)
	backend := l.startBackend(t)
	front := l.startApache(t, kdcDir, certs, backend, "")
	skewed := l.startApache(t, kdcDir, certs, backend, "+10m")

	// run is one exdiag run of the auth check with a Kerberos logon for
	// spn through the Apache at addr; it returns the auth findings.
	run := func(t *testing.T, addr, spn string) (codes, summaries []string, exit int) {
		port := addr[strings.LastIndex(addr, ":")+1:]
		r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + spnPassword}, "run",
			"--uri", "https://mail.contoso.test:"+port+"/PowerShell", "--resolve", "mail.contoso.test:"+port+":127.0.0.1",
			"--ca-file", certs+"/ca.pem", "--user", "administrator@"+spnRealm, "--authentication", "kerberos",
			"--kdc", l.kdc, "--spn", spn, "--checks", "tls,auth", "--format", "json")
		_, fs := authResult(t, r, spnPassword)
		for _, f := range fs {
			codes, summaries = append(codes, f.Code), append(summaries, f.Summary)
		}
		return codes, summaries, r.Code
	}
	for _, tc := range []struct {
		name, addr, spn, code, says string
	}{
		{"keytab of another account", front, otherSPN, "AUTH-KERBEROS-MODIFIED", "KRB_AP_ERR_BAD_INTEGRITY (31)"},
		{"server clock ten minutes ahead", skewed, gssSPN, "AUTH-KERBEROS-SKEW", "its clock read "},
		{"a name with no principal", front, "HTTP/nosuch.contoso.test", "SPN-MISSING", "KDC_ERR_S_PRINCIPAL_UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			codes, summaries, exit := run(t, tc.addr, tc.spn)
			if exit != 2 || !slices.Equal(codes, []string{tc.code}) || !strings.Contains(summaries[0], tc.says) {
				t.Fatalf("exit %d, auth findings %v %q; want exit 2 with %s saying %q", exit, codes, summaries, tc.code, tc.says)
			}
		})
	}
	t.Run("the logon that works", func(t *testing.T) {
		if codes, summaries, exit := run(t, front, gssSPN); exit != 0 || len(codes) != 0 {
			t.Fatalf("exit %d, auth findings %v %q; want a clean pass", exit, codes, summaries)
		}
	})
}

// Negotiate as Windows does it, against real servers: the real MIT KDC
// takes the password but has no principal for the name, so exdiag falls
// back to NTLM, which gss-ntlmssp behind Apache accepts; the run says so
// (AUTH-NTLM-FALLBACK, for want of an SPN) instead of passing silently.
func TestExdiagNegotiateFallsBackToNTLMAgainstRealServers(t *testing.T) {
	NeedBinaries(t, "krb5kdc", "kdb5_util", "kadmin.local")
	addr := startNTLMServer(t, "apache-ntlm.sh")
	port := addr[strings.LastIndex(addr, ":")+1:]
	kport := FreePort(t)
	kdc := fmt.Sprintf("127.0.0.1:%d", kport)
	// the same account in the realm, as a domain user is in AD's KDC
	StartServer(t, "kdc.sh", []string{fmt.Sprintf("KDC_PORT=%d", kport), "KDC_DIR=" + serverDir(t, "exdiag-kdc-"),
		"KDC_USER=" + ntlmUser, "KDC_PASSWORD=" + ntlmPassword})
	WaitPort(t, "tcp", kdc, 30*time.Second)

	r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + ntlmPassword}, "run",
		"--uri", "http://mail.contoso.test:"+port+"/PowerShell", "--resolve", "mail.contoso.test:"+port+":127.0.0.1",
		"--user", ntlmDomain+`\`+ntlmUser, "--realm", spnRealm, "--kdc", kdc, "--authentication", "negotiate",
		"--checks", "auth", "--format", "json")
	obs, fs := authResult(t, r, ntlmPassword)
	w, _ := obs["windows"].(map[string]any)
	if w == nil || w["used"] != "ntlm" || w["established"] != true {
		t.Fatalf("windows logon %v: want an established ntlm logon after the fall back", w)
	}
	for _, f := range fs {
		if f.Code == "AUTH-NTLM-FALLBACK" {
			if f.Severity != "warn" || !strings.Contains(f.Summary, "the kdc knows no HTTP/mail.contoso.test") {
				t.Fatalf("fall back finding %+v", f)
			}
			return
		}
	}
	t.Fatalf("no AUTH-NTLM-FALLBACK in %+v", fs)
}

// finding is one finding of a JSON report.
type finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
}

// authResult is the auth check of a run's JSON report: its observed
// evidence and its findings. The password must not be in the output.
func authResult(t *testing.T, r Run, password string) (map[string]any, []finding) {
	t.Helper()
	if strings.Contains(r.Stdout+r.Stderr, password) {
		t.Fatal("the password is in the output")
	}
	var doc struct {
		Checks []struct {
			ID       string         `json:"id"`
			Observed map[string]any `json:"observed"`
			Findings []finding      `json:"findings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	for _, c := range doc.Checks {
		if c.ID == "auth" {
			return c.Observed, c.Findings
		}
	}
	t.Fatalf("no auth check in the report: %s", r.Stdout)
	return nil, nil
}

// startGSSLab starts what the Kerberos tests against Apache need: the
// real MIT KDC with kdcEnv (kdc.sh's variables: the SPNs, their keytabs,
// a re-key), and the test PKI; it skips (fails in CI) without the
// binaries, more of which the caller may name.
func startGSSLab(t *testing.T, binaries []string, kdcEnv ...string) (l *gssLab, kdcDir, certs string) {
	t.Helper()
	NeedBinaries(t, append([]string{"krb5kdc", "kdb5_util", "kadmin.local", "apache2"}, binaries...)...)
	if _, err := os.Stat("/usr/lib/apache2/modules/mod_auth_gssapi.so"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mod_auth_gssapi is not installed; scripts/test.sh installs it")
		}
		t.Skip("mod_auth_gssapi is not installed; run scripts/install-gssapi.sh (as root)")
	}
	l = &gssLab{users: make(chan string, 64)}
	kport := FreePort(t)
	l.kdc = fmt.Sprintf("127.0.0.1:%d", kport)
	kdcDir = serverDir(t, "exdiag-kdc-")
	StartServer(t, "kdc.sh", append([]string{fmt.Sprintf("KDC_PORT=%d", kport), "KDC_DIR=" + kdcDir}, kdcEnv...))
	WaitPort(t, "tcp", l.kdc, 30*time.Second)
	certs = serverDir(t, "exdiag-gss-certs-")
	if out, err := exec.Command("bash", Script("tls-certs.sh"), certs).CombinedOutput(); err != nil {
		t.Fatalf("tls-certs.sh: %v\n%s", err, out)
	}
	return l, kdcDir, certs
}
