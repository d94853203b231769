package winauth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/fixtures/hostile"
)

// fakeContext is a two- or three-leg mechanism with readable tokens:
// "tok1" goes first; the server's "chal" is answered by "tok2" (done for
// an ntlm-like context); a kerberos-like context is done only after the
// server's "mutual".
type fakeContext struct {
	mech  string
	cb    *ChannelBindings
	steps int
}

func (f *fakeContext) Scheme() string { return "Negotiate" }
func (f *fakeContext) Mech() string   { return f.mech }
func (f *fakeContext) Step(in []byte) ([]byte, bool, error) {
	f.steps++
	switch {
	case in == nil && f.mech == Kerberos:
		return []byte("tok1"), false, nil
	case in == nil:
		return []byte("tok1"), false, nil
	case string(in) == "chal":
		return []byte("tok2"), f.mech == NTLM, nil
	case string(in) == "mutual" && f.mech == Kerberos:
		return nil, true, nil
	case string(in) == "accept-completed" && f.mech == NTLM:
		return nil, true, nil
	case string(in) == "krb-error":
		return nil, false, &KerberosError{Code: 41, Name: "KRB_AP_ERR_MODIFIED", By: "the server"}
	}
	return nil, false, fmt.Errorf("unexpected server token %q", in)
}

// fakeSealer "seals" by xor with a key and signs with a 16-byte header
// that must match: enough to see the framing carry both parts intact.
type fakeSealer struct{ fakeContext }

func (s *fakeSealer) Wrap(msg []byte) ([]byte, []byte, error) {
	out := make([]byte, len(msg))
	for i, b := range msg {
		out[i] = b ^ 0x5a
	}
	h := bytes.Repeat([]byte{byte(len(msg))}, 16)
	return h, out, nil
}

func (s *fakeSealer) Unwrap(h, sealed []byte) ([]byte, error) {
	out := make([]byte, len(sealed))
	for i, b := range sealed {
		out[i] = b ^ 0x5a
	}
	if !bytes.Equal(h, bytes.Repeat([]byte{byte(len(out))}, 16)) {
		return nil, errors.New("bad signature")
	}
	return out, nil
}

// winServer is an in-process endpoint that authenticates connections as
// IIS does: a logon per connection, the connection trusted afterwards.
type winServer struct {
	t        testing.TB
	ln       net.Listener
	conns    atomic.Int32
	mu       sync.Mutex
	requests []seen
	// handle answers one request; authed says the connection has logged on
	handle func(c *serverConn, r *http.Request, body []byte) (status int, hdr http.Header, body2 []byte)
	wg     sync.WaitGroup
	open   []net.Conn
}

type seen struct {
	conn  int32
	authz string
	ct    string
	body  string
}

type serverConn struct {
	id     int32
	authed bool
	state  *tls.ConnectionState
	close  bool // close after this answer
	silent bool // close without answering further requests
}

func newWinServer(t testing.TB, tc *tls.Config, handle func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte)) *winServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &winServer{t: t, ln: ln, handle: handle}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *winServer) serve(raw net.Conn) {
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	sc := &serverConn{id: s.conns.Add(1)}
	if tc, ok := raw.(*tls.Conn); ok {
		if tc.Handshake() != nil {
			return
		}
		cs := tc.ConnectionState()
		sc.state = &cs
	}
	br := bufio.NewReader(raw)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, seen{conn: sc.id, authz: r.Header.Get("Authorization"), ct: r.Header.Get("Content-Type"), body: string(body)})
		s.mu.Unlock()
		if sc.silent {
			return
		}
		status, hdr, out := s.handle(sc, r, body)
		resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: hdr, ContentLength: int64(len(out)),
			Body: io.NopCloser(bytes.NewReader(out)), Close: sc.close}
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		if err := resp.Write(raw); err != nil || sc.close {
			return
		}
	}
}

func (s *winServer) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

func (s *winServer) url(scheme string) string {
	return scheme + "://" + s.ln.Addr().String() + "/wsman"
}

func neg(tok string) string { return "Negotiate " + base64.StdEncoding.EncodeToString([]byte(tok)) }

func wwwAuth(tok string) http.Header {
	return http.Header{"Www-Authenticate": {neg(tok)}}
}

