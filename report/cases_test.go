package report

import (
	"time"

	"github.com/exdiag/exdiag/checks"
)

// The hand-made runs the renderer goldens are built from. They stand for
// what the lab's scenarios produce, so a new format costs one golden per
// case here instead of one per scenario end to end.

var started = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func meta() Meta {
	return Meta{
		Version: "1.2.3", Started: started.Add(400 * time.Millisecond), Elapsed: 1412 * time.Millisecond,
		Target:  Target{URI: "https://mail.contoso.test/PowerShell", Host: "mail.contoso.test", Port: 443},
		Vantage: Vantage{Host: "helpdesk-07", Resolvers: []string{"192.0.2.53:53"}},
		Inputs: map[string]any{"uri": "https://mail.contoso.test/PowerShell", "user": `CONTOSO\helpdesk`,
			"backend": []string{"https://cas1.contoso.test/PowerShell", "https://cas2.contoso.test/PowerShell"}},
	}
}

const (
	cas1 = "https://cas1.contoso.test/PowerShell"
	cas2 = "https://cas2.contoso.test/PowerShell"
)

func dnsPass() checks.Result {
	return checks.Result{ID: "dns", Title: "DNS split view", Status: checks.StatusPass, Duration: 12 * time.Millisecond,
		Summary: "external 203.0.113.10; internal 10.0.0.20",
		Observed: map[string]any{"connect_address": "203.0.113.10", "views": []any{
			map[string]any{"view": "external", "resolver": "192.0.2.53:53", "rcode": "NOERROR", "addresses": []any{"203.0.113.10"}},
			map[string]any{"view": "internal", "resolver": "10.0.0.53:53", "rcode": "NOERROR", "addresses": []any{"10.0.0.20"}},
		}}}
}

func chain(subject, notAfter string) []any {
	return []any{map[string]any{"subject": subject, "issuer": "CN=Contoso Issuing CA", "not_after": notAfter},
		map[string]any{"subject": "CN=Contoso Issuing CA", "issuer": "CN=Contoso Root CA", "not_after": "2030-01-01T00:00:00Z"}}
}

func tlsPass(leafCN string) checks.Result {
	return checks.Result{ID: "tls", Title: "TLS certificate chain", Status: checks.StatusPass, Duration: 31 * time.Millisecond,
		Summary: "TLS 1.3, " + leafCN + " expires 2027-02-24; 2 backend(s) checked",
		Observed: map[string]any{"address": "203.0.113.10:443", "chain": chain(leafCN, "2027-02-24T12:00:00Z"),
			"backends": []any{
				map[string]any{"url": cas1, "address": "10.0.0.21:443", "chain": chain("CN=cas1.contoso.test", "2026-12-06T00:00:00Z")},
				map[string]any{"url": cas2, "address": "10.0.0.22:443", "chain": chain("CN=cas2.contoso.test", "2027-06-01T00:00:00Z")},
			}}}
}

func redirectPass() checks.Result {
	return checks.Result{ID: "redirect", Title: "HTTP to HTTPS", Status: checks.StatusPass, Duration: 8 * time.Millisecond,
		Summary: "http 301 to https://mail.contoso.test/PowerShell"}
}

func authObs() map[string]any {
	return map[string]any{"status": 401, "answered_by": map[string]any{"role": "exchange", "product": "Exchange",
		"evidence": []any{"X-FEServer: CAS1", "via X-Powered-By: ARR/3.0"}},
		"backends": []any{map[string]any{"target": cas1, "status": 401}, map[string]any{"target": cas2, "status": 401}}}
}

func spnPass() checks.Result {
	return checks.Result{ID: "spn", Title: "Kerberos SPN", Status: checks.StatusPass, Duration: 40 * time.Millisecond,
		Summary: "HTTP/mail.contoso.test registered on EXCH-ASA$",
		Findings: []checks.Finding{{Code: "SPN-SHORT-NAME-MISSING", Severity: checks.SevInfo, Target: "HTTP/mail",
			Summary: "HTTP/mail is not registered", Remediation: []string{"setspn -S HTTP/mail EXCH-ASA$"}, References: []string{}}}}
}

func basicNotOffered(target, fe string) checks.Finding {
	return checks.Finding{Code: "AUTH-BASIC-NOT-OFFERED", Severity: checks.SevFail, Target: target,
		Summary: "unauthenticated POST answered 401 with only Negotiate, NTLM, no Basic challenge from " + fe,
		Remediation: []string{
			"on every CAS behind the proxy, in the Exchange Management Shell: Get-PowerShellVirtualDirectory | Set-PowerShellVirtualDirectory -BasicAuthentication $true",
			`or with IIS on each CAS: %windir%\system32\inetsrv\appcmd.exe set config "Default Web Site/PowerShell" -section:system.webServer/security/authentication/basicAuthentication /enabled:true /commit:apphost`,
		},
		References: []string{"https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-powershellvirtualdirectory"}}
}

