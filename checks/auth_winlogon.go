package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/winauth"
)

// windowsObserved is auth.observed.windows in the JSON report.
type windowsObserved struct {
	Requested      string        `json:"requested"`
	Used           string        `json:"used,omitempty"`
	SPN            string        `json:"spn,omitempty"`
	Established    bool          `json:"established"`
	Status         int           `json:"status,omitempty"`
	Rounds         int           `json:"rounds,omitempty"`
	MutualVerified bool          `json:"mutual_verified,omitempty"`
	Bound          bool          `json:"bound,omitempty"` // a channel binding was sent
	Sealed         bool          `json:"sealed,omitempty"`
	ServerError    string        `json:"server_error,omitempty"`
	TicketError    string        `json:"ticket_error,omitempty"`
	Fallback       string        `json:"fallback,omitempty"`
	Error          string        `json:"error,omitempty"`
	Refused        string        `json:"refused,omitempty"` // why no logon was sent
	Answer         *stepObserved `json:"answer,omitempty"`  // what the logon's request got
	Unbound        *windowsRetry `json:"unbound,omitempty"`
}

// windowsRetry is the logon without the channel binding.
type windowsRetry struct {
	Established bool   `json:"established"`
	Status      int    `json:"status,omitempty"`
	Error       string `json:"error,omitempty"`
}

// winPrep is what the Windows logon needs, gathered while the
// unauthenticated request is under way: the lead's turn to use the
// password, the mechanism (for Kerberos, the KDC's ticket) and the
// connection, dialled and verified. None of it sends anything to the
// endpoint that the logon would not.
type winPrep struct {
	logon *Logon
	err   error // no turn: the password was refused, or no time was left
	mech  *winMech
	tr    *winauth.Transport // its connection opened when that worked
}

// prepareWindowsLogon starts gathering at once; the channel yields once.
func prepareWindowsLogon(ctx context.Context, env *Env, u *url.URL) <-chan winPrep {
	ch := make(chan winPrep, 1)
	go func() {
		var p winPrep
		var m *winMech // set before p is sent, read only by a logon after it
		tr, err := env.windowsTransport(u, func(cb *winauth.ChannelBindings) (winauth.Context, error) {
			if m == nil || m.NewContext == nil {
				return nil, errors.New("no security context to log on with")
			}
			return m.NewContext(cb)
		}, false)
		var wg sync.WaitGroup
		if err == nil {
			p.tr = tr
			wg.Add(1)
			go func() {
				defer wg.Done()
				// a failure here is the logon's own to report: it dials again.
				// Bounded like one request: a front that drops connections
				// must not hold auth to the run's deadline
				cctx, cancel := netx.Attempt(ctx, env.requestBudget())
				defer cancel()
				tr.Connect(cctx, u)
			}()
		}
		p.logon, p.err = env.Credential(ctx, true)
		if p.err == nil {
			m = env.windowsMech(ctx, u)
			p.mech = m
		}
		wg.Wait()
		ch <- p
	}()
	return ch
}

// abandon ends a preparation whose logon will not be sent: the turn ends
// with what the ticket said, and the connection is closed.
func (p winPrep) abandon() {
	if p.logon != nil {
		p.logon.Done(p.mech.Verdict, p.mech.By)
	}
	if p.tr != nil {
		p.tr.Close()
	}
}

