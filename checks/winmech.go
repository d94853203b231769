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

// Windows error codes IIS writes on its detailed 401.1 page for a failed
// Windows logon: SSPI's SECURITY_STATUS, or the NTSTATUS and Win32 error
// of the logon, as IIS prints them.
const secBadBindings = "0x80090346" // SEC_E_BAD_BINDINGS: the channel binding, not the password

var passwordCodes = []string{
	"0x8009030c", // SEC_E_LOGON_DENIED
	"0xc000006d", // STATUS_LOGON_FAILURE
	"0x8007052e", // HRESULT_FROM_WIN32(ERROR_LOGON_FAILURE)
}

// passwordRefused reports whether a 401 page's code says the account or
// password was refused (and so not the channel binding).
func passwordRefused(hresult string) bool {
	for _, c := range passwordCodes {
		if strings.EqualFold(hresult, c) {
			return true
		}
	}
	return false
}

// windowsVerdict is what one HTTP logon said about the password, given
// what the ticket already said and the Windows error code of the 401
// page, when IIS wrote one. Kerberos: the KDC judged the password, and a
// refused AP-REQ is about the ticket or the binding. NTLM: the server's
// 401 after a complete exchange is all there is, and without the page's
// code it cannot tell a wrong password from a rejected channel binding;
// it then counts as refused, so no other probe sends the password again.
func windowsVerdict(m *winMech, res winauth.LogonResult, target, hresult string) (Verdict, string) {
	switch {
	case m.Verdict != Inconclusive:
		return m.Verdict, m.By
	case res.Established:
		return Accepted, ""
	case res.Mech == winauth.NTLM && res.Status == 401 && res.Rounds >= 2 && strings.EqualFold(hresult, secBadBindings):
		return Inconclusive, ""
	case res.Mech == winauth.NTLM && res.Status == 401 && res.Rounds >= 2 && passwordRefused(hresult):
		return Refused, fmt.Sprintf("the server at %s (401 to the ntlm logon, %s: the user name or password is wrong)", target, strings.ToLower(hresult))
	case res.Mech == winauth.NTLM && res.Status == 401 && res.Rounds >= 2:
		return Refused, fmt.Sprintf("the server at %s (401 to the ntlm logon: a wrong password, or extended protection refusing the channel binding)", target)
	}
	return Inconclusive, ""
}
