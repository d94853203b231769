package itest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/winauth"
)

// The NTLM context against a real NTLMv2 acceptor written by others:
// Apache httpd, mod_auth_gssapi and gss-ntlmssp (scripts/servers/apache-ntlm.sh).
// gss-ntlmssp checks the NTProofStr against the account's password and
// the MIC over the three messages, so a 200 proves both are right.

const (
	ntlmUser     = "alice"
	ntlmDomain   = "CONTOSO"
	ntlmPassword = "Lab-Ntlm-Pass1"
)

func startNTLMServer(t *testing.T) string {
	t.Helper()
	NeedBinaries(t, "apache2")
	if _, err := os.Stat("/etc/gss/mech.d/mech.ntlmssp.conf"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gss-ntlmssp is not installed; scripts/test.sh installs it")
		}
		t.Skip("gss-ntlmssp is not installed; run scripts/install-ntlm.sh as root")
	}
	dir := serverDir(t, "exdiag-ntlm-")
	users := fmt.Sprintf("%s:%s:%s\n", ntlmDomain, ntlmUser, ntlmPassword)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	StartServer(t, "apache-ntlm.sh", nil, dir, fmt.Sprint(port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	WaitPort(t, "tcp", addr, 10*time.Second)
	return addr
}

// tampered changes the AUTHENTICATE a context sends.
type tampered struct {
	winauth.Context
	edit func(auth []byte)
}

func (c tampered) Step(in []byte) ([]byte, bool, error) {
	out, done, err := c.Context.Step(in)
	if len(out) > 12 && string(out[:8]) == "NTLMSSP\x00" && out[8] == 3 {
		c.edit(out)
	}
	return out, done, err
}

// ntlmLogon runs one logon on one connection, as a WinRM client's first
// request does, and returns the last status: the server's word on the
// AUTHENTICATE.
func ntlmLogon(t *testing.T, addr string, c winauth.Context) (status int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var in []byte
	for round := 0; round < 3; round++ {
		out, done, err := c.Step(in)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		req := "GET /PowerShell/ HTTP/1.1\r\nHost: mail.contoso.test\r\n"
		if out != nil {
			req += "Authorization: " + c.Scheme() + " " + base64.StdEncoding.EncodeToString(out) + "\r\n"
		}
		if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		in = nil
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if tok, ok := strings.CutPrefix(v, c.Scheme()+" "); ok {
				if in, err = base64.StdEncoding.DecodeString(tok); err != nil {
					t.Fatalf("the server's token: %v", err)
				}
			}
		}
		if done || resp.StatusCode != http.StatusUnauthorized {
			return resp.StatusCode
		}
	}
	t.Fatal("the logon did not end in 3 rounds")
	return 0
}

func TestNTLMLogonAgainstGSSNTLMSSP(t *testing.T) {
	addr := startNTLMServer(t)
	opts := winauth.NTLMOptions{User: ntlmUser, Domain: ntlmDomain, Password: ntlmPassword, TargetName: "HTTP/mail.contoso.test"}

	for _, scheme := range []string{"Negotiate", "NTLM"} {
		o := opts
		o.Scheme = scheme
		if status := ntlmLogon(t, addr, winauth.NewNTLM(o, nil)); status != http.StatusOK {
			t.Fatalf("%s logon: status %d", scheme, status)
		}
	}
	// Negotiate falling back, as with no SPN: the server sees raw NTLMSSP
	c, fallback := winauth.NewNegotiate(nil, func() winauth.Context { return winauth.NewNTLM(opts, nil) })
	if fallback == nil || c.Mech() != winauth.NTLM {
		t.Fatalf("fallback %v, mech %s", fallback, c.Mech())
	}
	if status := ntlmLogon(t, addr, c); status != http.StatusOK {
		t.Fatalf("negotiate's fallback: status %d", status)
	}

	// a binding the server does not ask for is ignored, as by a Windows
	// server with Extended Protection off
	cb := &winauth.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	if status := ntlmLogon(t, addr, winauth.NewNTLM(opts, cb)); status != http.StatusOK {
		t.Fatalf("a logon with a binding: status %d", status)
	}

	bad := opts
	bad.Password = "not-the-password"
	if status := ntlmLogon(t, addr, winauth.NewNTLM(bad, nil)); status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: status %d", status)
	}
	// the server checks the MIC: with one bit of it changed, the same
	// logon fails, so the 200s above verified ours
	flipMIC := tampered{winauth.NewNTLM(opts, nil), func(a []byte) { a[72] ^= 1 }}
	if status := ntlmLogon(t, addr, flipMIC); status != http.StatusUnauthorized {
		t.Fatalf("a changed MIC: status %d", status)
	}
}
