package report

import (
	"fmt"
	"io"
	"strings"
)

// renderMarkdown writes what a helpdesk pastes into a ticket: the verdict,
// the path, each failing finding with its fix, the checks, and where and
// when it ran. Server text is escaped so it cannot add links, images or
// HTML to the ticket.
func renderMarkdown(w io.Writer, d Doc, o Options) error {
	p := palette{ascii: o.ASCII}
	var b strings.Builder
	fmt.Fprintf(&b, "# exdiag: %s\n\n", md(verdict(d)))
	fmt.Fprintf(&b, "- **endpoint:** %s\n", md(d.Target.URI))
	fmt.Fprintf(&b, "- **status:** %s (exit %d): %d pass, %d warn, %d fail, %d skip, %d error\n",
		strings.ToUpper(d.Status), d.ExitCode, d.Summary.Pass, d.Summary.Warn, d.Summary.Fail, d.Summary.Skip, d.Summary.Error)
	fmt.Fprintf(&b, "- **path:** %s\n", drawPath(d.Path, p.arrow(), func(h Hop, first bool) string {
		s := p.mark(h.Status) + " " + md(h.Text())
		if first {
			return "**" + s + "**"
		}
		return s
	}))

	groups := Grouped(d)
	var info []string
	wrote := false
	for _, g := range groups {
		if g.Severity == "info" {
			info = append(info, md(g.Code))
			continue
		}
		if !wrote {
			b.WriteString("\n## Findings\n")
			wrote = true
		}
		fmt.Fprintf(&b, "\n### %s %s%s\n", g.Severity, md(g.Code), md(onTargets(g.Targets)))
		fixes := g.PerTarget
		if len(fixes) == 0 {
			fixes = []TargetFix{{Summary: g.Summary, Remediation: g.Remediation}}
		}
		for _, tf := range fixes {
			fmt.Fprintf(&b, "\n%s\n", md(tf.Summary))
			if len(tf.Remediation) > 0 {
				head := "Fix"
				if len(g.PerTarget) > 0 {
					head = "Fix for " + strings.TrimPrefix(onTargets([]string{tf.Target}), " on ")
				}
				fmt.Fprintf(&b, "\n%s:\n\n", md(head))
				for n, r := range tf.Remediation {
					fmt.Fprintf(&b, "%d. %s\n", n+1, md(r))
				}
			}
		}
		if len(g.References) > 0 {
			b.WriteString("\nReferences:\n\n")
			for _, r := range g.References {
				fmt.Fprintf(&b, "- <%s>\n", mdURL(r))
			}
		}
	}
	if len(info) > 0 {
		fmt.Fprintf(&b, "\nInformational: %s (`exdiag explain CODE`).\n", strings.Join(info, ", "))
	}

	b.WriteString("\n## Checks\n\n| check | status | result |\n|---|---|---|\n")
	for _, c := range d.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", md(c.ID), strings.ToUpper(c.Status), md(checkLine(c)))
	}

	b.WriteString("\n## Where and when\n\n")
	fmt.Fprintf(&b, "- **vantage:** %s\n", md(firstNonEmpty(d.Vantage.Host, "unknown host")))
	if len(d.Vantage.Resolvers) > 0 {
		fmt.Fprintf(&b, "- **resolvers:** %s\n", md(strings.Join(d.Vantage.Resolvers, ", ")))
	}
	fmt.Fprintf(&b, "- **exdiag:** %s\n", md(d.Version))
	fmt.Fprintf(&b, "- **started:** %s, took %d ms\n", d.StartedAt.UTC().Format("2006-01-02T15:04:05Z"), d.DurationMS)
	_, err := io.WriteString(w, b.String())
	return err
}

// mdSpecial are the characters that could make server text into markup
// (links, images, emphasis, tables, HTML) in CommonMark and GFM.
var mdSpecial = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`, "~", `\~`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ",
)

func md(s string) string { return mdSpecial.Replace(s) }

// mdURL keeps an autolink from being closed early.
func mdURL(s string) string {
	return strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20").Replace(s)
}
