package checks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/httpauth"
	"github.com/exdiag/exdiag/checks/wsman"
)

// AuthCheck asks /PowerShell what a WinRM client would: unauthenticated,
// with Basic credentials, and with an NTLM negotiate token, then maps the
// answers to the documented causes. When the rbac probe runs too, the
// Basic step on the URI is the rbac session's Create (leadStep), so one
// logon yields both verdicts.
var AuthCheck = Check{
	ID:       IDAuth,
	Title:    "PowerShell endpoint",
	Doc:      "what /PowerShell answers, and which documented cause a 4xx/5xx stands for",
	Requires: []string{IDTLS},
	Backends: true,
	Inputs: func(c *Config) string {
		if c.URI == nil {
			return "no --uri given"
		}
		return ""
	},
	Codes:      append(append([]string(nil), httpauth.Codes...), windowsLogonCodes...),
	Borrows:    windowsLogonBorrows,
	Run:        runAuth,
	LeadsLogon: true,
}

const (
	authBodyLimit   = 64 << 10 // what WinRM would ever need to read of an error page
	authExcerptSize = 512
	winrmUserAgent  = "Microsoft WinRM Client"
	wsmanCT         = "application/soap+xml;charset=UTF-8"
)

// authObserved is auth.observed in the JSON report; status and challenges
// are part of the schema scripts may rely on.
type authObserved struct {
	endpointObserved
	Backends []endpointObserved `json:"backends,omitempty"`
}

type endpointObserved struct {
	Target string `json:"target"`
	// Skipped says why this backend was not probed (a prerequisite failed on it).
	Skipped string `json:"skipped,omitempty"`
	stepObserved
	Basic     *stepObserved `json:"basic,omitempty"`
	Negotiate *stepObserved `json:"negotiate,omitempty"`
	// Windows is the Kerberos/NTLM logon of --authentication
	// kerberos|negotiate|ntlm (the front URI only).
	Windows *windowsObserved `json:"windows,omitempty"`
	win     *windowsLogon    // what classifyWindowsLogon reads
}

type stepObserved struct {
	Status          int                  `json:"status"`
	Challenges      []httpauth.Challenge `json:"challenges"`
	ContentType     string               `json:"content_type,omitempty"`
	AnsweredBy      *httpauth.AnsweredBy `json:"answered_by,omitempty"`
	SubStatus       string               `json:"substatus,omitempty"`
	WinHTTPCode     int                  `json:"winhttp_code,omitempty"`
	HResult         string               `json:"hresult,omitempty"`
	FailureCategory string               `json:"failure_category,omitempty"`
	Location        string               `json:"location,omitempty"`
	SOAP            bool                 `json:"soap,omitempty"`
	WindowsAuth     bool                 `json:"windows_auth,omitempty"` // an NTLM challenge came back
	BodyExcerpt     string               `json:"body_excerpt,omitempty"`
	Error           string               `json:"error,omitempty"`
	// Refused says why a request was deliberately not sent.
	Refused string `json:"refused,omitempty"`
	// Request is "create" when this step was the rbac session's
	// WS-Management Create (the run's one logon), empty for an Enumerate.
	Request string `json:"request,omitempty"`
	// peer is the leaf certificate the answer came over (https), which
	// the Windows logon compares across the proxy and its backends.
	peer *x509.Certificate
}

func runAuth(ctx context.Context, env *Env) Outcome {
	cfg := env.Config
	tc, err := env.ClientTLS()
	if err != nil {
		return Outcome{Err: err}
	}
	var (
		obs      authObserved
		findings []Finding
		frontErr error
		wg       sync.WaitGroup
	)
	backends := make([]endpointObserved, len(cfg.Backends))
	backendFindings := make([][]Finding, len(cfg.Backends))
	for i, b := range cfg.Backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// waits for tls's verdict on this backend, not the front's request
			if why := hopGate(ctx, b.String()); why != "" {
				// the proxy's view of this backend is already known to fail
				backends[i] = endpointObserved{Target: b.Redacted(), Skipped: why,
					stepObserved: stepObserved{Challenges: []httpauth.Challenge{}}}
				return
			}
			o, fs, _ := probeEndpoint(ctx, env, tc, b, true)
			for j := range fs {
				fs[j].Hop = b.String()
			}
			backends[i], backendFindings[i] = o, fs
		}()
	}
	obs.endpointObserved, findings, frontErr = probeEndpoint(ctx, env, tc, cfg.URI, false)
	wg.Wait()
	obs.Backends = backends
	if a := obs.win; a != nil {
		for _, b := range backends {
			if b.peer != nil {
				a.BackendCert = b.peer
				break
			}
		}
		var err error
		if findings, err = addWindowsLogon(findings, cfg.URI, cfg, *a); err != nil && frontErr == nil {
			frontErr = err
		}
	}
	findings = refineBare502(findings, backends, backendFindings)
	for _, fs := range backendFindings {
		findings = append(findings, fs...)
	}
	if frontErr != nil {
		return Outcome{Observed: obs, Findings: findings, Err: frontErr}
	}
	return Outcome{Observed: obs, Summary: authSummary(obs), Findings: findings}
}

