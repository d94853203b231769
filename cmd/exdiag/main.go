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
	os.Exit(Main(os.Args[1:], report.System(), os.Getenv))
}

// usageError is bad input: one line on stderr, exit 3, nothing written.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// reported is bad input whose lines are on stderr already (a profile
// file's problems, one per line).
type reported struct{}

func (reported) Error() string { return "reported" }

// command is one subcommand; help and did-you-mean derive from the list.
type command struct {
	name    string
	summary string // one line for `exdiag help`
	help    func(width int) string
	run     func(args []string, streams *report.IO, getenv func(string) string) (int, error)
}

func commands() []command {
	noCode := func(f func([]string, *report.IO, func(string) string) error) func([]string, *report.IO, func(string) string) (int, error) {
		return func(a []string, s *report.IO, g func(string) string) (int, error) { return 0, f(a, s, g) }
	}
	return []command{
		{"run", "run the probes; --lab [SCENARIO] runs them against the simulated deployment", runHelp, cmdRun},
		{"checks", "list the probes", staticHelp(checksUsage), noCode(cmdChecks)},
		{"explain", "cause, remediation and references of a finding code, or a check's codes", staticHelp(explainUsage), noCode(cmdExplain)},
		{"config", "validate a profile file without touching the network: exdiag config check FILE", staticHelp(configUsage), noCode(cmdConfig)},
		{"lab", "list the simulated scenarios, or serve them in the foreground", staticHelp(labUsage), noCode(cmdLab)},
		{"serve", "a Prometheus /probe endpoint for the deployments of a profile file", serveHelp, cmdServe},
		{"version", "print exdiag's version", staticHelp("usage: exdiag version\n\nprints exdiag's version (from the build when not set at link time).\n"), noCode(cmdVersion)},
		{"help", "help on a command: exdiag help CMD", staticHelp("usage: exdiag help [CMD]\n"), nil},
	}
}

func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	return out
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// errInterrupted ends a run (or the password prompt) that SIGINT or
// SIGTERM cut short: "interrupted" on stderr and exit 130, as a shell
// reports a command killed by ^C.
var errInterrupted = errors.New("interrupted")

// exitInterrupted is 128 + SIGINT.
const exitInterrupted = 130

// Main runs exdiag and returns its exit code.
func Main(args []string, streams *report.IO, getenv func(string) string) int {
	code, err := dispatch(args, streams, getenv)
	if errors.Is(err, errInterrupted) {
		fmt.Fprintln(streams.Err, "exdiag: interrupted")
		return exitInterrupted
	}
	if errors.As(err, new(reported)) {
		return 3
	}
	if err != nil {
		var ue usageError
		msg := err.Error()
		if !errors.As(err, &ue) {
			msg = strings.TrimSpace(msg)
		}
		fmt.Fprintf(streams.Err, "exdiag: %s\n", report.Sanitize(msg))
		return 3
	}
	return code
}

func dispatch(args []string, streams *report.IO, getenv func(string) string) (int, error) {
	width := helpWidth(streams)
	if len(args) == 0 {
		fmt.Fprint(streams.Err, usage(width))
		return 3, nil
	}
	name := args[0]
	switch name {
	case "-h", "--help":
		name = "help"
	case "--version":
		name = "version"
	}
	if name == "help" {
		if len(args) < 2 {
			fmt.Fprint(streams.Out, usage(width))
			return 0, nil
		}
		if args[1] == "-h" || args[1] == "--help" {
			args[1] = "help"
		}
		c, ok := findCommand(args[1])
		if !ok {
			return 0, usagef("no command %q%s; run `exdiag help` for the commands", args[1], didYouMean(args[1], commandNames()))
		}
		fmt.Fprint(streams.Out, c.help(width))
		return 0, nil
	}
	c, ok := findCommand(name)
	if !ok && strings.HasPrefix(name, "-") {
		var f runFlags
		if msg := powershellStyle(args, flagNames(newRunFlagSet(&f))); msg != "" {
			return 0, usagef("%s, after the command: exdiag run --uri …", strings.TrimSuffix(msg, "?"))
		}
	}
	if !ok {
		return 0, usagef("unknown command %q%s; run `exdiag help` for the commands", name, didYouMean(name, commandNames()))
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" {
			fmt.Fprint(streams.Out, c.help(width))
			return 0, nil
		}
	}
	return c.run(args[1:], streams, getenv)
}

// helpWidth fits help to the terminal; 80 when there is none.
func helpWidth(s *report.IO) int {
	if s.Width > 0 {
		return s.Width
	}
	return 80
}

func staticHelp(text string) func(int) string {
	return func(width int) string { return wrapText(text, width) }
}

// wrapText folds every line of text to width, keeping its indentation.
func wrapText(text string, width int) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		// an indented line (an example, a list item) continues further in;
		// prose continues at its margin
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		if indent != "" {
			indent += "  "
		}
		for _, w := range report.Fold(l, width, indent) {
			b.WriteString(w)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func cmdVersion(args []string, streams *report.IO, _ func(string) string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(streams.Out, "exdiag %s\n", versionString())
	return nil
}

// versionString is the link-time version, else the module version, else
// the VCS revision the binary was built from.
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	v := "dev-" + rev[:min(12, len(rev))]
	if dirty {
		v += "-dirty"
	}
	return v
}

func usage(width int) string {
	var b strings.Builder
	b.WriteString("exdiag diagnoses Exchange remote PowerShell published through a reverse proxy.\n\nusage:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  exdiag %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nevery command takes --help; exdiag help CMD says the same.\n\n")
	b.WriteString(exitCodes)
	return wrapText(b.String(), width)
}

const exitCodes = `exit codes:
  0    every check passed or was skipped
  1    the worst finding is a warning
  2    the deployment is broken (at least one failure)
  3    exdiag could not tell: bad input, a probe error, its own time budget
  130  interrupted
`
