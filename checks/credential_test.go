package checks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
