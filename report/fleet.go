package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// RunDoc is one run of a profile: the single-run report with the
// deployment and labels it was run for (its vantage name is
// Doc.Vantage.Name). Error says why it did not run (a credential refused
// elsewhere, a missing password), with status error and exit code 3.
type RunDoc struct {
	Deployment string            `json:"deployment"`
	Labels     map[string]string `json:"labels,omitempty"`
	Error      string            `json:"error,omitempty"`
	Doc
}

// Name is DEPLOYMENT or DEPLOYMENT/VANTAGE.
func (r RunDoc) Name() string {
	if r.Vantage.Name == "" {
		return r.Deployment
	}
	return r.Deployment + "/" + r.Vantage.Name
}

// FleetDoc is the report of several runs.
type FleetDoc struct {
	SchemaVersion int      `json:"schema_version"`
	Runs          []RunDoc `json:"runs"`
}

// ExitCode is the worst run's: 3 (could not tell) over 2 over 1 over 0.
func (f FleetDoc) ExitCode() int {
	worst := 0
	for _, r := range f.Runs {
		worst = max(worst, r.ExitCode)
	}
	return worst
}

// FleetFormats are the formats a fleet renders in: one JSON object of
// runs, or every run's table and a summary. The others describe one run
// each (a JUnit file, a Nagios line) and are for a single deployment.
var FleetFormats = []string{"table", "json"}

// RenderRun writes one run of a profile in format f: JSON with the
// deployment beside the report, any other format under a heading that
// names the deployment, or the reason it did not run.
func RenderRun(w io.Writer, f Format, r RunDoc, o Options) error {
	if f.Name == "json" {
		return renderJSONValue(w, r)
	}
	p := palette{colour: o.Colour && f.Name == "table", ascii: o.ASCII}
	if _, err := fmt.Fprintf(w, "== %s ==\n", p.bold(Sanitize(r.Name()))); err != nil {
		return err
	}
	if r.Error != "" {
		_, err := fmt.Fprintf(w, "%s %s; exit %d\n", p.status("error"), Sanitize(r.Error), r.ExitCode)
		return err
	}
	return f.Render(w, r.Doc, o)
}

// RenderFleet writes every run in format f (table or json; see
// FleetFormats): the JSON object of runs, or each run's table and then
// the summary.
func RenderFleet(w io.Writer, f Format, fd FleetDoc, o Options) error {
	switch f.Name {
	case "json":
		return renderJSONValue(w, fd)
	case "table":
		var b bytes.Buffer
		for _, r := range fd.Runs {
			if err := RenderRun(&b, f, r, o); err != nil {
				return err
			}
			b.WriteByte('\n')
		}
		b.WriteString(FleetSummary(fd, o))
		_, err := w.Write(b.Bytes())
		return err
	}
	return fmt.Errorf("format %s renders one run; use %s for a fleet", f.Name, strings.Join(FleetFormats, " or "))
}

// FleetSummary is one row per deployment and vantage: its verdict, the
// first check that failed (the hop to look at first) and its codes.
func FleetSummary(fd FleetDoc, o Options) string {
	p := palette{colour: o.Colour, ascii: o.ASCII}
	t := table.NewWriter()
	if o.ASCII {
		t.SetStyle(table.StyleDefault)
	} else {
		t.SetStyle(table.StyleLight)
	}
	t.Style().Format.Header = text.FormatDefault
	t.AppendHeader(table.Row{"DEPLOYMENT", "VANTAGE", "VERDICT", "EXIT", "FIRST FAILING HOP", "CODES"})
	for _, r := range fd.Runs {
		hop, codes := FirstFailingHop(r.Doc), Codes(r.Doc)
		if r.Error != "" {
			hop, codes = "-", r.Error
		}
		t.AppendRow(table.Row{Sanitize(r.Deployment), dash(Sanitize(r.Vantage.Name)), p.status(r.Status), r.ExitCode, dash(hop), text.WrapSoft(dash(Sanitize(codes)), 60)})
	}
	return t.Render() + fmt.Sprintf("\n%d runs; exit %d\n", len(fd.Runs), fd.ExitCode())
}

// FirstFailingHop is the first check, in the order of the path a client
// takes (dns, tls, redirect, auth, spn, rbac), that failed or errored.
func FirstFailingHop(d Doc) string {
	for _, c := range d.Checks {
		if c.Status == "fail" || c.Status == "error" {
			return c.ID
		}
	}
	return ""
}

// Codes lists the codes of the warnings and failures, each once.
func Codes(d Doc) string {
	var out []string
	seen := map[string]bool{}
	for _, c := range d.Checks {
		for _, f := range c.Findings {
			if f.Severity != "info" && !seen[f.Code] {
				seen[f.Code] = true
				out = append(out, f.Code)
			}
		}
	}
	return strings.Join(out, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
