package winauth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/httpauth"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/tlsinspect"
)

// Budgets of one Transport. A logon is at most three legs (NTLM:
// negotiate, authenticate; Kerberos: AP-REQ, maybe a second after a
// KRB-ERROR the server let the client retry), so a server that keeps
// asking is cut off; every answer is read within MaxBody and the header
// limit, so a hostile server costs memory the caller chose.
const (
	MaxLegs            = 3
	DefaultMaxBody     = 4 << 20
	MaxResponseHeaders = 64 << 10
	// drainLimit is what is read of a 401 page between legs: the
	// connection carries the logon, so its body must be consumed.
	drainLimit = 64 << 10
)

// Transport is an http.RoundTripper over ONE connection, authenticated by
// one Context: NTLM and Kerberos authenticate the connection, and the
// channel binding is that connection's. The first request performs the
// logon; later ones on the same connection carry no Authorization. When
// the server closes the connection, the next request logs on again, once,
// on a new one. Requests go one at a time.
type Transport struct {
	Dial netx.DialFunc
	// TLS is the session's TLS configuration (tlsinspect.ClientConfig);
	// nil means plain http, where Seal is required for a body.
	TLS *tls.Config
	// HandshakeTimeout bounds the TLS handshake inside the request's
	// deadline (0: the deadline only).
	HandshakeTimeout time.Duration
	// NewContext starts the security context of a new connection, after
	// its TLS handshake: cb is that connection's binding (nil over http
	// or with NoBindings).
	NewContext func(cb *ChannelBindings) (Context, error)
	// NoBindings sends no channel binding (the Extended Protection
	// comparison: the same logon without it).
	NoBindings bool
	// Seal wraps every request body in MS-WSMV's multipart/encrypted
	// with the context's Sealer, and unwraps the answers.
	Seal bool
	// MaxBody caps every answer read (0: DefaultMaxBody).
	MaxBody int64

	mu    sync.Mutex // one request at a time
	cmu   sync.Mutex // guards c, for Close from another goroutine
	c     *winConn
	addr  string // scheme://host:port of the one endpoint
	logon LogonResult
	// perRequest: the server wants a Kerberos logon with each request
	perRequest bool
	// failed ends the transport after a failed logon: the caller decides
	// whether to log on again (another Transport), so a wrong password
	// costs the account one failed logon, not one per request.
	failed *LogonError
}

// LogonResult is what the logon handshake saw; it never holds a token.
type LogonResult struct {
	Mech           string // kerberos | ntlm, as the context said
	Status         int    // the HTTP status of the last leg
	Rounds         int    // requests the logon took
	MutualVerified bool   // the server's mutual-authentication token was verified
	// ServerError is the KRB-ERROR the server answered, if any.
	ServerError *KerberosError
	Err         error // why the logon failed; nil once established
	Bound       bool  // a channel binding was sent
	// Cert is the certificate the logon was bound to (or would have
	// been, with NoBindings): the leaf the TLS connection presented.
	Cert *x509.Certificate
	// Established is true once the server accepted the logon.
	Established bool
	// Relogons counts logons after the first: the server closed an
	// authenticated connection, or did not keep the logon on it.
	Relogons int
}

// ErrCannotSeal is the logon of a Seal transport whose context has no
// Sealer: nothing was sent.
var ErrCannotSeal = errors.New("the logon cannot seal messages, which winrm requires over plain http; use an https uri")

// LogonError is what RoundTrip returns when the logon failed without an
// answer the caller could read (the context failed, the server asked for
// too many legs, the mutual authentication did not verify).
type LogonError struct{ Result LogonResult }

func (e *LogonError) Error() string {
	if e.Result.Err != nil {
		return e.Result.Err.Error()
	}
	return "the logon failed"
}

func (e *LogonError) Unwrap() error { return e.Result.Err }

// Logon returns what the last logon handshake saw.
func (t *Transport) Logon() LogonResult {
	t.cmu.Lock()
	defer t.cmu.Unlock()
	return t.logon
}

