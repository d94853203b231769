package report

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/fatih/color"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// ListBelow is the width under which the table gives way to a list: three
// columns with borders leave too little room for the result text.
const ListBelow = 100

// renderTable writes the report for people: the path with the first
// failing hop marked, one row per check, then one line per finding code
// (failures first, info folded) with its first fix, then the verdict. No
// line is wider than o.Width cells.
func renderTable(w io.Writer, d Doc, o Options) error {
	p := palette{colour: o.Colour, ascii: o.ASCII}
	width := max(o.Width, 40)
	var b strings.Builder
	line := func(s, indent string) {
		for _, l := range Fold(s, width, indent) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	line(fmt.Sprintf("exdiag %s  %s", d.Version, d.Target.URI), "  ")
	line(pathLine(d.Path, p), "      ")

	if width >= ListBelow {
		b.WriteString(checkTable(d, p, width))
		b.WriteByte('\n')
	} else {
		b.WriteByte('\n')
		for _, c := range d.Checks {
			line(fmt.Sprintf("%s %-8s %s", p.status(c.Status), c.ID, checkLine(c)), strings.Repeat(" ", 15))
		}
	}

	groups := Grouped(d)
	var info []string
	wroteHead := false
	for _, g := range groups {
		if g.Severity == "info" {
			info = append(info, g.Code)
			continue
		}
		if !wroteHead {
			b.WriteString("\nfindings:\n")
			wroteHead = true
		}
		if len(g.PerTarget) > 0 {
			// the fix differs by target: each gets its own line and step
			line(fmt.Sprintf("%s %s%s:", p.sev(g.Severity), p.bold(g.Code), onTargets(g.Targets)), "    ")
			for _, tf := range g.PerTarget {
				line("  "+tf.Summary, "      ")
				if len(tf.Remediation) > 0 {
					line("    fix: "+tf.Remediation[0], "         ")
				}
			}
			continue
		}
		line(fmt.Sprintf("%s %s%s: %s", p.sev(g.Severity), p.bold(g.Code), onTargets(g.Targets), g.Summary), "    ")
		if len(g.Remediation) > 0 {
			line("  fix: "+g.Remediation[0], "       ")
		}
	}
	if len(info) > 0 {
		if !wroteHead {
			b.WriteByte('\n')
		}
		line(fmt.Sprintf("%s %d info: %s", p.sev("info"), len(info), strings.Join(info, ", ")), "    ")
	}

	s := d.Summary
	b.WriteByte('\n')
	line(fmt.Sprintf("%s %s: %d pass, %d warn, %d fail, %d skip, %d error; exit %d",
		p.status(d.Status), verdict(d), s.Pass, s.Warn, s.Fail, s.Skip, s.Error, d.ExitCode), "  ")
	if len(groups) > 0 {
		line("run `exdiag explain CODE` for every remediation step and its references", "  ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// checkTable is the wide layout: CHECK | STATUS | RESULT, the result
// column taking what the terminal has left.
func checkTable(d Doc, p palette, width int) string {
	idw := len("CHECK")
	for _, c := range d.Checks {
		idw = max(idw, text.StringWidthWithoutEscSequences(c.ID))
	}
	// borders and padding of three columns take 10 cells; STATUS takes 6
	detail := max(width-10-idw-6, 20)
	t := table.NewWriter()
	if p.ascii {
		t.SetStyle(table.StyleDefault)
	} else {
		t.SetStyle(table.StyleLight)
	}
	t.Style().Options.SeparateRows = true
	t.Style().Format.Header = text.FormatDefault
	if p.colour {
		t.Style().Color.Header = text.Colors{text.Bold}
	}
	t.AppendHeader(table.Row{"CHECK", "STATUS", "RESULT"})
	for _, c := range d.Checks {
		t.AppendRow(table.Row{c.ID, p.status(c.Status), strings.Join(Fold(checkLine(c), detail, "  "), "\n")})
	}
	return t.Render()
}

// checkLine is a check's one-line result; a backend its prerequisite
// failed on is named with why it was not probed.
func checkLine(c CheckJSON) string {
	line := checkHead(c)
	var gated []string
	for _, h := range c.Targets {
		if h.Status == "skip" {
			gated = append(gated, h.Target)
		}
	}
	if len(gated) > 0 {
		// the reason is the prerequisite's finding, shown with it
		line += "; not probed:" + strings.TrimPrefix(onTargets(gated), " on")
	}
	return line
}

func checkHead(c CheckJSON) string {
	switch {
	case c.Status == "skip" && c.SkipReason != "":
		return c.Title + ": " + c.SkipReason
	case c.Status == "error":
		return c.Title + ": " + c.Error
	case c.Summary != "":
		return fmt.Sprintf("%s: %s (%d ms)", c.Title, c.Summary, c.DurationMS)
	}
	return fmt.Sprintf("%s (%d ms)", c.Title, c.DurationMS)
}

// pathLine draws the hops with a mark each; the first failing one is
// highlighted (reverse video in colour, >>…<< without).
func pathLine(path []Hop, p palette) string {
	return "path: " + drawPath(path, p.arrow(), func(h Hop, first bool) string {
		if first {
			// the mark unpainted: its reset would end the highlight
			return p.highlight(palette{ascii: p.ascii}.mark(h.Status) + " " + h.Text())
		}
		return p.mark(h.Status) + " " + h.Text()
	})
}

// drawPath joins the hops stage by stage, backends of one stage with
// " / "; hop draws one and is told whether it is the first failing one.
func drawPath(path []Hop, arrow string, hop func(h Hop, first bool) string) string {
	first := FirstFailing(path)
	var parts []string
	i := 0
	for _, stage := range Stages(path) {
		var alts []string
		for _, h := range stage {
			alts = append(alts, hop(h, i == first))
			i++
		}
		parts = append(parts, strings.Join(alts, " / "))
	}
	return strings.Join(parts, arrow)
}

// onTargets writes a code's targets as " on cas1.contoso.com, cas2…",
// a URL by its host: the code already says which check it is.
func onTargets(ts []string) string {
	if len(ts) == 0 {
		return ""
	}
	short := make([]string, len(ts))
	for i, t := range ts {
		short[i] = t
		if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Hostname() != "" {
			short[i] = u.Hostname()
		}
	}
	return " on " + strings.Join(dedupe(short), ", ")
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Fold wraps s at spaces to width cells, breaking words longer than a
// line (URLs, thumbprints), and indents the continuation lines. Runs of
// spaces inside a line are kept: the list layout aligns with them.
func Fold(s string, width int, indent string) []string {
	iw := text.StringWidthWithoutEscSequences(indent)
	if width-iw < 10 {
		indent, iw = "", 0
	}
	var out []string
	cur, curW := "", 0
	flush := func() {
		out = append(out, strings.TrimRight(cur, " "))
		cur, curW = indent, iw
	}
	words := strings.Split(s, " ")
	for i, w := range words {
		ww := text.StringWidthWithoutEscSequences(w)
		sep := 0
		if i > 0 {
			sep = 1
		}
		if curW+sep+ww <= width || (i > 0 && w == "") {
			if i > 0 {
				cur += " "
			}
			cur += w
			curW += sep + ww
			continue
		}
		if strings.TrimSpace(cur) != "" {
			flush()
		}
		// a word wider than what a line has left is broken where it must be
		for ww > width-curW {
			part := text.Trim(w, width-curW)
			if part == "" {
				break
			}
			cur += part
			w = strings.TrimPrefix(w, part)
			ww = text.StringWidthWithoutEscSequences(w)
			flush()
		}
		cur += w
		curW += ww
	}
	if strings.TrimSpace(cur) != "" || len(out) == 0 {
		out = append(out, strings.TrimRight(cur, " "))
	}
	return out
}

// palette applies the caller's colour and charset decisions to
// fatih/color without touching its global state, so rendering stays a
// pure function.
type palette struct{ colour, ascii bool }

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
	label := fmt.Sprintf("%-5s", strings.ToUpper(s))
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
		return p.paint(p.pick("✗", "x"), color.FgRed)
	case "warn":
		return p.paint("!", color.FgYellow)
	}
	return p.paint("i", color.FgCyan)
}

// mark is a hop's status as one symbol.
func (p palette) mark(s string) string {
	switch s {
	case "pass":
		return p.paint(p.pick("✓", "ok"), color.FgGreen)
	case "warn":
		return p.paint("!", color.FgYellow)
	case "fail":
		return p.paint(p.pick("✗", "x"), color.FgRed)
	case "error":
		return p.paint("?", color.FgRed)
	}
	return p.paint("-", color.Faint)
}

func (p palette) highlight(s string) string {
	if p.colour {
		return p.paint(s, color.FgRed, color.ReverseVideo, color.Bold)
	}
	return ">>" + s + "<<"
}

func (p palette) arrow() string { return p.pick(" → ", " -> ") }

func (p palette) pick(unicode, ascii string) string {
	if p.ascii {
		return ascii
	}
	return unicode
}
