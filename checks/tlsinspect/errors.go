package tlsinspect

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/exdiag/exdiag/checks/netx"
)

// phaseError remembers whether the TCP connect or the TLS handshake failed,
// because a timeout means different things in each.
type phaseError struct {
	phase string // connect | handshake
	err   error
}

func (e *phaseError) Error() string { return e.phase + ": " + e.err.Error() }
func (e *phaseError) Unwrap() error { return e.err }

func isTimeout(err error) bool {
	return netx.IsTimeout(err) || errors.Is(err, context.Canceled)
}

// describe says in words why a connection to addr failed; the raw error
// follows in parentheses for whoever needs it.
func describe(err error, addr string) string {
	phase := "handshake"
	var pe *phaseError
	if errors.As(err, &pe) {
		phase = pe.phase
	}
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	var op *net.OpError
	// crypto/tls reports an alert from the server as a net.OpError with
	// Op "remote error" (tls.AlertError is for QUIC only).
	remoteAlert := errors.As(err, &op) && op.Op == "remote error"
	var why string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "connection refused: nothing listens on " + addr
	case isTimeout(err) && phase == "connect":
		why = "no answer to the TCP connection to " + addr + " within the deadline (a firewall may drop it)"
	case isTimeout(err):
		why = "the server accepted the connection but did not complete the TLS handshake within the deadline"
	case errors.Is(err, syscall.ECONNRESET):
		why = "the server reset the connection during the TLS handshake"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		why = "the server closed the connection during the TLS handshake (often: no certificate bound to this address, port or name)"
	case remoteAlert:
		why = "the server refused the handshake with the TLS alert " + quote(strings.TrimPrefix(op.Err.Error(), "tls: "))
	case errors.As(err, &alert):
		why = "the server refused the handshake with the TLS alert " + quote(strings.TrimPrefix(alert.Error(), "tls: "))
	case errors.As(err, &rh):
		why = "the server does not answer with TLS on " + addr + " (plain http on the https port?)"
	case phase == "connect":
		// DialTarget's own errors (resolution) are already written for people.
		return "cannot connect: " + pe.err.Error()
	default:
		why = "the TLS handshake failed"
	}
	return why + " (" + err.Error() + ")"
}