// Close ends the connection; a request under way fails.
func (t *Transport) Close() error {
	t.cmu.Lock()
	c := t.c
	t.c = nil
	t.cmu.Unlock()
	if c != nil {
		return c.raw.Close()
	}
	return nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections end it.
func (t *Transport) CloseIdleConnections() { t.Close() }

type winConn struct {
	raw    net.Conn
	budget *budgetReader
	br     *bufio.Reader
	bw     *bufio.Writer
	cs     *tls.ConnectionState
	sec    Context
	sealer Sealer
	authed bool
	pre    bool // opened by Connect, nothing sent yet: the server may have closed it while it waited
}

// budgetReader lets the response reader consume at most n more bytes;
// RoundTrip sets n before each response.
type budgetReader struct {
	r    io.Reader
	n    int64
	read int64 // bytes read in all
}

var errBudget = errors.New("the answer exceeds what exdiag reads")

// errStale is a connection Connect opened that the server closed before
// the logon's first request reached it.
var errStale = errors.New("the server closed the connection before the logon")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	b.read += int64(n)
	return n, err
}

// RoundTrip sends req on the transport's connection, logging on first
// when the connection is new.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.cmu.Lock()
	failed := t.failed
	t.cmu.Unlock()
	if failed != nil {
		return nil, failed
	}
	body, err := readRequestBody(req, t.maxBody())
	if err != nil {
		return nil, err
	}
	addr, err := t.endpoint(req.URL)
	if err != nil {
		return nil, err
	}
	if t.TLS == nil && !t.Seal && len(body) > 0 {
		return nil, errors.New("a windows-authenticated body never travels unsealed over plain http; use an https uri")
	}
	for attempt := 0; ; attempt++ {
		t.cmu.Lock()
		c := t.c
		t.cmu.Unlock()
		reused := c != nil && (c.authed || c.pre)
		if c == nil {
			if c, err = t.connect(ctx, addr); err != nil {
				return nil, err
			}
		}
		resp, retry, err := t.send(ctx, c, req, body)
		if err == nil && !retry {
			return resp, nil
		}
		// the server dropped an authenticated connection (idle), or did
		// not keep its logon: one new logon, on a new connection if the
		// old one is gone
		if reused && retry && attempt == 0 {
			if !errors.Is(err, errStale) { // a connection never used is no relogon
				t.cmu.Lock()
				t.logon.Relogons++
				t.cmu.Unlock()
			}
			continue
		}
		if retry && err == nil {
			return resp, nil
		}
		return nil, err
	}
}

func (t *Transport) maxBody() int64 {
	if t.MaxBody > 0 {
		return t.MaxBody
	}
	return DefaultMaxBody
}

// endpoint is the scheme://host:port the request goes to; a Transport
// carries one endpoint's requests only, since its logon is that
// connection's.
func (t *Transport) endpoint(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "https" && t.TLS == nil:
		return "", errors.New("an https request needs the transport's tls configuration")
	case scheme == "http" && t.TLS != nil:
		return "", errors.New("a plain http request on a tls transport; use the https uri")
	case scheme != "https" && scheme != "http":
		return "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	addr := netx.EndpointKey(u)
	if t.addr == "" {
		t.addr = addr
	} else if t.addr != addr {
		return "", fmt.Errorf("this transport is logged on to %s, not %s", t.addr, addr)
	}
	return addr, nil
}

// Connect opens the transport's connection to u (TCP and, for https,
// the verified TLS handshake) without logging on, so a caller can have it
// ready while it waits for what the logon needs (a ticket). Nothing of
// the logon is sent; the first RoundTrip logs on over this connection.
func (t *Transport) Connect(ctx context.Context, u *url.URL) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	addr, err := t.endpoint(u)
	if err != nil {
		return err
	}
	t.cmu.Lock()
	c := t.c
	t.cmu.Unlock()
	if c != nil {
		return nil
	}
	c, err = t.connect(ctx, addr)
	if err == nil {
		c.pre = true
	}
	return err
}

