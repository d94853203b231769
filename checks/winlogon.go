package checks

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks/adlogon"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// windowsLogonCodes are the auth check's codes for a Windows logon. A
// logon that got no ticket borrows the spn check's codes instead
// (windowsLogonBorrows): the KDC's answer means the same whoever asked.
var windowsLogonCodes = []string{
	"AUTH-KERBEROS-MODIFIED", "AUTH-KERBEROS-SKEW", "AUTH-NTLM-FALLBACK",
	"AUTH-EXTENDED-PROTECTION", "AUTH-WINDOWS-LOGON-FAILED",
}

// windowsLogonBorrows are the spn check's codes a Windows logon raises
// when the KDC refused it or the ticket: classifyKDCLogon and tgsFinding.
var windowsLogonBorrows = append([]string{
	"SPN-MISSING", "SPN-DUPLICATE", "SPN-KDC-UNREACHABLE", "SPN-KDC-WEAK-ETYPE", "SPN-KDC-S2K-COST",
}, adlogon.Codes("SPN")...)

// logonResult is the contract's winauth.LogonResult (win-api.md).
type logonResult = winauth.LogonResult

// windowsLogon is everything one Windows logon attempt showed, filled by
// the auth probe.
type windowsLogon struct {
	Requested string // kerberos|negotiate|ntlm
	Used      string // kerberos|ntlm, "" when no logon happened
	SPN       string
	TicketErr error        // from winauth.GetTicket
	Fallback  error        // why Negotiate fell back to NTLM
	Result    logonResult  // with the channel binding
	Unbound   *logonResult // the same logon without CBT, when it was tried
	// FrontCert is the certificate the --uri presented, BackendCert the
	// one the first --backend presented, when it was probed.
	FrontCert, BackendCert *x509.Certificate
	// HResult is the Windows error code IIS wrote on the bound logon's
	// 401 page, when it wrote one (lowercase "0x…").
	HResult string
}

// kerberosLogon is what a Kerberos logon of --user needs, found as the
// spn probe finds it: the account and realm from --user and --realm, the
// KDCs from --kdc or the realm's SRV records, and Dial, which reaches a
// domain controller by its internal address.
type kerberosLogon struct {
	Account, Realm string
	KDCs           []string
	Dial           netx.DialFunc
	SPN            string // Config.KerberosSPN
}

// errNoRealm is a Kerberos logon exdiag could not try for want of the
// realm: its own input, not the deployment, so Negotiate's fall back to
// NTLM for it is no finding (a domain client knows its realm).
var errNoRealm = errors.New("no kerberos realm")

// kerberosLogonInputs finds them. Without a realm, or when no KDC can be
// found, err says what to give; it wraps *kerb.UnreachableError when no
// KDC is known, so classifyWindowsLogon reports SPN-KDC-UNREACHABLE (or
// Negotiate's fall back for want of a KDC) as the spn probe would.
func kerberosLogonInputs(ctx context.Context, env *Env) (kerberosLogon, error) {
	c := env.Config
	k := kerberosLogon{Dial: internalDial(env), SPN: c.KerberosSPN()}
	k.Account, k.Realm = splitPrincipal(c)
	if k.Realm == "" {
		return k, fmt.Errorf("the user name %s names %w; give --realm or --user as user@domain", c.User, errNoRealm)
	}
	kdcs, source, err := findKDCs(ctx, env, k.Realm)
	if err == nil && len(kdcs) == 0 {
		err = fmt.Errorf("%s found no kdc", source)
	}
	if err != nil {
		return k, fmt.Errorf("no kdc for realm %s (%v); give --kdc HOST: %w", k.Realm, err, &kerb.UnreachableError{Attempts: []string{source}})
	}
	k.KDCs = kdcs
	return k, nil
}