// authSummary is the unauthenticated answer with its schemes, then what
// the credentials got.
func authSummary(o authObserved) string {
	s := fmt.Sprintf("%d", o.Status)
	if sc := httpauth.Schemes(o.Challenges); len(sc) > 0 {
		s += " offering " + strings.Join(sc, ", ")
	}
	if o.AnsweredBy != nil && o.AnsweredBy.Product != "" {
		s += " from " + o.AnsweredBy.Product
	}
	if b := o.Basic; b != nil && b.Refused == "" && b.Status != 0 {
		s += fmt.Sprintf("; with Basic %d", b.Status)
		if b.SOAP {
			s += " SOAP"
		}
	} else if b != nil && strings.HasPrefix(b.Refused, "not tried:") {
		s += "; basic " + b.Refused
	}
	if w := o.Windows; w != nil && w.Refused == "" && w.Status != 0 {
		s += fmt.Sprintf("; with %s %d", w.Used, w.Status)
		if w.MutualVerified {
			s += " (mutual)"
		}
		if u := w.Unbound; u != nil {
			s += fmt.Sprintf(", without channel binding %d", u.Status)
		}
	}
	checked, skipped := 0, 0
	for _, b := range o.Backends {
		if b.Skipped != "" {
			skipped++
		} else {
			checked++
		}
	}
	if checked > 0 {
		s += fmt.Sprintf("; %d backend(s) checked", checked)
	}
	if skipped > 0 {
		s += fmt.Sprintf("; %d backend(s) skipped (a prerequisite failed there)", skipped)
	}
	return s
}

// refineBare502 points a detail-less 502 at what the --backend probes
// found, since the proxy's page did not say.
func refineBare502(front []Finding, backends []endpointObserved, backendFindings [][]Finding) []Finding {
	var hints, gated []string
	for _, b := range backends {
		if b.Skipped != "" {
			gated = append(gated, b.Target)
		}
	}
	if len(gated) > 0 {
		hints = append(hints, "a failed prerequisite (see the checks above) on "+strings.Join(gated, ", "))
	}
	for _, fs := range backendFindings {
		for _, f := range fs {
			if f.Code == "AUTH-PROXY-BACKEND-CERT" || f.Code == "AUTH-PROXY-BACKEND-DOWN" {
				hints = append(hints, f.Code+" on "+f.Target)
			}
		}
	}
	if len(hints) == 0 {
		return front
	}
	for i, f := range front {
		if f.Code == "AUTH-PROXY-502" {
			front[i].Summary += "; the --backend probes found " + strings.Join(hints, ", ")
		}
	}
	return front
}

