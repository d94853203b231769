package checks

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/exdiag/exdiag/checks/adlogon"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/spnldap"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/miekg/dns"
)

// SPNCheck asks the KDC (a TGS request per name) and the directory (who
// owns servicePrincipalName=HTTP/<name>) whether every name a Kerberos
// client would use has its SPN, exactly once.
var SPNCheck = Check{
	ID:     IDSPN,
	Title:  "Kerberos SPN",
	Doc:    "HTTP/<name> is registered once for every name a Kerberos client uses",
	Inputs: spnInputs,
	Codes:  append([]string{"SPN-MISSING", "SPN-DUPLICATE", "SPN-KDC-UNREACHABLE", "SPN-KDC-WEAK-ETYPE", "SPN-KDC-S2K-COST", "SPN-NOT-NEEDED"}, adlogon.Codes("SPN")...),
	Run:    runSPN,
}

// spnParallel is how many TGS exchanges (each its own KDC connection) or
// directory searches (on the one LDAP connection) are in flight at once:
// a name per --backend must not cost a round trip each in turn, and a
// domain controller must not see a burst from one diagnostic run. 64
// covers a 50-backend deployment (its names plus the namespace's) in one
// wave, so the check costs the same two round trips (connect, TGS) as
// with one backend; a DC answers thousands of TGS exchanges a second, so
// 64 connections are the load of a few users logging on, and the bound
// still holds a mistyped list of a thousand backends to waves.
const spnParallel = 64

