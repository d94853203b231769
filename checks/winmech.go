package checks

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/exdiag/exdiag/checks/winauth"
)

// winMech is how the run logs on with Windows authentication
// (--authentication kerberos|negotiate|ntlm): which mechanism, and a
// factory of security contexts, one per connection. The auth probe and
// the rbac session share it, so the run asks the KDC for one ticket.
type winMech struct {
	Requested string // kerberos | negotiate | ntlm
	Used      string // kerberos | ntlm; "" when no context can be made
	SPN       string
	TicketErr error // from winauth.GetTicket
	Fallback  error // why negotiate fell back to ntlm
	// Verdict and By are what getting the ticket said about the
	// password: Kerberos has the KDC judge it before any HTTP request.
	Verdict Verdict
	By      string
	// NewContext starts one connection's context; nil when there is
	// no way to log on (no ticket and no fallback).
	NewContext func(cb *winauth.ChannelBindings) (winauth.Context, error)
}

// windowsMech is the run's mechanism for the front URI, built once (the
// KDC exchange, when there is one, happens here). The caller holds the
// credential guard's permission.
func (e *Env) windowsMech(ctx context.Context, u *url.URL) *winMech {
	e.winOnce.Do(func() {
		build := e.winMechFor
		if build == nil {
			build = e.realWindowsMech
		}
		e.win = build(ctx, u)
	})
	return e.win
}

// windowsTransport is one Windows-authenticated connection to u, dialled
// and verified as every session of the run is; over http it seals.
func (e *Env) windowsTransport(u *url.URL, newContext func(*winauth.ChannelBindings) (winauth.Context, error), noBindings bool) (*winauth.Transport, error) {
	tr := &winauth.Transport{
		Dial:             e.boundDial(e.DialTarget),
		HandshakeTimeout: HandshakeBudget,
		NewContext:       newContext,
		NoBindings:       noBindings,
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		tc, err := e.ClientTLS()
		if err != nil {
			return nil, err
		}
		tr.TLS = tc
	case "http":
		tr.Seal = true // a session never travels in clear (MS-WSMV 2.2.9.1)
	default:
		return nil, fmt.Errorf("unsupported scheme %q; use an https uri", u.Scheme)
	}
	return tr, nil
}

// windowsVerdict is what one HTTP logon said about the password, given
// what the ticket already said. Kerberos: the KDC judged it, and a
// refused AP-REQ is about the ticket or the binding. NTLM: the server's
// 401 after a complete exchange is all there is, and it cannot tell a
// wrong password from a rejected channel binding; it counts as refused,
// so no other probe sends the password again.
func windowsVerdict(m *winMech, res winauth.LogonResult, target string) (Verdict, string) {
	switch {
	case m.Verdict != Inconclusive:
		return m.Verdict, m.By
	case res.Established:
		return Accepted, ""
	case res.Mech == winauth.NTLM && res.Status == 401 && res.Rounds >= 2:
		return Refused, fmt.Sprintf("the server at %s (401 to the ntlm logon: a wrong password, or extended protection refusing the channel binding)", target)
	}
	return Inconclusive, ""
}
