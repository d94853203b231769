package httpauth

import (
	"net/http"
	"reflect"
	"sort"
	"testing"
)

// resp builds a Response the way the probe does, from a status, headers
// and optionally a fixture page.
func resp(t testing.TB, status int, h http.Header, file, ct string) Response {
	if h == nil {
		h = http.Header{}
	}
	var body []byte
	if file != "" {
		body = page(t, file)
	}
	cs, _ := ParseChallenges(h.Values("WWW-Authenticate"))
	pg := ParsePage(status, h, body)
	return Response{Status: status, Challenges: cs, ContentType: ct, Page: pg, Answered: DetectAnsweredBy(h, pg), Location: h.Get("Location")}
}

func respText(status int, h http.Header, body, ct string) Response {
	pg := ParsePage(status, h, []byte(body))
	return Response{Status: status, ContentType: ct, Page: pg, Answered: DetectAnsweredBy(h, pg)}
}

func chal(v ...string) http.Header { return http.Header{"Www-Authenticate": v} }

func soap(status int) *Response {
	return &Response{Status: status, SOAP: true, ContentType: "application/soap+xml;charset=UTF-8"}
}

func ptr(r Response) *Response { return &r }

func TestClassify(t *testing.T) {
	const html = "text/html"
	basicNeg := chal(`Basic realm="mail.contoso.test"`, "Negotiate", "NTLM")
	tests := []struct {
		name string
		in   Input
		want []string // codes
		rule []string // rules that fired
		warn bool     // first finding downgraded
	}{
		{name: "healthy basic", in: Input{Scheme: "https",
			Unauth: resp(t, 401, basicNeg, "iis-401-2.html", html), Basic: soap(200),
			Negotiate: ptr(resp(t, 401, chal("Negotiate TlRMTVNTUAACAAAA"), "", ""))}},
		{name: "soap fault after auth is wsman answering", in: Input{Scheme: "https",
			Unauth: resp(t, 401, basicNeg, "", ""), Basic: soap(500)}},
		{name: "basic not offered", in: Input{Scheme: "https", Unauth: resp(t, 401, chal("Negotiate", "NTLM"), "", "")},
			want: []string{"AUTH-BASIC-NOT-OFFERED"}, rule: []string{"basic-not-offered"}},
		{name: "basic not offered, basic refused: one finding", in: Input{Scheme: "https",
			Unauth: resp(t, 401, chal("Negotiate"), "", ""), Basic: ptr(resp(t, 401, chal("Negotiate"), "", ""))},
			want: []string{"AUTH-BASIC-NOT-OFFERED"}, rule: []string{"basic-not-offered"}},
		{name: "no challenge at all (401.2)", in: Input{Scheme: "https", Unauth: resp(t, 401, nil, "iis-401-2.html", html)},
			want: []string{"AUTH-BASIC-NOT-OFFERED"}, rule: []string{"basic-not-offered"}},
		{name: "negotiate user does not need basic", in: Input{Scheme: "https", Authentication: "negotiate",
			Unauth: resp(t, 401, chal("Negotiate"), "", "")}},
		{name: "bad credentials", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 401, basicNeg, "", ""))},
			want: []string{"AUTH-BAD-CREDENTIALS"}, rule: []string{"bad-credentials"}},
		{name: "require ssl 403.4", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "iis-403-4.html", html)},
			want: []string{"AUTH-REQUIRE-SSL"}, rule: []string{"require-ssl"}},
		{name: "require ssl iis6 page", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "iis6-403-4.html", html)},
			want: []string{"AUTH-REQUIRE-SSL"}, rule: []string{"require-ssl"}},
		{name: "client cert 403.7", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "iis-403-7.html", html)},
			want: []string{"AUTH-CLIENT-CERT"}, rule: []string{"client-cert"}},
		{name: "ip denied 403.6", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "iis-403-6.html", html)},
			want: []string{"AUTH-IP-DENIED"}, rule: []string{"ip-denied"}},
		{name: "plain 403 from something unknown", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "iis-custom-403.html", html)},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"forbidden"}},
		{name: "bare iis 403 before credentials is require ssl", in: Input{Scheme: "https",
			Unauth: resp(t, 403, http.Header{"Server": {"Microsoft-IIS/10.0"}}, "iis-custom-403.html", html)},
			want: []string{"AUTH-REQUIRE-SSL"}, rule: []string{"require-ssl"}},
		{name: "bare iis 403 after credentials is forbidden", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 403, http.Header{"Server": {"Microsoft-IIS/10.0"}}, "iis-custom-403.html", html))},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"forbidden"}},
		{name: "iis 403.14 is forbidden", in: Input{Scheme: "https",
			Unauth: respText(403, http.Header{"Server": {"Microsoft-IIS/10.0"}}, "<h3>HTTP Error 403.14 - Forbidden</h3>", html)},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"forbidden"}},
		{name: "403 after basic: user not enabled", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 403, http.Header{"X-Remoteps-Failurecategory": {"AuthZ-CmdletAccessDeniedException"}}, "", "text/plain"))},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"exchange-authz"}},
		{name: "400 rps not enabled after basic", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 400, http.Header{"X-Remoteps-Failurecategory": {"AuthZ-RpsNotEnabled"}}, "", "text/plain"))},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"exchange-authz"}},
		{name: "403 with another failure category", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 403, http.Header{"X-Remoteps-Failurecategory": {"Cafe-AccessDenied"}}, "", "text/plain"))},
			want: []string{"AUTH-FORBIDDEN"}, rule: []string{"forbidden"}},
		{name: "400 with a failure category", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 400, http.Header{"X-Remoteps-Failurecategory": {"WSMan-InvalidShellSettings"}}, "", "text/plain"))},
			want: []string{"AUTH-SERVER-ERROR"}, rule: []string{"exchange-failure"}},
		{name: "negotiate 400 warns a basic user", in: Input{Scheme: "https", Unauth: resp(t, 401, chal(`Basic realm="r"`), "", ""),
			Basic: soap(200), Negotiate: ptr(resp(t, 400, nil, "", ""))},
			want: []string{"AUTH-NEGOTIATE-400"}, rule: []string{"negotiate-400"}, warn: true},
		{name: "negotiate 400 fails a negotiate user", in: Input{Scheme: "https", Authentication: "negotiate",
			Unauth: resp(t, 401, chal(`Basic realm="r"`), "", ""), Negotiate: ptr(resp(t, 400, nil, "", ""))},
			want: []string{"AUTH-NEGOTIATE-400"}, rule: []string{"negotiate-400"}},
		{name: "negotiate 400 is noise when nothing asks for auth", in: Input{Scheme: "https",
			Unauth: resp(t, 404, nil, "iis-404-0.html", html), Negotiate: ptr(resp(t, 400, nil, "", ""))},
			want: []string{"AUTH-NOT-PUBLISHED"}, rule: []string{"not-published"}},
		{name: "kerberos over http is the supported internal path", in: Input{Scheme: "http", Authentication: "negotiate",
			Unauth: resp(t, 401, chal("Negotiate"), "", ""), Negotiate: ptr(resp(t, 401, chal("Negotiate"), "", ""))}},
		{name: "negotiate over http with windows authentication on", in: Input{Scheme: "http", Authentication: "negotiate",
			Unauth: resp(t, 401, chal("Negotiate", "NTLM"), "", ""), Negotiate: ptr(resp(t, 401, chal("Negotiate TlRMTVNTUAACAAAA"), "", ""))},
			want: []string{"AUTH-NEGOTIATE-HTTP"}, rule: []string{"negotiate-http"}},
		{name: "ntlm over http with windows authentication on", in: Input{Scheme: "http", Authentication: "ntlm",
			Unauth: resp(t, 401, chal("Negotiate", "NTLM"), "", ""), Negotiate: ptr(resp(t, 401, chal("Negotiate TlRMTVNTUAACAAAA"), "", ""))},
			want: []string{"AUTH-NEGOTIATE-HTTP"}, rule: []string{"negotiate-http"}},
		{name: "kerberos over http is never basic over http", in: Input{Scheme: "http", Authentication: "kerberos",
			Unauth: resp(t, 401, chal("Negotiate", "NTLM"), "", ""), Negotiate: ptr(resp(t, 401, chal("Negotiate TlRMTVNTUAACAAAA"), "", ""))}},
		{name: "a kerberos user does not need basic", in: Input{Scheme: "https", Authentication: "kerberos",
			Unauth: resp(t, 401, chal("Negotiate"), "", "")}},
		{name: "negotiate 400 fails a kerberos user", in: Input{Scheme: "https", Authentication: "kerberos",
			Unauth: resp(t, 401, chal(`Basic realm="r"`), "", ""), Negotiate: ptr(resp(t, 400, nil, "", ""))},
			want: []string{"AUTH-NEGOTIATE-400"}, rule: []string{"negotiate-400"}},
		{name: "basic over http", in: Input{Scheme: "http", Authentication: "basic",
			Unauth: resp(t, 401, basicNeg, "", "")},
			want: []string{"AUTH-BASIC-HTTP"}, rule: []string{"basic-http"}},
		{name: "basic over http to a backend is the proxy's hop", in: Input{Scheme: "http", Authentication: "basic", Backend: true,
			Unauth: resp(t, 401, basicNeg, "", "")}},
		{name: "apache ssl handshake", in: Input{Scheme: "https", Unauth: resp(t, 500, http.Header{"Server": {"Apache/2.4.71 (Debian)"}}, "../real/apache-2.4.71-500-ssl-handshake.html", html)},
			want: []string{"AUTH-PROXY-SSL-HANDSHAKE"}, rule: []string{"proxy-ssl-handshake"}},
		{name: "gateway wants a client certificate", in: Input{Scheme: "https", Unauth: resp(t, 400, http.Header{"Server": {"Microsoft-Azure-Application-Gateway/v2"}}, "../real/appgw-400-no-cert.html", html)},
			want: []string{"AUTH-PROXY-CLIENT-CERT"}, rule: []string{"gateway-client-cert"}},
		{name: "haproxy without a backend", in: Input{Scheme: "https", Unauth: resp(t, 503, nil, "../real/haproxy-503.html", html)},
			want: []string{"AUTH-PROXY-NO-BACKEND"}, rule: []string{"proxy-no-backend"}},
		{name: "arr 12030 aborted", in: Input{Scheme: "https", Unauth: resp(t, 502, http.Header{"X-Powered-By": {"ARR/3.0"}}, "../real/arr-502-3-aborted.html", html)},
			want: []string{"AUTH-PROXY-BACKEND-RESET"}, rule: []string{"proxy-backend-reset"}},
		{name: "arr 12152 invalid response", in: Input{Scheme: "https", Unauth: resp(t, 502, http.Header{"X-Powered-By": {"ARR/3.0"}}, "../real/arr-502-3-invalid.html", html)},
			want: []string{"AUTH-PROXY-BAD-RESPONSE"}, rule: []string{"proxy-bad-response"}},
		{name: "basic refused, account locked (0x80070775)", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(respText(401, basicNeg, "HTTP Error 401.1 - Unauthorized. Error Code 0x80070775", html))},
			want: []string{"AUTH-ACCOUNT-LOCKED"}, rule: []string{"bad-credentials"}},
		{name: "basic refused, password expired (0x80070532)", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(respText(401, basicNeg, "HTTP Error 401.1 - Unauthorized. Error Code 0x80070532", html))},
			want: []string{"AUTH-PASSWORD-EXPIRED"}, rule: []string{"bad-credentials"}},
		{name: "basic refused, account expired (0x80070701)", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(respText(401, basicNeg, "HTTP Error 401.1 - Unauthorized. Error Code 0x80070701", html))},
			want: []string{"AUTH-ACCOUNT-EXPIRED"}, rule: []string{"bad-credentials"}},
		{name: "basic refused, logon hours (0x80070530)", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(respText(401, basicNeg, "HTTP Error 401.1 - Unauthorized. Error Code 0x80070530", html))},
			want: []string{"AUTH-LOGON-RESTRICTED"}, rule: []string{"bad-credentials"}},
		{name: "basic refused, account disabled (0x80070533)", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(respText(401, basicNeg, "HTTP Error 401.1 - Unauthorized. Error Code 0x80070533", html))},
			want: []string{"AUTH-ACCOUNT-DISABLED"}, rule: []string{"bad-credentials"}},
		{name: "not published", in: Input{Scheme: "https", Unauth: resp(t, 404, nil, "iis-404-0.html", html)},
			want: []string{"AUTH-NOT-PUBLISHED"}, rule: []string{"not-published"}},
		{name: "waf page 200", in: Input{Scheme: "https", Unauth: resp(t, 200, nil, "f5-asm.html", html)},
			want: []string{"AUTH-NOT-WSMAN"}, rule: []string{"waf-page"}},
		{name: "waf page 403 is not iis forbidden", in: Input{Scheme: "https", Unauth: resp(t, 403, nil, "f5-asm.html", html)},
			want: []string{"AUTH-NOT-WSMAN"}, rule: []string{"waf-page"}},
		{name: "html 200 from anything", in: Input{Scheme: "https", Unauth: resp(t, 200, http.Header{"Server": {"nginx"}}, "", html)},
			want: []string{"AUTH-NOT-WSMAN"}, rule: []string{"not-wsman"}},
		{name: "html 200 after basic", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 200, nil, "", html))},
			want: []string{"AUTH-NOT-WSMAN"}, rule: []string{"not-wsman"}},
		{name: "server error with failure category", in: Input{Scheme: "https", Unauth: resp(t, 500, nil, "exchange-500.txt", "text/plain")},
			want: []string{"AUTH-SERVER-ERROR"}, rule: []string{"server-error"}},
		{name: "server error after basic", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""),
			Basic: ptr(resp(t, 500, http.Header{"X-Remoteps-Failurecategory": {"Cafe-SendFailure"}}, "", "text/plain"))},
			want: []string{"AUTH-SERVER-ERROR"}, rule: []string{"server-error"}},
		{name: "arr 502.3 certificate", in: Input{Scheme: "https", Unauth: resp(t, 502, http.Header{"X-Powered-By": {"ARR/3.0"}}, "arr-502-3-cert.html", html)},
			want: []string{"AUTH-PROXY-BACKEND-CERT"}, rule: []string{"proxy-backend-cert"}},
		{name: "arr 502.3 timeout", in: Input{Scheme: "https", Unauth: resp(t, 502, nil, "arr-502-3-timeout.html", html)},
			want: []string{"AUTH-PROXY-BACKEND-DOWN"}, rule: []string{"proxy-backend-down"}},
		{name: "arr 502.3 cannot connect", in: Input{Scheme: "https", Unauth: resp(t, 502, nil, "arr-502-3-connect.html", html)},
			want: []string{"AUTH-PROXY-BACKEND-DOWN"}, rule: []string{"proxy-backend-down"}},
		{name: "gateway timeout", in: Input{Scheme: "https", Unauth: resp(t, 504, http.Header{"Server": {"nginx"}}, "", html)},
			want: []string{"AUTH-PROXY-BACKEND-DOWN"}, rule: []string{"proxy-backend-down"}},
		{name: "nginx bare 502", in: Input{Scheme: "https", Unauth: resp(t, 502, http.Header{"Server": {"nginx/1.22.1"}}, "nginx-502.html", html)},
			want: []string{"AUTH-PROXY-502"}, rule: []string{"proxy-502"}},
		{name: "app pool stopped", in: Input{Scheme: "https", Unauth: resp(t, 503, http.Header{"Server": {"Microsoft-HTTPAPI/2.0"}}, "httpsys-503.html", html)},
			want: []string{"AUTH-UNAVAILABLE"}, rule: []string{"unavailable"}},
		{name: "redirect", in: Input{Scheme: "https", Unauth: resp(t, 302, http.Header{"Location": {"https://outlook.office365.com/powershell-liveid/"}}, "", "")},
			want: []string{"AUTH-REDIRECTED"}, rule: []string{"redirect"}},
		{name: "501 from somewhere", in: Input{Scheme: "https", Unauth: resp(t, 401, basicNeg, "", ""), Basic: ptr(resp(t, 501, nil, "", "text/plain"))},
			want: []string{"AUTH-UNEXPECTED"}, rule: []string{"unexpected"}},
		{name: "empty 400 unauthenticated", in: Input{Scheme: "https", Unauth: resp(t, 400, nil, "", "")},
			want: []string{"AUTH-UNEXPECTED"}, rule: []string{"unexpected"}},
		{name: "backend with untrusted certificate", in: Input{Scheme: "https", Backend: true,
			Unauth: Response{Err: "x509: certificate signed by unknown authority", ErrKind: ErrCert}},
			want: []string{"AUTH-PROXY-BACKEND-CERT"}, rule: []string{"backend-cert-transport"}},
		{name: "backend refusing connections", in: Input{Scheme: "https", Backend: true,
			Unauth: Response{Err: "connection refused", ErrKind: ErrConnect}},
			want: []string{"AUTH-PROXY-BACKEND-DOWN"}, rule: []string{"backend-down-transport"}},
		{name: "front transport failure is for the caller", in: Input{Scheme: "https",
			Unauth: Response{Err: "connection refused", ErrKind: ErrConnect}}},
	}
	fired := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.in)
			var codes, rules []string
			for _, f := range got {
				codes, rules = append(codes, f.Code), append(rules, f.Rule)
				fired[f.Rule] = true
				if f.Summary == "" {
					t.Errorf("%s has no summary", f.Code)
				}
			}
			if !reflect.DeepEqual(codes, tt.want) || !reflect.DeepEqual(rules, tt.rule) {
				t.Fatalf("got %v (rules %v), want %v (rules %v)", codes, rules, tt.want, tt.rule)
			}
			if len(got) > 0 && got[0].Warn != tt.warn {
				t.Fatalf("warn = %v, want %v", got[0].Warn, tt.warn)
			}
			t.Logf("%v", got)
		})
	}
	var missing []string
	for _, r := range RuleNames() {
		if !fired[r] {
			missing = append(missing, r)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("rules without a table case: %v", missing)
	}
}

// TestEveryAuthCode keeps Classify and the catalog's auth table in step.
func TestEveryAuthCode(t *testing.T) {
	have := map[string]bool{"AUTH-BASIC-HTTP": true, "AUTH-ACCOUNT-LOCKED": true, "AUTH-PASSWORD-EXPIRED": true,
		"AUTH-ACCOUNT-EXPIRED": true, "AUTH-LOGON-RESTRICTED": true, "AUTH-ACCOUNT-DISABLED": true, "AUTH-NEGOTIATE-HTTP": true, "AUTH-PROXY-BACKEND-CERT": true, "AUTH-PROXY-BACKEND-DOWN": true,
		"AUTH-BASIC-NOT-OFFERED": true, "AUTH-BAD-CREDENTIALS": true, "AUTH-NEGOTIATE-400": true}
	for _, r := range responseRules {
		have[r.code] = true
	}
	for _, c := range Codes {
		if !have[c] {
			t.Errorf("%s is never raised", c)
		}
		delete(have, c)
	}
	if len(have) > 0 {
		t.Errorf("raised but not in Codes: %v", have)
	}
}
