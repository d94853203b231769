package httpauth

import (
	"fmt"
	"mime"
	"strings"

	"github.com/exdiag/exdiag/checks/adlogon"
)

// Transport failure kinds, for a backend the probe could not talk to.
const (
	ErrCert    = "certificate"
	ErrConnect = "connect"
	ErrTimeout = "timeout"
	ErrOther   = "other"
)

// Response is one request's answer as the classifier needs it.
type Response struct {
	Status      int
	Challenges  []Challenge
	ContentType string
	// SOAP is true when the body is a SOAP envelope served as
	// application/soap+xml: the WS-Management layer answered.
	SOAP     bool
	Page     Page
	Answered AnsweredBy
	Location string
	// Err is set when no HTTP answer came; ErrKind says why.
	Err     string
	ErrKind string

	afterAuth bool // the answer to a request with credentials
}

// Input is everything the auth probe learnt about one endpoint.
type Input struct {
	Scheme         string // https or http
	Authentication string // basic (default), negotiate, kerberos or ntlm, as the user connects
	Backend        bool   // a --backend CAS, reached directly
	Unauth         Response
	Basic          *Response // nil when Basic was not sent
	Negotiate      *Response // nil when the Negotiate probe was not sent
}

// Finding is a catalog code with its one-line summary. Warn asks the
// caller to downgrade a catalog failure to a warning.
type Finding struct {
	Code    string
	Summary string
	Warn    bool
	Rule    string // the rule that fired, for tests and -v
}

// negotiateMode: the user logs on with Windows authentication (negotiate,
// or kerberos or ntlm, which travel in the Negotiate scheme too), so a
// missing Basic challenge is no fault and a 400 to a token is theirs.
func (in Input) negotiateMode() bool {
	switch strings.ToLower(in.Authentication) {
	case "negotiate", "kerberos", "ntlm":
		return true
	}
	return false
}

// answered says whether the WS-Management layer itself answered: a SOAP
// body, even a SOAP fault on a 4xx/5xx, means authentication let the
// request through (session-level faults are the rbac probe's business).
func (r *Response) answered() bool { return r.SOAP }

// rule maps one kind of answer to a code. Rules are tried in order and
// the first match wins, so the specific ones come first.
type rule struct {
	name    string
	code    string
	match   func(r *Response) bool
	summary func(r *Response) string
}

func sub(r *Response, subs ...int) bool {
	s := r.Page.Sub()
	for _, want := range subs {
		if s == want {
			return true
		}
	}
	return false
}

// bareIIS403 is IIS's remote (non-detailed) 403 before any credentials:
// no sub-status, no Exchange failure. Remote clients see no 403.4, and the
// seed's cause for a 403 there is Require SSL on the vdir.
func bareIIS403(r *Response) bool {
	role := r.Answered.Role
	return !r.afterAuth && r.Page.Sub() < 0 && r.Page.FailureCategory == "" &&
		(role == RoleIIS || role == RoleExchange && r.Page.FailureCategory == "")
}