// ntlmLike answers tok1 with a challenge and tok2 with the request's answer.
func ntlmLike(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
	switch a := r.Header.Get("Authorization"); {
	case a == neg("tok1"):
		return 401, wwwAuth("chal"), []byte("401 page")
	case a == neg("tok2"):
		c.authed = true
		return 200, nil, append([]byte("answer to "), body...)
	case a == "" && c.authed:
		return 200, nil, append([]byte("answer to "), body...)
	}
	return 401, http.Header{"Www-Authenticate": {"Negotiate"}}, nil
}

func post(t testing.TB, tr http.RoundTripper, url, body string) (*http.Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func newFake(mech string) func(cb *ChannelBindings) (Context, error) {
	return func(cb *ChannelBindings) (Context, error) { return &fakeContext{mech: mech, cb: cb}, nil }
}

func TestLogonAuthenticatesTheConnectionOnce(t *testing.T) {
	srv := newWinServer(t, nil, ntlmLike)
	tr := &Transport{NewContext: newFake(NTLM), Seal: false}
	// plain http refuses a body without sealing; an empty Enumerate-less
	// POST is what this case needs to see the legs
	resp, got, err := post(t, tr, srv.url("http"), "")
	if err != nil || resp.StatusCode != 200 || got != "answer to " {
		t.Fatalf("first request: %v %v %q", resp, err, got)
	}
	if _, _, err := post(t, tr, srv.url("http"), ""); err != nil {
		t.Fatal(err)
	}
	s := srv.seen()
	if len(s) != 3 || s[0].authz != neg("tok1") || s[1].authz != neg("tok2") || s[2].authz != "" {
		t.Fatalf("requests %+v", s)
	}
	if srv.conns.Load() != 1 {
		t.Fatalf("%d connections, want 1", srv.conns.Load())
	}
	l := tr.Logon()
	if !l.Established || l.Rounds != 2 || l.Status != 200 || l.Mech != NTLM || l.Bound || l.Err != nil || l.MutualVerified {
		t.Fatalf("logon %+v", l)
	}
}

func TestPlainHTTPNeverCarriesAnUnsealedBody(t *testing.T) {
	srv := newWinServer(t, nil, ntlmLike)
	tr := &Transport{NewContext: newFake(NTLM)}
	if _, _, err := post(t, tr, srv.url("http"), "<s:Envelope/>"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("err %v", err)
	}
	if len(srv.seen()) != 0 {
		t.Fatal("a request went out")
	}
}

func TestTLSLogonReplaysTheBodyAndBindsTheChannel(t *testing.T) {
	stc, ctc, leaf := testTLS(t)
	srv := newWinServer(t, stc, ntlmLike)
	var gotCB []*ChannelBindings
	tr := &Transport{TLS: ctc, NewContext: func(cb *ChannelBindings) (Context, error) {
		gotCB = append(gotCB, cb)
		return &fakeContext{mech: NTLM}, nil
	}}
	resp, got, err := post(t, tr, srv.url("https"), "<env/>")
	if err != nil || resp.StatusCode != 200 || got != "answer to <env/>" {
		t.Fatalf("%v %v %q", resp, err, got)
	}
	for _, s := range srv.seen() {
		if s.body != "<env/>" {
			t.Fatalf("leg without the body: %+v", s)
		}
	}
	want, _ := EndPointOf(leaf)
	if len(gotCB) != 1 || gotCB[0] == nil || !bytes.Equal(gotCB[0].ApplicationData, want.ApplicationData) {
		t.Fatalf("binding %v, want the leaf's", gotCB)
	}
	if l := tr.Logon(); !l.Bound || l.Cert == nil || !l.Cert.Equal(leaf) {
		t.Fatalf("logon %+v", l)
	}

	// the Extended Protection comparison: the same logon, no binding
	gotCB = nil
	tr2 := &Transport{TLS: ctc, NoBindings: true, NewContext: func(cb *ChannelBindings) (Context, error) {
		gotCB = append(gotCB, cb)
		return &fakeContext{mech: NTLM}, nil
	}}
	if _, _, err := post(t, tr2, srv.url("https"), "<env/>"); err != nil {
		t.Fatal(err)
	}
	if len(gotCB) != 1 || gotCB[0] != nil {
		t.Fatalf("binding sent with NoBindings: %v", gotCB)
	}
	if l := tr2.Logon(); l.Bound || l.Cert == nil {
		t.Fatalf("logon %+v", l)
	}
}

func TestKerberosMutualAuthenticationIsRequired(t *testing.T) {
	mutual := true
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if r.Header.Get("Authorization") == neg("tok1") {
			c.authed = true
			if mutual {
				return 200, wwwAuth("mutual"), nil
			}
			return 200, nil, nil
		}
		return 500, nil, nil
	})
	tr := &Transport{NewContext: newFake(Kerberos)}
	if _, _, err := post(t, tr, srv.url("http"), ""); err != nil {
		t.Fatal(err)
	}
	if l := tr.Logon(); !l.MutualVerified || !l.Established || l.Rounds != 1 {
		t.Fatalf("logon %+v", l)
	}
	mutual = false
	tr = &Transport{NewContext: newFake(Kerberos)}
	_, _, err := post(t, tr, srv.url("http"), "")
	var le *LogonError
	if !errors.As(err, &le) || le.Result.MutualVerified || le.Result.Established || !strings.Contains(err.Error(), "mutual") {
		t.Fatalf("a server that proves nothing was accepted: %v", err)
	}
}

