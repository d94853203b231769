package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/checks/wsman"
)

// RBACCheck opens a real remote PowerShell session, lists the commands the
// user's RBAC roles expose (what Import-PSSession asks for), and deletes
// the session.
var RBACCheck = Check{
	ID:       IDRBAC,
	Title:    "RBAC cmdlets",
	Doc:      "how many cmdlets this user's remote PowerShell session exposes",
	Requires: []string{IDAuth},
	Inputs:   rbacInputs,
	Codes:    []string{"RBAC-SESSION-FAILED", "RBAC-REMOTEPS-DISABLED", "RBAC-SHELL-QUOTA", "RBAC-LIMITED", "RBAC-MISSING-CMDLET"},
	Run:      runRBAC,
	// the Create is the run's one logon: auth classifies its answer
	LogonFor: IDAuth,
}

// proxyCommands are the seven functions every restricted session has;
// Import-PSSession does not count them as imported.
var proxyCommands = []string{"Get-Command", "Get-FormatData", "Get-Help", "Select-Object", "Measure-Object", "Exit-PSSession", "Out-Default"}

// RBACObserved is the rbac probe's evidence.
type RBACObserved struct {
	Endpoint        string     `json:"endpoint"`
	ResourceURI     string     `json:"resource_uri"`
	User            string     `json:"user"`
	Mechanism       string     `json:"mechanism,omitempty"` // kerberos | ntlm, for a windows logon
	Sealed          bool       `json:"sealed,omitempty"`    // the session was sealed (http)
	CommandCount    int        `json:"command_count"`
	Commands        []string   `json:"commands"`
	MissingCmdlets  []string   `json:"missing_cmdlets"`
	ImportCount     int        `json:"import_count"`
	ServerCount     int        `json:"server_count"` // the Count object the server sent (-1: none)
	PSVersion       string     `json:"ps_version,omitempty"`
	ProtocolVersion string     `json:"protocol_version,omitempty"`
	RoundTrips      int        `json:"round_trips"`
	NoDataRetries   int        `json:"no_data_retries"`
	Compression     string     `json:"compression,omitempty"` // "xpress" when the server compressed its output, "none" when it did not
	ShellCreated    bool       `json:"shell_created"`
	ShellDeleted    bool       `json:"shell_deleted"` // false with shell_created means a leaked shell
	DurationMS      int64      `json:"duration_ms"`
	Fault           *RBACFault `json:"fault,omitempty"`
	Errors          []string   `json:"errors,omitempty"`
}

// RBACFault is the WS-Management fault that ended the session, if any.
type RBACFault struct {
	HTTPStatus      int    `json:"http_status,omitempty"`
	Code            uint32 `json:"code,omitempty"`
	CodeHex         string `json:"code_hex,omitempty"`
	Meaning         string `json:"meaning,omitempty"`
	Machine         string `json:"machine,omitempty"`
	Message         string `json:"message,omitempty"`
	FailureCategory string `json:"failure_category,omitempty"`
	Operation       string `json:"operation,omitempty"`
}

func rbacInputs(c *Config) string {
	switch {
	case !c.HasCredentials():
		return "no credentials given (--user …)"
	case c.URI == nil:
		return "no --uri given"
	case c.WindowsAuth():
		// https, or http with the session sealed by the logon
		return ""
	case c.URI.Scheme != "https":
		return "the uri is not https; exdiag sends basic credentials only over https"
	case c.Authentication != "" && !strings.EqualFold(c.Authentication, "basic"):
		return "the rbac probe logs on with basic, kerberos, negotiate or ntlm authentication; run it with one of those"
	}
	return ""
}

// rbacClient is the session's wsman client: Basic over the endpoint's
// shared transport, or a Windows logon over a connection of its own (the
// logon authenticates that connection), which the caller closes.
func rbacClient(ctx context.Context, env *Env, resURI string) (client *wsman.Client, win *winauth.Transport, mech *winMech, err error) {
	cfg := env.Config
	if !cfg.WindowsAuth() {
		tr, err := env.EndpointTransport(cfg.URI) // the connection the auth probe kept alive
		if err != nil {
			return nil, nil, nil, err
		}
		client, err = wsman.NewClient(wsman.NewSessionClient(tr), cfg.URI, resURI, cfg.User, cfg.Password.Reveal(), env.sessionBudgets())
		return client, nil, nil, err
	}
	mech = env.windowsMech(ctx, cfg.URI)
	if mech.NewContext == nil {
		return nil, nil, mech, nil
	}
	win, refused := env.takeWindows()
	if refused != "" {
		return nil, nil, mech, &windowsNotTried{why: refused}
	}
	if win == nil {
		if win, err = env.windowsTransport(cfg.URI, mech.NewContext, false); err != nil {
			return nil, nil, mech, err
		}
	}
	client, err = wsman.NewWindowsClient(wsman.NewSessionClient(win), cfg.URI, resURI, cfg.User, win.Seal, env.sessionBudgets())
	return client, win, mech, err
}

