package report

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/exdiag/exdiag/checks"
)

// Hop is one stage of the route a client's request takes:
//
//	client → DNS (external) → proxy ADDR:443 → ARR → cas1 / cas2 → runspace
//
// Several hops may share a stage (one per backend).
type Hop struct {
	// Hop is the stage: client, dns, proxy, router, backend, runspace.
	Hop string `json:"hop"`
	// Label is what the path picture shows ("ARR", "cas1").
	Label  string `json:"label"`
	Target string `json:"target,omitempty"`
	Status string `json:"status"`
	// Check is the check whose findings mark this hop.
	Check string   `json:"check,omitempty"`
	Codes []string `json:"codes"`
}

// Text is the hop as the path line writes it.
func (h Hop) Text() string {
	if h.Hop == "proxy" && h.Target != "" {
		return h.Label + " " + h.Target
	}
	return h.Label
}

// FirstFailing is the index of the first hop that failed (or errored), or -1.
func FirstFailing(p []Hop) int {
	for i, h := range p {
		if h.Status == "fail" || h.Status == "error" {
			return i
		}
	}
	return -1
}

// Stages groups consecutive hops of one stage, for pictures that draw
// backends side by side.
func Stages(p []Hop) [][]Hop {
	var out [][]Hop
	for _, h := range p {
		if n := len(out); n > 0 && out[n-1][0].Hop == h.Hop {
			out[n-1] = append(out[n-1], h)
			continue
		}
		out = append(out, []Hop{h})
	}
	return out
}

type dnsObserved struct {
	Views []struct {
		View      string   `json:"view"`
		Resolver  string   `json:"resolver"`
		Addresses []string `json:"addresses"`
	} `json:"views"`
	ConnectAddress string `json:"connect_address"`
}

type answeredBy struct {
	Role     string   `json:"role"`
	Product  string   `json:"product"`
	Evidence []string `json:"evidence"`
}

type authObserved struct {
	AnsweredBy answeredBy `json:"answered_by"`
	Backends   []struct {
		Target string `json:"target"`
	} `json:"backends"`
}

type rbacObserved struct {
	User     string `json:"user"`
	Endpoint string `json:"endpoint"`
}

