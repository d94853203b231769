package checks

import (
	"context"
	"strings"
	"testing"
)

// An accepted code stays in the report, as info with a note, and no longer
// decides the status; a code not accepted keeps its catalog severity.
func TestAcceptedFindingsAreInfo(t *testing.T) {
	env := testEnv()
	env.Config.Accept = []string{"DNS-EXT-NXDOMAIN"}
	list := []Check{
		{ID: "a", Doc: "a", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-EXT-NXDOMAIN")} }},
		{ID: "b", Doc: "b", Run: func(context.Context, *Env) Outcome { return Outcome{Findings: finding("DNS-INT-NXDOMAIN")} }},
	}
	rs := Run(context.Background(), env, list)
	a := rs[0]
	if a.Status != StatusPass || len(a.Findings) != 1 || a.Findings[0].Severity != SevInfo ||
		!strings.HasSuffix(a.Findings[0].Summary, AcceptedNote) || len(a.Findings[0].Remediation) == 0 {
		t.Errorf("accepted finding: %+v", a)
	}
	if rs[1].Status != StatusFail || rs[1].Findings[0].Severity != SevFail {
		t.Errorf("a code not accepted changed: %+v", rs[1])
	}
}
