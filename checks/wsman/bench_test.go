package wsman

import (
	"context"
	"testing"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// BenchmarkListCommandsLab is the healthy lab's rbac session in process:
// the psrpserver with the lab's defaults (1500-byte fragments, 500 KB
// envelopes, a progress record every 50 commands) behind TLS, listing the
// 692 commands of the lab administrator. It measures client and server
// together, as the lab run pays for both.
func BenchmarkListCommandsLab(b *testing.B) {
	c, _ := labClient(b, psrpserver.Config{Commands: map[string][]string{"u": names(692)}}, "u", nil)
	b.ReportAllocs()
	for b.Loop() {
		res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
		if err != nil || len(res.Names) != 692 {
			b.Fatalf("%v: %d names", err, len(res.Names))
		}
	}
}
