package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStatusLineDrawsRunningChecksAndErasesItself(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newStatusLine(&b, 40, clock)
	s.update("tls", "running")
	now = now.Add(4 * time.Second)
	s.update("auth", "running")
	s.mu.Lock()
	got := b.String()
	s.mu.Unlock()
	if !strings.Contains(got, "auth: running 0s · tls: running 4s") {
		t.Errorf("status line: %q", got)
	}
	s.update("tls", "pass")
	s.update("auth", "fail")
	s.stop()
	s.stop() // twice is fine
	out := b.String()
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("the line is not erased at the end: %q", out)
	}
	for _, l := range strings.Split(out, "\r\x1b[K") {
		if len([]rune(l)) > 39 {
			t.Errorf("status line wider than the terminal: %q", l)
		}
	}
}
