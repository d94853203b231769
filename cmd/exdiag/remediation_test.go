package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
)

// otherDomain is the organisation the lab plays in this test: nothing the
// report says may come from the catalog's old example, contoso.
const otherDomain = "fabrikam.example"

var (
	unfilled = regexp.MustCompile(`\{[a-z][a-z0-9_]*\}`) // IIS's {HTTP_HOST}, {R:1} are upper case
	contoso  = regexp.MustCompile(`(?i)contoso`)
)

// labRun runs every check against a lab in otherDomain, in process, so the
// findings keep their Params.
func labRun(t *testing.T, s fixtures.Scenario) []checks.Result {
	t.Helper()
	lab, cfg := labInProcess(t, s, fixtures.Options{Domain: otherDomain})
	defer lab.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	return checks.Run(ctx, checks.NewEnv(cfg), checks.All())
}

// labInProcess starts s in process and returns it with the Config its flags
// and password give; the caller closes it.
func labInProcess(tb testing.TB, s fixtures.Scenario, o fixtures.Options) (*fixtures.Lab, *checks.Config) {
	tb.Helper()
	lab, err := fixtures.StartWith(context.Background(), s, o)
	if err != nil {
		tb.Fatal(err)
	}
	var f runFlags
	if err := newRunFlagSet(&f).Parse(lab.Args()); err != nil {
		lab.Close()
		tb.Fatal(err)
	}
	cfg, err := f.toConfig()
	if err != nil {
		lab.Close()
		tb.Fatal(err)
	}
	cfg.Password = checks.NewSecret(lab.Password())
	return lab, cfg
}

// TestRemediationNamesTheDeployment renders every finding of every lab
// scenario for a deployment called fabrikam.example: no step may name
// contoso or keep a placeholder, every value a chosen step needs must have
// been observed, and two findings of one code about different targets
// with different evidence must not get the same steps.
func TestRemediationNamesTheDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every lab scenario")
	}
	slots := make(chan struct{}, 4)
	var mu sync.Mutex
	codes := map[string]bool{}
	for _, s := range fixtures.Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			rs := labRun(t, s)
			<-slots
			doc := report.Build(report.Meta{Version: "test", Started: time.Now()}, rs)
			jf, _ := report.Lookup("json")
			var buf bytes.Buffer
			if err := jf.Render(&buf, doc, report.Options{}); err != nil {
				t.Fatal(err)
			}
			js := buf.Bytes()
			if m := contoso.Find(js); m != nil {
				i := contoso.FindIndex(js)[0]
				t.Errorf("the report names contoso: …%s…", js[max(0, i-120):min(len(js), i+60)])
			}
			var all []checks.Finding
			for _, r := range rs {
				all = append(all, r.Findings...)
			}
			for _, f := range all {
				mu.Lock()
				codes[f.Code] = true
				mu.Unlock()
				for _, step := range f.Remediation {
					if m := unfilled.FindString(step); m != "" {
						t.Errorf("%s on %s: step keeps the placeholder %s: %q", f.Code, f.Target, m, step)
					}
				}
				for _, tmpl := range catalog.Steps(f.Code, f.Params) {
					for _, name := range catalog.Placeholders(tmpl) {
						if f.Params[name] == "" {
							t.Errorf("%s on %s: the probe did not set {%s}, which its step needs: %q", f.Code, f.Target, name, tmpl)
						}
					}
				}
			}
			for i, a := range all {
				for _, b := range all[i+1:] {
					if a.Code != b.Code || a.Target == b.Target || !evidenceDiffers(a, b) {
						continue
					}
					if slices.Equal(a.Remediation, b.Remediation) {
						t.Errorf("%s: the same steps for %s and %s although their evidence differs:\n%s",
							a.Code, a.Target, b.Target, strings.Join(a.Remediation, "\n"))
					}
				}
			}
		})
	}
	t.Cleanup(func() {
		var seen []string
		for c := range codes {
			seen = append(seen, c)
		}
		sort.Strings(seen)
		t.Logf("%d codes rendered for %s: %s", len(seen), otherDomain, strings.Join(seen, " "))
	})
}

// evidenceDiffers says whether two findings saw different values for a
// name the code's templates use: then their steps must say so.
func evidenceDiffers(a, b checks.Finding) bool {
	names := map[string]bool{}
	e, _ := catalog.Lookup(a.Code)
	lists := [][]string{e.Remediation}
	for _, v := range e.Variants {
		lists = append(lists, v.Remediation)
	}
	for _, l := range lists {
		for _, s := range l {
			for _, n := range catalog.Placeholders(s) {
				names[n] = true
			}
		}
	}
	for n := range names {
		if a.Params[n] != b.Params[n] {
			return true
		}
	}
	return false
}
