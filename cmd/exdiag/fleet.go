package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/report"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
)

// fleetMemoryLimit is the Go runtime's soft memory limit during a fleet
// run (GOMEMLIMIT overrides it).
const fleetMemoryLimit = 100 << 20

// fleetFlags are the `run` flags of profile files and fleet runs.
type fleetFlags struct {
	config          string
	parallel        int
	sessionsPerUser int
	saveConfig      string
}

func addFleetFlags(fs *pflag.FlagSet, f *fleetFlags) {
	fs.StringVar(&f.config, "config", "", "run the deployments of this profile file (names or NAME/VANTAGE as arguments; default all)")
	fs.IntVar(&f.parallel, "parallel", profile.DefaultParallel, "with --config: deployments run at once")
	fs.IntVar(&f.sessionsPerUser, "sessions-per-user", profile.DefaultSessionsPerUser, "with --config: PowerShell sessions of one user open at once across the fleet")
	fs.StringVar(&f.saveConfig, "save-config", "", "append the flags given as a new deployment `FILE` NAME (no password is written)")
}

// runProfile is `exdiag run --config FILE [NAME[/VANTAGE] …]`: the
// deployments of a profile, flags given on the command line overriding
// the file, one report per run and a summary when there are several.
func runProfile(f *runFlags, fs *pflag.FlagSet, streams *report.IO, getenv func(string) string) (int, error) {
	if f.lab != "" || f.fleet.saveConfig != "" {
		return 0, usagef("--config does not go with --lab or --save-config; run a lab profile with exdiag lab serve … --config-out FILE first")
	}
	if f.password != "" {
		return 0, usagef("passwords are never taken from a flag value; use password_file or password_env in the profile")
	}
	if f.fleet.parallel < 1 || f.fleet.sessionsPerUser < 1 {
		return 0, usagef("--parallel and --sessions-per-user must be 1 or more")
	}
	if f.noColour {
		f.colour = report.ColourNever
	}
	screen, files, err := planOutputs(f.outputs, f.format, fs.Changed("format"))
	if err != nil {
		return 0, err
	}
	file, err := profile.Load(f.fleet.config)
	if err != nil {
		return 0, profileErr(err, streams)
	}
	runs, err := file.Runs(fs.Args()...)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	if len(runs) == 0 {
		return 0, usagef("%s has no deployments to run; add one under deployments:", f.fleet.config)
	}
	if len(runs) > 1 {
		// a JUnit file or a Nagios line describes one run
		dests := append([]destination(nil), files...)
		if screen != nil {
			dests = append(dests, destination{format: *screen})
		}
		for _, d := range dests {
			if !slices.Contains(report.FleetFormats, d.format.Name) {
				return 0, usagef("%s renders one run, and %d are selected; use %s, or name one deployment", d.format.Name, len(runs), strings.Join(report.FleetFormats, " or "))
			}
		}
	}
	// flags given on the command line win over the file
	var given []string
	fs.Visit(func(fl *pflag.Flag) {
		if _, ok := checks.LookupSpecField(fl.Name); ok {
			given = append(given, fl.Name)
		}
	})
	pwFile := ""
	if fs.Changed("password-file") {
		if pwFile, err = filepath.Abs(f.passwordFile); err != nil {
			return 0, usagef("cannot use --password-file %s: %v", f.passwordFile, err)
		}
	}
	for i := range runs {
		runs[i].Override(f.spec, given)
		if pwFile != "" {
			runs[i].Password = profile.PasswordSource{File: pwFile}
		}
	}

	// every destination is checked before the runs: a bad path must not
	// cost a logon attempt per deployment
	pendings, discard, err := prepareAll(files)
	defer discard()
	if err != nil {
		return 0, err
	}

	var bar *progressbar.ProgressBar
	if streams.ErrTTY && len(runs) > 1 {
		bar = progressbar.NewOptions(len(runs), progressbar.OptionSetWriter(streams.Err),
			progressbar.OptionSetDescription("deployments"), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	var promptMu sync.Mutex
	prompted := map[string]checks.Secret{}
	fleet := &profile.Fleet{
		Parallel:        f.fleet.parallel,
		SessionsPerUser: f.fleet.sessionsPerUser,
		Getenv:          getenv,
		// a run whose profile names no password source takes the one a
		// single run would: EXDIAG_PASSWORD, --password-file, a prompt,
		// asked once per user
		Password: func(user string) (checks.Secret, error) {
			promptMu.Lock()
			defer promptMu.Unlock()
			if s, ok := prompted[user]; ok {
				return s, nil
			}
			s, err := readPassword(user, f.passwordFile, streams, getenv)
			if err == nil {
				prompted[user] = s
			}
			return s, err
		},
		Prepare: func(c *checks.Config) {
			c.Verbose = f.verbose
		},
		NewEnv: func(r profile.Run, c *checks.Config) *checks.Env {
			env := checks.NewEnv(c)
			if c.Verbose {
				name := r.Name()
				env.Logf = func(format string, a ...any) {
					fmt.Fprintf(streams.Err, "exdiag: %s: "+format+"\n", append([]any{name}, a...)...)
				}
			}
			return env
		},
		Done: func(o profile.Outcome) {
			if bar != nil {
				_ = bar.Add(1)
			}
			if f.verbose {
				fmt.Fprintf(streams.Err, "exdiag: %s done, exit %d\n", o.Run.Name(), o.ExitCode())
			}
		},
	}
	if getenv("GOMEMLIMIT") == "" && len(runs) > 1 {
		// many runs at once each hold a session's buffers; a soft limit
		// makes the collector work harder rather than let the heap double
		// (the fleet benchmark's 50 runs stay under 150 MiB with it)
		debug.SetMemoryLimit(fleetMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	outcomes := fleet.Execute(ctx, runs)
	if bar != nil {
		_ = bar.Finish()
	}
	// one run that could not start is bad input, said once on stderr
	if len(outcomes) == 1 && outcomes[0].Config == nil && outcomes[0].Err != nil && ctx.Err() == nil {
		return 0, usageError{outcomes[0].Err.Error()}
	}

	host, _ := os.Hostname()
	doc := report.FleetDoc{SchemaVersion: report.SchemaVersion}
	for _, o := range outcomes {
		doc.Runs = append(doc.Runs, runDoc(o, host))
	}
	interrupted := ctx.Err() != nil
	render := func(w io.Writer, fm report.Format, o report.Options) error {
		if len(doc.Runs) == 1 {
			return report.RenderRun(w, fm, doc.Runs[0], o)
		}
		return report.RenderFleet(w, fm, doc, o)
	}
	if err := writeRendered(render, screen, streams.Options(f.colour, f.ascii), files, pendings, streams); err != nil {
		return 0, err
	}
	if interrupted {
		return 0, errInterrupted
	}
	return doc.ExitCode(), nil
}

// profileErr reports a profile file's problems, one line each.
func profileErr(err error, streams *report.IO) error {
	var es profile.Errors
	if !errors.As(err, &es) {
		return usageError{err.Error()}
	}
	for _, e := range es {
		fmt.Fprintf(streams.Err, "exdiag: %s\n", report.Sanitize(e.Error()))
	}
	return reported{}
}

// runDoc is one outcome as its report: the single-run report, or the
// reason it did not run as an error with exit 3.
func runDoc(o profile.Outcome, host string) report.RunDoc {
	target := report.Target{URI: o.Run.Spec.URI}
	if o.Config != nil {
		target = report.Target{URI: o.Config.URI.String(), Host: o.Config.Host, Port: o.Config.Port}
	}
	started := o.Started
	if started.IsZero() {
		started = time.Now()
	}
	rd := report.RunDoc{
		Deployment: o.Run.Deployment, Labels: o.Run.Labels,
		Doc: report.Build(report.Meta{
			Version: versionString(), Started: started, Elapsed: o.Elapsed, Target: target,
			Vantage: report.Vantage{Name: o.Run.Vantage, Host: host, Resolvers: resolvers(o.Run.Spec)},
			Inputs:  report.InputsOf(o.Run.Spec),
		}, o.Results),
	}
	if o.Err != nil {
		rd.Error = o.Err.Error()
		rd.Status, rd.ExitCode = string(checks.StatusError), 3
	}
	return rd
}