func readRequestBody(req *http.Request, limit int64) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the request body exceeds %d bytes", limit)
	}
	return b, nil
}

// connect dials the endpoint (TLS verified as every exdiag session is)
// and makes the connection the transport's.
func (t *Transport) connect(ctx context.Context, addr string) (*winConn, error) {
	scheme, hostport, _ := strings.Cut(addr, "://")
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	var raw net.Conn
	var err error
	if scheme == "https" {
		raw, err = tlsinspect.DialTLS(dial, t.TLS, t.HandshakeTimeout)(ctx, "tcp", hostport)
	} else {
		raw, err = dial(ctx, "tcp", hostport)
	}
	if err != nil {
		return nil, netx.CtxErr(ctx, err)
	}
	c := &winConn{raw: raw}
	if tc, ok := raw.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		c.cs = &cs
	}
	c.budget = &budgetReader{r: raw}
	c.br = bufio.NewReader(c.budget)
	c.bw = bufio.NewWriter(raw)
	t.cmu.Lock()
	t.c = c
	t.cmu.Unlock()
	return c, nil
}

func (t *Transport) drop(c *winConn) {
	t.cmu.Lock()
	if t.c == c {
		t.c = nil
	}
	t.cmu.Unlock()
	c.raw.Close()
}

// send performs one request on c: the logon first when c is new. retry
// says the server closed or stopped trusting an authenticated connection
// before answering this request (resp is then the 401, if any).
func (t *Transport) send(ctx context.Context, c *winConn, req *http.Request, body []byte) (resp *http.Response, retry bool, err error) {
	dropConn := false
	// the request's context governs every read and write on the
	// connection: its end (deadline or cancellation) cuts them, so the
	// error is the context's rather than a bare i/o timeout
	c.raw.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { c.raw.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if stop() {
			c.raw.SetDeadline(time.Time{})
		} else {
			// the context ended as the answer came in: its deadline is
			// in the past now, and the connection of no further use
			dropConn = true
		}
		if err != nil || dropConn {
			t.drop(c)
		}
	}()
	if !c.authed || t.perRequest {
		resp, err = t.logOn(ctx, c, req, body)
		if errors.Is(err, errStale) {
			dropConn = true
			return nil, true, err
		}
		if err != nil || resp != nil {
			return resp, false, err
		}
	}
	// an established connection: the request alone
	payload, ct := body, req.Header.Get("Content-Type")
	if c.sealer != nil {
		if payload, err = SealBody(c.sealer, SealProtocol(c.sec.Scheme()), body); err != nil {
			return nil, false, err
		}
		ct = SealedContentType(SealProtocol(c.sec.Scheme()))
	}
	before := c.budget.read
	r, data, err := t.exchange(c, req, payload, ct, "", t.maxBody())
	if err != nil {
		if c.budget.read == before && ctx.Err() == nil && closedBeforeAnswer(err) {
			dropConn = true
			return nil, true, netx.CtxErr(ctx, err)
		}
		return nil, false, netx.CtxErr(ctx, err)
	}
	if r.StatusCode == http.StatusUnauthorized {
		// the server does not keep the logon on the connection (Apache's
		// mod_auth_gssapi unless GssapiConnectionBound, IIS with
		// authPersistNonNTLM off): a Kerberos logon then goes with every
		// request, as requests-kerberos sends it; NTLM is always per
		// connection, so it logs on again on this one
		c.authed = false
		if c.sec.Mech() == Kerberos && t.TLS != nil {
			t.perRequest = true
		}
		return t.finish(r, data), true, nil
	}
	resp, err = t.unseal(c, r, data)
	return resp, false, err
}

