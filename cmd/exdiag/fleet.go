package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/report"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
)

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
	switch f.format {
	case "table", "json":
	default:
		return 0, usagef("--format %q is not supported; use table or json", f.format)
	}
	file, err := profile.Load(f.fleet.config)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	runs, err := file.Runs(fs.Args()...)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	if len(runs) == 0 {
		return 0, usagef("%s has no deployments to run; add one under deployments:", f.fleet.config)
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

	out, err := openOutput(f.output)
	if err != nil {
		return 0, err
	}
	defer out.discard()

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

	doc := report.FleetDoc{SchemaVersion: report.SchemaVersion}
	for _, o := range outcomes {
		doc.Runs = append(doc.Runs, runDoc(o))
	}
	var b []byte
	switch {
	case len(doc.Runs) == 1 && f.format == "json":
		b, err = report.RunJSON(doc.Runs[0])
	case len(doc.Runs) == 1:
		b = []byte(report.RunTable(doc.Runs[0], streams.Colour && f.output == ""))
	case f.format == "json":
		b, err = report.FleetJSON(doc)
	default:
		b = []byte(report.FleetTable(doc, streams.Colour && f.output == ""))
	}
	if err != nil {
		return 0, fmt.Errorf("cannot render the report: %v; please report it", err)
	}
	if err := out.write(b, streams); err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		return 130, nil
	}
	return doc.ExitCode(), nil
}

// runDoc is one outcome as its report: the single-run report, or the
// reason it did not run as an error with exit 3.
func runDoc(o profile.Outcome) report.RunDoc {
	target := report.Target{URI: o.Run.Spec.URI}
	if o.Config != nil {
		target = report.Target{URI: o.Config.URI.String(), Host: o.Config.Host, Port: o.Config.Port}
	}
	started := o.Started
	if started.IsZero() {
		started = time.Now()
	}
	rd := report.RunDoc{
		Deployment: o.Run.Deployment, Vantage: o.Run.Vantage, Labels: o.Run.Labels,
		Doc: report.Build(versionString(), started, o.Elapsed, target, o.Results),
	}
	if o.Err != nil {
		rd.Error = o.Err.Error()
		var pe *profile.Error
		if errors.As(o.Err, &pe) {
			rd.Error = pe.Error()
		}
		rd.Status, rd.ExitCode = string(checks.StatusError), 3
	}
	return rd
}
