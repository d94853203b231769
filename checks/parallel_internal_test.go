package checks

import (
	"sync"
	"sync/atomic"
	"testing"
)

// inParallel runs every index once and never more than spnParallel at a
// time, so fifty backends do not mean fifty connections to a DC at once.
func TestInParallelBounded(t *testing.T) {
	const n = 5*spnParallel + 3
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	seen := map[int]int{}
	release := make(chan struct{})
	go func() {
		for range n {
			release <- struct{}{}
		}
	}()
	inParallel(n, func(i int) {
		now := inFlight.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		<-release
		mu.Lock()
		seen[i]++
		mu.Unlock()
		inFlight.Add(-1)
	})
	if len(seen) != n || peak.Load() > spnParallel {
		t.Fatalf("%d of %d indexes ran, peak %d in flight (bound %d)", len(seen), n, peak.Load(), spnParallel)
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("index %d ran %d times", i, c)
		}
	}
}
