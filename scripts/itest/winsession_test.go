package itest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/winauth"
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
	t.Run("sealed session over http", func(t *testing.T) {
		// MIT's gss_wrap_iov/gss_unwrap_iov on the server side, pywinrm's
		// framing, exdiag's Kerberos Sealer and framing on the client's
		needWinRMPeer(t)
		dir := serverDir(t, "exdiag-wsmv-krb-")
		krbPeerDir(t, dir, kdcDir, "ntlm-seal.py")
		port := FreePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		StartServer(t, "as-nobody.sh", []string{"SEAL_FRAMING=wsmv", "SEAL_MECH=kerberos",
			"KRB5_KTNAME=" + dir + "/http.keytab", "KRB5_CONFIG=" + dir + "/krb5.conf", "KRB5RCACHEDIR=" + dir, "PYTHONDONTWRITEBYTECODE=1"},
			dir, "/usr/bin/python3", "-u", dir+"/ntlm-seal.py", fmt.Sprint(port), "/dev/null")
		WaitPort(t, "tcp", addr, 10*time.Second)
		tkt := l.ticket(t, gssSPN)
		tr := &winauth.Transport{Seal: true, NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) { return tkt.NewContext(cb), nil }}
		defer tr.Close()
		sealedEcho(t, tr, addr)
		if lr := tr.Logon(); !lr.Established || !lr.MutualVerified || lr.Mech != "kerberos" || lr.Relogons != 0 {
			t.Fatalf("logon %+v", lr)
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

// exdiag's sealed session over http (MS-WSMV 2.2.9.1) against a peer
// whose NTLM sealing is gss-ntlmssp's and whose multipart framing is
// pywinrm's (scripts/servers/ntlm-seal.py with SEAL_FRAMING=wsmv): requests of several sizes on
// one connection, each unsealed by pywinrm and gss-ntlmssp, each answer
// framed and sealed by them and unsealed by exdiag. The sequence numbers
// and RC4 streams of both directions must stay in step for the later
// ones to pass.
func TestSealedSessionAgainstPywinrmFraming(t *testing.T) {
	needWinRMPeer(t)
	t.Setenv("SEAL_FRAMING", "wsmv")
	addr := startNTLMServer(t, "ntlm-seal.sh")
	tr := &winauth.Transport{Seal: true, NewContext: func(cb *winauth.ChannelBindings) (winauth.Context, error) {
		return winauth.NewNTLM(winauth.NTLMOptions{User: ntlmUser, Domain: ntlmDomain, Password: ntlmPassword}, cb), nil
	}}
	defer tr.Close()
	sealedEcho(t, tr, addr)
	if l := tr.Logon(); !l.Established || l.Mech != "ntlm" || l.Rounds != 2 || l.Relogons != 0 {
		t.Fatalf("logon %+v", l)
	}
}

// sealedEcho sends sealed messages of several sizes on tr's one
// connection to the ntlm-seal.py peer (SEAL_FRAMING=wsmv) at addr and
// checks each echo.
func sealedEcho(t *testing.T, tr *winauth.Transport, addr string) {
	t.Helper()
	for i, n := range []int{13, 4000, 300 << 10, 1} {
		msg := "<s:Envelope>" + strings.Repeat("x", n) + "</s:Envelope>"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/wsman", strings.NewReader(msg))
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			cancel()
			t.Fatalf("message %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		cancel()
		if resp.StatusCode != 200 || string(b) != "echo:"+msg || resp.Header.Get("Content-Type") != "application/soap+xml;charset=UTF-8" {
			t.Fatalf("message %d: %d %q… (%s)", i, resp.StatusCode, b[:min(len(b), 60)], resp.Header.Get("Content-Type"))
		}
	}
}

// needWinRMPeer skips (or, in CI, fails) without what ntlm-seal.py's
// SEAL_FRAMING=wsmv imports.
func needWinRMPeer(t *testing.T) {
	t.Helper()
	if exec.Command("/usr/bin/python3", "-c", "import gssapi, winrm.encryption").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-gssapi or python3-winrm is not installed; scripts/test.sh installs them")
		}
		t.Skip("python3-gssapi or python3-winrm is not installed; run scripts/install-winrm.sh as root")
	}
}
