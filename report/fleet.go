package report

import (
	"fmt"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// RunDoc is one run of a profile: the single-run report with the
// deployment, vantage and labels it was run for. Error says why it did
// not run (a refused credential elsewhere, a missing password), with
// status error and exit code 3.
type RunDoc struct {
	Deployment string            `json:"deployment"`
	Vantage    string            `json:"vantage,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Error      string            `json:"error,omitempty"`
	Doc
}

// Name is DEPLOYMENT or DEPLOYMENT/VANTAGE.
func (r RunDoc) Name() string {
	if r.Vantage == "" {
		return r.Deployment
	}
	return r.Deployment + "/" + r.Vantage
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

// FleetJSON renders the fleet report as one JSON object.
func FleetJSON(f FleetDoc) ([]byte, error) { return encodeJSON(f) }

// RunJSON renders one run of a profile.
func RunJSON(r RunDoc) ([]byte, error) { return encodeJSON(r) }

// RunTable renders one run of a profile: its table under a heading that
// names the deployment, or the reason it did not run.
func RunTable(r RunDoc, colour bool) string {
	p := newPalette(colour)
	head := fmt.Sprintf("== %s ==\n", p.bold(r.Name()))
	if r.Error != "" {
		return head + fmt.Sprintf("%s %s; exit %d\n", p.status("error"), r.Error, r.ExitCode)
	}
	return head + Table(r.Doc, colour)
}

// FleetTable renders every run's table and then the summary.
func FleetTable(f FleetDoc, colour bool) string {
	var b strings.Builder
	for _, r := range f.Runs {
		b.WriteString(RunTable(r, colour))
		b.WriteString("\n")
	}
	b.WriteString(FleetSummary(f, colour))
	return b.String()
}

// FleetSummary is one row per deployment and vantage: its verdict, the
// first check that failed (the hop to look at first) and its codes.
func FleetSummary(f FleetDoc, colour bool) string {
	p := newPalette(colour)
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.Style().Format.Header = text.FormatDefault
	t.AppendHeader(table.Row{"DEPLOYMENT", "VANTAGE", "VERDICT", "EXIT", "FIRST FAILING HOP", "CODES"})
	for _, r := range f.Runs {
		hop, codes := FirstFailingHop(r.Doc), Codes(r.Doc)
		if r.Error != "" {
			hop, codes = "-", r.Error
		}
		t.AppendRow(table.Row{r.Deployment, dash(r.Vantage), p.status(r.Status), r.ExitCode, dash(hop), text.WrapSoft(dash(codes), 60)})
	}
	return t.Render() + fmt.Sprintf("\n%d runs; exit %d\n", len(f.Runs), f.ExitCode())
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
