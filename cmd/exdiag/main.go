// Command exdiag diagnoses Exchange remote PowerShell published through a
// reverse proxy: it runs independent probes against the deployment and maps
// every failure to its documented cause and remediation.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/exdiag/exdiag/report"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it comes from the module's build information.
var version = ""

func main() {
	os.Exit(Main(os.Args[1:], report.System, os.Getenv))
}

// usageError is bad input: one line on stderr, exit 3, nothing written.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errInterrupted ends a run (or the password prompt) that SIGINT or
// SIGTERM cut short: "interrupted" on stderr and exit 130, as a shell
// reports a command killed by ^C.
var errInterrupted = errors.New("interrupted")

// exitInterrupted is 128 + SIGINT.
const exitInterrupted = 130

// Main runs exdiag and returns its exit code. newIO builds the IO once the
// flags have said whether colour is wanted.
func Main(args []string, newIO func(noColour bool) *report.IO, getenv func(string) string) int {
	if len(args) == 0 {
		io := newIO(true)
		fmt.Fprint(io.Err, usage)
		return 3
	}
	var err error
	code := 0
	switch args[0] {
	case "run":
		code, err = cmdRun(args[1:], newIO, getenv)
	case "checks":
		err = cmdChecks(args[1:], newIO(true))
	case "explain":
		err = cmdExplain(args[1:], newIO(true))
	case "lab":
		err = cmdLab(args[1:], newIO(true), getenv)
	case "config":
		err = cmdConfig(args[1:], newIO(true))
	case "serve":
		code, err = cmdServe(args[1:], newIO(true), getenv)
	case "version", "--version":
		fmt.Fprintf(newIO(true).Out, "exdiag %s\n", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(newIO(true).Out, usage)
	default:
		err = usagef("unknown command %q; run `exdiag help` for the commands", args[0])
	}
	if errors.Is(err, errInterrupted) {
		fmt.Fprintln(newIO(true).Err, "exdiag: interrupted")
		return exitInterrupted
	}
	if err != nil {
		var ue usageError
		msg := err.Error()
		if !errors.As(err, &ue) {
			msg = strings.TrimSpace(msg)
		}
		// a profile file's problems come one per line, each prefixed
		fmt.Fprintf(newIO(true).Err, "exdiag: %s\n", strings.ReplaceAll(msg, "\n", "\nexdiag: "))
		return 3
	}
	return code
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const usage = `exdiag diagnoses Exchange remote PowerShell published through a reverse proxy.

usage:
  exdiag run [flags]            run the probes (see exdiag run --help)
  exdiag run --lab [SCENARIO]   run them against the built-in simulated deployment
  exdiag run --config FILE [NAME[/VANTAGE] …]
                                run deployments of a profile file (all when none is named)
  exdiag config check FILE      validate a profile file without touching the network
  exdiag serve --config FILE    a Prometheus /probe endpoint for the deployments of a profile file
  exdiag checks                 list the probes
  exdiag explain CODE           cause, remediation and references of a finding code
  exdiag lab list               the simulated scenarios
  exdiag lab serve SCENARIO… [--config-out FILE]
                                run simulated deployments and print the flags (or write the profile) that reach them
  exdiag version

exit codes: 0 all passed, 1 worst is a warning, 2 a failure, 3 exdiag could not tell, 130 interrupted
`
