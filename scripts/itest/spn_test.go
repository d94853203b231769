package itest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// The spn probe against a real MIT Kerberos KDC (scripts/servers/kdc.sh)
// and a real OpenLDAP slapd (scripts/servers/slapd.sh).

const (
	spnRealm    = "CONTOSO.TEST"
	spnPassword = "Lab-Admin-Pass1"
	slapdBindDN = "cn=Administrator,ou=Users,dc=contoso,dc=test"
)

// serverDir is a folder the server may own: the scripts hand it to user
// nobody, who cannot enter t.TempDir()'s root-only parent.
func serverDir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

type spnReport struct {
	ExitCode int `json:"exit_code"`
	Checks   []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Error    string `json:"error"`
		Observed struct {
			KDC  string `json:"kdc"`
			SPNs []struct {
				SPN        string   `json:"spn"`
				Source     string   `json:"source"`
				Registered *bool    `json:"registered"`
				Owners     []string `json:"owners"`
			} `json:"spns"`
		} `json:"observed"`
		Findings []struct {
			Code    string `json:"code"`
			Target  string `json:"target"`
			Summary string `json:"summary"`
		} `json:"findings"`
	} `json:"checks"`
}

// runSPN runs `exdiag run --checks spn` and returns the spn check's entry.
func runSPN(t *testing.T, password string, args ...string) (spnReport, Run) {
	t.Helper()
	full := append([]string{"run", "--checks", "spn", "--format", "json", "--timeout", "10s"}, args...)
	r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + password}, full...)
	var rep spnReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("exit %d, stdout is not the JSON report: %v\n%s", r.Code, err, r.Stdout)
	}
	if len(rep.Checks) != 1 || rep.Checks[0].ID != "spn" {
		t.Fatalf("want the spn check alone, got %+v", rep.Checks)
	}
	if strings.Contains(r.Stdout+r.Stderr, password) {
		t.Fatal("the password appears in exdiag's output")
	}
	return rep, r
}

func codes(rep spnReport) []string {
	var out []string
	for _, f := range rep.Checks[0].Findings {
		out = append(out, f.Code)
	}
	return out
}

func wantCodes(t *testing.T, rep spnReport, want ...string) {
	t.Helper()
	got := codes(rep)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("findings %v, want %v (status %s, error %q)", got, want, rep.Checks[0].Status, rep.Checks[0].Error)
	}
}

