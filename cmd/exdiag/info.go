package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
)

func cmdChecks(args []string, io *report.IO) error {
	if len(args) > 0 {
		return usagef("checks takes no arguments")
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	for _, c := range checks.All() {
		req := ""
		if len(c.Requires) > 0 {
			req = " (after " + strings.Join(c.Requires, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s%s\n", c.ID, c.Doc, req)
	}
	return tw.Flush()
}

func cmdExplain(args []string, io *report.IO) error {
	if len(args) == 0 {
		tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		for _, e := range catalog.All() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Code, e.Check, e.Severity, e.Title)
		}
		return tw.Flush()
	}
	if len(args) > 1 {
		return usagef("explain takes one finding code, e.g. exdiag explain DNS-CNAME")
	}
	e, ok := catalog.Lookup(strings.ToUpper(strings.TrimSpace(args[0])))
	if !ok {
		return usagef("unknown finding code %q; run `exdiag explain` to list the codes", args[0])
	}
	fmt.Fprint(io.Out, Explain(e))
	return nil
}

// Explain renders one catalog entry for a person. Without a run there are
// no observed values, so each step shows its placeholders readably
// (<published host>), and every evidence-specific variant is listed.
func Explain(e catalog.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, check %s): %s\n\n", e.Code, e.Severity, e.Check, e.Title)
	fmt.Fprintf(&b, "cause:\n  %s\n\nremediation:\n", e.Cause)
	steps := func(list []string) {
		for i, s := range list {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, catalog.Template(s))
		}
	}
	steps(e.Remediation)
	for _, v := range e.Variants {
		fmt.Fprintf(&b, "\nremediation when %s:\n", v.Describe())
		steps(v.Remediation)
	}
	b.WriteString("\nreferences:\n")
	for _, r := range e.References {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	return b.String()
}

func cmdLab(args []string, io *report.IO, getenv func(string) string) error {
	if len(args) == 0 {
		return usagef("lab needs a subcommand: exdiag lab list, or exdiag lab serve SCENARIO")
	}
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		for _, s := range fixtures.Scenarios() {
			mark := ""
			if s.Name == fixtures.DefaultScenario {
				mark = " (default)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\n", s.Name, s.Summary, mark)
		}
		return tw.Flush()
	case "serve":
		return labServe(args[1:], io, getenv)
	}
	return usagef("unknown lab subcommand %q; use list or serve", args[0])
}

// ServeInstructions tells how to reach a running lab: the exdiag command
// line (the lab password is a test credential, fine to print) and dig
// lines for its DNS views.
func ServeInstructions(l *fixtures.Lab) string {
	args := l.Args()
	var b strings.Builder
	fmt.Fprintf(&b, "lab scenario %s: %s\n\nreach it with:\n  EXDIAG_PASSWORD=%s exdiag run", l.Scenario.Name, l.Scenario.Summary, shellQuote(l.Password()))
	for _, a := range args {
		fmt.Fprintf(&b, " %s", shellQuote(a))
	}
	b.WriteString("\n")
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--external-dns" || args[i] == "--internal-dns" {
			host, port, _ := strings.Cut(args[i+1], ":")
			fmt.Fprintf(&b, "  dig @%s -p %s %s A   # %s view\n", host, port, l.Names().Namespace, strings.TrimSuffix(strings.TrimPrefix(args[i], "--"), "-dns"))
		}
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
