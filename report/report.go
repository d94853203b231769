// Package report turns check results into the documents exdiag prints.
// Renderers are pure functions of a Doc: they never probe, decide severity
// or look at the terminal; the caller says whether colour is wanted.
package report

import (
	"time"

	"github.com/exdiag/exdiag/checks"
)

// SchemaVersion is the JSON contract's version; bump it when a field is
// renamed or removed.
const SchemaVersion = 1

// Doc is the whole report.
type Doc struct {
	SchemaVersion int       `json:"schema_version"`
	Tool          string    `json:"tool"`
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	DurationMS    int64     `json:"duration_ms"`
	Target        Target    `json:"target"`
	Status        string    `json:"status"`
	ExitCode      int       `json:"exit_code"`
	// Interrupted is set when SIGINT or SIGTERM cut the run short: the
	// report is partial, and the checks cut short are errors.
	Interrupted bool        `json:"interrupted,omitempty"`
	Summary     Summary     `json:"summary"`
	Checks      []CheckJSON `json:"checks"`
}

// Target is what the run diagnosed.
type Target struct {
	URI  string `json:"uri"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

// Summary counts checks by status.
type Summary struct {
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
}

// CheckJSON is one check in the report.
type CheckJSON struct {
	ID         string           `json:"id"`
	Title      string           `json:"title"`
	Status     string           `json:"status"`
	DurationMS int64            `json:"duration_ms"`
	SkipReason string           `json:"skip_reason,omitempty"`
	Error      string           `json:"error,omitempty"`
	Summary    string           `json:"summary,omitempty"`
	Observed   any              `json:"observed,omitempty"`
	Findings   []checks.Finding `json:"findings"`
	// Targets is each hop's verdict when --backend was given (see checks.Result).
	Targets []checks.TargetResult `json:"targets,omitempty"`
}

// Build assembles the report from a run's results.
func Build(version string, started time.Time, elapsed time.Duration, t Target, rs []checks.Result) Doc {
	d := Doc{
		SchemaVersion: SchemaVersion,
		Tool:          "exdiag",
		Version:       version,
		StartedAt:     started.UTC().Truncate(time.Millisecond),
		DurationMS:    elapsed.Milliseconds(),
		Target:        t,
		Status:        string(overall(rs)),
		ExitCode:      checks.ExitCode(rs),
		Checks:        make([]CheckJSON, 0, len(rs)),
	}
	for _, r := range rs {
		switch r.Status {
		case checks.StatusPass:
			d.Summary.Pass++
		case checks.StatusWarn:
			d.Summary.Warn++
		case checks.StatusFail:
			d.Summary.Fail++
		case checks.StatusSkip:
			d.Summary.Skip++
		case checks.StatusError:
			d.Summary.Error++
		}
		f := r.Findings
		if f == nil {
			f = []checks.Finding{}
		}
		d.Checks = append(d.Checks, CheckJSON{
			ID: r.ID, Title: r.Title, Status: string(r.Status), DurationMS: r.Duration.Milliseconds(),
			SkipReason: r.SkipReason, Error: r.Error, Summary: r.Summary, Observed: r.Observed, Findings: f, Targets: r.Targets,
		})
	}
	return d
}

// overall is the worst status over the checks; skipped checks do not
// count, so an all-skipped run passes as the exit code says.
func overall(rs []checks.Result) checks.Status { return checks.Worst(rs) }
