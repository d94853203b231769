package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
	"github.com/spf13/pflag"
)

// cmdConfig is `exdiag config check FILE`: the file is read and every run
// validated, with no network call.
func cmdConfig(args []string, io *report.IO, _ func(string) string) error {
	if len(args) != 2 || args[0] != "check" {
		return usagef("usage: exdiag config check FILE")
	}
	f, err := profile.Load(args[1])
	if err != nil {
		var es profile.Errors
		if errors.As(err, &es) {
			// each problem with the line it is on, as a compiler shows it
			for _, e := range es {
				fmt.Fprintf(io.Err, "exdiag: %s\n", report.Sanitize(e.Error()))
				var pe *profile.Error
				if errors.As(e, &pe) && pe.Source != "" {
					fmt.Fprintf(io.Err, "    %s\n    %s^\n", report.Sanitize(pe.Source), strings.Repeat(" ", max(pe.Col-1, 0)))
				}
			}
			return reported{}
		}
		return usageError{err.Error()}
	}
	runs, _ := f.Runs()
	fmt.Fprintf(io.Out, "%s: ok, %d deployments, %d runs\n", f.Path, len(f.Deployments), len(runs))
	return nil
}

// saveConfig is `exdiag run … --save-config FILE NAME`: the run flags
// given on the command line become a new deployment of FILE. The password
// is never written; where it came from is.
func saveConfig(f *runFlags, fs *pflag.FlagSet, io *report.IO, getenv func(string) string) error {
	if len(fs.Args()) != 1 {
		return usagef("--save-config FILE needs one deployment name after the flags, e.g. --save-config fleet.yaml contoso")
	}
	name := fs.Args()[0]
	if err := profile.ValidName(name); err != nil {
		return usageError{err.Error()}
	}
	var e profile.Entry
	e.Name = name
	fs.Visit(func(fl *pflag.Flag) {
		if fld, ok := checks.LookupSpecField(fl.Name); ok {
			fld.Copy(&e.Spec, &f.spec)
		}
	})
	// the file may be read from elsewhere: paths are made absolute
	for i, p := range e.Spec.CAFiles {
		if abs, err := filepath.Abs(p); err == nil {
			e.Spec.CAFiles[i] = abs
		}
	}
	switch {
	case f.passwordFile != "":
		abs, err := filepath.Abs(f.passwordFile)
		if err != nil {
			return usagef("cannot use --password-file %s: %v", f.passwordFile, err)
		}
		e.Password.File = abs
	case getenv("EXDIAG_PASSWORD") != "":
		e.Password.Env = "EXDIAG_PASSWORD"
	}
	if err := profile.Append(f.fleet.saveConfig, e); err != nil {
		return usageError{err.Error()}
	}
	fmt.Fprintf(io.Err, "exdiag: saved deployment %s to %s; run it with exdiag run --config %s %s\n", name, f.fleet.saveConfig, f.fleet.saveConfig, name)
	return nil
}

// labServe is `exdiag lab serve SCENARIO [SCENARIO …] [--config-out FILE]`:
// simulated deployments in the foreground, and how to reach them: the run
// line of each, or a profile file for all of them.
func labServe(args []string, io *report.IO, getenv func(string) string) error {
	fs := pflag.NewFlagSet("lab serve", pflag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	configOut := fs.String("config-out", "", "write a profile `FILE` that reaches the labs (exdiag run --config FILE)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v; usage: exdiag lab serve SCENARIO [SCENARIO …] [--config-out FILE]", err)
	}
	names := fs.Args()
	if len(names) == 0 {
		return usagef("lab serve needs a scenario, e.g. exdiag lab serve healthy (see exdiag lab list)")
	}
	if len(names) > 1 && *configOut == "" {
		return usagef("several scenarios need --config-out FILE, the profile that reaches them")
	}
	var scenarios []fixtures.Scenario
	for _, n := range names {
		s, err := fixtures.Find(n)
		if err != nil {
			return usagef("unknown lab scenario %q%s; see `exdiag lab list`", n, didYouMean(n, scenarioNames()))
		}
		scenarios = append(scenarios, s)
	}
	opts, err := labOptions(getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var labs []*fixtures.Lab
	defer func() {
		for _, l := range labs {
			l.Close()
		}
	}()
	for _, s := range scenarios {
		l, err := fixtures.StartWith(ctx, s, opts)
		if err != nil {
			return fmt.Errorf("cannot start the lab: %v", err)
		}
		labs = append(labs, l)
	}
	if *configOut == "" {
		fmt.Fprint(io.Out, ServeInstructions(labs[0]))
	} else {
		env, err := fixtures.WriteProfile(*configOut, labs)
		if err != nil {
			return usageError{err.Error()}
		}
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(io.Out, "%d lab deployments; profile %s\n\nreach them with:\n", len(labs), *configOut)
		for _, k := range keys {
			fmt.Fprintf(io.Out, "  export %s=%s\n", k, shellQuote(env[k]))
		}
		fmt.Fprintf(io.Out, "  exdiag run --config %s\n", shellQuote(*configOut))
	}
	fmt.Fprintln(io.Err, "lab running; press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}
