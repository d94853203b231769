package itest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// The Kerberos logon of checks/winauth against real Apache httpd with
// mod_auth_gssapi (MIT's GSS-API acceptor; scripts/servers/apache-gssapi.sh)
// holding a keytab exported from a real MIT KDC (scripts/servers/kdc.sh),
// in front of the lab's PSRP backend.

const (
	gssSPN   = "HTTP/gss.contoso.test"   // in the keytab Apache holds
	staleSPN = "HTTP/stale.contoso.test" // re-keyed after the keytab was exported
	otherSPN = "HTTP/other.contoso.test" // re-created: the keytab's key is another account's
)

// enumerate is a WS-Management Enumerate of the shells: a request the
// backend answers 200 for any authenticated user.
const enumerate = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action><a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID><w:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.Exchange</w:ResourceURI></s:Header><s:Body><n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"/></s:Body></s:Envelope>`

// gssLab is the KDC, the backend and the Apache fronts of the test.
type gssLab struct {
	kdc   string
	roots *x509.CertPool
	users chan string // the users the backend was told about
}

func TestKerberosLogonAgainstApacheGSSAPI(t *testing.T) {
	l, kdcDir, certs := startGSSLab(t, []string{"faketime"},
		"KDC_EXTRA_SPNS="+gssSPN+" "+staleSPN+" "+otherSPN, "KDC_KEYTABS="+gssSPN+" "+staleSPN+" "+otherSPN,
		"KDC_REKEY="+staleSPN, "KDC_RECREATE="+otherSPN)
	ca, err := os.ReadFile(certs + "/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	l.roots = x509.NewCertPool()
	l.roots.AppendCertsFromPEM(ca)

	backend := l.startBackend(t)
	front := l.startApache(t, kdcDir, certs, backend, "")
	skewed := l.startApache(t, kdcDir, certs, backend, "+10m")

	t.Run("logon", func(t *testing.T) {
		r := l.logon(t, front, gssSPN, nil)
		if r.ticketErr != nil || r.err != nil || !r.done || r.status != http.StatusOK {
			t.Fatalf("%+v: want 200 with the AP-REP verified", r)
		}
		if !strings.Contains(r.body, "EnumerateResponse") {
			t.Fatalf("body %q is not the backend's answer", r.body)
		}
		select {
		case u := <-l.users:
			if u != "administrator@"+spnRealm {
				t.Fatalf("apache told the backend the user is %q", u)
			}
		default:
			t.Fatal("the backend saw no authenticated request")
		}
	})
	t.Run("wrong spn", func(t *testing.T) {
		r := l.logon(t, front, "HTTP/nosuch.contoso.test", nil)
		if code, _ := kerb.Code(r.ticketErr); code != errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN || kerb.Classify(r.ticketErr) != kerb.ClassPrincipalUnknown {
			t.Fatalf("ticket error %v, want KDC_ERR_S_PRINCIPAL_UNKNOWN", r.ticketErr)
		}
	})
	t.Run("stale keytab", func(t *testing.T) {
		// the KDC seals the ticket with the key of kvno 2; Apache's keytab
		// has kvno 1 only, and MIT's acceptor names the mismatch (Windows
		// answers a ticket its keys do not open KRB_AP_ERR_MODIFIED)
		r := l.logon(t, front, staleSPN, nil)
		wantKerberosError(t, r, errorcode.KRB_AP_ERR_BADKEYVER, "KRB_AP_ERR_BADKEYVER")
	})
	t.Run("keytab of another account", func(t *testing.T) {
		// same name and kvno, another key: a duplicate SPN or a keytab
		// exported for the wrong account. Windows answers this
		// KRB_AP_ERR_MODIFIED; MIT's acceptor says what its decryption
		// found, KRB_AP_ERR_BAD_INTEGRITY, and the context passes it on
		r := l.logon(t, front, otherSPN, nil)
		wantKerberosError(t, r, errorcode.KRB_AP_ERR_BAD_INTEGRITY, "KRB_AP_ERR_BAD_INTEGRITY")
	})
	t.Run("server clock ten minutes ahead", func(t *testing.T) {
		// Apache under libfaketime: the real case, a server whose clock
		// drifted from the domain's while the client's and the KDC's agree
		// (the client-side skew further down only reaches the same code)
		r := l.logon(t, skewed, gssSPN, nil)
		ke := wantKerberosError(t, r, errorcode.KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW")
		if d := time.Until(ke.ServerTime); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("the KRB-ERROR's server time is %v from ours, want about ten minutes ahead", d)
		}
	})
	t.Run("sealed messages with MIT's gss_wrap_iov", func(t *testing.T) {
		l.sealing(t, kdcDir)
	})
	t.Run("channel bindings checked by MIT", func(t *testing.T) {
		l.bindings(t, kdcDir)
	})
	t.Run("client clock ten minutes behind", func(t *testing.T) {
		r := l.logon(t, front, gssSPN, func() time.Time { return time.Now().Add(-10 * time.Minute) })
		wantKerberosError(t, r, errorcode.KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW")
	})
}

func wantKerberosError(t *testing.T, r logonResult, code int32, name string) *winauth.KerberosError {
	t.Helper()
	var ke *winauth.KerberosError
	if r.ticketErr != nil || r.done || r.status != http.StatusUnauthorized || !errors.As(r.err, &ke) {
		t.Fatalf("%+v: want a 401 carrying %s", r, name)
	}
	if ke.Code != code || ke.Name != name {
		t.Fatalf("apache answered %s (%d), want %s (%d)", ke.Name, ke.Code, name, code)
	}
	return ke
}

// startBackend is the lab PSRP endpoint, trusting the front's
// X-Remote-User as Exchange's backend trusts its CAS.
func (l *gssLab) startBackend(t *testing.T) string {
	t.Helper()
	srv := psrpserver.New(psrpserver.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.Header.Get("X-Remote-User")
		if u == "" {
			http.Error(w, "no user from the front", http.StatusForbidden)
			return
		}
		select {
		case l.users <- u:
		default:
		}
		srv.ServeHTTP(w, r.WithContext(psrpserver.WithUser(r.Context(), u)))
	})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close(); wg.Wait() })
	return ln.Addr().String()
}

