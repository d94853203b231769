package report

import (
	"fmt"
	"io"
	"strings"
)

// nagiosWord is the plugin status word for an exit code; the exit code
// itself stays the one the run computed.
func nagiosWord(code int) string {
	switch code {
	case 0:
		return "OK"
	case 1:
		return "WARNING"
	case 2:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// renderNagios writes the plugin output format: the first line is
// "EXDIAG WORD - text|perfdata", the long output follows one line per check
// and failing finding. Perfdata carries every check's duration, the days
// left on each endpoint's certificate and the command count.
func renderNagios(w io.Writer, d Doc, _ Options) error {
	var codes []string
	for _, g := range Grouped(d) {
		if g.Severity != "info" {
			codes = append(codes, g.Code+onTargets(g.Targets))
		}
	}
	text := verdict(d)
	if len(codes) > 0 {
		text += ": " + strings.Join(codes, "; ")
	}
	if d.Status == "error" {
		for _, c := range d.Checks {
			if c.Status == "error" {
				text += "; " + c.ID + ": " + c.Error
			}
		}
	}

	perf := []string{perfdata("duration", seconds(d.DurationMS), "s", "0")}
	// every check, skipped ones at 0, so a graph keeps its series
	for _, c := range d.Checks {
		perf = append(perf, perfdata(c.ID+"_duration", seconds(c.DurationMS), "s", "0"))
	}
	for _, c := range d.Certificates {
		if c.Position == 0 && c.NotAfter != "" {
			perf = append(perf, perfdata("cert_days "+c.Target, fmt.Sprint(c.DaysRemaining), "", ""))
		}
	}
	var rbac struct {
		CommandCount *int `json:"command_count"`
	}
	if r := d.check("rbac"); r != nil && r.Status != "skip" && r.Status != "error" && observed(r, &rbac) && rbac.CommandCount != nil {
		perf = append(perf, perfdata("rbac_commands", fmt.Sprint(*rbac.CommandCount), "", "0"))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "EXDIAG %s - %s|%s\n", nagiosWord(d.ExitCode), nagiosText(text), strings.Join(perf, " "))
	for _, c := range d.Checks {
		fmt.Fprintf(&b, "%s: %s %s\n", c.ID, strings.ToUpper(c.Status), nagiosText(checkLine(c)))
		for _, f := range c.Findings {
			if f.Severity == "info" {
				continue
			}
			fix := ""
			if len(f.Remediation) > 0 {
				fix = "; fix: " + f.Remediation[0]
			}
			fmt.Fprintf(&b, "  %s %s%s: %s%s\n", f.Severity, f.Code, onTargets([]string{f.Target}), nagiosText(f.Summary), nagiosText(fix))
		}
	}
	fmt.Fprintf(&b, "exdiag %s on %s, started %s\n", nagiosText(d.Version), nagiosText(d.Vantage.Host), d.StartedAt.UTC().Format("2006-01-02T15:04:05Z"))
	_, err := io.WriteString(w, b.String())
	return err
}

// nagiosText keeps "|" out of the text: Nagios reads everything after the
// first one as perfdata.
func nagiosText(s string) string { return strings.ReplaceAll(s, "|", "/") }

// perfdata is one 'label'=value[UOM];warn;crit;min item.
func perfdata(label, value, unit, min string) string {
	label = strings.NewReplacer("'", "", "=", "_", "|", "/").Replace(label)
	return fmt.Sprintf("'%s'=%s%s;;;%s", label, value, unit, min)
}
