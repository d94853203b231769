package kerb

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jcmturner/gokrb5/v8/messages"
)

// FuzzDecodeReply feeds arbitrary KDC replies to the decoder the probe
// uses: it must return a value or an error, never panic.
func FuzzDecodeReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.der")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeReply(b)
		var as messages.ASRep
		safely(func() error { return as.Unmarshal(b) })
		var tgs messages.TGSRep
		safely(func() error { return tgs.Unmarshal(b) })
	})
}
