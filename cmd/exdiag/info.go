package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/report"
	"github.com/spf13/pflag"
)

// infoFormats are what checks and explain can print.
var infoFormats = []string{"text", "json", "markdown"}

// infoFlags parses the --format of checks and explain.
func infoFlags(cmd string, args []string) (string, []string, error) {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.StringP("format", "f", "text", "text, json or markdown")
	if err := fs.Parse(args); err != nil {
		return "", nil, parseErr(fs, args, cmd, err)
	}
	if !contains(infoFormats, *format) {
		return "", nil, usagef("--format %q is not one of text, json, markdown%s", *format, didYouMean(*format, infoFormats))
	}
	return *format, fs.Args(), nil
}

type checkInfo struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Doc      string   `json:"doc"`
	Requires []string `json:"requires"`
	Codes    []string `json:"codes"`
}

func checkInfos() []checkInfo {
	var out []checkInfo
	for _, c := range checks.All() {
		req := c.Requires
		if req == nil {
			req = []string{}
		}
		out = append(out, checkInfo{ID: c.ID, Title: c.Title, Doc: c.Doc, Requires: req, Codes: append([]string{}, c.Codes...)})
	}
	return out
}

func cmdChecks(args []string, streams *report.IO, _ func(string) string) error {
	format, rest, err := infoFlags("checks", args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("checks takes no arguments; for one check's codes run `exdiag explain %s`", rest[0])
	}
	infos := checkInfos()
	switch format {
	case "json":
		return writeJSON(streams.Out, infos)
	case "markdown":
		var b strings.Builder
		b.WriteString("| check | what it asks | after |\n|---|---|---|\n")
		for _, c := range infos {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.ID, c.Doc, strings.Join(c.Requires, ", "))
		}
		_, err := io.WriteString(streams.Out, b.String())
		return err
	}
	tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
	for _, c := range infos {
		req := ""
		if len(c.Requires) > 0 {
			req = " (after " + strings.Join(c.Requires, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s%s\n", c.ID, c.Doc, req)
	}
	return tw.Flush()
}

type codeInfo struct {
	Code        string   `json:"code"`
	Check       string   `json:"check"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Cause       string   `json:"cause"`
	Remediation []string `json:"remediation"`
	References  []string `json:"references"`
}

func toCodeInfo(e catalog.Entry) codeInfo {
	return codeInfo{Code: e.Code, Check: e.Check, Severity: e.Severity, Title: e.Title, Cause: e.Cause,
		Remediation: append([]string{}, e.Remediation...), References: append([]string{}, e.References...)}
}

func cmdExplain(args []string, streams *report.IO, _ func(string) string) error {
	format, rest, err := infoFlags("explain", args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usagef("explain takes one finding code or check, e.g. exdiag explain AUTH-BASIC-NOT-OFFERED")
	}
	var entries []catalog.Entry
	one := false
	if len(rest) == 0 {
		entries = catalog.All()
	} else {
		arg := strings.TrimSpace(rest[0])
		if e, ok := catalog.Lookup(strings.ToUpper(arg)); ok {
			entries, one = []catalog.Entry{e}, true
		} else if c, ok := findCheck(strings.ToLower(arg)); ok {
			for _, code := range c.Codes {
				if e, ok := catalog.Lookup(code); ok {
					entries = append(entries, e)
				}
			}
		} else {
			var names []string
			for _, e := range catalog.All() {
				names = append(names, e.Code)
			}
			return usagef("unknown finding code or check %q%s; run `exdiag explain` to list the codes",
				arg, didYouMean(strings.ToUpper(arg), append(names, checkIDs()...)))
		}
	}
	switch format {
	case "json":
		infos := make([]codeInfo, 0, len(entries))
		for _, e := range entries {
			infos = append(infos, toCodeInfo(e))
		}
		if one {
			return writeJSON(streams.Out, infos[0])
		}
		return writeJSON(streams.Out, infos)
	case "markdown":
		var b strings.Builder
		for i, e := range entries {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(explainMarkdown(e))
		}
		_, err := io.WriteString(streams.Out, b.String())
		return err
	}
	if one {
		_, err := io.WriteString(streams.Out, Explain(entries[0]))
		return err
	}
	tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Code, e.Check, e.Severity, e.Title)
	}
	return tw.Flush()
}

func findCheck(id string) (checks.Check, bool) {
	for _, c := range checks.All() {
		if c.ID == id {
			return c, true
		}
	}
	return checks.Check{}, false
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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

func explainMarkdown(e catalog.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s (%s, check `%s`)\n\n**Cause:** %s\n\n**Remediation:**\n\n", e.Code, e.Title, e.Severity, e.Check, e.Cause)
	for i, s := range e.Remediation {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	if len(e.References) > 0 {
		b.WriteString("\n**References:**\n\n")
		for _, r := range e.References {
			fmt.Fprintf(&b, "- <%s>\n", r)
		}
	}
	return b.String()
}

func scenarioNames() []string {
	var out []string
	for _, s := range fixtures.Scenarios() {
		out = append(out, s.Name)
	}
	return out
}

func cmdLab(args []string, streams *report.IO, getenv func(string) string) error {
	if len(args) == 0 {
		return usagef("lab needs a subcommand: exdiag lab list, or exdiag lab serve SCENARIO")
	}
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
		for _, s := range fixtures.Scenarios() {
			mark := ""
			if s.Name == fixtures.DefaultScenario {
				mark = " (default)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\n", s.Name, s.Summary, mark)
		}
		return tw.Flush()
	case "serve":
		return labServe(args[1:], streams, getenv)
	}
	return usagef("unknown lab subcommand %q%s; use list or serve", args[0], didYouMean(args[0], []string{"list", "serve"}))
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