func TestSPNAgainstMITKDC(t *testing.T) {
	NeedBinaries(t, "krb5kdc", "kdb5_util", "kadmin.local")
	port := FreePort(t)
	kdc := fmt.Sprintf("127.0.0.1:%d", port)
	srv := StartServer(t, "kdc.sh", []string{fmt.Sprintf("KDC_PORT=%d", port), "KDC_DIR=" + serverDir(t, "exdiag-kdc-")})
	WaitPort(t, "tcp", kdc, 30*time.Second)
	base := []string{"--realm", spnRealm, "--kdc", kdc, "--user", "administrator@" + spnRealm}

	t.Run("present", func(t *testing.T) {
		rep, r := runSPN(t, spnPassword, append(base, "--uri", "https://cas1.contoso.test/PowerShell")...)
		wantCodes(t, rep)
		c := rep.Checks[0]
		if c.Status != "pass" || r.Code != 0 || c.Observed.KDC != kdc {
			t.Fatalf("status %s exit %d kdc %q", c.Status, r.Code, c.Observed.KDC)
		}
		if s := c.Observed.SPNs; len(s) != 1 || s[0].SPN != "HTTP/cas1.contoso.test" || s[0].Registered == nil || !*s[0].Registered {
			t.Fatalf("observed %+v, want HTTP/cas1.contoso.test registered", s)
		}
	})
	t.Run("missing", func(t *testing.T) {
		rep, r := runSPN(t, spnPassword, append(base, "--uri", "https://mail.contoso.test/PowerShell", "--spn", "cas1.contoso.test")...)
		wantCodes(t, rep, "SPN-MISSING")
		if f := rep.Checks[0].Findings[0]; f.Target != "HTTP/mail.contoso.test" || r.Code != 2 {
			t.Fatalf("finding %+v exit %d", f, r.Code)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		rep, _ := runSPN(t, "Not-The-Password-9", append(base, "--uri", "https://mail.contoso.test/PowerShell")...)
		wantCodes(t, rep, "SPN-PREAUTH-FAILED")
		if !strings.Contains(rep.Checks[0].Findings[0].Summary, "KDC_ERR_PREAUTH_FAILED") {
			t.Fatalf("summary %q does not name the kdc's error", rep.Checks[0].Findings[0].Summary)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		rep, _ := runSPN(t, spnPassword, "--realm", spnRealm, "--kdc", kdc, "--user", "nosuchuser@"+spnRealm, "--uri", "https://mail.contoso.test/PowerShell")
		wantCodes(t, rep, "SPN-PREAUTH-FAILED")
	})
	t.Run("silent kdc", func(t *testing.T) {
		// accepts and never answers: the KDC exchange's own budget
		// (checks.KDCExchangeBudget, 3 s) ends inside the run's, so the
		// silence is a finding; a --timeout shorter than that budget would
		// be exdiag's limit, an error
		rep, _ := runSPN(t, spnPassword, "--realm", spnRealm, "--kdc", hostile.Silent(t), "--user", "administrator@"+spnRealm,
			"--uri", "https://mail.contoso.test/PowerShell", "--timeout", "6s")
		wantCodes(t, rep, "SPN-KDC-UNREACHABLE")
	})
	t.Run("kdc stopped", func(t *testing.T) {
		srv.Stop()
		rep, r := runSPN(t, spnPassword, append(base, "--uri", "https://mail.contoso.test/PowerShell")...)
		wantCodes(t, rep, "SPN-KDC-UNREACHABLE")
		if r.Code != 2 {
			t.Fatalf("exit %d, want 2", r.Code)
		}
	})
}

func TestSPNAgainstOpenLDAP(t *testing.T) {
	NeedBinaries(t, "slapd", "slapadd")
	port, tlsPort := FreePort(t), FreePort(t)
	for tlsPort == port {
		tlsPort = FreePort(t)
	}
	dir := serverDir(t, "exdiag-slapd-")
	StartServer(t, "slapd.sh", []string{fmt.Sprintf("SLAPD_PORT=%d", port), fmt.Sprintf("SLAPD_TLS_PORT=%d", tlsPort), "SLAPD_DIR=" + dir})
	WaitPort(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second)
	WaitPort(t, "tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), 30*time.Second)
	base := []string{"--ldap", fmt.Sprintf("ldap://127.0.0.1:%d", port), "--ldap-base", "dc=contoso,dc=test", "--user", slapdBindDN}

	t.Run("present", func(t *testing.T) {
		rep, r := runSPN(t, spnPassword, append(base, "--uri", "https://cas1.contoso.test/PowerShell")...)
		wantCodes(t, rep)
		if r.Code != 0 {
			t.Fatalf("exit %d", r.Code)
		}
		s := rep.Checks[0].Observed.SPNs
		if len(s) == 0 || s[0].SPN != "HTTP/cas1.contoso.test" || strings.Join(s[0].Owners, ",") != "CAS1$" {
			t.Fatalf("observed %+v, want HTTP/cas1.contoso.test owned by CAS1$", s)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		rep, _ := runSPN(t, spnPassword, append(base, "--uri", "https://outlook.contoso.test/PowerShell")...)
		wantCodes(t, rep, "SPN-DUPLICATE")
		f := rep.Checks[0].Findings[0]
		if f.Target != "HTTP/outlook.contoso.test" || !strings.Contains(f.Summary, "CAS1$") || !strings.Contains(f.Summary, "CAS2$") {
			t.Fatalf("finding %+v must name HTTP/outlook.contoso.test and both CAS1$ and CAS2$", f)
		}
	})
	t.Run("missing", func(t *testing.T) {
		rep, _ := runSPN(t, spnPassword, append(base, "--uri", "https://mail.contoso.test/PowerShell")...)
		wantCodes(t, rep, "SPN-MISSING")
	})
	t.Run("wrong password", func(t *testing.T) {
		rep, _ := runSPN(t, "Not-The-Password-9", append(base, "--uri", "https://mail.contoso.test/PowerShell")...)
		wantCodes(t, rep, "SPN-PREAUTH-FAILED")
	})
	// the same duplicate over slapd's own TLS: StartTLS and LDAPS, trusting
	// its certificate through --ca-file
	for _, u := range []string{fmt.Sprintf("ldap://127.0.0.1:%d/?starttls", port), fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)} {
		t.Run("tls "+strings.SplitN(u, ":", 2)[0], func(t *testing.T) {
			rep, _ := runSPN(t, spnPassword, "--ldap", u, "--ldap-base", "dc=contoso,dc=test", "--user", slapdBindDN,
				"--ca-file", dir+"/cert.pem", "--uri", "https://outlook.contoso.test/PowerShell")
			wantCodes(t, rep, "SPN-DUPLICATE")
		})
	}
	t.Run("tls untrusted", func(t *testing.T) {
		rep, r := runSPN(t, spnPassword, "--ldap", fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort), "--ldap-base", "dc=contoso,dc=test",
			"--user", slapdBindDN, "--uri", "https://outlook.contoso.test/PowerShell")
		if c := rep.Checks[0]; c.Status != "error" || !strings.Contains(c.Error, "certificate") || r.Code != 3 {
			t.Fatalf("status %s error %q exit %d, want an error about the certificate", c.Status, c.Error, r.Code)
		}
	})
}
