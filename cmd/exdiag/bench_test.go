package main

import (
	"context"
	"testing"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/fixtures"
)

// BenchmarkHealthyLabRun is one whole run of every check against the
// healthy lab, started once, in process (client and lab together, as
// `exdiag run --lab` pays for both); profile it with -cpuprofile.
func BenchmarkHealthyLabRun(b *testing.B) {
	s, err := fixtures.Find("healthy")
	if err != nil {
		b.Fatal(err)
	}
	lab, cfg := labInProcess(b, s, fixtures.Options{})
	defer lab.Close()
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
		res := checks.Run(ctx, checks.NewEnv(cfg), checks.All())
		cancel()
		for _, r := range res {
			if r.Status != checks.StatusPass {
				b.Fatalf("%s: %s %s", r.ID, r.Status, r.Summary)
			}
		}
	}
}
