// Package checks holds the probes exdiag runs, the runner that schedules
// them, and the types every probe and renderer share.
package checks

import (
	"context"
	"time"
)

// Status is a check's outcome in the report.
type Status string

const (
	StatusPass  Status = "pass"
	StatusWarn  Status = "warn"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Rank orders statuses by how bad they are, so "worst" is a max.
func (s Status) Rank() int {
	switch s {
	case StatusWarn:
		return 2
	case StatusFail:
		return 3
	case StatusError:
		return 4
	case StatusSkip:
		return 1
	}
	return 0
}

// Severity is a finding's weight, taken from the catalog unless a probe
// downgrades it on purpose (--skip-ca-check turns a failure into info).
type Severity string

const (
	SevInfo Severity = "info"
	SevWarn Severity = "warn"
	SevFail Severity = "fail"
)

// Finding is what a probe reports: a catalog code and the observed facts.
// Remediation, references and the default severity come from the catalog
// when the runner resolves it, so probes never invent advice.
type Finding struct {
	Code        string   `json:"code"`
	Severity    Severity `json:"severity"`
	Target      string   `json:"target,omitempty"`
	Summary     string   `json:"summary"`
	Remediation []string `json:"remediation"`
	References  []string `json:"references"`

	// Hop is the --backend (its URL's String()) the finding concerns, or
	// FrontHop for the published URI; the runner gates dependents per hop.
	Hop string `json:"-"`
	// Params are the evidence the remediation templates name ({host},
	// {server}, {sans}…, see catalog.Vocabulary): set by the probe, merged
	// with the run's own values by the runner. Not part of the report: the
	// filled remediation is.
	Params map[string]string `json:"-"`

	// Downgrade, when set by a probe, replaces the catalog severity with a
	// milder one (never a harsher one): the user asked to accept the risk.
	Downgrade Severity `json:"-"`
}

// Outcome is what a probe's Run returns.
type Outcome struct {
	// Observed is the evidence: a struct or map that marshals to JSON.
	Observed any
	// Summary is one line of what was seen, for the table's pass rows
	// (e.g. "692 commands, shell deleted").
	Summary  string
	Findings []Finding
	// Skip, when set, reports the check as skipped with this reason
	// while keeping its (info) findings: "not needed here, and why".
	Skip string
	// Err means the probe could not complete for a reason that is not a
	// finding (a bug, bad local input); the check's status becomes error.
	Err error
}

// The check ids. Requires names checks by these constants, so a
// mistyped prerequisite does not compile (and Validate catches a literal).
const (
	IDDNS      = "dns"
	IDTLS      = "tls"
	IDRedirect = "redirect"
	IDAuth     = "auth"
	IDSPN      = "spn"
	IDRBAC     = "rbac"
)

// Check is one probe, listed explicitly in All.
type Check struct {
	ID    string
	Title string
	Doc   string // one line for `exdiag checks`
	// Requires names checks that must not fail for this one to be
	// meaningful; they gate only when they are themselves selected.
	Requires []string
	// LeadsLogon marks the check whose logon goes before every other's
	// (auth: what New-PSSession does); the runner ends its turn when the
	// check ends, should the check not end it sooner.
	LeadsLogon bool
	// LogonFor names the LeadsLogon check whose logon this check's first
	// request is, when both are selected and this one's inputs hold (rbac:
	// its WS-Management Create is auth's Basic step). That check then
	// classifies the answer instead of sending a logon of its own.
	LogonFor string
	// Backends says the probe checks each --backend as a hop of its own,
	// marking its findings with Finding.Hop: a dependent is then gated per
	// hop, and the result lists each hop's verdict in Targets.
	Backends bool
	// Gates, when set, says whether this check's failure should stop the
	// checks that require it; nil means it always does.
	Gates func(*Config) bool
	// Inputs returns a non-empty reason when the configuration lacks what
	// this probe needs; the check is then skipped with that reason.
	Inputs func(*Config) string
	// Codes lists every catalog code this probe can raise, so a test can
	// prove the catalog and the probes agree.
	Codes []string
	// Borrows lists codes catalogued under another check that this probe
	// also raises, for the same answer seen on its own path: the auth
	// probe's Kerberos logon reports the KDC's refusal in the spn check's
	// codes.
	Borrows []string
	Run     func(ctx context.Context, env *Env) Outcome
}

// Result is a check's entry in the report.
type Result struct {
	ID         string        `json:"id"`
	Title      string        `json:"title"`
	Status     Status        `json:"status"`
	Duration   time.Duration `json:"-"`
	SkipReason string        `json:"skip_reason,omitempty"`
	Error      string        `json:"error,omitempty"`
	Summary    string        `json:"summary,omitempty"`
	Observed   any           `json:"observed,omitempty"`
	Findings   []Finding     `json:"findings"`
	// Targets, for a probe that checks backends (with --backend given),
	// is the verdict per hop: the published URI first, then each backend;
	// a backend a prerequisite failed on is skipped, with the reason.
	Targets []TargetResult `json:"targets,omitempty"`
}

// TargetResult is one hop's verdict within a check.
type TargetResult struct {
	Target     string `json:"target"`
	Status     Status `json:"status"`
	SkipReason string `json:"skip_reason,omitempty"`
}
