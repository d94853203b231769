package itest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/spnego"
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

// startNTLMServer runs script (apache-ntlm.sh or ntlm-seal.sh) with the
// lab's account and returns its address.
func startNTLMServer(t *testing.T, script string, args ...string) string {
	t.Helper()
	if script == "apache-ntlm.sh" {
		NeedBinaries(t, "apache2")
	}
	if _, err := os.Stat("/etc/gss/mech.d/mech.ntlmssp.conf"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gss-ntlmssp is not installed; scripts/test.sh installs it")
		}
		t.Skip("gss-ntlmssp is not installed; run scripts/install-ntlm.sh as root")
	}
	if script == "ntlm-seal.sh" && exec.Command("/usr/bin/python3", "-c", "import gssapi").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-gssapi is not installed; scripts/test.sh installs it")
		}
		t.Skip("python3-gssapi is not installed; run scripts/install-ntlm.sh as root")
	}
	dir := serverDir(t, "exdiag-ntlm-")
	users := fmt.Sprintf("%s:%s:%s\n", ntlmDomain, ntlmUser, ntlmPassword)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	StartServer(t, script, nil, append([]string{dir, fmt.Sprint(port)}, args...)...)
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

// ntlmConn is one connection to an NTLM server, as a WinRM client holds
// one per logon (NTLM authenticates the connection).
type ntlmConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialNTLM(t *testing.T, addr string) *ntlmConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &ntlmConn{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// exchange sends one POST with an optional Authorization and body.
func (n *ntlmConn) exchange(scheme string, token, body []byte) (*http.Response, []byte) {
	n.t.Helper()
	req := fmt.Sprintf("POST /PowerShell/ HTTP/1.1\r\nHost: mail.contoso.test\r\nContent-Length: %d\r\n", len(body))
	if token != nil {
		req += "Authorization: " + scheme + " " + base64.StdEncoding.EncodeToString(token) + "\r\n"
	}
	if _, err := n.conn.Write(append([]byte(req+"\r\n"), body...)); err != nil {
		n.t.Fatal(err)
	}
	resp, err := http.ReadResponse(n.br, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if err != nil {
		n.t.Fatal(err)
	}
	return resp, b
}

// logon runs the context's handshake and returns the last status: the
// server's word on the AUTHENTICATE.
func (n *ntlmConn) logon(c winauth.Context) int {
	n.t.Helper()
	var in []byte
	for round := 0; round < 3; round++ {
		out, done, err := c.Step(in)
		if err != nil {
			n.t.Fatalf("round %d: %v", round, err)
		}
		resp, _ := n.exchange(c.Scheme(), out, nil)
		in = nil
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if tok, ok := strings.CutPrefix(v, c.Scheme()+" "); ok {
				if in, err = base64.StdEncoding.DecodeString(tok); err != nil {
					n.t.Fatalf("the server's token: %v", err)
				}
			}
		}
		if done || resp.StatusCode != http.StatusUnauthorized {
			// the server's last word, if any (SPNEGO's accept-completed)
			if resp.StatusCode == http.StatusOK && in != nil {
				if _, done, err := c.Step(in); err != nil || !done {
					n.t.Fatalf("the server's final token %x: done %v, %v", in, done, err)
				}
			}
			return resp.StatusCode
		}
	}
	n.t.Fatal("the logon did not end in 3 rounds")
	return 0
}

func ntlmLogon(t *testing.T, addr string, c winauth.Context) int {
	return dialNTLM(t, addr).logon(c)
}

func TestNTLMLogonAgainstGSSNTLMSSP(t *testing.T) {
	addr := startNTLMServer(t, "apache-ntlm.sh")
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

// TestNTLMSealingAndBindingAgainstGSSNTLMSSP has gss-ntlmssp, as the
// acceptor, require a channel binding (Extended Protection) and unseal
// and seal messages with the session the logon made.
func TestNTLMSealingAndBindingAgainstGSSNTLMSSP(t *testing.T) {
	cb := &winauth.ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	addr := startNTLMServer(t, "ntlm-seal.sh", hex.EncodeToString(cb.ApplicationData))
	opts := winauth.NTLMOptions{User: ntlmUser, Domain: ntlmDomain, Password: ntlmPassword, TargetName: "HTTP/mail.contoso.test"}

	// the binding the server requires: accepted, then sealed messages
	// both ways, several in a row (the RC4 streams and sequence numbers
	// run for the whole connection)
	conn := dialNTLM(t, addr)
	c := winauth.NewNTLM(opts, cb)
	if status := conn.logon(c); status != http.StatusOK {
		t.Fatalf("a logon with the required binding: status %d", status)
	}
	s := c.(winauth.Sealer)
	for i := range 3 {
		msg := fmt.Appendf(nil, "<s:Envelope>request %d</s:Envelope>", i)
		h, sealed, err := s.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		body := binary.LittleEndian.AppendUint32(nil, uint32(len(h)))
		resp, b := conn.exchange("", nil, append(append(body, h...), sealed...))
		if resp.StatusCode != http.StatusOK || len(b) < 20 || binary.LittleEndian.Uint32(b) != 16 {
			t.Fatalf("message %d: status %d, %q", i, resp.StatusCode, b)
		}
		got, err := s.Unwrap(b[4:20], b[20:])
		if err != nil {
			t.Fatalf("the server's answer %d: %v", i, err)
		}
		if want := append([]byte("echo:"), msg...); !bytes.Equal(got, want) {
			t.Fatalf("answer %d is %q, want %q", i, got, want)
		}
	}

	// another connection's binding is refused, as Extended Protection
	// refuses a logon through a proxy that terminates TLS: the client
	// binds to the proxy's certificate, the server expects its own
	other := &winauth.ChannelBindings{ApplicationData: []byte("tls-server-end-point:the proxy's certificate, not the server's")}
	if status := ntlmLogon(t, addr, winauth.NewNTLM(opts, other)); status != http.StatusUnauthorized {
		t.Errorf("another binding: status %d, want 401", status)
	}
	// no binding (Z(16)) gss-ntlmssp lets through, as Windows' Extended
	// Protection does at "Allow" and refuses only at "Require": which is
	// why exdiag compares a bound and an unbound logon
	if status := ntlmLogon(t, addr, winauth.NewNTLM(opts, nil)); status != http.StatusOK {
		t.Errorf("no binding: status %d, want gss-ntlmssp's 200", status)
	}
}

// spnegoStart sends the context's NEGOTIATE inside an SPNEGO NegTokenInit
// offering only NTLM, as a client that starts in SPNEGO does, and keeps
// the server's tokens to show it answered in SPNEGO.
type spnegoStart struct {
	winauth.Context
	seen *[][]byte
}

func (c spnegoStart) Step(in []byte) ([]byte, bool, error) {
	*c.seen = append(*c.seen, in)
	out, done, err := c.Context.Step(in)
	if err != nil || in != nil {
		return out, done, err
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes:      []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}},
		MechTokenBytes: out,
	}}
	b, err := tok.Marshal()
	return b, done, err
}

