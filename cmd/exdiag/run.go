package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
)

func cmdRun(args []string, streams *report.IO, getenv func(string) string) (int, error) {
	var f runFlags
	fs := newRunFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		return 0, parseErr(fs, args, "run", err)
	}
	if f.fleet.config != "" {
		return runProfile(&f, fs, streams, getenv)
	}
	if f.lab != "" && f.fleet.saveConfig != "" {
		return 0, usagef("--save-config with --lab would save ports that close when the run ends; use exdiag lab serve SCENARIO --config-out FILE")
	}
	labArgs := []string(nil)
	var password checks.Secret
	var lab *fixtures.Lab
	if f.lab != "" {
		l, la, err := startLab(f.lab, fs.Args(), args, getenv)
		if err != nil {
			return 0, err
		}
		lab = l
		defer lab.Close()
		f = runFlags{}
		fs = newRunFlagSet(&f)
		if err := fs.Parse(la); err != nil {
			return 0, parseErr(fs, la, "run", err)
		}
		password = checks.NewSecret(lab.Password())
		labArgs = la
	} else if len(fs.Args()) > 0 && f.fleet.saveConfig == "" {
		return 0, usagef("unexpected argument %q; run takes flags only (a scenario name goes with --lab, deployment names with --config)", fs.Args()[0])
	}
	if f.noColour {
		f.colour = report.ColourNever
	}
	switch f.colour {
	case report.ColourAuto, report.ColourAlways, report.ColourNever:
	default:
		return 0, usagef("--color %q is not a mode; use auto, always or never", f.colour)
	}
	screen, files, err := planOutputs(f.outputs, f.format, fs.Changed("format"))
	if err != nil {
		return 0, err
	}

	cfg, err := f.toConfig()
	if err != nil {
		return 0, err
	}
	if f.fleet.saveConfig != "" {
		if err := saveConfig(&f, fs, streams, getenv); err != nil {
			return 0, err
		}
	}
	if f.verbose && labArgs != nil {
		fmt.Fprintf(streams.Err, "lab: exdiag run %s\n", strings.Join(labArgs, " "))
	}
	// every destination is checked before the run: one run is one logon
	// attempt, and a bad path must not cost it
	pendings, discard, err := prepareAll(files)
	defer discard()
	if err != nil {
		return 0, err
	}
	if cfg.User != "" && password.Empty() {
		if password, err = readPassword(cfg.User, f.passwordFile, streams, getenv); err != nil {
			return 0, err
		}
	}
	cfg.Password = password

	env := checks.NewEnv(cfg)
	if cfg.Verbose {
		// log lines quote server text too: no raw control character may reach the terminal
		env.Logf = func(format string, a ...any) {
			fmt.Fprintf(streams.Err, "exdiag: %s\n", report.Sanitize(fmt.Sprintf(format, a...)))
		}
	}
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, cfg.Timeout)
	defer cancel()

	var status *statusLine
	if streams.ErrTTY && !cfg.Verbose {
		status = newStatusLine(streams.Err, helpWidth(streams), time.Now)
		env.Progress = status.update
		defer status.stop()
	}
	started := time.Now()
	results := checks.Run(ctx, env, checks.All())
	env.CloseIdle()
	if status != nil {
		status.stop()
	}
	if lab != nil && cfg.Verbose {
		// what crossed each simulated network path: scripts/bench.sh reads it
		for _, t := range lab.Traffic() {
			fmt.Fprintf(streams.Err, "lab traffic %s\n", t)
		}
	}
	host, _ := os.Hostname()
	doc := report.Build(report.Meta{
		Version: versionString(), Started: started, Elapsed: time.Since(started),
		Target:  report.Target{URI: cfg.URI.String(), Host: cfg.Host, Port: cfg.Port},
		Vantage: report.Vantage{Host: host, Resolvers: resolvers(f.spec)},
		Inputs:  report.InputsOf(f.spec),
	}, results)
	interrupted := sigCtx.Err() != nil
	if interrupted {
		// the checks cut short are errors that blame nothing on the
		// server; the partial report says so, and the exit code is 130
		doc.Interrupted, doc.ExitCode = true, exitInterrupted
	}
	if err := writeAll(doc, screen, streams.Options(f.colour, f.ascii), files, pendings, streams); err != nil {
		return 0, err
	}
	if lab != nil && lab.FailedLogons() > 0 {
		// what a domain controller's lockout policy would have counted
		fmt.Fprintf(streams.Err, "lab %s: the domain counted %d failed logon(s) for this run\n", lab.Scenario.Name, lab.FailedLogons())
	}
	if interrupted {
		return 0, errInterrupted
	}
	return doc.ExitCode, nil
}

