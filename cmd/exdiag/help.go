package main

import (
	"fmt"
	"strings"

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
		set := pflag.NewFlagSet(g.title, pflag.ContinueOnError)
		set.SortFlags = false
		for _, n := range g.names {
			set.AddFlag(fs.Lookup(n))
		}
		fmt.Fprintf(&b, "\n%s:\n", g.title)
		// pflag wraps the usage column; a long flag column is folded here
		b.WriteString(wrapText(set.FlagUsagesWrapped(width-1), width))
	}
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
       exdiag lab serve SCENARIO

list names the simulated deployments; serve runs one on loopback in the foreground and prints the exdiag and dig command lines that reach it. exdiag run --lab SCENARIO does both in one go.
`
