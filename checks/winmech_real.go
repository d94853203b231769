package checks

import (
	"context"
	"fmt"
	"net/url"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/winauth"
)

// realWindowsMech builds the run's contexts from checks/winauth's
// Kerberos and NTLM clients. Kerberos logs on to the KDC here, once: the
// AS exchange is where the password is judged, and each connection's
// AP-REQ reuses the ticket. Negotiate falls back to NTLM as Windows does
// when there is no ticket (no SPN, no KDC, no realm), but never after
// the KDC refused the password: that would be a second failed logon.
func (e *Env) realWindowsMech(ctx context.Context, u *url.URL) *winMech {
	c := e.Config
	m := &winMech{Requested: c.Authentication, SPN: c.KerberosSPN()}
	name, domain := winauth.SplitUser(c.User)
	ntlm := func(cb *winauth.ChannelBindings) winauth.Context {
		return winauth.NewNTLM(winauth.NTLMOptions{User: name, Domain: domain, Password: c.Password.Reveal(), TargetName: m.SPN, Now: e.Now}, cb)
	}
	if m.Requested == AuthNTLM {
		m.Used = AuthNTLM
		m.NewContext = func(cb *winauth.ChannelBindings) (winauth.Context, error) { return ntlm(cb), nil }
		return m
	}
	ticket, err := e.windowsTicket(ctx)
	if err == nil {
		m.Used, m.Verdict = AuthKerberos, Accepted
		m.NewContext = func(cb *winauth.ChannelBindings) (winauth.Context, error) { return ticket.NewContext(cb), nil }
		return m
	}
	m.TicketErr = err
	if f, refused := kdcRefusal(err); refused || kerb.Classify(err) == kerb.ClassBadCredentials {
		m.Verdict, m.By = Refused, fmt.Sprintf("the kdc %s (%s)", kdcOf(err), krbText(err))
		if refused {
			m.By = fmt.Sprintf("the kdc %s (%s: %s)", kdcOf(err), krbText(err), f.What)
		}
		return m
	}
	if cl := kerb.Classify(err); cl == kerb.ClassPrincipalUnknown || cl == kerb.ClassNotUnique {
		// the AS exchange took the password; only the service ticket failed
		m.Verdict = Accepted
	}
	if m.Requested == AuthNegotiate {
		// what Windows' Negotiate does without a ticket, and why
		_, m.Fallback = winauth.NewNegotiate(func() (winauth.Context, error) { return nil, err }, func() winauth.Context { return ntlm(nil) })
		m.Used = AuthNTLM
		m.NewContext = func(cb *winauth.ChannelBindings) (winauth.Context, error) { return ntlm(cb), nil }
	}
	return m
}

// windowsTicket asks the realm's KDC for the logon SPN's service ticket,
// found as the spn probe finds its KDC.
func (e *Env) windowsTicket(ctx context.Context) (*winauth.Ticket, error) {
	k, err := kerberosLogonInputs(ctx, e)
	if err != nil {
		return nil, err
	}
	c := e.Config
	return winauth.GetTicket(ctx, winauth.KerberosOptions{Realm: k.Realm, User: k.Account, Password: c.Password.Reveal(), KDCs: k.KDCs,
		Dial: k.Dial, AttemptTimeout: e.kdcBudget(), AllowLegacy: c.AllowLegacyKerberos, SPN: k.SPN, Now: e.Now})
}