// inParallel calls f(0) … f(n-1), at most spnParallel at a time, and
// returns when all have.
func inParallel(n int, f func(i int)) {
	sem := make(chan struct{}, spnParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// SPNObserved is the spn check's evidence.
type SPNObserved struct {
	SkippedReason string   `json:"skipped_reason,omitempty"`
	Realm         string   `json:"realm,omitempty"`
	KDCs          []string `json:"kdcs,omitempty"`       // candidates, in the order tried
	KDCSource     string   `json:"kdc_source,omitempty"` // "--kdc" or the SRV query that found them
	KDC           string   `json:"kdc,omitempty"`        // the one that answered the logon
	LDAP          string   `json:"ldap,omitempty"`
	LDAPBase      string   `json:"ldap_base,omitempty"`
	// IgnoredNames are names that need no SPN (IP literals).
	IgnoredNames []string     `json:"ignored_names,omitempty"`
	SPNs         []SPNOutcome `json:"spns"`
}

// SPNOutcome is one SPN as one source saw it.
type SPNOutcome struct {
	SPN    string `json:"spn"`
	From   string `json:"from"`   // uri, cname, backend, --spn, short form
	Source string `json:"source"` // kdc | ldap
	// Registered is null when the source could not say.
	Registered *bool    `json:"registered"`
	Owners     []string `json:"owners,omitempty"`    // account names (sAMAccountName)
	OwnerDNs   []string `json:"owner_dns,omitempty"` // their distinguished names
	KDC        string   `json:"kdc,omitempty"`
	Realm      string   `json:"realm,omitempty"`
	Error      string   `json:"error,omitempty"`
}

type spnName struct{ spn, from string }

func isNegotiate(c *Config) bool {
	a := strings.ToLower(c.Authentication)
	return a == "negotiate" || a == "kerberos"
}

func hasKerberosInputs(c *Config) bool {
	return c.Realm != "" || len(c.KDCs) > 0 || c.LDAPURL != "" || len(c.ExtraSPNs) > 0 || isNegotiate(c)
}

// spnNotNeeded: a Basic-over-https run with nothing Kerberos in it, the
// helpdesk case, gets one info line instead of a login attempt; so does
// an NTLM-only one, which never asks for a ticket.
func spnNotNeeded(c *Config) bool {
	basic := c.Authentication == "" || strings.EqualFold(c.Authentication, "basic")
	https := c.URI != nil && strings.EqualFold(c.URI.Scheme, "https")
	return (basic && https || c.Authentication == AuthNTLM) && !hasKerberosInputs(c)
}

// splitPrincipal reads --user and --realm into the KDC's view: name and
// realm. DOMAIN\user carries a NetBIOS domain, not a realm.
func splitPrincipal(c *Config) (name, realm string) {
	u := c.User
	realm = strings.ToUpper(c.Realm)
	if i := strings.LastIndex(u, `\`); i >= 0 {
		return u[i+1:], realm
	}
	if i := strings.LastIndex(u, "@"); i >= 0 {
		if realm == "" {
			realm = strings.ToUpper(u[i+1:])
		}
		return u[:i], realm
	}
	return u, realm
}

type spnPlan struct {
	kdc, ldap   bool
	user, realm string
}

func planSPN(c *Config) spnPlan {
	p := spnPlan{ldap: c.LDAPURL != ""}
	p.user, p.realm = splitPrincipal(c)
	p.kdc = p.realm != "" && (c.Realm != "" || len(c.KDCs) > 0 || isNegotiate(c) || !p.ldap)
	return p
}

func spnInputs(c *Config) string {
	if spnNotNeeded(c) {
		return ""
	}
	if !hasKerberosInputs(c) {
		return "no kerberos input: give --realm and --kdc, or --ldap and --ldap-base, to check SPNs"
	}
	if c.URI == nil && len(c.ExtraSPNs) == 0 && len(c.Backends) == 0 {
		return "no name to check: give --uri, --backend or --spn"
	}
	if !c.HasCredentials() {
		return "needs --user and a password (EXDIAG_PASSWORD) to log on to the kdc or bind to the directory"
	}
	if p := planSPN(c); !p.kdc && !p.ldap {
		return fmt.Sprintf("the user name %s names no kerberos realm; give --realm or --ldap", c.User)
	}
	return ""
}

func runSPN(ctx context.Context, env *Env) Outcome {
	c := env.Config
	if spnNotNeeded(c) {
		why, mech := "only basic authentication over https is in use and no kerberos input (--realm, --kdc, --ldap, --spn) was given", "basic"
		if c.Authentication == AuthNTLM {
			why, mech = "only ntlm is in use (--authentication ntlm) and no kerberos input (--realm, --kdc, --ldap, --spn) was given", "ntlm"
		}
		return Outcome{
			Skip:     why,
			Observed: SPNObserved{SkippedReason: why, SPNs: []SPNOutcome{}},
			Findings: []Finding{{Code: "SPN-NOT-NEEDED", Target: c.Host, Summary: why + ": " + mech + " needs no SPN"}},
		}
	}
	obs := SPNObserved{SPNs: []SPNOutcome{}}
	names, ignored := spnNames(ctx, env)
	obs.IgnoredNames = ignored
	plan := planSPN(c)

	var (
		wg                 sync.WaitGroup
		kdcRes, ldapRes    spnPathResult
		kdcObs             SPNObserved
		ldapBase, ldapAddr string
	)
	if plan.kdc {
		wg.Add(1)
		go func() { defer wg.Done(); kdcRes, kdcObs = spnViaKDC(ctx, env, plan, names) }()
	}
	if plan.ldap {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ldapRes, ldapBase = spnViaLDAP(ctx, env, names)
			ldapAddr = shownURL(c.LDAPURL)
		}()
	}
	wg.Wait()

	obs.Realm, obs.KDCs, obs.KDCSource, obs.KDC = kdcObs.Realm, kdcObs.KDCs, kdcObs.KDCSource, kdcObs.KDC
	obs.LDAP, obs.LDAPBase = ldapAddr, ldapBase
	obs.SPNs = append(append(obs.SPNs, kdcRes.spns...), ldapRes.spns...)
	// the kdc's e-text and the directory's diagnosticMessage are server
	// text: a hostile server may echo the password in them
	sec := newRedactor(c)
	for i := range obs.SPNs {
		obs.SPNs[i].Error = sec.clean(obs.SPNs[i].Error)
	}
	findings := append(kdcRes.findings, ldapRes.findings...)
	for i := range findings {
		findings[i].Summary = sec.secretsOnly(findings[i].Summary)
	}
	out := Outcome{Observed: obs, Summary: spnSummary(obs.SPNs), Findings: findings}
	for _, r := range []spnPathResult{kdcRes, ldapRes} {
		if r.notTried != "" {
			out.Summary = r.notTried + "; " + out.Summary
			break
		}
	}
	var errs []string
	for _, r := range []spnPathResult{kdcRes, ldapRes} {
		if r.err != nil {
			errs = append(errs, sec.clean(r.err.Error()))
		}
	}
	if len(errs) > 0 {
		out.Err = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out
}

type spnPathResult struct {
	spns     []SPNOutcome
	findings []Finding
	err      error  // could not check
	notTried string // why the password was not sent on this path
}

// spnNames lists the SPNs to check: the URI's host, its canonical name
// when DNS says it is an alias (Kerberos clients ask for the canonical
// name's ticket), every backend and every --spn.
func spnNames(ctx context.Context, env *Env) ([]spnName, []string) {
	c := env.Config
	var names []spnName
	var ignored []string
	seen := map[string]bool{}
	add := func(spn, from string) {
		if i := strings.Index(spn, "/"); i >= 0 {
			host := spn[i+1:]
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
				ignored = append(ignored, host)
				return
			}
		}
		k := strings.ToLower(spn)
		if spn == "" || seen[k] {
			return
		}
		seen[k] = true
		names = append(names, spnName{spn: spn, from: from})
	}
	if c.URI != nil && c.Host != "" {
		add("HTTP/"+strings.ToLower(c.Host), "uri")
		if target := canonicalName(ctx, env, c.Host); target != "" {
			add("HTTP/"+target, "cname")
		}
	}
	for _, b := range c.Backends {
		add("HTTP/"+strings.ToLower(b.Hostname()), "backend")
	}
	for _, s := range c.ExtraSPNs {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			s = "HTTP/" + strings.ToLower(s)
		}
		add(s, "--spn")
	}
	return names, ignored
}

// canonicalName is the end of host's CNAME chain on the internal view
// (what a client inside sees), else the external one; "" when host is
// not an alias or no resolver was named.
func canonicalName(ctx context.Context, env *Env, host string) string {
	for _, srv := range append(append([]string(nil), env.Config.InternalDNS...), env.Config.ExternalDNS...) {
		ans := env.DNS.Lookup(ctx, srv, host)
		if ans.Err != nil || ans.Rcode != dns.RcodeSuccess {
			continue
		}
		if n := len(ans.CNAMEs); n > 0 && !strings.EqualFold(ans.CNAMEs[n-1], host) {
			return strings.ToLower(ans.CNAMEs[n-1])
		}
		return ""
	}
	return ""
}

func yes() *bool { t := true; return &t }
func no() *bool  { f := false; return &f }

func spnViaKDC(ctx context.Context, env *Env, plan spnPlan, names []spnName) (spnPathResult, SPNObserved) {
	c := env.Config
	var res spnPathResult
	obs := SPNObserved{Realm: plan.realm}
	notAsked := func(why string) {
		for _, n := range names {
			res.spns = append(res.spns, SPNOutcome{SPN: n.spn, From: n.from, Source: "kdc", Realm: plan.realm, Error: why})
		}
	}
	kdcs, source, err := findKDCs(ctx, env, plan.realm)
	obs.KDCs, obs.KDCSource = kdcs, source
	if err != nil || len(kdcs) == 0 {
		if err == nil {
			err = fmt.Errorf("%s found no kdc", source)
		}
		res.findings = append(res.findings, Finding{Code: "SPN-KDC-UNREACHABLE", Target: plan.realm,
			Summary: fmt.Sprintf("no kdc for realm %s: %v; give --kdc HOST", plan.realm, err), Params: kdcParams(plan.realm, nil, "")})
		notAsked("no kdc")
		return res, obs
	}
	who := plan.user + "@" + plan.realm
	logon, err := env.Credential(ctx, false)
	if err != nil {
		res.notTried = "kdc " + err.Error()
		notAsked(err.Error())
		return res, obs
	}
	o := kerb.Options{Realm: plan.realm, User: plan.user, Password: c.Password.Reveal(), KDCs: kdcs, Dial: internalDial(env), AttemptTimeout: env.kdcBudget(),
		AllowLegacy: c.AllowLegacyKerberos}
	sess, err := kerb.Login(ctx, o)
	if err != nil {
		v := classifyKDCLogon(c, plan.user, plan.realm, kdcs, err)
		if v.refused != "" {
			logon.Done(Refused, v.refused)
		} else {
			logon.Done(Inconclusive, "")
		}
		if v.finding != nil {
			res.findings = append(res.findings, *v.finding)
		}
		res.err = v.err
		notAsked(v.notAsked)
		return res, obs
	}
	logon.Done(Accepted, "")
	obs.KDC = sess.KDC
	env.Logf("spn: logged on as %s at %s", who, sess.KDC)
	// every name's TGS exchange at once (bounded); a KDC that stops
	// answering spares the names not yet asked
	errs := make([]error, len(names))
	asked := make([]bool, len(names))
	var stopped atomic.Bool
	inParallel(len(names), func(i int) {
		if stopped.Load() {
			return
		}
		asked[i] = true
		errs[i] = sess.Ticket(ctx, names[i].spn)
		if errs[i] != nil && kerb.Classify(errs[i]) == kerb.ClassUnreachable {
			stopped.Store(true)
		}
	})
	unreachable := false
	var other []string
	for i, n := range names {
		so := SPNOutcome{SPN: n.spn, From: n.from, Source: "kdc", KDC: sess.KDC, Realm: plan.realm}
		if !asked[i] {
			so.Error = "not asked: the kdc stopped answering"
			res.spns = append(res.spns, so)
			continue
		}
		err := errs[i]
		f, registered, decided := tgsFinding(sess.KDC, plan.realm, n.spn, err)
		switch {
		case err == nil:
			so.Registered = yes()
		case decided:
			so.Registered = registered
			res.findings = append(res.findings, f)
		case kerb.Classify(err) == kerb.ClassUnreachable:
			so.Error = err.Error()
			if !unreachable { // one finding for the kdc, however many names it dropped
				res.findings = append(res.findings, Finding{Code: "SPN-KDC-UNREACHABLE", Target: sess.KDC,
					Summary: fmt.Sprintf("the kdc stopped answering while asked for %s: %v", n.spn, err), Params: kdcParams(plan.realm, []string{sess.KDC}, n.spn)})
			}
			unreachable = true
		default:
			so.Error = err.Error()
			other = append(other, fmt.Sprintf("%s: %v", n.spn, err))
		}
		res.spns = append(res.spns, so)
	}
	if len(other) > 0 {
		res.err = fmt.Errorf("the kdc gave no verdict for %s", strings.Join(other, "; "))
	}
	return res, obs
}

// kdcLogonVerdict is what a failed AS exchange says about the deployment,
// as the spn probe reports it; the auth probe's Kerberos logon reports a
// failed logon of GetTicket the same way.
type kdcLogonVerdict struct {
	finding  *Finding
	err      error  // no verdict: exdiag could not tell (its own network, an odd answer)
	refused  string // the domain controller definitely refused the account: who, for the credential guard
	notAsked string // why no SPN was asked for
}

// classifyKDCLogon maps the error of a logon of user@realm at kdcs (those
// asked, for the remediation's {kdc}) to its finding.
func classifyKDCLogon(c *Config, user, realm string, kdcs []string, err error) kdcLogonVerdict {
	who := user + "@" + realm
	var v kdcLogonVerdict
	f, refused := kdcRefusal(err)
	if refused {
		v.refused = fmt.Sprintf("the kdc %s (%s)", kdcOf(err), krbText(err))
	}
	var weak *kerb.WeakETypeError
	var cost *kerb.S2KParamsError
	code, _ := kerb.Code(err)
	switch {
	case errors.As(err, &weak) || code == errorcode.KDC_ERR_ETYPE_NOSUPP:
		v.finding = &Finding{Code: "SPN-KDC-WEAK-ETYPE", Target: who,
			Summary: fmt.Sprintf("no logon of %s: %s", who, weakText(err, weak)), Params: kdcParams(realm, kdcs, "")}
		v.notAsked = "not asked: the kdc offers only legacy keys"
		return v
	case errors.As(err, &cost):
		v.finding = &Finding{Code: "SPN-KDC-S2K-COST", Target: strings.Join(kdcs, ","),
			Summary: fmt.Sprintf("no logon of %s: %v", who, err), Params: kdcParams(realm, kdcs, "")}
		v.notAsked = "not asked: the kdc asked for an unbounded key derivation"
		return v
	}
	v.notAsked = "not asked: the logon failed"
	switch class := kerb.Classify(err); {
	case refused:
		v.finding = &Finding{Code: adlogon.Code("SPN", f.Reason), Target: who,
			Summary: fmt.Sprintf("the kdc refused the logon of %s with %s: %s", who, krbText(err), f.What),
			Params:  map[string]string{"user": c.User, "account": user, "realm": realm, "server": kdcOf(err)}}
	case class == kerb.ClassBadCredentials:
		v.finding = &Finding{Code: "SPN-PREAUTH-FAILED", Target: who,
			Summary: fmt.Sprintf("the kdc refused the logon of %s: %s", who, krbText(err)),
			Params:  kdcParams(realm, kdcs, "", "user", c.User, "account", user)}
	case vantageFault(c, err):
		// the user named the kdc and this machine has no route to it:
		// exdiag's vantage point, not the deployment, is at fault
		v.err = fmt.Errorf("this machine has no route to --kdc %s (%v); this is the probe host's network, not the kdc: run exdiag where the kdc is reachable, or fix its route", strings.Join(kdcs, ","), err)
	case class == kerb.ClassUnreachable:
		v.finding = &Finding{Code: "SPN-KDC-UNREACHABLE", Target: strings.Join(kdcs, ","),
			Summary: fmt.Sprintf("no kdc of %s answered the logon: %v", realm, err), Params: kdcParams(realm, kdcs, "")}
	default:
		v.err = fmt.Errorf("kerberos logon of %s failed: %v; check that --realm and --kdc name a domain controller of the user's domain", who, err)
	}
	return v
}

// tgsFinding is the finding of a TGS exchange for spn that the kdc
// answered with a verdict on the SPN itself (unknown, or on several
// accounts), and whether the SPN is registered; decided is false for
// any other error.
func tgsFinding(kdc, realm, spn string, err error) (f Finding, registered *bool, decided bool) {
	switch kerb.Classify(err) {
	case kerb.ClassPrincipalUnknown:
		return Finding{Code: "SPN-MISSING", Target: spn,
			Summary: fmt.Sprintf("%s answered %s for %s in %s: a kerberos client gets no ticket for this name",
				theKDC(kdc), krbText(err), spn, realm), Params: kdcParams(realm, nonEmpty(kdc), spn)}, no(), true
	case kerb.ClassNotUnique:
		return Finding{Code: "SPN-DUPLICATE", Target: spn,
			Summary: fmt.Sprintf("%s answered %s for %s: more than one account carries it; list them with setspn -X or --ldap", theKDC(kdc), krbText(err), spn),
			Params:  kdcParams(realm, nonEmpty(kdc), spn)}, yes(), true
	}
	return Finding{}, nil, false
}

// theKDC names a KDC in a summary, "the kdc" when its address is unknown.
func theKDC(kdc string) string {
	if kdc == "" {
		return "the kdc"
	}
	return "the kdc " + kdc
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// kdcParams are a KDC finding's evidence: the realm, the first KDC asked
// (by name, as Test-NetConnection takes it) and the SPN in question.
func kdcParams(realm string, kdcs []string, spn string, more ...string) map[string]string {
	p := map[string]string{catalog.ParamRealm: realm, catalog.ParamSPN: spn}
	for i := 0; i+1 < len(more); i += 2 {
		p[more[i]] = more[i+1]
	}
	if len(kdcs) > 0 {
		host := kdcs[0]
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		p[catalog.ParamKDC] = host
	}
	return p
}

// internalDial reaches domain controllers (KDCs, the directory) by the
// internal view's address when --internal-dns is given: their names live
// in the internal zone, which the machine running exdiag may not use.
func internalDial(env *Env) netx.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && spnldap.IsLocalhost(host) {
			// never asked of DNS (RFC 6761): a resolver that answers
			// "localhost" with another address would get a plain bind
			return env.Dial(ctx, network, net.JoinHostPort("127.0.0.1", port))
		}
		if err == nil && net.ParseIP(host) == nil {
			for _, srv := range env.Config.InternalDNS {
				if ans := env.DNS.Lookup(ctx, srv, host); len(ans.Addresses) > 0 {
					env.Logf("spn: %s is %s in the internal view of %s", host, ans.Addresses[0], srv)
					addr = net.JoinHostPort(ans.Addresses[0].String(), port)
					break
				}
			}
		}
		return env.Dial(ctx, network, addr)
	}
}

// kdcRefusal says whether a failed AS exchange is a domain controller's
// definite refusal of the account or password, and which. The NTSTATUS a
// DC attaches wins; without one (MIT) the KRB-ERROR code decides.
func kdcRefusal(err error) (adlogon.Failure, bool) {
	if st, ok := kerb.NTStatus(err); ok {
		if f, ok := adlogon.FromNTStatus(st); ok {
			return f, true
		}
	}
	if errors.Is(err, kerb.ErrBadPassword) {
		f, _ := adlogon.FromWin32(0x52e)
		return f, true
	}
	code, ok := kerb.Code(err)
	if !ok {
		return adlogon.Failure{}, false
	}
	switch code {
	case errorcode.KDC_ERR_PREAUTH_FAILED:
		f, _ := adlogon.FromWin32(0x52e)
		return f, true
	case errorcode.KDC_ERR_KEY_EXPIRED:
		f, _ := adlogon.FromWin32(0x532)
		return f, true
	case errorcode.KDC_ERR_CLIENT_REVOKED:
		return adlogon.Failure{Reason: adlogon.Disabled, What: "the kdc revoked the account's credentials: it is disabled, locked out or expired"}, true
	}
	return adlogon.Failure{}, false
}

// kdcOf names the KDC that sent a KRB-ERROR, or "of the realm".
func kdcOf(err error) string {
	var ke *kerb.KDCError
	if errors.As(err, &ke) && ke.KDC != "" {
		return ke.KDC
	}
	return "of the realm"
}

// vantageFault is true when the user named the KDCs and none could even
// be sent to from here.
func vantageFault(c *Config, err error) bool {
	var ue *kerb.UnreachableError
	return len(c.KDCs) > 0 && errors.As(err, &ue) && ue.Local
}

// krbText names a KDC's error by its RFC 4120 name, without gokrb5's
// wording around it.
func krbText(err error) string {
	if code, ok := kerb.Code(err); ok {
		return kerb.CodeName(code)
	}
	return err.Error()
}

// findKDCs returns --kdc (port 88 by default) or, without it, the SRV
// records _kerberos._tcp and _udp of the realm on the internal resolvers,
// the way a domain-joined client finds a domain controller.
func findKDCs(ctx context.Context, env *Env, realm string) ([]string, string, error) {
	c := env.Config
	if len(c.KDCs) > 0 {
		var out []string
		for _, k := range c.KDCs {
			if _, _, err := net.SplitHostPort(k); err != nil {
				k = net.JoinHostPort(strings.Trim(k, "[]"), kerb.DefaultPort)
			}
			out = append(out, k)
		}
		return out, "--kdc", nil
	}
	domain := strings.ToLower(realm)
	if len(c.InternalDNS) == 0 {
		source := "srv _kerberos._tcp." + domain + " on the system resolver"
		_, srvs, err := env.LookupSRV(ctx, "kerberos", "tcp", domain)
		if err != nil {
			return nil, source, fmt.Errorf("%s failed (%v)", source, err)
		}
		var out []string
		for _, s := range srvs {
			out = append(out, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
		}
		return out, source, nil
	}
	var lastErr error
	for _, srv := range c.InternalDNS {
		source := "srv _kerberos._tcp/_udp." + domain + " on " + srv
		var recs []*dns.SRV
		answered := false
		for _, proto := range []string{"_tcp", "_udp"} {
			m, err := env.DNS.Client.Exchange(ctx, srv, "_kerberos."+proto+"."+domain, dns.TypeSRV)
			if err != nil {
				lastErr = fmt.Errorf("%s failed (%v)", source, err)
				continue
			}
			answered = true
			for _, rr := range m.Answer {
				if s, ok := rr.(*dns.SRV); ok && s.Target != "." {
					recs = append(recs, s)
				}
			}
		}
		if !answered {
			continue
		}
		// RFC 2782: lower priority first, then higher weight.
		sort.SliceStable(recs, func(i, j int) bool {
			if recs[i].Priority != recs[j].Priority {
				return recs[i].Priority < recs[j].Priority
			}
			return recs[i].Weight > recs[j].Weight
		})
		var out []string
		seen := map[string]bool{}
		for _, s := range recs {
			a := net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port)))
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
		return out, source, nil
	}
	return nil, "srv _kerberos._tcp." + domain, lastErr
}

func spnViaLDAP(ctx context.Context, env *Env, names []spnName) (spnPathResult, string) {
	c := env.Config
	// the bind and every search share one budget: a silent directory
	// must leave the KDC path its time
	ctx, cancel := context.WithTimeout(ctx, env.ldapBudget())
	defer cancel()
	var res spnPathResult
	pool, err := ldapRoots(env)
	if err != nil {
		res.err = err
		return res, c.LDAPBase
	}
	notAsked := func(why string) {
		for _, n := range names {
			res.spns = append(res.spns, SPNOutcome{SPN: n.spn, From: n.from, Source: "ldap", Error: why})
		}
	}
	logon, err := env.Credential(ctx, false)
	if err != nil {
		res.notTried = "ldap " + err.Error()
		notAsked(err.Error())
		return res, c.LDAPBase
	}
	cl, err := spnldap.Open(ctx, spnldap.Options{URL: c.LDAPURL, Base: c.LDAPBase, BindName: c.User, Password: c.Password.Reveal(), Dial: internalDial(env), RootCAs: pool})
	if err != nil {
		var be *spnldap.BindError
		if errors.As(err, &be) && be.InvalidCredentials() {
			code, what := "SPN-PREAUTH-FAILED", "a wrong user name or password"
			f, decoded := adlogon.FromLDAPDiag(be.Err.Error())
			if decoded {
				code, what = adlogon.Code("SPN", f.Reason), fmt.Sprintf("data %x, %s", f.Win32, f.What)
				logon.Done(Refused, fmt.Sprintf("the directory at %s (ldap 49, data %x)", shownURL(c.LDAPURL), f.Win32))
			} else {
				// 49 without AD's sub-code (OpenLDAP, a bad DN): the
				// name may be wrong rather than the password
				logon.Done(Inconclusive, "")
			}
			res.findings = append(res.findings, Finding{Code: code, Target: c.User,
				Summary: fmt.Sprintf("the directory at %s refused the bind as %s with ldap result 49 (%s): %s", shownURL(c.LDAPURL), c.User, what, newRedactor(c).clean(be.Err.Error())),
				Params:  map[string]string{"user": c.User, "server": shownURL(c.LDAPURL)}})
			notAsked("not asked: the bind failed")
			return res, c.LDAPBase
		}
		logon.Done(Inconclusive, "")
		res.err = err
		return res, c.LDAPBase
	}
	logon.Done(Accepted, "")
	defer cl.Close()
	// setspn registers the short form too, and a duplicate there breaks
	// clients that use the short name; its absence does not.
	type search struct {
		spn, from string
		mustExist bool
		owners    []spnldap.Owner
		err       error
	}
	var searches []search
	for _, n := range names {
		searches = append(searches, search{spn: n.spn, from: n.from, mustExist: true})
		if i := strings.Index(n.spn, "/"); i >= 0 {
			host := n.spn[i+1:]
			if dot := strings.Index(host, "."); dot > 0 {
				searches = append(searches, search{spn: n.spn[:i+1] + host[:dot], from: "short form of " + n.spn})
			}
		}
	}
	// the searches share the one bound connection, several in flight
	inParallel(len(searches), func(i int) {
		searches[i].owners, searches[i].err = cl.Owners(ctx, searches[i].spn)
	})
	var failed []string
	for _, sr := range searches {
		so := SPNOutcome{SPN: sr.spn, From: sr.from, Source: "ldap"}
		if sr.err != nil {
			so.Error = sr.err.Error()
			failed = append(failed, sr.err.Error())
			res.spns = append(res.spns, so)
			continue
		}
		var names []string
		for _, o := range sr.owners {
			names = append(names, o.Account)
			so.OwnerDNs = append(so.OwnerDNs, o.DN)
		}
		so.Owners = names
		so.Registered = no()
		if len(sr.owners) > 0 {
			so.Registered = yes()
		}
		switch {
		case len(sr.owners) == 0 && sr.mustExist:
			res.findings = append(res.findings, Finding{Code: "SPN-MISSING", Target: sr.spn,
				Summary: fmt.Sprintf("no account under %s has servicePrincipalName %s", cl.Base(), sr.spn), Params: map[string]string{catalog.ParamSPN: sr.spn}})
		case len(sr.owners) > 1:
			res.findings = append(res.findings, Finding{Code: "SPN-DUPLICATE", Target: sr.spn,
				Summary: fmt.Sprintf("%s is registered on %d accounts: %s", sr.spn, len(sr.owners), strings.Join(names, ", ")),
				Params:  map[string]string{catalog.ParamSPN: sr.spn, catalog.ParamAccount: strings.Join(names, ", ")}})
		}
		res.spns = append(res.spns, so)
	}
	if len(failed) > 0 {
		res.err = fmt.Errorf("the directory search failed: %s", strings.Join(failed, "; "))
	}
	return res, cl.Base()
}

// shownURL is an --ldap URL fit for a report: any user:password someone
// put in it is dropped.
func shownURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}

// ldapRoots trusts what the run trusts (system roots and --ca-file),
// with every --ca-file certificate as an anchor: go-ldap has no separate
// intermediate store.
func ldapRoots(env *Env) (*x509.CertPool, error) {
	roots, extra, err := env.Trust()
	if err != nil {
		return nil, err
	}
	pool := roots.Clone()
	for _, c := range extra {
		pool.AddCert(c)
	}
	return pool, nil
}

// spnSummary says, per SPN, who owns it or that it is missing, and which
// sources said so.
func spnSummary(spns []SPNOutcome) string {
	type seen struct {
		owners  []string
		sources []string
		state   string
	}
	var order []string
	by := map[string]*seen{}
	for _, o := range spns {
		s, ok := by[o.SPN]
		if !ok {
			s = &seen{}
			by[o.SPN] = s
			order = append(order, o.SPN)
		}
		s.sources = append(s.sources, o.Source)
		switch {
		case o.Registered == nil:
			if s.state == "" {
				s.state = "unknown"
			}
		case *o.Registered:
			s.state = "registered"
			s.owners = append(s.owners, o.Owners...)
		case s.state != "registered":
			s.state = "missing"
		}
	}
	var parts []string
	for _, spn := range order {
		s := by[spn]
		p := spn + " " + s.state
		if len(s.owners) > 0 {
			p += " on " + strings.Join(s.owners, ", ")
		}
		parts = append(parts, p+" ("+strings.Join(s.sources, ", ")+")")
	}
	return strings.Join(parts, "; ")
}

// weakText says why no legacy key was used, for a refusal exdiag made or
// one the KDC made (KDC_ERR_ETYPE_NOSUPP to an AES-only request).
func weakText(err error, weak *kerb.WeakETypeError) string {
	if weak != nil {
		return err.Error()
	}
	return "the kdc holds no aes key for this user (" + krbText(err) + "); exdiag asks for aes only unless --allow-legacy-kerberos is given"
}