func textHas(r *Response, phrases ...string) bool {
	t := strings.ToLower(r.Page.Text)
	for _, p := range phrases {
		if strings.Contains(t, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

func statusLine(r *Response) string {
	s := fmt.Sprintf("%d", r.Status)
	if r.Page.SubStatus != "" {
		s = r.Page.SubStatus
	}
	return s
}

func who(r *Response) string {
	a := r.Answered
	if a.Role == "" || a.Role == RoleUnknown {
		if a.Product != "" {
			return " from " + a.Product
		}
		return ""
	}
	if strings.EqualFold(a.Product, a.Role) {
		return " from " + a.Product
	}
	if a.Product != "" {
		return fmt.Sprintf(" from %s (%s)", a.Role, a.Product)
	}
	return " from " + a.Role
}

func winhttp(r *Response) string {
	var parts []string
	if r.Page.HResult != "" {
		parts = append(parts, "error code "+r.Page.HResult)
	}
	if r.Page.WinHTTP != 0 {
		parts = append(parts, fmt.Sprintf("winhttp %d", r.Page.WinHTTP))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// responseRules classify any answer that is neither a 401 nor WS-Management.
var responseRules = []rule{
	{"redirect", "AUTH-REDIRECTED",
		func(r *Response) bool { return r.Status >= 300 && r.Status < 400 },
		func(r *Response) string {
			return fmt.Sprintf("answered %d redirecting to %q%s", r.Status, r.Location, who(r))
		}},
	{"exchange-authz", "AUTH-FORBIDDEN",
		// Exchange names its refusal on any status: 400 AuthZ-RpsNotEnabled
		// for a user not enabled for remote PowerShell, 403
		// AuthZ-CmdletAccessDeniedException, 500 AuthZ-… from RBAC
		func(r *Response) bool {
			switch r.Page.FailureCategory {
			case "AuthZ-RpsNotEnabled", "AuthZ-CmdletAccessDeniedException", "AuthZ-UserNotEnabledForRemotePS":
				return true
			}
			return false
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %s%s, failure category %s: exchange refuses remote powershell to this user",
				statusLine(r), who(r), r.Page.FailureCategory)
		}},
	{"exchange-failure", "AUTH-SERVER-ERROR",
		// 500 has its own rule below, a 403 keeps the forbidden rule
		func(r *Response) bool {
			return r.Page.FailureCategory != "" && r.Status != 403 && r.Status != 404 && r.Status != 500
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %s%s, failure category %s", statusLine(r), who(r), r.Page.FailureCategory)
		}},
	{"gateway-client-cert", "AUTH-PROXY-CLIENT-CERT",
		// nginx's wording, which Azure Application Gateway serves too
		func(r *Response) bool {
			return r.Status == 400 && textHas(r, "No required SSL certificate was sent", "The SSL certificate error")
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %d %q%s: the gateway demands a tls client certificate", r.Status, excerpt(r, "No required SSL certificate was sent", "The SSL certificate error"), who(r))
		}},
	{"not-published", "AUTH-NOT-PUBLISHED",
		func(r *Response) bool { return r.Status == 404 },
		func(r *Response) string { return fmt.Sprintf("answered %s not found%s", statusLine(r), who(r)) }},
	{"waf-page", "AUTH-NOT-WSMAN",
		func(r *Response) bool { return r.Answered.Role == RoleWAF && r.Status < 500 },
		func(r *Response) string {
			return fmt.Sprintf("answered %d with a %q page%s instead of WS-Management", r.Status, r.ContentType, who(r))
		}},
	{"require-ssl", "AUTH-REQUIRE-SSL",
		func(r *Response) bool {
			return r.Status == 403 && (sub(r, 4, 5) || r.Page.Sub() <= 0 && textHas(r, "SSL is required", "secured with Secure Sockets Layer", "requires SSL", "SSL required") ||
				bareIIS403(r))
		},
		func(r *Response) string {
			if r.Page.Sub() < 0 {
				return fmt.Sprintf("answered 403 forbidden before any credentials%s, the answer of a vdir with Require SSL", who(r))
			}
			return fmt.Sprintf("answered %s ssl required%s", statusLine(r), who(r))
		}},
	{"client-cert", "AUTH-CLIENT-CERT",
		func(r *Response) bool {
			return r.Status == 403 && (sub(r, 7, 12, 13, 16, 17) || r.Page.Sub() <= 0 && textHas(r, "client certificate is required", "Client certificate required"))
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %s client certificate required%s", statusLine(r), who(r))
		}},
	{"ip-denied", "AUTH-IP-DENIED",
		func(r *Response) bool { return r.Status == 403 && sub(r, 6, 8, 502, 503) },
		func(r *Response) string {
			return fmt.Sprintf("answered %s: the caller's address is rejected%s", statusLine(r), who(r))
		}},
	{"forbidden", "AUTH-FORBIDDEN",
		func(r *Response) bool { return r.Status == 403 },
		func(r *Response) string {
			s := fmt.Sprintf("answered %s forbidden%s", statusLine(r), who(r))
			if r.Page.FailureCategory != "" {
				s += ", failure category " + r.Page.FailureCategory
			}
			return s
		}},
	{"proxy-ssl-handshake", "AUTH-PROXY-SSL-HANDSHAKE",
		// Apache mod_proxy: 500 or 502 "Proxy Error … Error during SSL
		// Handshake with remote server"
		func(r *Response) bool {
			return (r.Status == 500 || r.Status == 502) && textHas(r, "Error during SSL Handshake with remote server", "SSL handshake failed with the upstream", "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error")
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %d%s: the proxy's tls handshake with the backend failed (%q)", r.Status, who(r),
				excerpt(r, "Error during SSL Handshake with remote server", "SSL handshake failed with the upstream", "TLS error"))
		}},
	{"server-error", "AUTH-SERVER-ERROR",
		func(r *Response) bool { return r.Status == 500 },
		func(r *Response) string {
			s := fmt.Sprintf("answered %s internal server error%s", statusLine(r), who(r))
			if r.Page.FailureCategory != "" {
				s += ", failure category " + r.Page.FailureCategory
			}
			return s
		}},
	{"proxy-backend-cert", "AUTH-PROXY-BACKEND-CERT",
		func(r *Response) bool {
			return r.Status == 502 && (CertError(r.Page.WinHTTP) || textHas(r, "certificate authority", "certificate verify failed", "certificate is invalid"))
		},
		func(r *Response) string {
			return fmt.Sprintf("answered %s bad gateway%s%s: the proxy rejected the backend's certificate", statusLine(r), who(r), winhttp(r))
		}},
	{"proxy-backend-reset", "AUTH-PROXY-BACKEND-RESET",
		func(r *Response) bool { return r.Status == 502 && ResetError(r.Page.WinHTTP) },
		func(r *Response) string {
			return fmt.Sprintf("answered %s%s%s: the backend aborted the proxy's connection before it answered", statusLine(r), who(r), winhttp(r))
		}},
	{"proxy-bad-response", "AUTH-PROXY-BAD-RESPONSE",
		func(r *Response) bool { return r.Status == 502 && BadResponseError(r.Page.WinHTTP) },
		func(r *Response) string {
			return fmt.Sprintf("answered %s%s%s: the backend's answer was not valid http for the proxy", statusLine(r), who(r), winhttp(r))
		}},
	{"proxy-backend-down", "AUTH-PROXY-BACKEND-DOWN",
		func(r *Response) bool {
			return r.Status == 504 || r.Status == 502 && (DownError(r.Page.WinHTTP) || sub(r, 4) ||
				textHas(r, "no server is available", "timed out", "timeout", "Error reading from remote server"))
		},
		func(r *Response) string {
			why := downCause(r.Page.WinHTTP)
			switch {
			case r.Status == 504:
				why = "the proxy's gateway timed out waiting for a backend"
			case textHas(r, "Error reading from remote server"):
				// Apache mod_proxy's words for ProxyTimeout and for a
				// backend that closed the connection alike
				why = "the proxy got no answer from the backend (\"Error reading from remote server\": it timed out or closed the connection)"
			}
			return fmt.Sprintf("answered %s%s%s: %s", statusLine(r), who(r), winhttp(r), why)
		}},
	{"proxy-502", "AUTH-PROXY-502",
		func(r *Response) bool { return r.Status == 502 },
		func(r *Response) string {
			return fmt.Sprintf("answered %s bad gateway with no detail%s", statusLine(r), who(r))
		}},
	{"proxy-no-backend", "AUTH-PROXY-NO-BACKEND",
		// the proxy's own pool is empty: HAProxy and Envoy say so, Apache
		// mod_proxy answers its generic 503 page when it cannot connect
		func(r *Response) bool {
			return r.Status == 503 && (textHas(r, "No server is available to handle this request", "no healthy upstream") ||
				strings.HasPrefix(strings.ToLower(r.Answered.Product), "apache") && textHas(r, "temporarily unable to service your request"))
		},
		func(r *Response) string {
			return fmt.Sprintf("answered 503%s: the proxy has no backend up in its pool (not the exchange application pool)", who(r))
		}},
	{"unavailable", "AUTH-UNAVAILABLE",
		func(r *Response) bool { return r.Status == 503 },
		func(r *Response) string {
			return fmt.Sprintf("answered %s service unavailable%s", statusLine(r), who(r))
		}},
	{"not-wsman", "AUTH-NOT-WSMAN",
		func(r *Response) bool {
			// WinRM: "the content type is absent or invalid"; a 2xx with
			// none is a backend that is not WS-Management (Apache passes
			// an HTTP/0.9 answer on as 200)
			return (r.Status >= 200 && r.Status < 300 || r.Status >= 400 && r.Status < 500) && r.ContentType != "" ||
				r.Status >= 200 && r.Status < 300 && r.ContentType == ""
		},
		func(r *Response) string {
			if r.ContentType == "" {
				return fmt.Sprintf("answered %d with no content type%s, not application/soap+xml", r.Status, who(r))
			}
			if mt, _, err := mime.ParseMediaType(r.ContentType); err == nil && mt == "application/soap+xml" {
				return fmt.Sprintf("answered %d with content type %q%s but a body that is not a soap envelope", r.Status, r.ContentType, who(r))
			}
			return fmt.Sprintf("answered %d with content type %q%s, not application/soap+xml", r.Status, r.ContentType, who(r))
		}},
	{"unexpected", "AUTH-UNEXPECTED",
		func(r *Response) bool { return true },
		func(r *Response) string {
			ct := r.ContentType
			if ct == "" {
				ct = "none"
			}
			return fmt.Sprintf("answered %s (content type %s)%s", statusLine(r), ct, who(r))
		}},
}

// RuleNames lists every rule Classify can fire, for coverage tests.
func RuleNames() []string {
	names := []string{"basic-http", "negotiate-http", "backend-cert-transport", "backend-down-transport", "basic-not-offered", "bad-credentials", "negotiate-400"}
	for _, r := range responseRules {
		names = append(names, r.name)
	}
	return names
}

// excerpt returns the first of phrases the page contains, as the page
// spells it, so a summary quotes the proxy's own words.
func excerpt(r *Response, phrases ...string) string {
	lt := strings.ToLower(r.Page.Text)
	for _, p := range phrases {
		if i := strings.Index(lt, strings.ToLower(p)); i >= 0 {
			return r.Page.Text[i : i+len(p)]
		}
	}
	return ""
}

func classifyResponse(r *Response, step string) Finding {
	for _, ru := range responseRules {
		if ru.match(r) {
			return Finding{Code: ru.code, Summary: step + " " + ru.summary(r), Rule: ru.name}
		}
	}
	return Finding{} // unreachable: the last rule matches everything
}

// Classify maps what the probe saw to findings. It is a pure function of
// its input so every rule has a table test.
func Classify(in Input) []Finding {
	var out []Finding
	add := func(f Finding) {
		for _, g := range out {
			if g.Code == f.Code {
				return
			}
		}
		out = append(out, f)
	}
	u := &in.Unauth
	if strings.EqualFold(in.Scheme, "http") && !in.Backend {
		switch {
		case !in.negotiateMode():
			add(Finding{Code: "AUTH-BASIC-HTTP", Rule: "basic-http",
				Summary: "basic authentication over an http:// uri: the winrm client refuses it (\"unencrypted traffic is currently disabled in the client configuration\", 0x803380DE) and exdiag did not send the password; use https:// with -Authentication Basic"})
		case windowsAuth(in) && !strings.EqualFold(in.Authentication, "kerberos"):
			// Kerberos over http (Exchange's own module, with message
			// encryption) is the supported internal path; with IIS's
			// Windows Authentication on the vdir, Negotiate (or NTLM) over
			// http fails
			add(Finding{Code: "AUTH-NEGOTIATE-HTTP", Rule: "negotiate-http",
				Summary: fmt.Sprintf("negotiate over an http:// uri while windows authentication is enabled on the vdir (NTLM is offered%s): use https:// with -Authentication Negotiate", who(u))})
		}
	}
	if u.Err != "" {
		if in.Backend {
			if u.ErrKind == ErrCert {
				add(Finding{Code: "AUTH-PROXY-BACKEND-CERT", Rule: "backend-cert-transport",
					Summary: "the backend's certificate fails verification: " + u.Err})
			} else {
				add(Finding{Code: "AUTH-PROXY-BACKEND-DOWN", Rule: "backend-down-transport",
					Summary: "the backend cannot be reached: " + u.Err})
			}
		}
		return out
	}
	switch {
	case u.Status == 401:
		basic := Offers(u.Challenges, "Basic")
		if !basic && !in.negotiateMode() {
			offered := "no challenge"
			if len(u.Challenges) > 0 {
				offered = "only " + strings.Join(Schemes(u.Challenges), ", ")
			}
			add(Finding{Code: "AUTH-BASIC-NOT-OFFERED", Rule: "basic-not-offered",
				Summary: fmt.Sprintf("unauthenticated POST answered 401 with %s, no Basic challenge%s", offered, who(u))})
		}
		if b := in.Basic; b != nil && b.Err == "" && !b.answered() {
			switch {
			case b.Status == 401 && basic:
				code, why := "AUTH-BAD-CREDENTIALS", ""
				if f, ok := basicRefusal(u, b); ok {
					code, why = adlogon.Code("AUTH", f.Reason), ": "+f.What
					if f.Win32 != 0 {
						why = fmt.Sprintf(" (%s, ad sub-code %x): %s", b.Page.HResult, f.Win32, f.What)
					}
				}
				add(Finding{Code: code, Rule: "bad-credentials",
					Summary: fmt.Sprintf("Basic credentials were refused with %s%s%s", statusLine(b), who(b), why)})
			case b.Status == 401:
				// already explained by the missing Basic challenge
			default:
				after := *b
				after.afterAuth = true
				add(classifyResponse(&after, "POST with Basic credentials"))
			}
		}
	case !u.answered():
		add(classifyResponse(u, "unauthenticated POST"))
	}
	if n := in.Negotiate; n != nil && n.Err == "" && n.Status == 400 && u.Status == 401 && !strings.EqualFold(in.Scheme, "http") {
		add(Finding{Code: "AUTH-NEGOTIATE-400", Rule: "negotiate-400", Warn: !in.negotiateMode(),
			Summary: fmt.Sprintf("an NTLM negotiate token was answered 400 bad request%s: windows authentication is off, so clients that omit -Authentication Basic fail", who(n))})
	}
	return out
}

// windowsAuth: IIS's Windows Authentication answers an NTLM negotiate
// token with a challenge; Exchange's Kerberos-only module does not.
func windowsAuth(in Input) bool {
	if n := in.Negotiate; n != nil && n.Err == "" {
		for _, c := range n.Challenges {
			if ChallengeIsNTLM(c) {
				return true
			}
		}
	}
	return Offers(in.Unauth.Challenges, "NTLM")
}

// Codes is every catalog code Classify can raise (the auth table of the catalog).
var Codes = append([]string{
	"AUTH-BASIC-NOT-OFFERED", "AUTH-REQUIRE-SSL", "AUTH-CLIENT-CERT",
	"AUTH-IP-DENIED", "AUTH-FORBIDDEN", "AUTH-NEGOTIATE-400", "AUTH-NEGOTIATE-HTTP",
	"AUTH-NOT-PUBLISHED", "AUTH-NOT-WSMAN", "AUTH-SERVER-ERROR", "AUTH-PROXY-BACKEND-CERT",
	"AUTH-PROXY-BACKEND-DOWN", "AUTH-PROXY-502", "AUTH-UNAVAILABLE", "AUTH-REDIRECTED", "AUTH-UNEXPECTED",
	"AUTH-BASIC-HTTP", "AUTH-PROXY-SSL-HANDSHAKE", "AUTH-PROXY-CLIENT-CERT", "AUTH-PROXY-NO-BACKEND",
	"AUTH-PROXY-BACKEND-RESET", "AUTH-PROXY-BAD-RESPONSE",
}, adlogon.Codes("AUTH")...)