func TestRefusalEndsTheLogonAndTheTransport(t *testing.T) {
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		return 401, http.Header{"Www-Authenticate": {"Negotiate", "NTLM"}}, []byte("401.1 logon failed")
	})
	tr := &Transport{NewContext: newFake(NTLM)}
	resp, page, err := post(t, tr, srv.url("http"), "")
	if err != nil || resp.StatusCode != 401 || page != "401.1 logon failed" {
		t.Fatalf("%v %v %q", resp, err, page)
	}
	l := tr.Logon()
	if l.Status != 401 || l.Rounds != 1 || l.Err == nil || l.Established {
		t.Fatalf("logon %+v", l)
	}
	// a second request must not log on again: one failed logon per transport
	if _, _, err := post(t, tr, srv.url("http"), ""); err == nil {
		t.Fatal("a second logon after a refusal")
	}
	if n := len(srv.seen()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestServerKerberosErrorIsKept(t *testing.T) {
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		return 401, wwwAuth("krb-error"), nil
	})
	tr := &Transport{NewContext: newFake(Kerberos)}
	resp, _, err := post(t, tr, srv.url("http"), "")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("%v %v", resp, err)
	}
	if l := tr.Logon(); l.ServerError == nil || l.ServerError.Code != 41 {
		t.Fatalf("logon %+v", l)
	}
}

func TestLegsAreBounded(t *testing.T) {
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		return 401, wwwAuth("chal"), nil // forever asking
	})
	tr := &Transport{NewContext: func(*ChannelBindings) (Context, error) { return &loopContext{}, nil }}
	_, _, err := post(t, tr, srv.url("http"), "")
	if err == nil || !strings.Contains(err.Error(), "legs") {
		t.Fatalf("err %v", err)
	}
	if n := len(srv.seen()); n != MaxLegs {
		t.Fatalf("%d legs sent, want %d", n, MaxLegs)
	}
}

// loopContext answers every challenge, never done.
type loopContext struct{}

func (loopContext) Scheme() string                    { return "Negotiate" }
func (loopContext) Mech() string                      { return NTLM }
func (loopContext) Step([]byte) ([]byte, bool, error) { return []byte("again"), false, nil }

func TestClosedConnectionLogsOnAgainOnce(t *testing.T) {
	// the server answers the authenticated request, then drops the
	// connection without a word (an idle timeout)
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		st, h, b := ntlmLike(c, r, body)
		if st == 200 {
			c.silent = true
		}
		return st, h, b
	})
	tr := &Transport{NewContext: newFake(NTLM)}
	for i := range 2 {
		if resp, _, err := post(t, tr, srv.url("http"), ""); err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	if l := tr.Logon(); l.Relogons != 1 || !l.Established {
		t.Fatalf("logon %+v", l)
	}
	// a server that forgets the connection's logon (IIS with
	// authPersistNonNTLM off) gets one new logon on the same connection
	srv2 := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if c.authed && r.Header.Get("Authorization") == "" {
			c.authed = false
			return 401, http.Header{"Www-Authenticate": {"Negotiate"}}, nil
		}
		return ntlmLike(c, r, body)
	})
	tr = &Transport{NewContext: newFake(NTLM)}
	post(t, tr, srv2.url("http"), "")
	if resp, _, err := post(t, tr, srv2.url("http"), ""); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if n := srv2.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the one logged on again", n)
	}
	if l := tr.Logon(); l.Relogons != 1 || !l.Established {
		t.Fatalf("logon %+v", l)
	}
}