// probeEndpoint runs the three requests against one endpoint and
// classifies them. err is set when the front could not be reached at all.
func probeEndpoint(ctx context.Context, env *Env, tc *tls.Config, u *url.URL, backend bool) (endpointObserved, []Finding, error) {
	cfg := env.Config
	if !backend {
		// the URI's logon is the lead: once it was made (or will not
		// be), the other probes' logons may go
		defer env.LeadDone()
	}
	obs := endpointObserved{Target: u.Redacted()}
	// the run's transport for this endpoint: Basic reuses a connection the
	// first requests opened, and the rbac session reuses it after auth
	tr, err := env.EndpointTransport(u)
	if err != nil {
		return obs, nil, err
	}
	client := &http.Client{
		Transport: tr,
		// WinRM does not follow redirects without -AllowRedirection, and
		// a redirect must never carry the credentials elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	endpoint := withPSVersion(u)
	sec := newRedactor(cfg)

	var prep <-chan winPrep
	if !backend && cfg.HasCredentials() && cfg.WindowsAuth() {
		// the ticket and the connection need nothing of the answer
		prep = prepareWindowsLogon(ctx, env, u)
	}
	var unauth, neg httpauth.Response
	var unauthObs, negObs stepObserved
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // independent connection: NTLM is per connection
		defer wg.Done()
		neg, negObs = send(ctx, client, endpoint, httpauth.NegotiateHeader(), sec, env.requestBudget())
	}()
	unauth, unauthObs = send(ctx, client, endpoint, "", sec, env.requestBudget())
	wg.Wait()
	obs.stepObserved = unauthObs
	obs.Negotiate = &negObs
	for _, c := range neg.Challenges {
		if httpauth.ChallengeIsNTLM(c) {
			obs.Negotiate.WindowsAuth = true
		}
	}
	in := httpauth.Input{Scheme: u.Scheme, Authentication: cfg.Authentication, Backend: backend, Unauth: unauth, Negotiate: &neg}
	own := true
	switch {
	case cfg.HasCredentials() && cfg.WindowsAuth():
		// a Windows logon instead of Basic, the URI's only
		in.Basic, obs.Basic = basicStep(ctx, env, client, endpoint, u, unauth, backend, sec)
		if !backend {
			switch p := <-prep; {
			case unauth.Err != "":
				p.abandon()
			case unauth.Status != http.StatusUnauthorized:
				p.abandon()
				obs.Windows = &windowsObserved{Requested: cfg.Authentication,
					Refused: fmt.Sprintf("not sent: the unauthenticated request was answered %d, not 401", unauth.Status)}
			default:
				a, wo := windowsLogonStep(ctx, env, u, sec, p)
				obs.Windows, obs.win = wo, &a
			}
		}
		own = false
	case !backend && env.lead != nil:
		in.Basic, obs.Basic, own = leadStep(ctx, env, u, unauth, sec)
	}
	if own {
		in.Basic, obs.Basic = basicStep(ctx, env, client, endpoint, u, unauth, backend, sec)
	}

	logStep(env, u, "unauthenticated", obs.stepObserved)
	logStep(env, u, "negotiate probe", negObs)
	if obs.Basic != nil {
		logStep(env, u, "basic", *obs.Basic)
	}
	if w := obs.Windows; w != nil {
		logWindows(env, u, w)
	}
	params := authParams(u, backend, obs)
	var findings []Finding
	if cfg.User != "" {
		params["user"] = cfg.User
		params["account"], _ = splitPrincipal(cfg)
	}
	for _, f := range httpauth.Classify(in) {
		fd := Finding{Code: f.Code, Target: u.Redacted(), Summary: sec.secretsOnly(f.Summary), Params: params}
		if f.Warn {
			fd.Downgrade = SevWarn
		}
		findings = append(findings, fd)
	}
	if unauth.Err != "" && !backend {
		return obs, findings, fmt.Errorf("could not reach %s: %s; run the tls check (or fix --resolve/--uri) and try again", u.Redacted(), unauth.Err)
	}
	return obs, findings, nil
}

// basicStep sends Basic credentials to u after the unauthenticated
// answer, when the rules allow, and classifies the answer; nil, nil when
// there was nothing to send.
func basicStep(ctx context.Context, env *Env, client *http.Client, endpoint string, u *url.URL, unauth httpauth.Response, backend bool, sec redactor) (*httpauth.Response, *stepObserved) {
	cfg := env.Config
	refused := func(why string) (*httpauth.Response, *stepObserved) {
		return nil, &stepObserved{Challenges: []httpauth.Challenge{}, Refused: why}
	}
	switch {
	case unauth.Err != "":
		return nil, nil
	case cfg.HasCredentials() && unauth.Status != http.StatusUnauthorized:
		// the password goes only where authentication was asked for
		return refused(fmt.Sprintf("not sent: the unauthenticated request was answered %d, not 401", unauth.Status))
	case basicRefusal(cfg, u) != "":
		return refused(basicRefusal(cfg, u))
	case !cfg.HasCredentials():
		return nil, nil
	case cfg.WindowsAuth():
		if backend {
			return refused("not sent: --authentication " + cfg.Authentication + " (only the negotiate probe ran)")
		}
		return refused("not sent: --authentication " + cfg.Authentication + " logs on with windows authentication instead")
	}
	logon, err := env.Credential(ctx, !backend)
	if err != nil {
		return refused(err.Error())
	}
	// the only place auth reveals the password: the header of a request
	// over https to a host the user named
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password.Reveal()))
	b, bObs := send(ctx, client, endpoint, authz, sec, env.requestBudget())
	v, why := basicVerdict(unauth, b)
	logon.Done(v, fmt.Sprintf("the server at %s (%s)", u.Redacted(), why))
	return &b, &bObs
}

