package itest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// exdiag itself (the auth probe's Windows logon over winauth.Transport,
// then the rbac session) against real Apache httpd with mod_auth_gssapi
// in front of the lab's PSRP backend, with tickets from a real MIT KDC:
// what issue 16's "a Kerberos logon and an rbac session succeed" means
// outside the lab. Apache keeps no logon on the connection (no
// GssapiConnectionBound), so every request of the session carries its
// own AP-REQ, which the MIT acceptor verifies.
func TestExdiagKerberosSessionThroughApacheGSSAPI(t *testing.T) {
	l, kdcDir, certs := startGSSLab(t, nil, "KDC_EXTRA_SPNS="+gssSPN+" "+staleSPN, "KDC_KEYTABS="+gssSPN+" "+staleSPN, "KDC_REKEY="+staleSPN)
	front := l.startApache(t, kdcDir, certs, l.startBackend(t), "")
	port := front[strings.LastIndex(front, ":")+1:]

	run := func(t *testing.T, spn string) (map[string]any, map[string]any, []string, int) {
		r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + spnPassword}, "run",
			"--uri", "https://mail.contoso.test:"+port+"/PowerShell", "--resolve", "mail.contoso.test:"+port+":127.0.0.1",
			"--ca-file", certs+"/ca.pem", "--user", "administrator@"+spnRealm, "--authentication", "kerberos",
			"--kdc", l.kdc, "--spn", spn, "--checks", "tls,auth,rbac", "--format", "json")
		var doc struct {
			Checks []struct {
				ID       string         `json:"id"`
				Observed map[string]any `json:"observed"`
				Findings []struct {
					Code string `json:"code"`
				} `json:"findings"`
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
			t.Fatalf("%v: %s", err, r.Stdout)
		}
		var auth, rbac map[string]any
		var codes []string
		for _, res := range doc.Checks {
			for _, f := range res.Findings {
				codes = append(codes, f.Code)
			}
			switch res.ID {
			case "auth":
				auth, _ = res.Observed["windows"].(map[string]any)
			case "rbac":
				rbac = res.Observed
			}
		}
		if strings.Contains(r.Stdout, spnPassword) || strings.Contains(r.Stderr, spnPassword) {
			t.Fatal("the password is in the output")
		}
		return auth, rbac, codes, r.Code
	}

	t.Run("logon and session", func(t *testing.T) {
		w, rbac, codes, code := run(t, gssSPN)
		if code != 0 || w == nil || w["established"] != true || w["mutual_verified"] != true || w["bound"] != true || w["used"] != "kerberos" {
			t.Fatalf("exit %d, codes %v, windows logon %v", code, codes, w)
		}
		// the backend lists no commands for this user: what counts is a
		// shell created and deleted over requests apache authenticated
		if rbac == nil || rbac["mechanism"] != "kerberos" || rbac["shell_created"] != true || rbac["shell_deleted"] != true || rbac["protocol_version"] != "2.3" {
			t.Fatalf("rbac %v", rbac)
		}
		select {
		case u := <-l.users:
			if u != "administrator@"+spnRealm {
				t.Fatalf("apache told the backend the user is %q", u)
			}
		default:
			t.Fatal("the backend saw no request apache authenticated")
		}
	})
	t.Run("stale keytab", func(t *testing.T) {
		// MIT's acceptor names the key version it lacks; Windows would say
		// KRB_AP_ERR_MODIFIED: both mean the server holds another key
		w, _, codes, code := run(t, staleSPN)
		if code != 2 || w == nil || w["established"] == true || !strings.Contains(fmt.Sprint(w["server_error"]), "KRB_AP_ERR_BADKEYVER") {
			t.Fatalf("exit %d, codes %v, windows logon %v", code, codes, w)
		}
		if !strings.Contains(strings.Join(codes, " "), "AUTH-KERBEROS-MODIFIED") {
			t.Fatalf("codes %v, want AUTH-KERBEROS-MODIFIED", codes)
		}
	})
}

// exdiag's NTLM logon (over http, so sealed) against gss-ntlmssp behind
// Apache (scripts/servers/apache-ntlm.sh): gss-ntlmssp checks NTProofStr
// and the MIC, so an established logon proves the exchange is right, and
// a wrong password is refused once.
func TestExdiagNTLMLogonAgainstGSSNTLMSSP(t *testing.T) {
	addr := startNTLMServer(t, "apache-ntlm.sh")
	port := addr[strings.LastIndex(addr, ":")+1:]
	run := func(t *testing.T, password string) (map[string]any, string) {
		r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + password}, "run",
			"--uri", "http://mail.contoso.test:"+port+"/PowerShell", "--resolve", "mail.contoso.test:"+port+":127.0.0.1",
			"--user", ntlmDomain+`\`+ntlmUser, "--authentication", "ntlm", "--checks", "auth", "--format", "json")
		var doc struct {
			Checks []struct {
				ID       string         `json:"id"`
				Observed map[string]any `json:"observed"`
			} `json:"checks"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
			t.Fatalf("%v: %s", err, r.Stdout)
		}
		if strings.Contains(r.Stdout+r.Stderr, password) {
			t.Fatal("the password is in the output")
		}
		for _, c := range doc.Checks {
			if c.ID == "auth" {
				w, _ := c.Observed["windows"].(map[string]any)
				return w, r.Stdout
			}
		}
		return nil, r.Stdout
	}
	t.Run("logon", func(t *testing.T) {
		w, out := run(t, ntlmPassword)
		if w == nil || w["established"] != true || w["used"] != "ntlm" || w["sealed"] != true || w["rounds"] != float64(2) {
			t.Fatalf("windows logon %v\n%s", w, out)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		w, out := run(t, "not-"+ntlmPassword)
		if w == nil || w["established"] == true || w["status"] != float64(401) || w["unbound"] != nil {
			t.Fatalf("windows logon %v\n%s", w, out)
		}
	})
}