// TestNTLMInsideSPNEGOAgainstApache: MIT's SPNEGO in mod_auth_gssapi
// answers the NEGOTIATE with its CHALLENGE in a NegTokenResp, and takes
// the AUTHENTICATE back in one.
func TestNTLMInsideSPNEGOAgainstApache(t *testing.T) {
	addr := startNTLMServer(t, "apache-ntlm.sh")
	var seen [][]byte
	c := spnegoStart{winauth.NewNTLM(winauth.NTLMOptions{User: ntlmUser, Domain: ntlmDomain, Password: ntlmPassword}, nil), &seen}
	if status := ntlmLogon(t, addr, c); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if len(seen) != 3 || len(seen[1]) == 0 || seen[1][0] != 0xa1 || len(seen[2]) == 0 {
		t.Fatalf("the server's challenge and last word were not NegTokenResps: %x", seen)
	}
}

// TestNegotiateFallsBackWithoutSPN is Negotiate as Windows performs it
// against a real MIT KDC (scripts/servers/kdc.sh): for HTTP/mail.contoso.test,
// which the realm lacks, the ticket request fails with
// KDC_ERR_S_PRINCIPAL_UNKNOWN, Negotiate falls back to NTLM saying so, and
// the NTLM logon to gss-ntlmssp succeeds; for HTTP/cas1.contoso.test,
// which exists, Kerberos is picked.
func TestNegotiateFallsBackWithoutSPN(t *testing.T) {
	NeedBinaries(t, "krb5kdc", "kdb5_util", "kadmin.local")
	addr := startNTLMServer(t, "apache-ntlm.sh")
	port := FreePort(t)
	kdc := fmt.Sprintf("127.0.0.1:%d", port)
	StartServer(t, "kdc.sh", []string{fmt.Sprintf("KDC_PORT=%d", port), "KDC_DIR=" + serverDir(t, "exdiag-kdc-")})
	WaitPort(t, "tcp", kdc, 30*time.Second)

	krb := func(spn string) func() (winauth.Context, error) {
		return func() (winauth.Context, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: spnRealm, User: "administrator", Password: spnPassword,
				KDCs: []string{kdc}, AttemptTimeout: 5 * time.Second, SPN: spn})
			if err != nil {
				return nil, err
			}
			return tkt.NewContext(nil), nil
		}
	}
	ntlm := func() winauth.Context {
		return winauth.NewNTLM(winauth.NTLMOptions{User: ntlmUser, Domain: ntlmDomain, Password: ntlmPassword, TargetName: "HTTP/mail.contoso.test"}, nil)
	}

	c, fallback := winauth.NewNegotiate(krb("HTTP/mail.contoso.test"), ntlm)
	if code, _ := kerb.Code(fallback); code != errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN || c == nil || c.Mech() != winauth.NTLM {
		t.Fatalf("no SPN: fallback %v (code %d), context %v", fallback, code, c)
	}
	if status := ntlmLogon(t, addr, c); status != http.StatusOK {
		t.Fatalf("the fallback's NTLM logon: status %d", status)
	}

	c, fallback = winauth.NewNegotiate(krb("HTTP/cas1.contoso.test"), ntlm)
	if fallback != nil || c.Mech() != winauth.Kerberos {
		t.Fatalf("with the SPN: fallback %v, mech %s", fallback, c.Mech())
	}
}