// emptyRBACObserved is the evidence of a session that listed nothing
// (yet): empty lists rather than nulls, and no Count object seen.
func emptyRBACObserved(cfg *Config) *RBACObserved {
	return &RBACObserved{User: cfg.User, Commands: []string{}, MissingCmdlets: []string{}, ServerCount: -1}
}

func runRBAC(ctx context.Context, env *Env) Outcome {
	cfg := env.Config
	// lead is set when this session's Create is the run's lead logon
	// (credential.go): it goes out beside auth's unauthenticated request,
	// over the endpoint transport, whose every connection passed the
	// session's own TLS verification before a header is written. A
	// Windows logon is never that Create: auth makes it on a connection of
	// its own, and the session goes on over that connection.
	lead := env.lead.claim()
	if cfg.WindowsAuth() {
		lead.publish(nil, nil, "a windows logon is the auth probe's own")
		lead = nil
	}
	var logon *Logon
	defer func() { lead.publish(nil, logon, "the rbac session ended before its create was sent") }()
	logon, err := env.Credential(ctx, lead != nil)
	if err != nil {
		return Outcome{Skip: err.Error(), Observed: emptyRBACObserved(cfg)}
	}
	lead.hold(logon)
	resURI := wsman.ResourceURI(cfg.ConfigName)
	client, win, mech, err := rbacClient(ctx, env, resURI)
	if win != nil {
		defer win.Close()
	}
	if err != nil || client == nil {
		if mech != nil {
			logon.Done(mech.Verdict, mech.By)
		} else {
			logon.Done(Inconclusive, "")
		}
		var nt *windowsNotTried
		switch {
		case err == nil:
			return Outcome{Skip: "no " + mech.Requested + " logon: " + oneLine(mech.TicketErr) + " (see the auth and spn checks)",
				Observed: emptyRBACObserved(cfg)}
		case errors.As(err, &nt):
			return Outcome{Skip: nt.Error(), Observed: emptyRBACObserved(cfg)}
		}
		return Outcome{Err: err}
	}
	if lead != nil {
		client.FirstAnswer = func(a wsman.Answer) { lead.publish(&a, logon, "") }
	}
	start := env.Now()
	res, err := wsman.ListCommands(ctx, client, []string{"*"}, psrp.ImportTypes)
	switch {
	case res != nil && res.ShellCreated:
		logon.Done(Accepted, "")
	case win != nil:
		logon.Done(windowsVerdict(mech, win.Logon(), cfg.URI.Redacted(), ""))
	case lead != nil:
		// auth records the verdict of the Create's answer: an
		// inconclusive one from here could let the next logon go before
		// auth has seen a refusal
	default:
		// a session that failed says nothing the auth probe's Basic
		// request would not have said more precisely
		logon.Done(Inconclusive, "")
	}
	obs := emptyRBACObserved(cfg)
	obs.Endpoint, obs.ResourceURI = client.URL, resURI
	obs.RoundTrips, obs.DurationMS = client.RoundTrips, env.Now().Sub(start).Milliseconds()
	if win != nil {
		l := win.Logon()
		obs.Mechanism, obs.Sealed = l.Mech, win.Seal
		if errors.Is(l.Err, winauth.ErrCannotSeal) {
			// exdiag's limit, not the deployment's: nothing was sent
			return Outcome{Observed: obs, Err: l.Err}
		}
		if err != nil && !l.Established && l.Err != nil {
			// the logon, not the session, failed: say how
			err = fmt.Errorf("the %s logon failed: %w", orWord(l.Mech, mech.Requested), l.Err)
		}
	}
	if res != nil {
		obs.ShellCreated, obs.ShellDeleted = res.ShellCreated, res.ShellDeleted
		obs.PSVersion, obs.ProtocolVersion = res.PSVersion, res.ProtocolVersion
		obs.NoDataRetries, obs.Errors, obs.ServerCount = res.NoDataRetries, res.Errors, res.ServerCount
		obs.Compression = res.Compression
		if res.Names != nil {
			obs.Commands = res.Names
		}
	}
	// everything below the status line is server text; a hostile server
	// echoes what it was sent
	sec := newRedactor(cfg)
	for i, e := range obs.Errors {
		obs.Errors[i] = sec.clean(e)
	}
	obs.PSVersion, obs.ProtocolVersion = sec.clean(obs.PSVersion), sec.clean(obs.ProtocolVersion)
	env.Logf("rbac: %d round trips in %v, shell deleted %v", obs.RoundTrips, time.Duration(obs.DurationMS)*time.Millisecond, obs.ShellDeleted)
	if err != nil {
		var f *wsman.Fault
		if errors.As(err, &f) {
			obs.Fault = &RBACFault{HTTPStatus: f.HTTPStatus, Code: f.Code, Machine: sec.clean(f.Machine), Message: sec.clean(f.Text()),
				FailureCategory: sec.clean(f.FailureCategory), Operation: sec.clean(f.Action), Meaning: strings.Trim(wsman.Meaning(f.Code), "()")}
			if f.Code != 0 {
				obs.Fault.CodeHex = fmt.Sprintf("0x%08X", f.Code)
			}
		}
		fd := classifySession(cfg.URI.String(), err)
		fd.Summary = sec.clean(fd.Summary)
		fd.Params = faultParams(obs.Fault)
		return Outcome{Observed: obs, Findings: []Finding{fd}}
	}
	obs.CommandCount = len(obs.Commands)
	obs.ImportCount = importCount(obs.Commands)
	obs.MissingCmdlets = missing(obs.Commands, cfg.RequireCmdlets)
	var fs []Finding
	if cfg.MinCmdlets > 0 && obs.CommandCount < cfg.MinCmdlets {
		fs = append(fs, Finding{Code: "RBAC-LIMITED", Target: cfg.User,
			Summary: fmt.Sprintf("the session of %s lists %d commands, fewer than --min-cmdlets %d; the user's rbac roles expose only part of exchange", cfg.User, obs.CommandCount, cfg.MinCmdlets)})
	}
	for _, m := range obs.MissingCmdlets {
		fs = append(fs, Finding{Code: "RBAC-MISSING-CMDLET", Target: m, Params: map[string]string{catalog.ParamCmdlet: m},
			Summary: fmt.Sprintf("%s is not among the %d commands the session of %s lists", m, obs.CommandCount, cfg.User)})
	}
	sum := fmt.Sprintf("%d commands (%d to import) for %s in %d round trips", obs.CommandCount, obs.ImportCount, cfg.User, obs.RoundTrips)
	if obs.ShellDeleted {
		sum += ", shell deleted"
	}
	return Outcome{Observed: obs, Summary: sum, Findings: fs}
}

