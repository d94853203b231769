package httpauth

import (
	"net/http"
	"strings"
)

// Roles of whoever produced a response.
const (
	RoleExchange = "exchange" // an Exchange CAS (front end or back end)
	RoleProxy    = "proxy"    // a reverse proxy: ARR, nginx, a load balancer
	RoleWAF      = "waf"      // a web application firewall's block page
	RoleHTTPSys  = "http.sys" // Windows' kernel HTTP listener (no app pool behind it)
	RoleIIS      = "iis"      // IIS, without saying whether it is the CAS or ARR
	RoleUnknown  = "unknown"
)

// AnsweredBy says who produced a response and on what evidence.
type AnsweredBy struct {
	Role     string   `json:"role"`
	Product  string   `json:"product,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// wafSignatures are phrases of well-known block pages.
var wafSignatures = []struct{ phrase, product string }{
	{"The requested URL was rejected. Please consult with your administrator", "F5 BIG-IP ASM"},
	{"Request Rejected", "WAF block page"},
	{"Incapsula incident ID", "Imperva Incapsula"},
	{"Attention Required! | Cloudflare", "Cloudflare"},
	{"Sorry, you have been blocked", "Cloudflare"},
	{"Web Application Firewall", "WAF block page"},
	{"Mod_Security", "ModSecurity"},
	{"ModSecurity", "ModSecurity"},
	{"FortiWeb", "Fortinet FortiWeb"},
	{"Access Denied - Sucuri Website Firewall", "Sucuri"},
	{"The request was blocked by", "WAF block page"},
	{"Barracuda", "Barracuda WAF"},
}

// DetectAnsweredBy looks at headers and the parsed page. Exchange's own
// headers win: a proxy passes them through, so their presence means the
// request reached a CAS.
func DetectAnsweredBy(h http.Header, pg Page) AnsweredBy {
	server := clip(h.Get("Server"), 80)
	powered := clip(h.Get("X-Powered-By"), 80)
	// a proxy that passed Exchange's answer on leaves its own mark too
	var via []string
	if strings.Contains(powered, "ARR/") {
		via = []string{"via X-Powered-By: " + powered}
	}
	for _, k := range []string{"X-FEServer", "X-BEServer", "X-CalculatedBETarget", "X-RemotePS-FailureCategory", "X-DiagInfo"} {
		if v := h.Get(k); v != "" {
			return AnsweredBy{Role: RoleExchange, Product: "Exchange", Evidence: append([]string{k + ": " + clip(v, 80)}, via...)}
		}
	}
	if pg.FailureCategory != "" || strings.Contains(pg.Text, "[ClientAccessServer=") {
		return AnsweredBy{Role: RoleExchange, Product: "Exchange", Evidence: append([]string{"FailureCategory in the body"}, via...)}
	}
	for _, w := range wafSignatures {
		if strings.Contains(pg.Text, w.phrase) {
			return AnsweredBy{Role: RoleWAF, Product: w.product, Evidence: []string{"body: " + w.phrase}}
		}
	}
	if strings.Contains(powered, "ARR/") {
		return AnsweredBy{Role: RoleProxy, Product: "IIS " + powered, Evidence: []string{"X-Powered-By: " + powered}}
	}
	if strings.EqualFold(pg.Module, "ApplicationRequestRouting") {
		return AnsweredBy{Role: RoleProxy, Product: "IIS ARR", Evidence: []string{"error page module ApplicationRequestRouting"}}
	}
	ls := strings.ToLower(server)
	switch {
	case strings.HasPrefix(ls, "nginx") || strings.HasPrefix(ls, "openresty"):
		return AnsweredBy{Role: RoleProxy, Product: server, Evidence: []string{"Server: " + server}}
	case strings.Contains(ls, "bigip") || strings.Contains(ls, "big-ip") || strings.HasPrefix(ls, "haproxy") ||
		strings.HasPrefix(ls, "envoy") || strings.HasPrefix(ls, "cloudflare") || strings.HasPrefix(ls, "kemp") ||
		strings.HasPrefix(ls, "apache") || strings.HasPrefix(ls, "microsoft-azure-application-gateway"):
		return AnsweredBy{Role: RoleProxy, Product: server, Evidence: []string{"Server: " + server}}
	case strings.HasPrefix(ls, "microsoft-httpapi"):
		return AnsweredBy{Role: RoleHTTPSys, Product: server, Evidence: []string{"Server: " + server}}
	case strings.HasPrefix(ls, "microsoft-iis"):
		return AnsweredBy{Role: RoleIIS, Product: server, Evidence: []string{"Server: " + server}}
	}
	if strings.Contains(pg.Text, "No server is available to handle this request") ||
		strings.Contains(pg.Text, "The server returned an invalid or incomplete response") ||
		strings.Contains(pg.Text, "The server didn't respond in time") {
		// HAProxy's own error page; it sends no Server header
		return AnsweredBy{Role: RoleProxy, Product: "HAProxy", Evidence: []string{"body: HAProxy's error page"}}
	}
	if strings.Contains(pg.Text, " nginx") || strings.HasSuffix(pg.Text, "nginx") {
		return AnsweredBy{Role: RoleProxy, Product: "nginx", Evidence: []string{"body signature nginx"}}
	}
	if server != "" {
		return AnsweredBy{Role: RoleUnknown, Product: server, Evidence: []string{"Server: " + server}}
	}
	return AnsweredBy{Role: RoleUnknown}
}
