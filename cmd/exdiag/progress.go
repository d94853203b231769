package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/report"
)

// statusLine is the live line on a terminal's stderr while a run waits on
// the network: "tls: running 4s · auth: running 2s". It redraws in place
// once a second and is erased before the report is printed.
type statusLine struct {
	w     io.Writer
	width int
	now   func() time.Time

	mu      sync.Mutex
	running map[string]state
	drawn   bool
	done    chan struct{}
	once    sync.Once
}

type state struct {
	what  string
	since time.Time
}

func newStatusLine(w io.Writer, width int, now func() time.Time) *statusLine {
	s := &statusLine{w: w, width: width, now: now, running: map[string]state{}, done: make(chan struct{})}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.mu.Lock()
				s.draw()
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// update is the runner's progress hook: a check's state changed.
func (s *statusLine) update(check, st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case "pass", "warn", "fail", "skip", "error":
		delete(s.running, check)
	default:
		s.running[check] = state{what: st, since: s.now()}
	}
	s.draw()
}

// draw writes the line; the caller holds mu.
func (s *statusLine) draw() {
	ids := make([]string, 0, len(s.running))
	for id := range s.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		r := s.running[id]
		parts = append(parts, fmt.Sprintf("%s: %s %ds", id, report.Sanitize(r.what), int(s.now().Sub(r.since).Seconds())))
	}
	line := strings.Join(parts, " · ")
	if w := s.width - 1; len([]rune(line)) > w && w > 1 {
		line = string([]rune(line)[:w-1]) + "…"
	}
	// \r and erase-line: the line is redrawn in place, never scrolled
	fmt.Fprintf(s.w, "\r\x1b[K%s", line)
	s.drawn = line != ""
}

// stop erases the line and ends the redraws.
func (s *statusLine) stop() {
	s.once.Do(func() {
		close(s.done)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.running = map[string]state{}
		fmt.Fprint(s.w, "\r\x1b[K")
	})
}