// classifyWindowsLogon maps what one Windows logon to u showed to its
// findings. It judges the logon, not the answer that follows it: a
// status other than 400 or 401 after the logon (403 from Exchange's
// authorisation, a proxy's 502) is for httpauth's answer rules, as the
// answer to Basic credentials is. A logon that gave no verdict (no
// answer, this machine's own network) has no finding; windowsLogonError
// says why.
func classifyWindowsLogon(u *url.URL, cfg *Config, l windowsLogon) []Finding {
	fs, _ := judgeWindowsLogon(u, cfg, l)
	return fs
}

// windowsLogonError is the reason a Windows logon gave no verdict on the
// deployment, for the auth outcome's Err (exit 3), or nil.
func windowsLogonError(u *url.URL, cfg *Config, l windowsLogon) error {
	_, err := judgeWindowsLogon(u, cfg, l)
	return err
}

// addWindowsLogon appends the logon's findings to those httpauth raised
// for the same endpoint, leaving out a code already there (the negotiate
// probe's AUTH-NEGOTIATE-400 and AUTH-NEGOTIATE-HTTP say the same), and
// returns windowsLogonError's reason from the same one judgement.
func addWindowsLogon(fs []Finding, u *url.URL, cfg *Config, l windowsLogon) ([]Finding, error) {
	have := map[string]bool{}
	for _, f := range fs {
		have[f.Code+" "+f.Target] = true
	}
	logon, err := judgeWindowsLogon(u, cfg, l)
	for _, f := range logon {
		if !have[f.Code+" "+f.Target] {
			fs = append(fs, f)
		}
	}
	return fs, err
}

func judgeWindowsLogon(u *url.URL, cfg *Config, l windowsLogon) ([]Finding, error) {
	switch l.Requested {
	case AuthNegotiate, AuthKerberos, AuthNTLM:
	default:
		return nil, nil
	}
	sec := newRedactor(cfg)
	j := logonJudge{u: u, cfg: cfg, l: l, sec: sec, target: u.Redacted(), backend: isBackendURL(cfg, u)}
	j.used = l.Used
	if j.used == "" {
		j.used = l.Result.Mech
	}
	fs, err := j.judge()
	for i := range fs {
		fs[i].Summary = sec.secretsOnly(fs[i].Summary)
	}
	if err != nil {
		err = errors.New(sec.clean(err.Error()))
	}
	return fs, err
}

type logonJudge struct {
	u       *url.URL
	cfg     *Config
	l       windowsLogon
	sec     redactor
	target  string
	backend bool
	used    string
}

// params are the endpoint's evidence plus the logon's.
func (j *logonJudge) params() map[string]string {
	p := targetParams(j.u, j.backend)
	p[catalog.ParamSPN] = j.l.SPN
	if j.used != "" {
		p[catalog.ParamMechanism] = j.used
	} else if j.l.Requested != AuthNegotiate {
		p[catalog.ParamMechanism] = j.l.Requested
	}
	return p
}

func (j *logonJudge) finding(code, summary string, extra map[string]string) Finding {
	p := j.params()
	for k, v := range extra {
		if v != "" {
			p[k] = v
		}
	}
	return Finding{Code: code, Target: j.target, Summary: summary, Params: p}
}

