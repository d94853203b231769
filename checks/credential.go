package checks

import (
	"context"
	"fmt"
	"sync"

	"github.com/exdiag/exdiag/checks/wsman"
)

// A wrong password must cost the account one failed logon per run, not
// one per probe: on a domain whose lockout threshold is 5, a run that
// tried Basic on the front and on each backend, a Kerberos AS exchange
// and an LDAP bind would lock the account by itself. Probes run
// concurrently, so the first logon attempt goes alone and the others
// wait for its verdict: accepted, they all proceed; refused, none sends
// the password again; no verdict (the server was unreachable, answered
// something that is not about the password), the next waiter goes
// alone in its turn.

// Verdict is what one logon attempt said about the password.
type Verdict int

const (
	// Inconclusive: the attempt said nothing definite about the password.
	Inconclusive Verdict = iota
	// Accepted: a server took the password.
	Accepted
	// Refused: a server definitely refused it (bad password, locked,
	// expired, disabled); no other probe of the run may send it.
	Refused
)

// CredentialRefused is what Credential returns once the password was
// refused: By says who refused it, for the "not tried" line.
type CredentialRefused struct{ By string }

func (e *CredentialRefused) Error() string {
	return "not tried: the password was refused by " + e.By
}

// notTriedInTime is the answer to a probe whose wait for another's
// verdict outlasted the run; it wraps the context's error.
func notTriedInTime(ctx context.Context) error {
	return fmt.Errorf("not tried: the run's time ran out while the first logon had no verdict yet (%w); raise --timeout", ctx.Err())
}

// credentialGuard serialises the first use of the run's password.
type credentialGuard struct {
	mu    sync.Mutex
	state Verdict
	busy  bool          // an attempt with no verdict yet is in flight
	wake  chan struct{} // closed when that attempt ends
	by    string

	// lead is closed once the check that logs on as New-PSSession does
	// (auth, on the URI, whose Basic step may be the rbac session's
	// Create: leadCreate) has had its turn: the others wait for it, so
	// which server judges a wrong password does not depend on timing.
	lead     chan struct{}
	leadOnce sync.Once
}

// expectLead makes the other logons wait for the lead check's turn; the
// runner calls it before starting any check.
func (g *credentialGuard) expectLead() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lead == nil {
		g.lead = make(chan struct{})
	}
}

// leadDone ends the lead's turn: it logged on, or will not.
func (g *credentialGuard) leadDone() {
	g.mu.Lock()
	lead := g.lead
	g.mu.Unlock()
	if lead != nil {
		g.leadOnce.Do(func() { close(lead) })
	}
}

// LeadDone says the lead logon (the auth probe's Basic step on the URI:
// its own request, or the rbac session's Create it classified) was made
// or will not be; other probes' logons may go once its verdict is in.
func (e *Env) LeadDone() { e.cred.leadDone() }

// Logon is one permission to send the password. Exactly one Done per Logon.
type Logon struct {
	g     *credentialGuard
	first bool // this attempt went alone; its verdict decides for the others
	once  sync.Once
}

// Done records the attempt's verdict; by names the server and its answer
// ("the kdc 10.0.0.5:88 (KDC_ERR_PREAUTH_FAILED)") when v is Refused.
func (l *Logon) Done(v Verdict, by string) {
	if l == nil {
		return
	}
	l.once.Do(func() {
		g := l.g
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.state == Inconclusive && v != Inconclusive {
			g.state, g.by = v, by
		}
		if l.first {
			g.busy = false
			close(g.wake)
		}
	})
}

