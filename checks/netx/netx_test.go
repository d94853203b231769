package netx

import (
	"context"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// A read from a silent server must end when the context is cancelled,
// well before any deadline.
func TestDialBoundUnblocksOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	conn, release, err := DialBound(ctx, nil, "tcp", hostile.Silent(t))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil || CtxErr(ctx, err) != context.Canceled {
			t.Errorf("read ended with %v, want the cancellation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked after cancel")
	}
}

func TestAttemptNarrowsOnlyWhenAsked(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	pd, _ := parent.Deadline()
	ctx, c1 := Attempt(parent, 0)
	defer c1()
	if d, _ := ctx.Deadline(); !d.Equal(pd) {
		t.Error("a zero attempt timeout must keep the parent's deadline")
	}
	ctx, c2 := Attempt(parent, time.Second)
	defer c2()
	if d, _ := ctx.Deadline(); !d.Before(pd) {
		t.Error("the attempt deadline must nest inside the parent's")
	}
	if !IsTimeout(context.DeadlineExceeded) || IsTimeout(context.Canceled) {
		t.Error("IsTimeout classifies contexts wrongly")
	}
}