// leadStep takes the rbac session's Create as the Basic step on the URI,
// when that Create is the run's lead logon (credential.go), and records
// its verdict for the credential guard. own is true when auth must send
// its own Basic after all: the Create was not sent, or Exchange refused
// the shell after IIS had authenticated the user (a failure category
// without SOAP, such as a user not enabled for remote PowerShell), which
// says nothing about the endpoint that an Enumerate with the now accepted
// password does not tell apart.
//
// The Create goes out beside the unauthenticated request, so "Basic only
// after a 401" cannot gate it. The safety line is where the password goes,
// not what was asked first: https to the host the user named, over a
// connection that passed the session's own TLS verification, which is
// where WinRM's own client sends Basic preemptively too. The reporting of
// that rule stays: a 200 or any other answer to the unauthenticated
// request is classified as before.
func leadStep(ctx context.Context, env *Env, u *url.URL, unauth httpauth.Response, sec redactor) (in *httpauth.Response, obs *stepObserved, own bool) {
	// the Create's own budget is the session's; auth's step keeps its own
	wctx, cancel := context.WithTimeout(ctx, env.requestBudget())
	defer cancel()
	ans, logon, why, err := env.lead.wait(wctx)
	if err != nil && ctx.Err() == nil {
		env.lead.late()
		return nil, &stepObserved{Challenges: []httpauth.Challenge{}, Request: "create",
			Error: fmt.Sprintf("the rbac session's create had no answer within %s", env.requestBudget())}, false
	}
	if err != nil {
		return nil, &stepObserved{Challenges: []httpauth.Challenge{}, Refused: err.Error()}, false
	}
	if ans == nil {
		env.Logf("auth %s basic: %s; sending auth's own", u.Redacted(), why)
		return nil, nil, true
	}
	b, bObs := observe(*ans, sec)
	bObs.Request = "create"
	v, verdict := basicVerdict(unauth, b)
	logon.Done(v, fmt.Sprintf("the server at %s (%s)", u.Redacted(), verdict))
	if v == Accepted && !b.SOAP && (b.Status < 200 || b.Status > 299) && unauth.Status == http.StatusUnauthorized {
		env.Logf("auth %s basic: the session's create was answered %d after logon; asking with an enumerate", u.Redacted(), b.Status)
		return nil, nil, true
	}
	return &b, &bObs, false
}

// authParams are one endpoint's evidence for the remediation templates:
// its host, port and (for a backend) server, where a redirect points, and
// Exchange's failure category, from the credentialed answer first since
// that is the one Exchange explains.
func authParams(u *url.URL, backend bool, obs endpointObserved) map[string]string {
	p := targetParams(u, backend)
	steps := []*stepObserved{obs.Basic, &obs.stepObserved, obs.Negotiate}
	for _, st := range steps {
		if st != nil && st.FailureCategory != "" {
			p[catalog.ParamFailureCategory] = st.FailureCategory
			break
		}
	}
	for _, st := range steps {
		if st != nil && st.Location != "" {
			p[catalog.ParamLocation] = st.Location
			break
		}
	}
	return p
}

// basicVerdict is what the answer to Basic credentials says about the
// password, for the run's credential guard.
func basicVerdict(unauth, b httpauth.Response) (Verdict, string) {
	switch v, why := httpauth.BasicVerdict(unauth, b); v {
	case httpauth.PasswordAccepted:
		return Accepted, why
	case httpauth.PasswordRefused:
		return Refused, why
	}
	return Inconclusive, ""
}

// logStep tells -v what one request got: status and schemes, never a header value.
func logStep(env *Env, u *url.URL, step string, o stepObserved) {
	switch {
	case o.Refused != "":
		env.Logf("auth %s %s: %s", u.Redacted(), step, o.Refused)
	case o.Error != "":
		env.Logf("auth %s %s: %s", u.Redacted(), step, o.Error)
	default:
		env.Logf("auth %s %s: %d %v", u.Redacted(), step, o.Status, httpauth.Schemes(o.Challenges))
	}
}