// Credential asks permission to send the run's password. It waits for
// the lead's turn and while another probe's first attempt has no verdict
// (bounded by ctx), and returns *CredentialRefused once a server refused
// the password. lead is true for the auth probe's request to the URI.
func (e *Env) Credential(ctx context.Context, lead bool) (*Logon, error) {
	g := &e.cred
	g.mu.Lock()
	wait := g.lead
	g.mu.Unlock()
	if wait != nil && !lead {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, notTriedInTime(ctx)
		}
	}
	for {
		g.mu.Lock()
		switch {
		case g.state == Refused:
			by := g.by
			g.mu.Unlock()
			return nil, &CredentialRefused{By: by}
		case g.state == Accepted:
			g.mu.Unlock()
			return &Logon{g: g}, nil
		case !g.busy:
			g.busy, g.wake = true, make(chan struct{})
			g.mu.Unlock()
			return &Logon{g: g, first: true}, nil
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, notTriedInTime(ctx)
		}
	}
}

// accepted reports whether a server already took the run's password, so
// a logon that fails for another reason may be retried without risking
// a second bad-password count.
func (g *credentialGuard) accepted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == Accepted
}

// leadCreate is the rbac session's WS-Management Create when it is the
// run's lead logon (auth and rbac both run and rbac's inputs hold): rbac
// sends it as soon as the endpoint's transport has a verified TLS
// connection, beside auth's unauthenticated request, and auth classifies
// its answer as its Basic step instead of sending a Basic request of its
// own. One logon then yields both the auth verdict and the shell.
//
// rbac holds the lead Logon, but auth records its verdict: the verdict
// needs the unauthenticated answer too (IIS's 401.1 means a refused
// password only where Basic was offered), and a verdict from rbac alone
// could pass the turn to the next logon before auth has seen a refusal.
type leadCreate struct {
	once  sync.Once
	ready chan struct{} // closed by publish
	ans   *wsman.Answer // nil: the Create was not sent
	logon *Logon        // the lead turn, when the Create was sent
	why   string        // why it was not sent

	mu   sync.Mutex
	held *Logon // the lead turn rbac took, so auth can end it when the answer is late
}

func newLeadCreate() *leadCreate { return &leadCreate{ready: make(chan struct{})} }

// publish hands auth the Create's answer (a nil ans: it will not be
// sent, and why says why). Only the first call counts. A Create that was
// not sent ends the lead's turn at once, so auth can take it.
func (c *leadCreate) publish(ans *wsman.Answer, l *Logon, why string) {
	if c == nil {
		return
	}
	c.once.Do(func() {
		if ans == nil {
			l.Done(Inconclusive, "")
			l = nil
		}
		c.ans, c.logon, c.why = ans, l, why
		close(c.ready)
	})
}

// hold records the lead turn rbac took for the Create.
func (c *leadCreate) hold(l *Logon) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.held = l
	c.mu.Unlock()
}

// late ends the lead turn when the Create had no answer within auth's
// request budget: as when auth's own Basic request times out, the turn
// passes with no verdict, so the other logons are not held to the
// session's longer budget.
func (c *leadCreate) late() {
	c.mu.Lock()
	l := c.held
	c.mu.Unlock()
	l.Done(Inconclusive, "")
}

// claim is c when the Create may still be the lead logon, nil once it
// was given up (ForgoLead, or it will not be sent): the session then logs
// on as any other probe, after auth's own Basic has its verdict.
func (c *leadCreate) claim() *leadCreate {
	if c == nil {
		return nil
	}
	select {
	case <-c.ready:
		return nil
	default:
		return c
	}
}

// ForgoLead says the rbac session's Create will not go out at once (a
// caller holds the session back, as a fleet does for a session slot), so
// auth must not wait for it: auth logs on with its own Basic request, and
// the session logs on after that verdict like any other probe. Call it
// before the rbac probe's Run; it does nothing when the Create is not the
// lead logon.
func (e *Env) ForgoLead(why string) { e.lead.publish(nil, nil, why) }

// wait returns the Create's answer and the lead turn auth must end with
// the verdict, or a nil answer and why the Create was not sent.
func (c *leadCreate) wait(ctx context.Context) (*wsman.Answer, *Logon, string, error) {
	select {
	case <-c.ready:
		return c.ans, c.logon, c.why, nil
	case <-ctx.Done():
		return nil, nil, "", notTriedInTime(ctx)
	}
}