// startApache runs apache-gssapi.sh with the KDC's exported keytab, its
// clock shifted by faketime when given.
func (l *gssLab) startApache(t *testing.T, kdcDir, certs, backend, faketime string) string {
	t.Helper()
	dir := serverDir(t, "exdiag-gss-apache-")
	copyFiles(t, dir, map[string]string{kdcDir + "/http.keytab": "http.keytab", certs + "/trusted-chain.pem": "front.crt", certs + "/trusted.key": "front.key"})
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := []string{fmt.Sprintf("APACHE_PORT=%d", port), "APACHE_BACKEND=" + backend}
	if faketime != "" {
		env = append(env, "APACHE_FAKETIME="+faketime)
	}
	s := StartServer(t, "apache-gssapi.sh", env, dir)
	s.WaitReady(t, "listener on "+addr, 30*time.Second, func() bool { return Accepts(addr) })
	return addr
}

// logonResult is what one logon over one TLS connection showed.
type logonResult struct {
	ticketErr error // from winauth.GetTicket
	status    int   // of the authenticated request
	done      bool  // the context verified the AP-REP
	err       error // from the context's last step
	body      string
}

// logon gets a ticket for spn and performs the Negotiate exchange as a
// WinRM client does on one connection: the anonymous request's 401, then
// the request with the AP-REQ bound to this connection's certificate, and
// the server's answer fed back to the context.
func (l *gssLab) logon(t *testing.T, addr, spn string, now func() time.Time) logonResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var r logonResult
	tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: spnRealm, User: "administrator", Password: spnPassword,
		KDCs: []string{l.kdc}, AttemptTimeout: 5 * time.Second, SPN: spn, Now: now})
	if err != nil {
		r.ticketErr = err
		return r
	}
	d := &tls.Dialer{Config: &tls.Config{RootCAs: l.roots, ServerName: "mail.contoso.test"}}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn := raw.(*tls.Conn)
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	br := bufio.NewReader(conn)

	resp := roundTrip(t, conn, br, "")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Negotiate" {
		t.Fatalf("anonymous request: %d %q, want 401 Negotiate", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	cs := conn.ConnectionState()
	cb, err := winauth.ServerEndPoint(&cs)
	if err != nil {
		t.Fatal(err)
	}
	c := tkt.NewContext(cb)
	out, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp = roundTrip(t, conn, br, "Negotiate "+base64.StdEncoding.EncodeToString(out))
	r.status = resp.StatusCode
	r.body = readBody(t, resp)
	var in []byte
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if tok, ok := strings.CutPrefix(v, "Negotiate "); ok {
			if in, err = base64.StdEncoding.DecodeString(tok); err != nil {
				t.Fatalf("WWW-Authenticate %q: %v", v, err)
			}
		}
	}
	// EXDIAG_GSS_CAPTURE=DIR keeps Apache's refusals for the replay
	// tests of checks/winauth (its testdata/mit-*.neg)
	if dir := os.Getenv("EXDIAG_GSS_CAPTURE"); dir != "" && len(in) > 0 && r.status == http.StatusUnauthorized {
		name := strings.NewReplacer(" ", "-", "/", "-").Replace(strings.ToLower(strings.TrimPrefix(t.Name(), "TestKerberosLogonAgainstApacheGSSAPI/")))
		if err := os.WriteFile(dir+"/mit-"+name+".neg", in, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, r.done, r.err = c.Step(in)
	t.Logf("%s: %d, done %v, %v", spn, r.status, r.done, r.err)
	return r
}

func roundTrip(t *testing.T, conn net.Conn, br *bufio.Reader, authorization string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://mail.contoso.test/PowerShell", strings.NewReader(enumerate))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if authorization == "" {
		readBody(t, resp)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gssPeer is scripts/servers/gss-peer.py, MIT's acceptor through
// python3-gssapi, talking one line per message.
type gssPeer struct {
	in   io.WriteCloser
	out  *bufio.Reader
	errb *strings.Builder
}

// startPeer runs gss-peer.py as nobody with the KDC's exported keytab,
// requiring the channel binding cb when it is not nil.
func (l *gssLab) startPeer(t *testing.T, kdcDir string, cb *winauth.ChannelBindings) *gssPeer {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-gssapi is not installed; scripts/test.sh installs it")
		}
		t.Skip("python3-gssapi is not installed; run scripts/install-gssapi.sh (as root)")
	}
	dir := serverDir(t, "exdiag-gss-peer-")
	krbPeerDir(t, dir, kdcDir, "gss-peer.py")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	cmd := exec.CommandContext(ctx, "bash", Script("as-nobody.sh"), dir, "/usr/bin/python3", dir+"/gss-peer.py")
	cmd.Env = append(os.Environ(), "KRB5_KTNAME="+dir+"/http.keytab", "KRB5_CONFIG="+dir+"/krb5.conf", "KRB5RCACHEDIR="+dir)
	if cb != nil {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GSS_PEER_CBT=%x", cb.ApplicationData))
	}
	p := &gssPeer{errb: &strings.Builder{}}
	cmd.Stderr = p.errb
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewReader(outPipe)
	t.Cleanup(func() {
		p.in.Close()
		if err := cmd.Wait(); err != nil || t.Failed() {
			t.Logf("gss-peer.py: %v\n%s", err, p.errb.String())
		}
		cancel()
	})
	return p
}

