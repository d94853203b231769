// Package report turns check results into the documents exdiag prints.
// Renderers are pure functions of a Doc: they never probe, decide severity
// or look at the terminal; the caller says whether colour is wanted and how
// wide the screen is (Options). Every format is listed once, in Formats.
package report

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"sort"
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
	// Vantage is where the run stood: it decides what DNS view and which
	// network path the probes saw.
	Vantage Vantage `json:"vantage"`
	// Inputs are the values the run was asked with (flag names as keys),
	// never a secret: the password is not an input.
	Inputs   map[string]any `json:"inputs,omitempty"`
	Status   string         `json:"status"`
	ExitCode int            `json:"exit_code"`
	// Interrupted is set when SIGINT or SIGTERM cut the run short: the
	// report is partial, and the checks cut short are errors.
	Interrupted bool    `json:"interrupted,omitempty"`
	Summary     Summary `json:"summary"`
	// Path is the route a client's request takes, hop by hop (see Path).
	Path []Hop `json:"path"`
	// Certificates lists every certificate a TLS endpoint presented, with
	// the days left at StartedAt.
	Certificates []Certificate `json:"certificates"`
	Checks       []CheckJSON   `json:"checks"`
}

// Target is what the run diagnosed.
type Target struct {
	URI  string `json:"uri"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

// Vantage is the machine that ran exdiag and the resolvers it asked.
type Vantage struct {
	// Name is the profile's vantage the run was made for (exdiag run
	// --config), empty otherwise.
	Name      string   `json:"name,omitempty"`
	Host      string   `json:"host"`
	Resolvers []string `json:"resolvers,omitempty"`
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

// Certificate is one certificate an endpoint presented.
type Certificate struct {
	// Target is the endpoint: the proxy's address or a backend URL.
	Target string `json:"target"`
	// Position is 0 for the leaf, then up the chain as sent.
	Position      int    `json:"position"`
	Subject       string `json:"subject"`
	NotAfter      string `json:"not_after"`
	DaysRemaining int    `json:"days_remaining"`
}

// Meta is what a run knows besides its results.
type Meta struct {
	Version string
	Started time.Time
	Elapsed time.Duration
	Target  Target
	Vantage Vantage
	Inputs  map[string]any
}

// Build assembles the report from a run's results. started_at is kept at
// whole seconds: jq's fromdateiso8601 rejects fractions.
func Build(m Meta, rs []checks.Result) Doc {
	d := Doc{
		SchemaVersion: SchemaVersion,
		Tool:          "exdiag",
		Version:       m.Version,
		StartedAt:     m.Started.UTC().Truncate(time.Second),
		DurationMS:    m.Elapsed.Milliseconds(),
		Target:        m.Target,
		Vantage:       m.Vantage,
		Inputs:        m.Inputs,
		Status:        string(checks.Worst(rs)),
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
	d.Path = Path(d)
	d.Certificates = certificates(d)
	return d
}

// InputsOf lists the values of a Spec that were given, keyed by flag
// name, from the one table of Spec fields (so a new flag cannot be left
// out). A Spec never holds a password, so neither does this.
func InputsOf(s checks.Spec) map[string]any {
	m := map[string]any{}
	for _, f := range checks.SpecFields() {
		if f.IsZero(&s) {
			continue
		}
		switch p := f.Ptr(&s).(type) {
		case *time.Duration:
			m[f.Flag] = p.String()
		default:
			m[f.Flag] = reflect.ValueOf(p).Elem().Interface()
		}
	}
	return m
}

// check returns the report's entry for id, or nil.
func (d Doc) check(id string) *CheckJSON {
	for i := range d.Checks {
		if d.Checks[i].ID == id {
			return &d.Checks[i]
		}
	}
	return nil
}

// observed decodes a check's evidence into v through its JSON form, so a
// Doc built from typed results and one read back from JSON look the same.
func observed(c *CheckJSON, v any) bool {
	if c == nil || c.Observed == nil {
		return false
	}
	b, err := json.Marshal(c.Observed)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

type tlsObserved struct {
	tlsEndpoint
	Backends []tlsEndpoint `json:"backends"`
}

type tlsEndpoint struct {
	URL     string `json:"url"`
	Address string `json:"address"`
	Chain   []struct {
		Subject  string `json:"subject"`
		NotAfter string `json:"not_after"`
	} `json:"chain"`
}

func certificates(d Doc) []Certificate {
	out := []Certificate{}
	var o tlsObserved
	if !observed(d.check("tls"), &o) {
		return out
	}
	add := func(target string, e tlsEndpoint) {
		for i, c := range e.Chain {
			cert := Certificate{Target: target, Position: i, Subject: c.Subject, NotAfter: c.NotAfter}
			if t, err := time.Parse(time.RFC3339, c.NotAfter); err == nil {
				// whole days left, rounded down: 0 means it expires within a
				// day, -1 that it expired within the last one
				cert.DaysRemaining = int(math.Floor(t.Sub(d.StartedAt).Hours() / 24))
			}
			out = append(out, cert)
		}
	}
	add(firstNonEmpty(o.Address, d.Target.Host), o.tlsEndpoint)
	for _, b := range o.Backends {
		add(firstNonEmpty(b.URL, b.Address), b)
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// FindingGroup is one finding code with every target it was raised for:
// "AUTH-UNAVAILABLE on cas1, cas2, cas3".
type FindingGroup struct {
	Check    string
	Code     string
	Severity string
	Targets  []string
	// Summary and Remediation are those of the first finding of the code.
	Summary     string
	Remediation []string
	References  []string
	// PerTarget is set when the filled remediation differs between the
	// code's targets (a fix that names the CAS, its certificate, its
	// thumbprint): each target then keeps its own summary and steps, so a
	// ticket never carries one server's fix for another.
	PerTarget []TargetFix
}

// TargetFix is one target's own summary and steps within a group.
type TargetFix struct {
	Target      string
	Summary     string
	Remediation []string
}

// Grouped folds the findings by code, failures first, then warnings, then
// info, each group in check order.
func Grouped(d Doc) []FindingGroup {
	var out []FindingGroup
	fixes := map[int][]TargetFix{}
	at := map[string]int{}
	for _, c := range d.Checks {
		for _, f := range c.Findings {
			i, ok := at[f.Code]
			if !ok {
				i = len(out)
				at[f.Code] = i
				out = append(out, FindingGroup{Check: c.ID, Code: f.Code, Severity: string(f.Severity),
					Summary: f.Summary, Remediation: f.Remediation, References: f.References})
			}
			g := &out[i]
			if sevRank(string(f.Severity)) > sevRank(g.Severity) {
				g.Severity = string(f.Severity)
			}
			if f.Target != "" && !contains(g.Targets, f.Target) {
				g.Targets = append(g.Targets, f.Target)
			}
			fixes[i] = append(fixes[i], TargetFix{Target: f.Target, Summary: f.Summary, Remediation: f.Remediation})
		}
	}
	for i := range out {
		for _, tf := range fixes[i][1:] {
			if !slices.Equal(tf.Remediation, out[i].Remediation) {
				out[i].PerTarget = fixes[i]
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return sevRank(out[i].Severity) > sevRank(out[j].Severity) })
	return out
}

func sevRank(s string) int {
	switch s {
	case "fail":
		return 2
	case "warn":
		return 1
	}
	return 0
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// verdict is the one-line answer at the top of every human format.
func verdict(d Doc) string {
	switch d.Status {
	case "pass":
		return "every check passed"
	case "warn":
		return "works, with warnings"
	case "fail":
		if i := FirstFailing(d.Path); i >= 0 {
			h := d.Path[i]
			return "broken at " + h.Text()
		}
		return "broken"
	}
	return "exdiag could not tell"
}
