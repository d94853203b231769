// Package netx holds the connection discipline every protocol client of
// exdiag follows: one attempt under its own timeout inside the caller's
// deadline, and a connection whose blocked reads and writes end the moment
// the context does.
package netx

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DialFunc opens a connection; probes inject the Env's dialer here.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Attempt is ctx narrowed to timeout when timeout is positive, so a lost
// datagram or a silent server leaves time to try again.
func Attempt(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return context.WithCancel(ctx)
}

// DialBound dials addr and ties the connection to ctx: its deadline
// becomes the connection's, and cancellation unblocks any read or write.
// release closes the connection and detaches it from ctx.
func DialBound(ctx context.Context, dial DialFunc, network, addr string) (conn net.Conn, release func(), err error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err = dial(ctx, network, addr)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() { stop(); conn.Close() }, nil
}

// CtxErr prefers the context's error: a read that failed because the
// deadline passed is a timeout, not an I/O error.
func CtxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// VantageUnreachable reports whether err says this machine has no way
// to send to the address at all (network unreachable or down, no route to
// the host, no local address to send from): the probe host's network, not
// a server that is down or silent.
func VantageUnreachable(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EADDRNOTAVAIL} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// IsTimeout reports whether err is a deadline, a network timeout or the
// kernel giving up on a connect (ETIMEDOUT).
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) || errors.As(err, &ne) && ne.Timeout()
}

// EndpointKey is "scheme://host:port" of u, lower-cased and with the
// scheme's default port filled in: what makes two URLs the same endpoint
// for a kept connection.
func EndpointKey(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