// caseBroken is cas2-basic-disabled: Basic is off on one of two backends,
// and the runspace check is gated.
func caseBroken() Doc {
	auth := checks.Result{ID: "auth", Title: "PowerShell endpoint", Status: checks.StatusFail, Duration: 95 * time.Millisecond,
		Summary:  "401 offering Negotiate, NTLM, Basic from Exchange; with Basic 200 SOAP; 2 backend(s) checked",
		Observed: authObs(),
		Findings: []checks.Finding{basicNotOffered(cas2, "Exchange")}}
	rbac := checks.Result{ID: "rbac", Title: "RBAC cmdlets", Status: checks.StatusSkip, SkipReason: "prerequisite auth did not pass (fail)", Findings: []checks.Finding{}}
	return Build(meta(), []checks.Result{dnsPass(), tlsPass("CN=mail.contoso.test"), redirectPass(), auth, spnPass(), rbac})
}

// caseHealthy passes everything, with a warning on the command count.
func caseHealthy() Doc {
	auth := checks.Result{ID: "auth", Title: "PowerShell endpoint", Status: checks.StatusPass, Duration: 88 * time.Millisecond,
		Summary: "401 offering Negotiate, NTLM, Basic from Exchange; with Basic 200 SOAP", Observed: authObs(), Findings: []checks.Finding{}}
	rbac := checks.Result{ID: "rbac", Title: "RBAC cmdlets", Status: checks.StatusWarn, Duration: 640 * time.Millisecond,
		Summary:  "37 commands, shell deleted",
		Observed: map[string]any{"user": `CONTOSO\helpdesk`, "command_count": 37, "missing_cmdlets": []any{}},
		Findings: []checks.Finding{{Code: "RBAC-FEW-CMDLETS", Severity: checks.SevWarn, Target: `CONTOSO\helpdesk`,
			Summary: "the session exposes 37 commands, fewer than --min-cmdlets 100", Remediation: []string{"add CONTOSO\\helpdesk to a management role group"}, References: []string{}}}}
	return Build(meta(), []checks.Result{dnsPass(), tlsPass("CN=mail.contoso.test"), redirectPass(), auth, spnPass(), rbac})
}

// caseHostile carries what a hostile server can put in its answers:
// terminal escapes in a certificate CN (OSC retitle, CSI clear screen),
// C1 controls, a bidi override, markup and a pipe in a page title, and a
// newline that would forge a line. No renderer but JSON may pass them on.
func caseHostile() Doc {
	evil := "CN=\x1b]0;pwned\x07\x1b[2J\u009b31m<script>alert(1)</script>\u202egnp.exe"
	tls := tlsPass(evil)
	tls.Status = checks.StatusFail
	tls.Findings = []checks.Finding{{Code: "TLS-NAME-MISMATCH", Severity: checks.SevFail, Target: "203.0.113.10:443",
		Summary:     "certificate " + evil + " does not name mail.contoso.test",
		Remediation: []string{"bind a certificate for mail.contoso.test"}, References: []string{"https://example.test/<x>"}}}
	auth := checks.Result{ID: "auth", Title: "PowerShell endpoint", Status: checks.StatusFail, Duration: 20 * time.Millisecond,
		Summary:  "502 from <b>ARR</b> | page \"Bad\nGateway\" [x](javascript:alert(1))",
		Observed: map[string]any{"status": 502, "title": "</pre><script>alert(2)</script>", "answered_by": map[string]any{"role": "proxy", "product": "nginx\x1b[5m"}},
		Findings: []checks.Finding{{Code: "AUTH-PROXY-502", Severity: checks.SevFail, Target: "https://mail.contoso.test/PowerShell",
			Summary: "the proxy answered 502: <img src=x onerror=alert(3)>|'rbac_commands'=9999", Remediation: []string{"check the backend"}, References: []string{}}}}
	rbac := checks.Result{ID: "rbac", Title: "RBAC cmdlets", Status: checks.StatusSkip, SkipReason: "prerequisite auth did not pass (fail)", Findings: []checks.Finding{}}
	m := meta()
	m.Vantage.Host = "host\x1b[31m"
	return Build(m, []checks.Result{dnsPass(), tls, auth, rbac})
}

func cases() map[string]func() Doc {
	return map[string]func() Doc{"broken": caseBroken, "healthy": caseHealthy, "hostile": caseHostile}
}
