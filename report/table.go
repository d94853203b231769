package report

import (
	"fmt"
	"strings"

	"github.com/fatih/color"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// detailWidth keeps rows readable on an 120-column terminal; longer text wraps.
const detailWidth = 88

// Table renders the report for people: one row per check, its findings
// under it with the first remediation step, and a summary line. With
// colour false the output is plain text, fit for pipes and golden files.
func Table(d Doc, colour bool) string {
	p := newPalette(colour)
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.Style().Options.SeparateRows = true
	t.Style().Format.Header = text.FormatDefault
	if colour {
		t.Style().Color.Header = text.Colors{text.Bold}
	}
	t.AppendHeader(table.Row{"CHECK", "STATUS", "RESULT"})
	for _, c := range d.Checks {
		var lines []string
		switch {
		case c.Status == "skip":
			lines = append(lines, c.Title+": "+c.SkipReason)
		case c.Status == "error":
			lines = append(lines, c.Title+": "+c.Error)
		case c.Summary != "":
			lines = append(lines, fmt.Sprintf("%s: %s (%d ms)", c.Title, c.Summary, c.DurationMS))
		default:
			lines = append(lines, fmt.Sprintf("%s (%d ms)", c.Title, c.DurationMS))
		}
		for _, f := range c.Findings {
			head := fmt.Sprintf("%s %s %s", p.sev(string(f.Severity)), p.bold(f.Code), f.Summary)
			if f.Target != "" && !strings.Contains(f.Summary, f.Target) {
				head += " [" + f.Target + "]"
			}
			lines = append(lines, head)
			if len(f.Remediation) > 0 {
				lines = append(lines, "  fix: "+f.Remediation[0])
			}
		}
		for _, h := range c.Targets {
			if h.Status == "skip" {
				// a gated backend: say it was not probed, and why
				lines = append(lines, fmt.Sprintf("%s %s: %s", p.status("skip"), h.Target, h.SkipReason))
			}
		}
		t.AppendRow(table.Row{c.ID, p.status(c.Status), wrap(lines)})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "exdiag %s  %s\n", d.Version, d.Target.URI)
	b.WriteString(t.Render())
	b.WriteString("\n")
	s := d.Summary
	fmt.Fprintf(&b, "%s %d pass, %d warn, %d fail, %d skip, %d error; exit %d\n",
		p.status(d.Status), s.Pass, s.Warn, s.Fail, s.Skip, s.Error, d.ExitCode)
	if s.Warn+s.Fail > 0 {
		b.WriteString("run `exdiag explain CODE` for every remediation step and its references\n")
	}
	return b.String()
}

// palette applies the caller's colour decision to fatih/color without
// touching its global state, so rendering stays a pure function.
type palette struct{ colour bool }

func newPalette(colour bool) palette { return palette{colour: colour} }

func (p palette) paint(s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	if p.colour {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(s)
}

func (p palette) bold(s string) string { return p.paint(s, color.Bold) }

func (p palette) status(s string) string {
	label := strings.ToUpper(s)
	switch s {
	case "pass":
		return p.paint(label, color.FgGreen, color.Bold)
	case "warn":
		return p.paint(label, color.FgYellow, color.Bold)
	case "fail", "error":
		return p.paint(label, color.FgRed, color.Bold)
	}
	return p.paint(label, color.Faint)
}

func (p palette) sev(s string) string {
	switch s {
	case "fail":
		return p.paint("✗", color.FgRed)
	case "warn":
		return p.paint("!", color.FgYellow)
	}
	return p.paint("i", color.FgCyan)
}

// wrap folds each line at detailWidth on word boundaries, indenting the
// continuation of a finding's line so its code stands out.
func wrap(lines []string) string {
	var out []string
	for _, l := range lines {
		indent := ""
		if strings.HasPrefix(l, "  ") {
			indent = "  "
		}
		for i, part := range strings.Split(text.WrapSoft(l, detailWidth), "\n") {
			if i > 0 {
				part = indent + "  " + strings.TrimLeft(part, " ")
			}
			out = append(out, strings.TrimRight(part, " "))
		}
	}
	return strings.Join(out, "\n")
}
