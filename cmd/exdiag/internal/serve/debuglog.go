package serve

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// debugLog keeps one probe's Env.Logf lines for ?debug=true. It is
// bounded, so a chatty probe cannot grow the service, and it masks the
// run's password: the runner scrubs secrets too, and this is the last
// place before the text leaves the process.
type debugLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	start  time.Time
	secret string
	full   bool
}

func newDebugLog(secret string) *debugLog {
	return &debugLog{start: time.Now(), secret: secret}
}

// Logf is the probe's Env.Logf.
func (l *debugLog) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if l.secret != "" {
		line = strings.ReplaceAll(line, l.secret, "[redacted]")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.full {
		return
	}
	if l.buf.Len()+len(line) > maxDebugLog {
		l.buf.WriteString("… log truncated\n")
		l.full = true
		return
	}
	fmt.Fprintf(&l.buf, "%8.3fs %s\n", time.Since(l.start).Seconds(), strings.TrimRight(line, "\n"))
}

// Bytes returns a copy of the log.
func (l *debugLog) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}