// resolvers names the resolvers the run asked, by view.
func resolvers(s checks.Spec) []string {
	var out []string
	for _, r := range s.ExternalDNS {
		out = append(out, "external "+r)
	}
	for _, r := range s.InternalDNS {
		out = append(out, "internal "+r)
	}
	if len(out) == 0 {
		out = []string{"system"}
	}
	return out
}

// startLab brings up the simulated deployment and returns the flags that
// reach it followed by the user's own (minus --lab and the scenario name).
func startLab(flagValue string, positional, userArgs []string, getenv func(string) string) (*fixtures.Lab, []string, error) {
	opts, err := labOptions(getenv)
	if err != nil {
		return nil, nil, err
	}
	name := strings.TrimSpace(flagValue)
	if name == labDefault {
		name = fixtures.DefaultScenario
		if len(positional) > 0 {
			name = positional[0]
			positional = positional[1:]
		}
	}
	if len(positional) > 0 {
		return nil, nil, usagef("unexpected argument %q; give one scenario: --lab SCENARIO", positional[0])
	}
	s, err := fixtures.Find(name)
	if err != nil {
		return nil, nil, usagef("unknown lab scenario %q%s; see `exdiag lab list`", name, didYouMean(name, scenarioNames()))
	}
	var rest []string
	skipNext := false
	for i, a := range userArgs {
		switch {
		case skipNext:
			skipNext = false
		case a == "--lab" || strings.HasPrefix(a, "--lab="):
			if a == "--lab" && i+1 < len(userArgs) && userArgs[i+1] == name {
				skipNext = true
			}
		case a == "--uri" || strings.HasPrefix(a, "--uri="):
			return nil, nil, usagef("--lab sets --uri itself; drop --uri")
		case a == "--user" || strings.HasPrefix(a, "--user="):
			return nil, nil, usagef("--lab sets --user itself; pick a scenario with another user instead (exdiag lab list)")
		default:
			rest = append(rest, a)
		}
	}
	lab, err := fixtures.StartWith(context.Background(), s, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot start the lab: %v", err)
	}
	return lab, append(lab.Args(), rest...), nil
}

// labOptions reads EXDIAG_LAB_RTT, the simulated round-trip time that
// scripts/bench.sh uses to count the round trips a run takes, and
// EXDIAG_LAB_BACKENDS, the number of CAS servers it scales a run over.
func labOptions(getenv func(string) string) (fixtures.Options, error) {
	var o fixtures.Options
	if v := getenv("EXDIAG_LAB_RTT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 10*time.Second {
			return o, usagef("EXDIAG_LAB_RTT=%q is not a duration up to 10s; give e.g. EXDIAG_LAB_RTT=50ms", v)
		}
		o.RTT = d
	}
	if v := getenv("EXDIAG_LAB_BACKENDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > fixtures.MaxBackends {
			return o, usagef("EXDIAG_LAB_BACKENDS=%q is not a number from 1 to %d; give e.g. EXDIAG_LAB_BACKENDS=50", v, fixtures.MaxBackends)
		}
		o.Backends = n
	}
	return o, nil
}
