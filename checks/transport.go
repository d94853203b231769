package checks

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/checks/winauth"
)

// Limits of the per-endpoint HTTP transports (their handshake timeout is
// HandshakeBudget, with the run's other budgets). A run talks to an
// endpoint with a handful of requests at a time (auth's unauthenticated
// and negotiate requests and the rbac session's Create side by side, then
// the session), so a few connections per endpoint are plenty, and a
// hostile server cannot make the run hold more.
const (
	endpointConns       = 4                // connections per endpoint, busy or idle
	endpointIdleTimeout = 30 * time.Second // an idle keep-alive connection is closed after this
	endpointHeaderLimit = 64 << 10         // bytes of response headers
)

// EndpointTransport is the run's one HTTP transport for the scheme, host
// and port of u: the auth probe's requests and the rbac session share its
// keep-alive connections, so a later request does not pay a TCP and TLS
// handshake again. TLS is the session's own (ClientTLS), so a connection
// that carries credentials has passed the same verification either way.
func (e *Env) EndpointTransport(u *url.URL) (*http.Transport, error) {
	tc, err := e.ClientTLS()
	if err != nil {
		return nil, err
	}
	key := netx.EndpointKey(u)
	e.transportsMu.Lock()
	defer e.transportsMu.Unlock()
	if tr := e.transports[key]; tr != nil {
		return tr, nil
	}
	dial := e.boundDial(e.DialTarget)
	tr := &http.Transport{
		DialContext:            dial,
		DialTLSContext:         e.boundDial(tlsinspect.DialTLS(e.DialTarget, tc, HandshakeBudget)), // verifies an IP host too
		TLSClientConfig:        tc,
		TLSHandshakeTimeout:    HandshakeBudget,
		MaxResponseHeaderBytes: endpointHeaderLimit,
		MaxConnsPerHost:        endpointConns,
		MaxIdleConnsPerHost:    endpointConns,
		IdleConnTimeout:        endpointIdleTimeout,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false, // WinRM speaks HTTP/1.1
		Proxy:                  nil,
	}
	if e.transports == nil {
		e.transports = map[string]*http.Transport{}
	}
	e.transports[key] = tr
	return tr, nil
}

// CloseIdle ends the run's connections: the keep-alive ones the
// transports hold are closed, and a dial still under way is cancelled
// (net/http finishes a dial in the background after its request gave up,
// for the idle pool; its TLS handshake would otherwise outlive the run by
// up to HandshakeBudget). Run calls it when the checks are done.
func (e *Env) CloseIdle() {
	e.transportsMu.Lock()
	defer e.transportsMu.Unlock()
	for _, tr := range e.transports {
		tr.CloseIdleConnections()
	}
	if e.winKept != nil {
		e.winKept.Close()
		e.winKept = nil
	}
	if e.dialStop != nil {
		e.dialStop()
		e.dialCtx, e.dialStop = nil, nil
	}
}

// boundDial makes every dial of the run's transports end with the run
// (CloseIdle) as well as with the request's context.
func (e *Env) boundDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		e.transportsMu.Lock()
		if e.dialCtx == nil {
			e.dialCtx, e.dialStop = context.WithCancel(context.Background())
		}
		run := e.dialCtx
		e.transportsMu.Unlock()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(run, cancel)()
		return dial(ctx, network, addr)
	}
}

// keepWindows holds the auth probe's logged-on Windows connection for the
// rbac session, so the session's Create goes out without a new TCP, TLS
// and logon (the logon authenticates the connection, not a request).
func (e *Env) keepWindows(tr *winauth.Transport) {
	e.transportsMu.Lock()
	defer e.transportsMu.Unlock()
	if e.winKept != nil {
		e.winKept.Close()
	}
	e.winKept = tr
}

// takeWindows hands the kept connection to its one taker, or nil; why
// says the auth probe's logon was refused, when it was ("" otherwise).
func (e *Env) takeWindows() (tr *winauth.Transport, why string) {
	e.transportsMu.Lock()
	defer e.transportsMu.Unlock()
	tr, e.winKept = e.winKept, nil
	return tr, e.winRefused
}

// windowsRefused records that the auth probe's Windows logon was refused,
// so the rbac session does not log on again only to be refused the same
// way.
func (e *Env) windowsRefused(why string) {
	e.transportsMu.Lock()
	defer e.transportsMu.Unlock()
	e.winRefused = why
}