// Path derives the route from the results: who answered (auth's
// answered_by), which backends were checked, and which hop each finding
// concerns. It is a pure function of the Doc's checks.
func Path(d Doc) []Hop {
	var dns dnsObserved
	observed(d.check("dns"), &dns)
	var tlsO tlsObserved
	observed(d.check("tls"), &tlsO)
	var auth authObserved
	observed(d.check("auth"), &auth)
	var rbac rbacObserved
	observed(d.check("rbac"), &rbac)

	client := Hop{Hop: "client", Label: "client", Target: d.Vantage.Host, Status: "pass", Codes: []string{}}

	dnsHop := Hop{Hop: "dns", Label: "DNS (system)", Check: "dns"}
	var resolvers []string
	proxyAddr := dns.ConnectAddress
	for _, v := range dns.Views {
		if v.View == "external" {
			dnsHop.Label = "DNS (external)"
			resolvers = append(resolvers, v.Resolver)
			if len(v.Addresses) > 0 && proxyAddr == dns.ConnectAddress {
				// the address an internet client reaches, not the one a
				// --resolve override pointed this run at
				proxyAddr = v.Addresses[0]
			}
		}
	}
	dnsHop.Target = strings.Join(resolvers, ", ")

	proxy := Hop{Hop: "proxy", Label: "proxy", Check: "tls"}
	if proxyAddr != "" && d.Target.Port != 0 {
		proxy.Target = joinHostPort(proxyAddr, d.Target.Port)
	} else if d.Target.Host != "" {
		proxy.Target = joinHostPort(d.Target.Host, d.Target.Port)
	}

	router := Hop{Hop: "router", Label: routerLabel(auth.AnsweredBy), Check: "auth"}

	var backends []Hop
	seen := map[string]bool{}
	addBackend := func(u string) {
		if u == "" || seen[u] {
			return
		}
		seen[u] = true
		backends = append(backends, Hop{Hop: "backend", Label: shortHost(u), Target: u, Check: "auth"})
	}
	for _, b := range auth.Backends {
		addBackend(b.Target)
	}
	for _, b := range tlsO.Backends {
		addBackend(b.URL)
	}
	listed := len(backends) > 0
	if !listed {
		backends = []Hop{{Hop: "backend", Label: "CAS", Check: "auth"}}
	}

	runspace := Hop{Hop: "runspace", Label: "runspace", Target: rbac.User, Check: "rbac"}

	// which hop a finding concerns
	backendOf := func(target string) int {
		if !listed || target == "" {
			return -1
		}
		for i, b := range backends {
			if target == b.Target || strings.Contains(target, hostOf(b.Target)) {
				return i
			}
		}
		return -1
	}
	frontByProxy := auth.AnsweredBy.Role == "proxy" || auth.AnsweredBy.Role == "waf"
	type mark struct {
		hop    *Hop
		checks []string // checks whose status the hop takes when it has no finding
	}
	marks := []mark{
		{&dnsHop, []string{"dns"}},
		{&proxy, []string{"tls", "redirect"}},
		{&router, []string{"auth"}},
		{&runspace, []string{"rbac"}},
	}
	for i := range backends {
		marks = append(marks, mark{&backends[i], []string{"auth"}})
	}
	sev := map[*Hop]string{}
	note := func(h *Hop, f checks.Finding) {
		if !contains(h.Codes, f.Code) {
			h.Codes = append(h.Codes, f.Code)
		}
		if sevRank(string(f.Severity)) >= sevRank(sev[h]) {
			sev[h] = string(f.Severity)
		}
	}
	for _, c := range d.Checks {
		for _, f := range c.Findings {
			if f.Severity == checks.SevInfo {
				continue
			}
			switch c.ID {
			case "dns":
				note(&dnsHop, f)
			case "tls", "redirect":
				if i := backendOf(f.Target); i >= 0 {
					note(&backends[i], f)
				} else {
					note(&proxy, f)
				}
			case "auth":
				switch i := backendOf(f.Target); {
				case i >= 0:
					note(&backends[i], f)
				case frontByProxy:
					note(&router, f)
				case !listed:
					note(&backends[0], f)
				default:
					note(&router, f)
				}
			case "spn":
				// an SPN is checked by the CAS that takes the Kerberos
				// ticket: a backend's own name marks that backend, the
				// published name every backend (or the one CAS hop)
				if i := backendOf(strings.TrimPrefix(f.Target, "HTTP/")); i >= 0 {
					note(&backends[i], f)
				} else {
					for i := range backends {
						note(&backends[i], f)
					}
				}
			case "rbac":
				note(&runspace, f)
			}
		}
	}
	for _, m := range marks {
		h := m.hop
		if h.Codes == nil {
			h.Codes = []string{}
		}
		switch sev[h] {
		case "fail":
			h.Status = "fail"
			continue
		case "warn":
			h.Status = "warn"
			continue
		}
		h.Status = checksStatus(d, m.checks)
	}

	out := []Hop{client, dnsHop, proxy, router}
	out = append(out, backends...)
	return append(out, runspace)
}

// checksStatus is a hop's status when no finding marks it: error if one of
// its checks errored, pass if one ran, skip if none did.
func checksStatus(d Doc, ids []string) string {
	st := "skip"
	for _, id := range ids {
		c := d.check(id)
		if c == nil {
			continue
		}
		switch c.Status {
		case "error":
			return "error"
		case "pass", "warn", "fail":
			st = "pass"
		}
	}
	return st
}

// routerLabel names the reverse proxy from what answered: ARR marks the
// answers it forwards with X-Powered-By: ARR/3.0.
func routerLabel(a answeredBy) string {
	for _, e := range a.Evidence {
		if strings.Contains(e, "ARR/") {
			return "ARR"
		}
	}
	if (a.Role == "proxy" || a.Role == "waf") && a.Product != "" {
		return a.Product
	}
	return "reverse proxy"
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
		return p.Hostname()
	}
	return u
}

// shortHost is a backend's first name label: cas1 for cas1.contoso.com.
func shortHost(u string) string {
	h := hostOf(u)
	if strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":") {
		return h // an address, not a name
	}
	first, _, _ := strings.Cut(h, ".")
	return first
}

func joinHostPort(h string, port int) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + strconv.Itoa(port)
	}
	return h + ":" + strconv.Itoa(port)
}