// faultParams are a failed session's evidence: the fault code, Exchange's
// failure category and the server that answered.
func faultParams(f *RBACFault) map[string]string {
	if f == nil {
		return nil
	}
	p := map[string]string{catalog.ParamFaultCode: f.CodeHex, catalog.ParamFailureCategory: f.FailureCategory}
	if f.Machine != "" {
		p[catalog.ParamServer] = shortName(f.Machine)
	}
	return p
}

func importCount(cmds []string) int {
	n := 0
	for _, c := range cmds {
		if !slices.ContainsFunc(proxyCommands, func(p string) bool { return strings.EqualFold(p, c) }) {
			n++
		}
	}
	return n
}

// missing lists the required cmdlets the session lacks (names compare
// case-insensitively, as PowerShell resolves them), in the order asked.
func missing(have, want []string) []string {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[strings.ToLower(h)] = true
	}
	out := []string{}
	for _, w := range want {
		w = strings.TrimSpace(w)
		if w != "" && !set[strings.ToLower(w)] && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, w) }) {
			out = append(out, w)
		}
	}
	return out
}

// quotaCodes are WinRM's per-user shell quota faults.
var quotaCodes = []uint32{wsman.ErrQuotaMaxShells, wsman.ErrQuotaUser, wsman.ErrQuotaMaxShellsPPQ}

// classifySession maps a failed session to its finding.
func classifySession(target string, err error) Finding {
	text := strings.ToLower(err.Error())
	var f *wsman.Fault
	isFault := errors.As(err, &f)
	category := ""
	if isFault {
		category = strings.ToLower(f.FailureCategory)
	}
	switch {
	case isFault && slices.Contains(quotaCodes, f.Code),
		strings.Contains(category, "overbudget"),
		strings.Contains(text, "maximum number of connections allowed"),
		strings.Contains(text, "maximum number of concurrent shells"):
		return Finding{Code: "RBAC-SHELL-QUOTA", Target: target,
			Summary: "the server refused a new shell: the user holds too many open sessions (" + oneLine(err) + ")"}
	case strings.HasPrefix(category, "authz"),
		isFault && f.Code == wsman.ErrAccessDenied,
		isFault && f.Code == 0 && f.HTTPStatus != 401 && strings.Contains(text, "access is denied"),
		strings.Contains(text, "isn't assigned to any management roles"):
		return Finding{Code: "RBAC-REMOTEPS-DISABLED", Target: target,
			Summary: "exchange refused the session after logon: the user is not allowed remote powershell (" + oneLine(err) + ")"}
	}
	var se *wsman.SessionError
	switch {
	case isFault:
		return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: "the remote powershell session failed: " + oneLine(err)}
	case errors.As(err, &se):
		return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: oneLine(err)}
	case errors.Is(err, context.DeadlineExceeded):
		return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: "the server did not answer a session request within its budget; check the server's load and event log"}
	case errors.Is(err, context.Canceled):
		return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: "the session was cancelled before it completed"}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: "the connection failed: " + oneLine(err) + "; see the tls and auth checks"}
	}
	return Finding{Code: "RBAC-SESSION-FAILED", Target: target, Summary: "the remote powershell session failed: " + oneLine(err)}
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func orWord(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// windowsNotTried is a session not started because the auth probe's
// Windows logon to the same endpoint was refused: it would be refused the
// same way.
type windowsNotTried struct{ why string }

func (e *windowsNotTried) Error() string {
	return "not tried: the auth check's windows logon was refused (" + e.why + ")"
}