func (j *logonJudge) judge() ([]Finding, error) {
	l := j.l
	// Kerberos got no ticket and nothing took its place: the KDC's
	// answer, in the spn check's words
	if l.TicketErr != nil && j.used != AuthNTLM {
		return j.noTicket(l.TicketErr)
	}
	var out []Finding
	if j.used == AuthNTLM && l.Requested == AuthNegotiate {
		why := l.Fallback
		if why == nil {
			why = l.TicketErr
		}
		if why != nil {
			// Windows' Negotiate fails, rather than falls back, when the
			// domain refused the account: say what the KDC said
			if _, refused := kdcRefusal(why); refused || kerb.Classify(why) == kerb.ClassBadCredentials {
				return j.noTicket(why)
			}
			if !errors.Is(why, errNoRealm) {
				out = append(out, j.fallback(why))
			}
		}
	}
	r := l.Result
	switch {
	case strings.EqualFold(j.u.Scheme, "http") && j.used == AuthNTLM && !accepted(r):
		// IIS's Windows Authentication, not Exchange's Kerberos module,
		// answers the vdir: the session over http cannot work
		out = append(out, j.finding("AUTH-NEGOTIATE-HTTP", fmt.Sprintf("the %s logon over http:// to %s was answered %s: windows authentication answers the vdir over plain http; use https:// with -Authentication Negotiate (kerberos over http is the supported internal path)",
			j.mech(), j.target, statusText(r.Status)), nil))
		return out, nil
	case serverError(r) != nil:
		return append(out, j.krbError(serverError(r))), nil
	case r.Bound && r.Status == http.StatusUnauthorized && !passwordRefused(l.HResult):
		// a page that names the password rules the binding out, whatever
		// the certificates
		if f, ok := j.extendedProtection(); ok {
			return append(out, f), nil
		}
	}
	switch {
	case r.Status == http.StatusBadRequest && !strings.EqualFold(j.u.Scheme, "http"):
		out = append(out, j.finding("AUTH-NEGOTIATE-400", fmt.Sprintf("the %s token was answered 400 bad request: windows authentication is off on the vdir (or the token was refused as malformed)", j.mech()), nil))
	case r.Status == http.StatusUnauthorized:
		out = append(out, j.finding("AUTH-WINDOWS-LOGON-FAILED", j.refusedText(r), nil))
	case r.Status >= 200 && r.Status < 300 && j.used == AuthKerberos && !r.MutualVerified:
		why := "it sent no mutual-authentication answer (AP-REP), which the client requires"
		if r.Err != nil {
			why = "its mutual-authentication answer did not verify: " + j.sec.clean(r.Err.Error())
		}
		out = append(out, j.finding("AUTH-WINDOWS-LOGON-FAILED", fmt.Sprintf("the server accepted the kerberos logon for %s with %d but %s: the answer is not from the holder of the service key", l.SPN, r.Status, why), nil))
	case r.Status == 0 && r.Err != nil && len(out) == 0:
		return nil, fmt.Errorf("the %s logon to %s got no answer: %v; run the tls check (or fix --resolve/--uri) and try again", j.mech(), j.target, r.Err)
	}
	return out, nil
}

// noTicket reports a GetTicket error: the SPN's own verdict (missing,
// duplicate) from the TGS exchange, else the logon's from the AS one.
func (j *logonJudge) noTicket(err error) ([]Finding, error) {
	kdc := kdcOf(err)
	if kdc == "of the realm" {
		kdc = ""
	}
	if f, _, ok := tgsFinding(kdc, j.realm(), j.l.SPN, err); ok {
		return []Finding{j.kdcFinding(f)}, nil
	}
	kdcs := j.cfg.KDCs
	if kdc != "" {
		kdcs = []string{kdc}
	}
	v := classifyKDCLogon(j.cfg, j.account(), j.realm(), kdcs, err)
	if v.finding == nil {
		if v.err == nil {
			v.err = err
		}
		return nil, fmt.Errorf("no %s logon to %s: %v", j.l.Requested, j.target, v.err)
	}
	return []Finding{j.kdcFinding(*v.finding)}, nil
}

// kdcFinding is one of the spn check's findings as this logon saw it:
// said of the endpoint, with its evidence added to the kdc's.
func (j *logonJudge) kdcFinding(f Finding) Finding {
	f.Summary = fmt.Sprintf("no %s logon to %s: %s", j.l.Requested, j.target, f.Summary)
	if f.Target == "" { // no kdc was named or answered
		f.Target = j.realm()
	}
	p := j.params()
	for k, v := range f.Params {
		if v != "" {
			p[k] = v
		}
	}
	f.Params = p
	return f
}