// windowsLogonStep performs the Windows logon of --authentication
// kerberos|negotiate|ntlm on the front URI, as New-PSSession would: an
// Enumerate over a connection the logon authenticates. It runs after the
// unauthenticated request answered 401, holding the lead's turn.
func windowsLogonStep(ctx context.Context, env *Env, u *url.URL, sec redactor, p winPrep) (windowsLogon, *windowsObserved) {
	cfg := env.Config
	a := windowsLogon{Requested: strings.ToLower(cfg.Authentication)}
	obs := &windowsObserved{Requested: a.Requested, Sealed: !strings.EqualFold(u.Scheme, "https")}
	if p.err != nil {
		p.abandon()
		obs.Refused = p.err.Error()
		return a, obs
	}
	logon, m := p.logon, p.mech
	a.Used, a.SPN, a.TicketErr, a.Fallback = m.Used, m.SPN, m.TicketErr, m.Fallback
	obs.Used, obs.SPN = m.Used, m.SPN
	if m.TicketErr != nil {
		obs.TicketError = sec.clean(oneLine(m.TicketErr))
	}
	if m.Fallback != nil {
		obs.Fallback = sec.clean(oneLine(m.Fallback))
	}
	if m.NewContext == nil {
		p.abandon()
		obs.Refused = "not sent: no " + a.Requested + " context could be made (see ticket_error)"
		return a, obs
	}
	res, answer, err := windowsLogonOnce(ctx, env, u, m, p.tr, sec, true)
	if err != nil {
		logon.Done(m.Verdict, m.By)
		obs.Refused = sec.clean(oneLine(err))
		return a, obs
	}
	a.Result, obs.Answer, a.HResult = res, answer, answer.HResult
	if res.Mech != "" {
		a.Used, obs.Used = res.Mech, res.Mech
	}
	v, by := windowsVerdict(m, res, u.Redacted(), answer.HResult)
	// IIS named the binding as what it refused: the password was not
	bindingRefused := strings.EqualFold(answer.HResult, secBadBindings)
	// Extended Protection: a proxy that terminates TLS shows the client
	// its own certificate, so the binding the client sends is not the one
	// the backend expects. The same logon without a binding tells. It is
	// sent only when the first refusal was not about the password, nor a
	// KRB-ERROR (the ticket itself was refused, whatever the binding).
	if res.Bound && !res.Established && res.Status == http.StatusUnauthorized && res.ServerError == nil && (v == Accepted || bindingRefused || env.cred.accepted()) {
		if un, _, err := windowsLogonOnce(ctx, env, u, m, nil, sec, false); err == nil {
			a.Unbound = &un
			obs.Unbound = &windowsRetry{Established: un.Established, Status: un.Status}
			if un.Err != nil {
				obs.Unbound.Error = sec.clean(oneLine(un.Err))
			}
			if un.Established {
				v, by = Accepted, ""
			}
		}
	}
	logon.Done(v, by)
	if !res.Established && res.Rounds > 0 {
		// the session logs on as this bound logon did, and would be
		// refused alike (even where the unbound one passed)
		why := fmt.Sprintf("%d", res.Status)
		if res.Err != nil {
			why = sec.clean(oneLine(res.Err))
		}
		env.windowsRefused(why)
	}
	a.FrontCert = res.Cert
	fillWindowsObserved(obs, res, sec)
	return a, obs
}

// windowsLogonOnce is one logon on a connection of its own: tr's, bound
// to its certificate, or (tr nil) a new one without the binding. With
// keep, an established connection stays open for the rbac session.
func windowsLogonOnce(ctx context.Context, env *Env, u *url.URL, m *winMech, tr *winauth.Transport, sec redactor, keep bool) (winauth.LogonResult, *stepObserved, error) {
	if tr == nil {
		var err error
		if tr, err = env.windowsTransport(u, m.NewContext, true); err != nil {
			return winauth.LogonResult{}, nil, err
		}
	}
	tr.MaxBody = authBodyLimit
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, step := send(ctx, client, withPSVersion(u), "", sec, env.requestBudget())
	res := tr.Logon()
	if keep && res.Established && env.Config.Selected(IDRBAC) {
		tr.MaxBody = 0 // the session's answers are bounded by its own client
		env.keepWindows(tr)
	} else {
		tr.Close()
	}
	if res.Rounds == 0 && res.Err != nil {
		// nothing went out (no context, or one that cannot seal)
		return res, nil, res.Err
	}
	if res.Rounds == 0 && step.Error != "" {
		return res, nil, errors.New(step.Error)
	}
	// the logon's answer carries tokens (the server's, or ours echoed by
	// a hostile server): the report shows the schemes, never a token
	for i := range step.Challenges {
		c := &step.Challenges[i]
		if c.Token68 != "" {
			c.Token68 = "[token]"
		}
		for j := range c.Params {
			c.Params[j].Value = sec.clean(c.Params[j].Value)
		}
	}
	return res, &step, nil
}

func fillWindowsObserved(obs *windowsObserved, res winauth.LogonResult, sec redactor) {
	obs.Established, obs.Status, obs.Rounds = res.Established, res.Status, res.Rounds
	obs.MutualVerified, obs.Bound = res.MutualVerified, res.Bound
	if res.ServerError != nil {
		obs.ServerError = fmt.Sprintf("%s (%d)", res.ServerError.Name, res.ServerError.Code)
	}
	if res.Err != nil {
		obs.Error = sec.clean(oneLine(res.Err))
	}
}

// logWindows tells -v what the Windows logon did, never a token.
func logWindows(env *Env, u *url.URL, w *windowsObserved) {
	switch {
	case w.Refused != "":
		env.Logf("auth %s %s logon: %s", u.Redacted(), w.Requested, w.Refused)
	default:
		env.Logf("auth %s %s logon (%s): %d in %d legs, established %v, mutual %v, bound %v", u.Redacted(), w.Requested, w.Used, w.Status, w.Rounds, w.Established, w.MutualVerified, w.Bound)
	}
}
