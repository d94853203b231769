package checks

import (
	"context"
	"fmt"
	"sync"
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
	// (auth, on the URI) has had its turn: the others wait for it, so
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

// LeadDone says the lead logon (the auth probe's request to the URI) was
// made or will not be; other probes' logons may go.
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