// fallback is AUTH-NTLM-FALLBACK with why Kerberos was not used.
func (j *logonJudge) fallback(why error) Finding {
	// winauth.NewNegotiate's reasons say "negotiate fell back to ntlm
	// because …" themselves; the summary says it once
	variant, reason := "other", j.sec.clean(strings.TrimPrefix(why.Error(), "negotiate fell back to ntlm because "))
	switch kerb.Classify(why) {
	case kerb.ClassPrincipalUnknown:
		variant = "no-spn"
		reason = fmt.Sprintf("the kdc knows no %s (%s)", j.l.SPN, krbText(why))
	case kerb.ClassUnreachable:
		variant = "no-kdc"
		reason = "no kdc of " + j.realm() + " answered: " + reason
	}
	return j.finding("AUTH-NTLM-FALLBACK", fmt.Sprintf("negotiate fell back to ntlm for %s because %s; windows does the same without saying so", j.target, reason),
		map[string]string{catalog.ParamVariant: variant, catalog.ParamRealm: j.realm(), catalog.ParamKDC: firstKDC(j.cfg.KDCs, why)})
}

// krbError is the finding of a KRB-ERROR the server answered the AP-REQ with.
func (j *logonJudge) krbError(e *winauth.KerberosError) Finding {
	name := e.Name
	if name == "" {
		// the bare name: the code follows in parentheses
		name = kerb.ErrorName(e.Code)
	}
	what := fmt.Sprintf("%s answered the kerberos logon for %s with %s (%d)", j.target, j.l.SPN, name, e.Code)
	if e.Text != "" {
		what += ": " + j.sec.clean(clip(e.Text, 200))
	}
	switch e.Code {
	// MIT's acceptor says BAD_INTEGRITY where Windows says MODIFIED: the
	// ticket does not decrypt with the server's key; BADKEYVER: it holds
	// no key of the ticket's version (RFC 4120 7.5.9)
	case errorcode.KRB_AP_ERR_MODIFIED, errorcode.KRB_AP_ERR_BADKEYVER, errorcode.KRB_AP_ERR_BAD_INTEGRITY:
		return j.finding("AUTH-KERBEROS-MODIFIED", what+"; the server does not hold the key the kdc encrypted the ticket with", nil)
	case errorcode.KRB_AP_ERR_SKEW:
		what += "; its clock and this machine's differ by more than it tolerates"
		if !e.ServerTime.IsZero() {
			// the KRB-ERROR's stime: set beside this machine's clock, the
			// reader sees which one drifted
			what += fmt.Sprintf(" (its clock read %s)", e.ServerTime.UTC().Format(time.RFC3339))
		}
		return j.finding("AUTH-KERBEROS-SKEW", what, map[string]string{catalog.ParamRealm: j.realm(), catalog.ParamKDC: firstKDC(j.cfg.KDCs, nil)})
	}
	return j.finding("AUTH-WINDOWS-LOGON-FAILED", what, nil)
}

// extendedProtection: a logon bound to the certificate this machine saw
// was refused, and either the same logon without the binding passed, or
// the CAS behind the proxy presents another certificate, so the CAS
// computes another binding (RFC 5929 tls-server-end-point), and the
// password is not what was refused. A proxy with a certificate of its own
// is common where Extended Protection is off, and an NTLM 401 is also a
// wrong password: the certificates tell only when Kerberos got its
// ticket (the KDC took the password) or the unbound retry was made (the
// auth probe makes it only once another logon accepted the password).
func (j *logonJudge) extendedProtection() (Finding, bool) {
	l := j.l
	front := l.FrontCert
	if front == nil {
		front = l.Result.Cert
	}
	extra := map[string]string{}
	if front != nil {
		extra[catalog.ParamProxySubject] = front.Subject.String()
		extra[catalog.ParamProxyThumbprint] = tlsinspect.Thumbprint(front)
	}
	if l.BackendCert != nil {
		extra[catalog.ParamCASSubject] = l.BackendCert.Subject.String()
		extra[catalog.ParamCASThumbprint] = tlsinspect.Thumbprint(l.BackendCert)
		if !j.backend && len(j.cfg.Backends) > 0 {
			extra[catalog.ParamBackendURL] = j.cfg.Backends[0].Redacted()
			extra[catalog.ParamServer] = shortName(j.cfg.Backends[0].Hostname())
		}
	}
	var why string
	switch {
	case l.Unbound != nil && accepted(*l.Unbound):
		why = fmt.Sprintf("the same logon without a channel binding was answered %d", l.Unbound.Status)
	case strings.EqualFold(l.HResult, secBadBindings):
		// IIS's 401 page names the binding itself, which an NTLM 401
		// otherwise cannot tell from a wrong password
		why = "the server's 401 page gives " + secBadBindings + " (SEC_E_BAD_BINDINGS)"
	case j.certsDiffer() && (j.used == AuthKerberos || l.Unbound != nil):
		why = fmt.Sprintf("the proxy presents %s (%s) and the cas %s (%s), so the cas expects another binding",
			front.Subject.CommonName, extra[catalog.ParamProxyThumbprint], l.BackendCert.Subject.CommonName, extra[catalog.ParamCASThumbprint])
	default:
		return Finding{}, false
	}
	return j.finding("AUTH-EXTENDED-PROTECTION", fmt.Sprintf("the %s logon bound to the tls certificate of %s was refused with 401 and %s: the proxy terminates tls in front of a vdir with extended protection",
		j.mech(), j.target, why), extra), true
}