func (p *gssPeer) send(fields ...[]byte) {
	s := make([]string, len(fields))
	for i, f := range fields {
		s[i] = base64.StdEncoding.EncodeToString(f)
	}
	fmt.Fprintln(p.in, strings.Join(s, " "))
}

func (p *gssPeer) recv(t *testing.T) []string {
	t.Helper()
	s, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("gss-peer.py answered nothing: %v\n%s", err, p.errb.String())
	}
	return strings.Fields(s)
}

// peerLogon gets a ticket for gssSPN, sends the context's first token to
// the peer and returns the context and the peer's answer line.
func (l *gssLab) peerLogon(t *testing.T, p *gssPeer, cb *winauth.ChannelBindings) (winauth.Context, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: spnRealm, User: "administrator", Password: spnPassword,
		KDCs: []string{l.kdc}, AttemptTimeout: 5 * time.Second, SPN: gssSPN})
	if err != nil {
		t.Fatal(err)
	}
	c := tkt.NewContext(cb)
	tok, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	p.send(tok)
	return c, p.recv(t)
}

// sealing exchanges sealed messages with the peer: the client's Wrap
// opened by gss_unwrap_iov and gss_wrap_iov's answers opened by the
// client's Unwrap, as pyspnego frames them for WinRM.
func (l *gssLab) sealing(t *testing.T, kdcDir string) {
	p := l.startPeer(t, kdcDir, nil)
	c, f := l.peerLogon(t, p, nil)
	rep, err := base64.StdEncoding.DecodeString(f[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := c.Step(rep); !done || err != nil {
		t.Fatalf("MIT's AP-REP: done %v, %v", done, err)
	}
	sealer := c.(winauth.Sealer)
	for _, msg := range []string{"<s:Envelope>Create</s:Envelope>", "", strings.Repeat("<rsp:Stream>AAAA</rsp:Stream>", 4000)} {
		header, sealed, err := sealer.Wrap([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		p.send(header, sealed)
		f := p.recv(t)
		if len(f) != 2 {
			t.Fatalf("gss-peer.py answered %q\n%s", f, p.errb.String())
		}
		h, _ := base64.StdEncoding.DecodeString(f[0])
		s, _ := base64.StdEncoding.DecodeString(f[1])
		if len(h) != 60 {
			t.Errorf("MIT's wrap header is %d bytes; Windows' is 60", len(h))
		}
		got, err := sealer.Unwrap(h, s)
		if err != nil || string(got) != "echo: "+msg {
			t.Fatalf("unwrapping MIT's answer to a %d-byte message: %q, %v", len(msg), got[:min(len(got), 40)], err)
		}
	}
}

// bindings logs on to a peer that requires a channel binding, as
// Extended Protection does: MIT computes the gss_channel_bindings_struct
// hash itself and compares it with the authenticator's Bnd.
func (l *gssLab) bindings(t *testing.T, kdcDir string) {
	front, err := winauth.EndPointOf(&x509.Certificate{Raw: []byte("the certificate the proxy presents"), SignatureAlgorithm: x509.SHA256WithRSA})
	if err != nil {
		t.Fatal(err)
	}
	backend, err := winauth.EndPointOf(&x509.Certificate{Raw: []byte("the certificate Exchange presents"), SignatureAlgorithm: x509.SHA256WithRSA})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the same binding", func(t *testing.T) {
		_, f := l.peerLogon(t, l.startPeer(t, kdcDir, backend), backend)
		if len(f) == 0 || f[0] == "ERROR" {
			t.Fatalf("MIT refused a matching binding: %q", f)
		}
	})
	t.Run("the proxy's binding", func(t *testing.T) {
		// TLS offloaded: the client binds to the proxy's certificate,
		// the server expects its own
		c, f := l.peerLogon(t, l.startPeer(t, kdcDir, backend), front)
		if len(f) < 3 || f[0] != "ERROR" || !strings.Contains(strings.ToLower(strings.Join(f, " ")), "channel bindings") {
			t.Fatalf("MIT answered %q, want its channel-binding refusal", f)
		}
		tok, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			t.Fatalf("MIT's error token %q: %v", f[1], err)
		}
		_, done, err := c.Step(tok)
		var ke *winauth.KerberosError
		// MIT has no code of its own for it; Windows refuses it with
		// SEC_E_BAD_BINDINGS, which IIS answers with a plain 401
		if done || !errors.As(err, &ke) || ke.Code != errorcode.KRB_ERR_GENERIC {
			t.Fatalf("done %v, %v: want MIT's KRB_ERR_GENERIC", done, err)
		}
	})
	t.Run("no binding", func(t *testing.T) {
		// MIT lets an initiator that sent no binding (Bnd zeros) through;
		// Windows with Extended Protection Required does not
		_, f := l.peerLogon(t, l.startPeer(t, kdcDir, backend), nil)
		if len(f) == 0 || f[0] == "ERROR" {
			t.Fatalf("MIT refused an unbound logon: %q", f)
		}
	})
}

// copyFiles copies each source file into dir under its new name, for a
// server that runs as nobody from its own copy (as-nobody.sh).
func copyFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for src, dst := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%v (did kdc.sh export the keytab?)", err)
		}
		if err := os.WriteFile(dir+"/"+dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// krbPeerDir fills dir for a python3-gssapi acceptor script run as
// nobody: the script, the KDC's exported keytab and a krb5.conf naming
// the realm.
func krbPeerDir(t *testing.T, dir, kdcDir, script string) {
	t.Helper()
	copyFiles(t, dir, map[string]string{kdcDir + "/http.keytab": "http.keytab", Script(script): script})
	if err := os.WriteFile(dir+"/krb5.conf", []byte("[libdefaults]\n\tdefault_realm = "+spnRealm+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ticket is the administrator's service ticket for spn from the test's KDC.
func (l *gssLab) ticket(t *testing.T, spn string) *winauth.Ticket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: spnRealm, User: "administrator", Password: spnPassword,
		KDCs: []string{l.kdc}, AttemptTimeout: 5 * time.Second, SPN: spn})
	if err != nil {
		t.Fatal(err)
	}
	return tkt
}