// logOn runs the handshake on a new connection. It returns the answer
// to req when the request itself completed the logon (https, where the
// body goes with every leg), or nil when req still has to be sent (a
// sealed session, whose handshake carries no body).
func (t *Transport) logOn(ctx context.Context, c *winConn, req *http.Request, body []byte) (*http.Response, error) {
	res := LogonResult{}
	fail := func(err error) (*http.Response, error) {
		res.Err = err
		t.setLogon(res)
		return nil, &LogonError{Result: res}
	}
	var cb *ChannelBindings
	if c.cs != nil && len(c.cs.PeerCertificates) > 0 {
		res.Cert = c.cs.PeerCertificates[0]
		if !t.NoBindings {
			var err error
			if cb, err = ServerEndPoint(c.cs); err != nil {
				return fail(err)
			}
			res.Bound = true
		}
	}
	if t.NewContext == nil {
		return fail(errors.New("no security context to log on with"))
	}
	sec, err := t.NewContext(cb)
	if err != nil {
		return fail(err)
	}
	res.Mech = sec.Mech()
	var sealer Sealer
	if t.Seal {
		s, ok := sec.(Sealer)
		if !ok {
			// nothing was sent: no logon happens that could not protect the session
			return fail(fmt.Errorf("%s: %w", sec.Mech(), ErrCannotSeal))
		}
		sealer = s
	}
	token, done, err := sec.Step(nil)
	if err != nil {
		return fail(err)
	}
	res.Mech = sec.Mech()
	legBody, ct := body, req.Header.Get("Content-Type")
	if t.Seal {
		// the session's body can only be sealed once the context exists
		legBody, ct = nil, ""
	}
	for leg := 1; ; leg++ {
		if len(token) == 0 {
			return fail(fmt.Errorf("the %s context produced no token for leg %d", res.Mech, leg))
		}
		authz := sec.Scheme() + " " + base64.StdEncoding.EncodeToString(token)
		before, pre := c.budget.read, c.pre
		c.pre = false
		r, data, err := t.exchange(c, req, legBody, ct, authz, t.maxBody())
		if err != nil && pre && c.budget.read == before && ctx.Err() == nil && closedBeforeAnswer(err) {
			return nil, errStale // not a logon: the server never saw it
		}
		res.Rounds = leg
		if err != nil {
			return fail(netx.CtxErr(ctx, err))
		}
		res.Status = r.StatusCode
		in, hasToken, terr := serverToken(r, sec.Scheme())
		if terr != nil {
			return fail(terr)
		}
		if r.StatusCode == http.StatusUnauthorized {
			if !hasToken {
				res.Err = fmt.Errorf("the server refused the %s logon (401 with no further challenge)", res.Mech)
				t.setLogon(res)
				return t.refused(r, data), nil
			}
			if leg == MaxLegs {
				return fail(fmt.Errorf("the server asked for more than %d legs of the %s logon", MaxLegs, res.Mech))
			}
			token, done, err = sec.Step(in)
			res.Mech = sec.Mech()
			if err != nil {
				errors.As(err, &res.ServerError)
				res.Err = err
				t.setLogon(res)
				return t.refused(r, data), nil
			}
			continue
		}
		if hasToken {
			// Kerberos: the AP-REP that proves the server (mutual
			// authentication). NTLM, already done: SPNEGO's last word,
			// which its context still checks.
			wasDone := done
			if _, done, err = sec.Step(in); err != nil {
				errors.As(err, &res.ServerError)
				return fail(fmt.Errorf("the server's final logon token did not verify: %w", err))
			}
			res.MutualVerified = !wasDone && done
		}
		if !done {
			return fail(fmt.Errorf("the server answered %d before the %s logon completed (no mutual authentication token); it did not prove it is the server the ticket is for", r.StatusCode, res.Mech))
		}
		res.Established = true
		c.sec, c.sealer, c.authed = sec, sealer, true
		t.setLogon(res)
		if t.Seal {
			// the handshake's own answer is not the request's
			return nil, nil
		}
		return t.finish(r, data), nil
	}
}

func (t *Transport) setLogon(res LogonResult) {
	t.cmu.Lock()
	res.Relogons = t.logon.Relogons
	t.logon = res
	if res.Err != nil {
		t.failed = &LogonError{Result: res}
	}
	t.cmu.Unlock()
}