// certsDiffer: the proxy and the CAS behind it present two certificates.
func (j *logonJudge) certsDiffer() bool {
	front := j.l.FrontCert
	if front == nil {
		front = j.l.Result.Cert
	}
	return front != nil && j.l.BackendCert != nil && !bytes.Equal(front.Raw, j.l.BackendCert.Raw)
}

func (j *logonJudge) refusedText(r logonResult) string {
	s := fmt.Sprintf("%s refused the %s logon with 401", j.target, j.mech())
	if r.Rounds > 0 {
		s += fmt.Sprintf(" after %d round(s)", r.Rounds)
	}
	if r.Err != nil {
		s += ": " + j.sec.clean(clip(r.Err.Error(), 300))
	}
	if j.used == AuthNTLM {
		s += "; a wrong password, an account the server does not accept, or ntlm blocked by policy"
		if r.Bound && j.certsDiffer() {
			s += "; if the password is right and the vdir has extended protection, the cause is the proxy's certificate, which is not the cas's (see AUTH-EXTENDED-PROTECTION)"
		}
	}
	return s
}

func (j *logonJudge) mech() string {
	if j.used != "" {
		return j.used
	}
	return j.l.Requested
}

func (j *logonJudge) account() string { a, _ := splitPrincipal(j.cfg); return a }
func (j *logonJudge) realm() string   { _, r := splitPrincipal(j.cfg); return r }

// serverError is the KRB-ERROR of the logon, in either place the
// transport may put it.
func serverError(r logonResult) *winauth.KerberosError {
	if r.ServerError != nil {
		return r.ServerError
	}
	var ke *winauth.KerberosError
	if errors.As(r.Err, &ke) {
		return ke
	}
	return nil
}

// accepted: the server let the logon through; what it answered then
// (200, a SOAP fault, Exchange's 403) is no longer about the logon.
func accepted(r logonResult) bool {
	return r.Established || r.Status != 0 && r.Status != http.StatusUnauthorized && r.Status != http.StatusBadRequest && r.Err == nil
}

func statusText(status int) string {
	if status == 0 {
		return "with no http answer"
	}
	return fmt.Sprintf("%d", status)
}

// firstKDC names the KDC for a remediation step: --kdc's first, else the
// one an error names.
func firstKDC(kdcs []string, err error) string {
	if len(kdcs) > 0 {
		if h, _, e := net.SplitHostPort(kdcs[0]); e == nil {
			return h
		}
		return kdcs[0]
	}
	var ke *kerb.KDCError
	if errors.As(err, &ke) && ke.KDC != "" {
		if h, _, e := net.SplitHostPort(ke.KDC); e == nil {
			return h
		}
		return ke.KDC
	}
	return ""
}

func isBackendURL(cfg *Config, u *url.URL) bool {
	for _, b := range cfg.Backends {
		if b.String() == u.String() {
			return true
		}
	}
	return false
}
