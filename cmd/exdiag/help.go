package main

import (
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/report"
	"github.com/spf13/pflag"
)

const runExamples = `examples:
  exdiag run --uri https://mail.contoso.com/PowerShell --user 'CONTOSO\helpdesk'
  exdiag run --uri https://mail.contoso.com/PowerShell --external-dns 9.9.9.9 --expect-external 203.0.113.10
  exdiag run --uri https://mail.contoso.com/PowerShell --backend https://cas1.contoso.com/PowerShell --backend https://cas2.contoso.com/PowerShell
  exdiag run --uri https://mail.contoso.com/PowerShell --output json=run.json --output ticket.md
  exdiag run --lab cas2-basic-disabled
`

// runHelp is run --help: the flags in groups, examples and exit codes,
// every line within width.
func runHelp(width int) string {
	var f runFlags
	fs := newRunFlagSet(&f)
	var b strings.Builder
	b.WriteString(wrapText("usage: exdiag run [flags]\n\nruns the probes against the deployment and reports every failure with its documented cause and fix. The password comes from EXDIAG_PASSWORD, --password-file or a no-echo prompt, never from a flag.\n", width))
	for _, g := range flagGroups {
		var fl []*pflag.Flag
		for _, n := range g.names {
			fl = append(fl, fs.Lookup(n))
		}
		fmt.Fprintf(&b, "\n%s:\n", g.title)
		b.WriteString(flagUsages(fl, width))
	}
	b.WriteString("\nformats:\n")
	var fl []string
	for _, f := range report.Formats() {
		ext := ""
		if f.Ext != "" {
			ext = " [" + f.Ext + "]"
		}
		fl = append(fl, fmt.Sprintf("  %-11s %s%s", f.Name, f.Doc, ext))
	}
	b.WriteString(wrapColumn(fl, 14, width))
	b.WriteString("\n")
	b.WriteString(wrapText(runExamples, width))
	b.WriteString("\n")
	b.WriteString(wrapText(exitCodes, width))
	return b.String()
}

const checksUsage = `usage: exdiag checks [--format text|json|markdown]

lists the probes, what each asks, and what it runs after.
`

const explainUsage = `usage: exdiag explain [CODE|CHECK] [--format text|json|markdown]

with a finding code (AUTH-BASIC-NOT-OFFERED), prints its cause, remediation and references; with a check id (auth), lists the codes that check can raise; with nothing, lists every code.
`

const labUsage = `usage: exdiag lab list
       exdiag lab serve SCENARIO [SCENARIO …] [--config-out FILE]

list names the simulated deployments; serve runs them on loopback in the foreground and prints the exdiag and dig command lines that reach one, or with --config-out writes a profile file that reaches all of them (exdiag run --config FILE) and prints the variables its passwords are in. exdiag run --lab SCENARIO does both in one go.
`

const configUsage = `usage: exdiag config check FILE

check reads the profile file and validates every deployment and vantage with the rules of exdiag run's flags, without a network call: "FILE: ok, N deployments, M runs", or each problem as FILE:LINE:COL with what to do (exit 3). See Profile files in the README.
`

// typeNames are what a flag's value is called in help, where pflag's own
// type names (stringArray) would mean nothing to a user.
var typeNames = map[string]string{"stringArray": "string", "strings": "list", "duration": "duration", "int": "n", "string": "string"}

// flagUsages lays out flags in two columns that fit width: pflag's own
// layout has no width for the flag column and writes bool flags as
// --x[=true|false].
func flagUsages(fl []*pflag.Flag, width int) string {
	var lines []string
	left := make([]string, len(fl))
	col := 0
	for i, f := range fl {
		l := "      --" + f.Name
		if f.Shorthand != "" {
			l = "  -" + f.Shorthand + ", --" + f.Name
		}
		name, _ := pflag.UnquoteUsage(f)
		if t := f.Value.Type(); t != "bool" {
			if n, ok := typeNames[name]; ok {
				name = n
			}
			l += " " + name
		}
		left[i] = l
		col = max(col, len(l)+3)
	}
	col = min(col, width/2)
	for i, f := range fl {
		_, usage := pflag.UnquoteUsage(f)
		switch f.DefValue {
		case "", "false", "0", "[]":
		default:
			usage += " (default " + f.DefValue + ")"
		}
		if f.Name == "lab" {
			usage += "; --lab alone runs " + "the default scenario"
		}
		l := left[i]
		if len(l)+2 > col {
			lines = append(lines, l)
			l = ""
		}
		lines = append(lines, fmt.Sprintf("%-*s%s", col, l, usage))
	}
	return wrapColumn(lines, col, width)
}

// wrapColumn folds lines whose text starts at column col, continuing
// under that column.
func wrapColumn(lines []string, col, width int) string {
	var b strings.Builder
	for _, l := range lines {
		for _, w := range report.Fold(l, width, strings.Repeat(" ", col)) {
			b.WriteString(w)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
