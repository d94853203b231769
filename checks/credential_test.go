package checks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/wsman"
)

// TestCredentialFirstGoesAlone: while the first attempt has no verdict
// nobody else may send the password; a refusal stops them all.
func TestCredentialFirstGoesAlone(t *testing.T) {
	env := &Env{}
	ctx := context.Background()
	first, err := env.Credential(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := env.Credential(ctx, false)
			errs[i] = err
			if err == nil {
				sent.Add(1)
				l.Done(Inconclusive, "")
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them queue; a bug would show as sent > 0
	if n := sent.Load(); n != 0 {
		t.Fatalf("%d probes sent the password while the first attempt was pending", n)
	}
	first.Done(Refused, "the kdc 10.0.0.5:88 (KDC_ERR_PREAUTH_FAILED (24))")
	wg.Wait()
	for i, err := range errs {
		var cr *CredentialRefused
		if !errors.As(err, &cr) {
			t.Fatalf("waiter %d: got %v, want CredentialRefused", i, err)
		}
		if want := "not tried: the password was refused by the kdc 10.0.0.5:88 (KDC_ERR_PREAUTH_FAILED (24))"; err.Error() != want {
			t.Errorf("waiter %d says %q, want %q", i, err, want)
		}
	}
}

// TestCredentialInconclusivePassesTheTurn: an attempt with no verdict lets
// exactly one next attempt go alone; an acceptance frees everyone.
func TestCredentialInconclusivePassesTheTurn(t *testing.T) {
	env := &Env{}
	ctx := context.Background()
	a, _ := env.Credential(ctx, false)
	got := make(chan *Logon, 2)
	for range 2 {
		go func() {
			l, err := env.Credential(ctx, false)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
	}
	a.Done(Inconclusive, "")
	b := <-got
	select {
	case <-got:
		t.Fatal("two attempts went at once after an inconclusive one")
	case <-time.After(20 * time.Millisecond):
	}
	b.Done(Accepted, "")
	c := <-got
	c.Done(Refused, "late") // after an acceptance a refusal changes nothing
	if _, err := env.Credential(ctx, false); err != nil {
		t.Fatalf("after an acceptance: %v", err)
	}
}

// TestCredentialWaitsForTheLead: with a lead expected, the others wait
// for its turn, whatever the order they arrive in, and the wait is
// bounded by the context.
func TestCredentialWaitsForTheLead(t *testing.T) {
	env := &Env{}
	env.cred.expectLead()
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := env.Credential(short, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for the lead past the deadline gave %v", err)
	}
	lead, err := env.Credential(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	lead.Done(Refused, "the server at https://mail.fabrikam.example/PowerShell (401.1)")
	env.LeadDone()
	var cr *CredentialRefused
	if _, err := env.Credential(context.Background(), false); !errors.As(err, &cr) {
		t.Fatalf("after the lead's refusal got %v", err)
	}
}

// TestCredentialLeadNeverTries: a lead that sends nothing (http uri, a
// 404 before any challenge) ends its turn and the first other goes.
func TestCredentialLeadNeverTries(t *testing.T) {
	env := &Env{}
	env.cred.expectLead()
	env.LeadDone()
	env.LeadDone() // idempotent: the probe and the runner both end the turn
	l, err := env.Credential(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	l.Done(Accepted, "")
}

// TestLeadCreateNotSentPassesTheTurn: a Create that will not be sent
// ends the lead's turn at once, so auth can send its own Basic, and only
// the first publish counts.
func TestLeadCreateNotSentPassesTheTurn(t *testing.T) {
	env := &Env{}
	env.cred.expectLead()
	lead := newLeadCreate()
	l, err := env.Credential(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	lead.publish(nil, l, "the session ended before its create was sent")
	lead.publish(&wsman.Answer{Status: 200}, l, "") // too late: ignored
	ans, turn, why, err := lead.wait(context.Background())
	if ans != nil || turn != nil || err != nil || why == "" {
		t.Fatalf("wait gave %v %v %q %v, want no answer and why", ans, turn, why, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	own, err := env.Credential(ctx, true)
	if err != nil {
		t.Fatalf("auth could not take the turn the unsent Create left: %v", err)
	}
	own.Done(Accepted, "")
}

// TestLeadCreateVerdictIsAuths: a sent Create hands auth the lead turn
// undecided; the other logons wait until auth records the verdict, and a
// wait for an answer that never comes ends with the context.
func TestLeadCreateVerdictIsAuths(t *testing.T) {
	env := &Env{}
	env.cred.expectLead()
	lead := newLeadCreate()
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, _, err := lead.wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline gave %v", err)
	}
	l, _ := env.Credential(context.Background(), true)
	lead.publish(&wsman.Answer{Status: 401}, l, "")
	env.LeadDone()
	ans, turn, _, _ := lead.wait(context.Background())
	if ans == nil || ans.Status != 401 || turn != l {
		t.Fatalf("wait gave %v %v, want the Create's answer and the lead turn", ans, turn)
	}
	other := make(chan error, 1)
	go func() {
		_, err := env.Credential(context.Background(), false)
		other <- err
	}()
	select {
	case err := <-other:
		t.Fatalf("a logon went before auth's verdict on the Create: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	turn.Done(Refused, "the server at https://mail.fabrikam.example/PowerShell (401.1)")
	var cr *CredentialRefused
	if err := <-other; !errors.As(err, &cr) {
		t.Fatalf("after auth refused the Create's password: %v", err)
	}
}