// refused hands the caller the server's refusal and gives up the
// connection, whose logon is dead.
func (t *Transport) refused(r *http.Response, data []byte) *http.Response {
	r.Close = true
	return t.finish(r, data)
}

// serverToken is the server's token for scheme in the answer's
// WWW-Authenticate headers.
func serverToken(r *http.Response, scheme string) ([]byte, bool, error) {
	cs, _ := httpauth.ParseChallenges(r.Header.Values("WWW-Authenticate"))
	for _, ch := range cs {
		if !ch.Is(scheme) || ch.Token68 == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(ch.Token68)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(ch.Token68, "=")); err != nil {
				return nil, false, fmt.Errorf("the server's %s token is not base64", scheme)
			}
		}
		return b, true, nil
	}
	return nil, false, nil
}

// exchange writes one request on c and reads its whole answer.
func (t *Transport) exchange(c *winConn, req *http.Request, body []byte, ct, authz string, limit int64) (*http.Response, []byte, error) {
	out := &http.Request{
		Method: req.Method, URL: req.URL, Host: req.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: req.Header.Clone(), ContentLength: int64(len(body)),
	}
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Del("Authorization")
	if authz != "" {
		out.Header.Set("Authorization", authz)
	}
	if ct != "" {
		out.Header.Set("Content-Type", ct)
	} else if len(body) == 0 {
		out.Header.Del("Content-Type")
	}
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := out.Write(c.bw); err != nil {
		return nil, nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	c.budget.n = MaxResponseHeaders
	r, err := http.ReadResponse(c.br, out)
	if err != nil {
		if errors.Is(err, errBudget) {
			return nil, nil, fmt.Errorf("the answer's headers exceed %d bytes", MaxResponseHeaders)
		}
		return nil, nil, err
	}
	max := limit
	if r.StatusCode == http.StatusUnauthorized && max > drainLimit {
		max = drainLimit
	}
	c.budget.n = max + int64(c.br.Size())
	data, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	r.Body.Close()
	if err != nil {
		if errors.Is(err, errBudget) {
			err = fmt.Errorf("the answer exceeds %d bytes", max)
		}
		return nil, nil, err
	}
	if int64(len(data)) > max {
		return nil, nil, fmt.Errorf("the answer exceeds %d bytes", max)
	}
	return r, data, nil
}

// finish is the answer handed to the caller: its body already read, and
// the connection given up when the server said it closes it.
func (t *Transport) finish(r *http.Response, data []byte) *http.Response {
	if r.Close {
		t.cmu.Lock()
		c := t.c
		t.c = nil
		t.cmu.Unlock()
		if c != nil {
			c.raw.Close()
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.Header.Del("Content-Length")
	return r
}

// unseal returns the answer with its body unwrapped when the session is
// sealed. A 200 must be sealed; an error page the server (or IIS) wrote
// in clear is passed on as it is, since it carries no session data.
func (t *Transport) unseal(c *winConn, r *http.Response, data []byte) (*http.Response, error) {
	if c.sealer == nil {
		return t.finish(r, data), nil
	}
	msg, origType, err := UnsealBody(c.sealer, SealProtocol(c.sec.Scheme()), r.Header.Get("Content-Type"), data)
	switch {
	case errors.Is(err, ErrNotSealed) && r.StatusCode != http.StatusOK:
		return t.finish(r, data), nil
	case errors.Is(err, ErrNotSealed):
		return nil, fmt.Errorf("the server answered a sealed request with %d in clear text; a proxy may rewrite the session", r.StatusCode)
	case err != nil:
		return nil, err
	}
	r.Header.Set("Content-Type", origType)
	return t.finish(r, msg), nil
}

// closedBeforeAnswer is a connection the server had closed before the
// request went out (an idle keep-alive timeout).
func closedBeforeAnswer(err error) bool {
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &op) && !op.Timeout()
}