// basicRefusal says why Basic credentials must not be sent to u, or "" when
// they may (or there are none to send).
func basicRefusal(cfg *Config, u *url.URL) string {
	if !cfg.HasCredentials() {
		return ""
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return "basic credentials are never sent over plain http: they would travel in clear text (see HTTP-BASIC-OVER-HTTP); use an https uri"
	}
	if !namedHost(cfg, u.Hostname()) {
		return fmt.Sprintf("basic credentials are only sent to hosts named by --uri or --backend, not to %s", u.Hostname())
	}
	return ""
}

func namedHost(cfg *Config, host string) bool {
	if cfg.URI != nil && strings.EqualFold(cfg.URI.Hostname(), host) {
		return true
	}
	for _, b := range cfg.Backends {
		if strings.EqualFold(b.Hostname(), host) {
			return true
		}
	}
	return false
}

// withPSVersion adds ?PSVersion=5.1 as Windows PowerShell's client does.
func withPSVersion(u *url.URL) string {
	v := *u
	q := v.Query()
	if q.Get("PSVersion") == "" {
		q.Set("PSVersion", "5.1")
	}
	v.RawQuery = q.Encode()
	v.User = nil
	v.Fragment = ""
	return v.String()
}

// send POSTs a WS-Management Enumerate of the shell resource (what
// Get-PSSession -ComputerName asks, harmless: it creates nothing) with
// the given Authorization header.
func send(ctx context.Context, c *http.Client, endpoint, authz string, sec redactor, budget time.Duration) (httpauth.Response, stepObserved) {
	obs := stepObserved{Challenges: []httpauth.Challenge{}}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(enumerateEnvelope(endpoint)))
	if err != nil {
		obs.Error = err.Error()
		return httpauth.Response{Err: obs.Error, ErrKind: httpauth.ErrOther}, obs
	}
	req.Header.Set("Content-Type", wsmanCT)
	req.Header.Set("User-Agent", winrmUserAgent)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := c.Do(req)
	if err != nil {
		return observe(wsman.Answer{Err: err}, sec)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, authBodyLimit))
	r, o := observe(wsman.Answer{Status: resp.StatusCode, Header: resp.Header, Body: body, Err: rerr}, sec)
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		o.peer = resp.TLS.PeerCertificates[0]
	}
	return r, o
}

// observe classifies one answer (an Enumerate's, or the rbac session's
// Create) into what the classifier reads and what the report shows; every
// server-sent string passes sec.
func observe(a wsman.Answer, sec redactor) (httpauth.Response, stepObserved) {
	obs := stepObserved{Challenges: []httpauth.Challenge{}}
	if a.Status == 0 {
		obs.Error = sec.clean(transportError(a.Err))
		return httpauth.Response{Err: obs.Error, ErrKind: errKind(a.Err)}, obs
	}
	body, rerr := a.Body[:min(len(a.Body), authBodyLimit)], a.Err
	cs, _ := httpauth.ParseChallenges(a.Header.Values("WWW-Authenticate"))
	if cs == nil {
		cs = []httpauth.Challenge{}
	}
	pg := httpauth.ParsePage(a.Status, a.Header, body)
	ab := httpauth.DetectAnsweredBy(a.Header, pg)
	ct := a.Header.Get("Content-Type")
	r := httpauth.Response{
		Status: a.Status, Challenges: cs, ContentType: ct, SOAP: isSOAP(ct, body),
		Page: pg, Answered: ab, Location: sec.clean(redactLocation(a.Header.Get("Location"))),
	}
	shown := sec.answered(ab)
	obs = stepObserved{
		Status: r.Status, Challenges: sec.challenges(cs), ContentType: sec.secretsOnly(ct), AnsweredBy: &shown,
		SubStatus: pg.SubStatus, WinHTTPCode: pg.WinHTTP, HResult: pg.HResult,
		FailureCategory: sec.clean(pg.FailureCategory), Location: r.Location, SOAP: r.SOAP,
	}
	if !r.SOAP && len(body) > 0 {
		obs.BodyExcerpt = sec.excerpt(body)
	}
	if rerr != nil {
		obs.Error = sec.clean("reading the body: " + rerr.Error())
	}
	return r, obs
}

func isSOAP(ct string, body []byte) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/soap+xml" && bytes.Contains(body, []byte("Envelope"))
}

