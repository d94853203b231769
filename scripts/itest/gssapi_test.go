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
		r := l.logon(t, skewed, gssSPN, nil)
		ke := wantKerberosError(t, r, errorcode.KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW")
		if d := time.Until(ke.ServerTime); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("the KRB-ERROR's server time is %v from ours, want about ten minutes ahead", d)
		}
	})
	t.Run("sealed messages with MIT's gss_wrap_iov", func(t *testing.T) {
		l.sealing(t, kdcDir)
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
	for src, dst := range map[string]string{kdcDir + "/http.keytab": "http.keytab", certs + "/trusted-chain.pem": "front.crt", certs + "/trusted.key": "front.key"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%v (did kdc.sh export the keytab?)", err)
		}
		if err := os.WriteFile(dir+"/"+dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
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

// sealing logs on to scripts/servers/gss-peer.py, MIT's acceptor through
// python3-gssapi, and exchanges sealed messages with it: the client's
// Wrap opened by gss_unwrap_iov and gss_wrap_iov's answers opened by the
// client's Unwrap, as pyspnego frames them for WinRM.
func (l *gssLab) sealing(t *testing.T, kdcDir string) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-gssapi is not installed; scripts/test.sh installs it")
		}
		t.Skip("python3-gssapi is not installed; run scripts/install-gssapi.sh (as root)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tkt, err := winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: spnRealm, User: "administrator", Password: spnPassword,
		KDCs: []string{l.kdc}, AttemptTimeout: 5 * time.Second, SPN: gssSPN})
	if err != nil {
		t.Fatal(err)
	}
	dir := serverDir(t, "exdiag-gss-peer-")
	for src, dst := range map[string]string{kdcDir + "/http.keytab": "http.keytab", Script("gss-peer.py"): "gss-peer.py"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(dir+"/krb5.conf", []byte("[libdefaults]\n\tdefault_realm = "+spnRealm+"\n"), 0o644)
	cmd := exec.CommandContext(ctx, "bash", Script("as-nobody.sh"), dir, "/usr/bin/python3", dir+"/gss-peer.py")
	cmd.Env = append(os.Environ(), "KRB5_KTNAME="+dir+"/http.keytab", "KRB5_CONFIG="+dir+"/krb5.conf", "KRB5RCACHEDIR="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.Close()
		if err := cmd.Wait(); err != nil || t.Failed() {
			t.Logf("gss-peer.py: %v\n%s", err, stderr.String())
		}
	}()
	out := bufio.NewReader(outPipe)
	line := func() []string {
		s, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("gss-peer.py answered nothing: %v\n%s", err, stderr.String())
		}
		return strings.Fields(s)
	}
	b64 := base64.StdEncoding

	c := tkt.NewContext(nil)
	tok, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, b64.EncodeToString(tok))
	rep, err := b64.DecodeString(line()[0])
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
		fmt.Fprintln(in, b64.EncodeToString(header), b64.EncodeToString(sealed))
		f := line()
		if len(f) != 2 {
			t.Fatalf("gss-peer.py answered %q\n%s", f, stderr.String())
		}
		h, _ := b64.DecodeString(f[0])
		s, _ := b64.DecodeString(f[1])
		if len(h) != 60 {
			t.Errorf("MIT's wrap header is %d bytes; Windows' is 60", len(h))
		}
		got, err := sealer.Unwrap(h, s)
		if err != nil || string(got) != "echo: "+msg {
			t.Fatalf("unwrapping MIT's answer to a %d-byte message: %q, %v", len(msg), got[:min(len(got), 40)], err)
		}
	}
}