// Apache's mod_auth_gssapi (without GssapiConnectionBound) wants a
// Kerberos logon with every request: after the first 401 on the
// connection, each request carries its own AP-REQ.
func TestKerberosPerRequestWhenTheServerKeepsNoLogon(t *testing.T) {
	stc, ctc, _ := testTLS(t)
	var refusals atomic.Int32
	srv := newWinServer(t, stc, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if r.Header.Get("Authorization") == neg("tok1") {
			return 200, wwwAuth("mutual"), []byte("ok")
		}
		refusals.Add(1)
		return 401, http.Header{"Www-Authenticate": {"Negotiate"}}, nil
	})
	tr := &Transport{TLS: ctc, NewContext: newFake(Kerberos)}
	defer tr.Close()
	for i := range 4 {
		if resp, _, err := post(t, tr, srv.url("https"), "<env/>"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
	}
	if n := refusals.Load(); n != 1 {
		t.Fatalf("%d refusals, want only the one that showed the server keeps no logon", n)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

func TestHostileAnswersAreBounded(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	for name, h := range map[string]func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte){
		"headers": func(*serverConn, *http.Request, []byte) (int, http.Header, []byte) {
			return 401, http.Header{"X-Big": {big}}, nil
		},
		"401 page": func(*serverConn, *http.Request, []byte) (int, http.Header, []byte) {
			return 401, wwwAuth("chal"), []byte(big)
		},
		"answer": func(c *serverConn, r *http.Request, b []byte) (int, http.Header, []byte) {
			st, h, _ := ntlmLike(c, r, b)
			return st, h, []byte(big)
		},
		"token": func(*serverConn, *http.Request, []byte) (int, http.Header, []byte) {
			return 401, http.Header{"Www-Authenticate": {"Negotiate abc.def~"}}, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newWinServer(t, nil, h)
			tr := &Transport{NewContext: newFake(NTLM), MaxBody: 64 << 10}
			if resp, _, err := post(t, tr, srv.url("http"), ""); err == nil {
				t.Fatalf("accepted: %v", resp.Status)
			}
		})
	}
}

func TestStalledServerEndsWithTheRequest(t *testing.T) {
	addr := hostile.Silent(t) // reads nothing, answers nothing
	tr := &Transport{NewContext: newFake(NTLM)}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/wsman", nil)
	done := make(chan error, 1)
	go func() { _, err := tr.RoundTrip(req); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the transport outlived its request")
	}
}

func TestSealedSessionOverHTTP(t *testing.T) {
	key := &fakeSealer{}
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if !c.authed {
			st, h, _ := ntlmLike(c, r, body)
			if len(body) != 0 {
				return 400, nil, []byte("the handshake carried a body")
			}
			return st, h, nil
		}
		msg, typ, err := UnsealBody(key, ProtocolSPNEGO, r.Header.Get("Content-Type"), body)
		if err != nil || typ != soapType {
			return 400, nil, []byte(fmt.Sprint(err))
		}
		out, err := SealBody(key, ProtocolSPNEGO, append([]byte("answer to "), msg...))
		if err != nil {
			return 500, nil, nil
		}
		return 200, http.Header{"Content-Type": {SealedContentType(ProtocolSPNEGO)}}, out
	})
	tr := &Transport{Seal: true, NewContext: func(cb *ChannelBindings) (Context, error) {
		return &fakeSealer{fakeContext{mech: NTLM}}, nil
	}}
	for i := range 2 {
		resp, got, err := post(t, tr, srv.url("http"), "<s:Envelope/>")
		if err != nil || resp.StatusCode != 200 || got != "answer to <s:Envelope/>" || resp.Header.Get("Content-Type") != soapType {
			t.Fatalf("request %d: %v %v %q", i, resp, err, got)
		}
	}
	for _, s := range srv.seen() {
		if strings.Contains(s.body, "Envelope") {
			t.Fatalf("the envelope travelled in clear: %q", s.body)
		}
	}
	if s := srv.seen(); len(s) != 4 || s[2].ct != SealedContentType(ProtocolSPNEGO) || s[2].authz != "" {
		t.Fatalf("requests %+v", s)
	}
}

func TestSealWithoutASealerSendsNothing(t *testing.T) {
	srv := newWinServer(t, nil, ntlmLike)
	tr := &Transport{Seal: true, NewContext: newFake(Kerberos)}
	_, _, err := post(t, tr, srv.url("http"), "<s:Envelope/>")
	if err == nil || !strings.Contains(err.Error(), "https uri") {
		t.Fatalf("err %v", err)
	}
	if len(srv.seen()) != 0 {
		t.Fatal("a logon went out that could not seal the session")
	}
}

