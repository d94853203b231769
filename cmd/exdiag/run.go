package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

func cmdRun(args []string, newIO func(bool) *report.IO, getenv func(string) string) (int, error) {
	var f runFlags
	fs := newRunFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			io := newIO(true)
			fmt.Fprintf(io.Out, "usage: exdiag run [flags]\n\n%s", fs.FlagUsages())
			return 0, nil
		}
		return 0, usagef("%v; run `exdiag run --help` for the flags", err)
	}
	io := newIO(f.noColour)
	if f.fleet.config != "" {
		return runProfile(&f, fs, io, getenv)
	}
	if f.lab != "" && f.fleet.saveConfig != "" {
		return 0, usagef("--save-config with --lab would save ports that close when the run ends; use exdiag lab serve SCENARIO --config-out FILE")
	}

	var password checks.Secret
	if f.lab != "" {
		lab, labArgs, err := startLab(f.lab, fs.Args(), args, getenv)
		if err != nil {
			return 0, err
		}
		defer lab.Close()
		f = runFlags{}
		fs = newRunFlagSet(&f)
		if err := fs.Parse(labArgs); err != nil {
			return 0, usagef("%v; run `exdiag run --help` for the flags", err)
		}
		password = checks.NewSecret(lab.Password())
		if f.verbose {
			fmt.Fprintf(io.Err, "lab %s: exdiag run %s\n", lab.Scenario.Name, strings.Join(labArgs, " "))
		}
	} else if len(fs.Args()) > 0 && f.fleet.saveConfig == "" {
		return 0, usagef("unexpected argument %q; run takes flags only (a scenario name goes with --lab, deployment names with --config)", fs.Args()[0])
	}

	cfg, err := f.toConfig()
	if err != nil {
		return 0, err
	}
	if f.fleet.saveConfig != "" {
		if err := saveConfig(&f, fs, io, getenv); err != nil {
			return 0, err
		}
	}
	if cfg.User != "" && password.Empty() {
		if password, err = readPassword(cfg.User, f.passwordFile, io, getenv); err != nil {
			return 0, err
		}
	}
	cfg.Password = password

	var render func(report.Doc) ([]byte, error)
	switch f.format {
	case "table":
		colour := io.Colour && f.output == ""
		render = func(d report.Doc) ([]byte, error) { return []byte(report.Table(d, colour)), nil }
	case "json":
		render = report.JSON
	default:
		return 0, usagef("--format %q is not supported; use table or json", f.format)
	}
	out, err := openOutput(f.output)
	if err != nil {
		return 0, err
	}
	defer out.discard()

	env := checks.NewEnv(cfg)
	if cfg.Verbose {
		env.Logf = func(format string, a ...any) { fmt.Fprintf(io.Err, "exdiag: "+format+"\n", a...) }
	}
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, cfg.Timeout)
	defer cancel()

	started := time.Now()
	results := checks.Run(ctx, env, checks.All())
	doc := report.Build(versionString(), started, time.Since(started),
		report.Target{URI: cfg.URI.String(), Host: cfg.Host, Port: cfg.Port}, results)
	interrupted := sigCtx.Err() != nil
	if interrupted {
		// the checks cut short are errors that blame nothing on the
		// server; the partial report says so, and the exit code is 130
		doc.Interrupted, doc.ExitCode = true, exitInterrupted
	}
	b, err := render(doc)
	if err != nil {
		return 0, fmt.Errorf("cannot render the report: %v; please report it", err)
	}
	if err := out.write(b, io); err != nil {
		return 0, err
	}
	if interrupted {
		return 0, errInterrupted
	}
	return doc.ExitCode, nil
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
		return nil, nil, usageError{err.Error()}
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

// readPassword takes the password from EXDIAG_PASSWORD, --password-file or
// a no-echo prompt, never from a flag value.
func readPassword(user, file string, streams *report.IO, getenv func(string) string) (checks.Secret, error) {
	if p := getenv("EXDIAG_PASSWORD"); p != "" {
		return checks.NewSecret(p), nil
	}
	if file != "" {
		// the same bounded first-line read as a profile's password_file
		s, err := profile.PasswordSource{File: file}.Read(getenv)
		if err != nil {
			return checks.Secret{}, usageError{strings.Replace(err.Error(), "password_file", "--password-file", 1)}
		}
		return s, nil
	}
	if !streams.InTTY {
		return checks.Secret{}, usagef("no password for %s: set EXDIAG_PASSWORD or use --password-file (there is no terminal to prompt on)", user)
	}
	fmt.Fprintf(streams.Err, "password for %s: ", user)
	b, err := promptPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(streams.Err)
	if errors.Is(err, errInterrupted) {
		return checks.Secret{}, err
	}
	if err != nil || len(b) == 0 {
		return checks.Secret{}, usagef("no password read for %s; set EXDIAG_PASSWORD or use --password-file", user)
	}
	return checks.NewSecret(string(b)), nil
}

// promptPassword reads a line without echo. ReadPassword restores the
// terminal when it returns, but a SIGINT or SIGTERM would kill the process
// before that with echo still off; so the signal is caught here, the
// terminal restored, and the run ends as interrupted.
func promptPassword(fd int) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	// the read cannot be cancelled; on a signal the process is about to
	// exit, so the blocked goroutine goes with it
	go func() {
		b, err := term.ReadPassword(fd)
		done <- read{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-sigs:
		_ = term.Restore(fd, state)
		return nil, errInterrupted
	}
}

// output writes the report to stdout, or to a file atomically: the file
// appears whole or not at all.
type output struct {
	path string
	tmp  *os.File
}

func openOutput(path string) (*output, error) {
	if path == "" || path == "-" {
		return &output{}, nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, usagef("--output %s is a folder; give a file name", path)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, usagef("cannot write --output %s: %v; pick a writable folder", path, unwrapPathErr(err))
	}
	return &output{path: path, tmp: tmp}, nil
}

func (o *output) write(b []byte, io *report.IO) error {
	if o.tmp == nil {
		_, err := io.Out.Write(b)
		return err
	}
	if _, err := o.tmp.Write(b); err != nil {
		return usagef("cannot write --output %s: %v", o.path, err)
	}
	if err := o.tmp.Close(); err != nil {
		return usagef("cannot write --output %s: %v", o.path, err)
	}
	if err := os.Rename(o.tmp.Name(), o.path); err != nil {
		return usagef("cannot write --output %s: %v", o.path, unwrapPathErr(err))
	}
	o.tmp = nil
	return nil
}

// discard removes the temporary file unless the report was written.
func (o *output) discard() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}

// labOptions reads EXDIAG_LAB_RTT, the simulated round-trip time that
// scripts/bench.sh uses to count the round trips a run takes.
func labOptions(getenv func(string) string) (fixtures.Options, error) {
	var o fixtures.Options
	if v := getenv("EXDIAG_LAB_RTT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 10*time.Second {
			return o, usagef("EXDIAG_LAB_RTT=%q is not a duration up to 10s; give e.g. EXDIAG_LAB_RTT=50ms", v)
		}
		o.RTT = d
	}
	return o, nil
}