func redactLocation(loc string) string {
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(unparsable location)"
	}
	return u.Redacted()
}

func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already in the target
	}
	return err.Error()
}

func errKind(err error) string {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		op  *net.OpError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return httpauth.ErrCert
	case errors.Is(err, context.DeadlineExceeded), os.IsTimeout(err):
		return httpauth.ErrTimeout
	case errors.As(err, &op) && op.Op == "dial":
		return httpauth.ErrConnect
	}
	return httpauth.ErrOther
}

func enumerateEnvelope(to string) []byte {
	var id [16]byte
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	uuid := fmt.Sprintf("%X-%X-%X-%X-%X", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
	return []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">` +
		`<s:Header>` +
		`<a:To>` + html.EscapeString(to) + `</a:To>` +
		`<w:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell</w:ResourceURI>` +
		`<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
		`<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>` +
		`<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>` +
		`<a:MessageID>uuid:` + uuid + `</a:MessageID>` +
		`<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>` +
		`<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>` +
		`<w:OperationTimeout>PT20.000S</w:OperationTimeout>` +
		`</s:Header>` +
		`<s:Body><n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements></n:Enumerate></s:Body>` +
		`</s:Envelope>`)
}

// redactor removes the password in every form it could be echoed in
// (plain, user:password, base64 Basic) and any Authorization-looking value
// from text that goes into the report.
type redactor struct{ secrets []string }

func newRedactor(cfg *Config) redactor {
	var r redactor
	if p := cfg.Password.Reveal(); p != "" {
		up := cfg.User + ":" + p
		r.secrets = []string{
			base64.StdEncoding.EncodeToString([]byte(up)),
			base64.URLEncoding.EncodeToString([]byte(up)),
			base64.StdEncoding.EncodeToString([]byte(p)),
			url.QueryEscape(up), url.QueryEscape(p), html.EscapeString(p),
			up, p,
		}
	}
	return r
}

var authzRE = regexp.MustCompile(`(?i)\b(authorization\s*[:=]\s*|\b(?:basic|negotiate|ntlm|bearer)\s+)[A-Za-z0-9+/=._~-]{16,}`)

// logonTokenRE is a bare base64 NTLM message ("NTLMSSP\0") or GSS/SPNEGO
// token (ASN.1 0x60 or 0xa1 with a long length), as a hostile server
// echoes the logon's AUTHENTICATE or AP-REQ without its scheme word: no
// password in it, but what an offline cracker starts from.
var logonTokenRE = regexp.MustCompile(`(?:TlRMTVNTUA|YI[GI]|oY[GI])[A-Za-z0-9+/]{40,}={0,2}`)

// clean removes the password's forms and credential-looking tokens.
func (r redactor) clean(s string) string {
	for _, x := range r.secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	s = authzRE.ReplaceAllString(s, "${1}[redacted]")
	return logonTokenRE.ReplaceAllString(s, "[redacted]")
}

// secretsOnly removes the password's forms but leaves words such as
// "Basic credentials" alone, for summaries exdiag wrote itself.
func (r redactor) secretsOnly(s string) string {
	for _, x := range r.secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// challenges copies cs with the password's forms removed: a hostile
// server could echo what it was sent into a realm.
func (r redactor) challenges(cs []httpauth.Challenge) []httpauth.Challenge {
	out := make([]httpauth.Challenge, len(cs))
	for i, c := range cs {
		out[i] = httpauth.Challenge{Scheme: r.secretsOnly(c.Scheme), Token68: r.secretsOnly(c.Token68)}
		for _, p := range c.Params {
			out[i].Params = append(out[i].Params, httpauth.Param{Name: r.secretsOnly(p.Name), Value: r.secretsOnly(p.Value)})
		}
	}
	return out
}

func (r redactor) answered(a httpauth.AnsweredBy) httpauth.AnsweredBy {
	out := httpauth.AnsweredBy{Role: a.Role, Product: r.secretsOnly(a.Product)}
	for _, e := range a.Evidence {
		out.Evidence = append(out.Evidence, r.secretsOnly(e))
	}
	return out
}

func (r redactor) excerpt(body []byte) string {
	// clean the whole bounded body first so a secret cut in half at the
	// excerpt's edge cannot survive
	s := r.clean(strings.ToValidUTF8(string(body), "\uFFFD"))
	if len(s) > authExcerptSize {
		s = s[:authExcerptSize]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}