func TestClearAnswerToASealedRequest(t *testing.T) {
	srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if !c.authed {
			return ntlmLike(c, r, body)
		}
		return 200, http.Header{"Content-Type": {soapType}}, []byte("<s:Envelope/>")
	})
	tr := &Transport{Seal: true, NewContext: func(*ChannelBindings) (Context, error) { return &fakeSealer{fakeContext{mech: NTLM}}, nil }}
	if _, _, err := post(t, tr, srv.url("http"), "<s:Envelope/>"); err == nil || !strings.Contains(err.Error(), "clear") {
		t.Fatalf("err %v", err)
	}
}

// testTLS is a self-signed server certificate for 127.0.0.1 and a client
// config that trusts it, verified the way exdiag verifies.
func testTLS(t *testing.T) (*tls.Config, *tls.Config, *x509.Certificate) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}},
		tlsinspect.ClientConfig(pool, nil, false, false), leaf
}

// NTLM is done once it made its AUTHENTICATE, but a final SPNEGO token
// on the 200 is still the context's to check.
func TestFinalTokenAfterDoneIsChecked(t *testing.T) {
	for final, ok := range map[string]bool{"accept-completed": true, "reject": false} {
		srv := newWinServer(t, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
			st, h, b := ntlmLike(c, r, body)
			if st == 200 {
				h = wwwAuth(final)
			}
			return st, h, b
		})
		tr := &Transport{NewContext: newFake(NTLM)}
		_, _, err := post(t, tr, srv.url("http"), "")
		if (err == nil) != ok {
			t.Fatalf("%s: %v", final, err)
		}
		if l := tr.Logon(); l.MutualVerified || l.Established != ok {
			t.Fatalf("%s: logon %+v", final, l)
		}
	}
}

// Connect opens the connection ahead of the logon; the logon then goes
// over it, or over a new one if the server closed it while it waited.
func TestConnectAheadOfTheLogon(t *testing.T) {
	stc, ctc, _ := testTLS(t)
	srv := newWinServer(t, stc, ntlmLike)
	u, _ := url.Parse(srv.url("https"))
	tr := &Transport{TLS: ctc, NewContext: newFake(NTLM)}
	defer tr.Close()
	if err := tr.Connect(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if resp, _, err := post(t, tr, srv.url("https"), "<env/>"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the one Connect opened", n)
	}

	// the server drops the waiting connection
	var first atomic.Bool
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	inner := newWinServer(t, nil, ntlmLike)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if first.CompareAndSwap(false, true) {
				c.Close()
				continue
			}
			go func() { // relay to the real one
				defer c.Close()
				b, err := net.Dial("tcp", inner.ln.Addr().String())
				if err != nil {
					return
				}
				defer b.Close()
				go io.Copy(b, c)
				io.Copy(c, b)
			}()
		}
	}()
	u2, _ := url.Parse("http://" + ln.Addr().String() + "/wsman")
	tr2 := &Transport{NewContext: newFake(NTLM)}
	defer tr2.Close()
	if err := tr2.Connect(context.Background(), u2); err != nil {
		t.Fatal(err)
	}
	if resp, _, err := post(t, tr2, u2.String(), ""); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if l := tr2.Logon(); !l.Established || l.Err != nil {
		t.Fatalf("logon %+v", l)
	}
}

// Whatever bytes answer the logon, the transport returns an answer or an
// error, within its budgets, and never panics.
func FuzzTransportAnswer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate Y2hhbA==\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n",
		"HTTP/1.1 200 OK\r\nWWW-Authenticate: Negotiate =====\r\n\r\n",
		"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate Y2hhbA==, Negotiate Y2hhbA==\r\nContent-Length: 99999999999\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n",
		"garbage",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		addr := hostile.Serve(t, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(time.Second))
			http.ReadRequest(bufio.NewReader(c))
			c.Write(answer)
		})
		tr := &Transport{NewContext: newFake(NTLM), MaxBody: 4 << 10}
		defer tr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/wsman", nil)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if int64(len(b)) > tr.MaxBody {
				t.Fatalf("an answer of %d bytes passed a %d-byte budget", len(b), tr.MaxBody)
			}
		}
	})
}
