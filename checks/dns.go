package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/dnsq"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/miekg/dns"
)

// DNSCheck asks the external and internal resolvers for the published
// name and compares the two views with what the deployment needs: the
// proxy's public address outside, the CAS or load balancer inside.
var DNSCheck = Check{
	ID:    IDDNS,
	Title: "DNS split view",
	Doc:   "the name resolves to the proxy outside and to the CAS inside",
	// The other probes need DNS only for the address to connect to;
	// --resolve gives that address, so a DNS fault is then reported
	// without hiding what the endpoint itself answers.
	Gates: func(c *Config) bool { return !c.ResolvesURIHost() },
	Inputs: func(c *Config) string {
		if c.Host == "" {
			return "no --uri given"
		}
		return ""
	},
	Codes: []string{
		"DNS-EXT-NXDOMAIN", "DNS-EXT-NO-ADDRESS", "DNS-EXT-PRIVATE-ADDRESS", "DNS-EXT-UNEXPECTED",
		"DNS-INT-NXDOMAIN", "DNS-INT-UNEXPECTED", "DNS-NO-SPLIT", "DNS-CNAME",
		"DNS-RESOLVER-FAILED", "DNS-RESOLVER-TIMEOUT",
	},
	Run: runDNS,
}

// The view names in observed.views[].view.
const (
	viewExternal = "external"
	viewInternal = "internal"
	viewSystem   = "system"
)

// systemResolver names the host's own resolver in observed and targets.
const systemResolver = "system resolver"

// dnsView is one resolver's answer as the rules see it.
type dnsView struct {
	View      string // viewExternal, viewInternal or viewSystem
	Resolver  string
	Rcode     int // dns.Rcode*, -1 when no answer came
	Addresses []netip.Addr
	CNAMEs    []string
	RTT       time.Duration
	Err       error // set when no usable answer came
	Malformed bool  // the answer came but was garbage or for another question
	Timeout   bool  // no answer came in time
}

// DNSObserved is the dns check's evidence in the report.
type DNSObserved struct {
	Views          []DNSViewObserved `json:"views"`
	ConnectAddress string            `json:"connect_address,omitempty"`
	ConnectSource  string            `json:"connect_source,omitempty"`
	ConnectError   string            `json:"connect_error,omitempty"`
	Note           string            `json:"note,omitempty"`
}

// DNSViewObserved is one resolver's answer in the report.
type DNSViewObserved struct {
	View      string   `json:"view"`
	Resolver  string   `json:"resolver"`
	Rcode     string   `json:"rcode"`
	Addresses []string `json:"addresses"`
	CNAMEs    []string `json:"cnames"`
	RTTms     int64    `json:"rtt_ms"`
	Error     string   `json:"error,omitempty"`
}

func runDNS(ctx context.Context, env *Env) Outcome {
	cfg := env.Config
	expExt, err := parseAddrs("--expect-external", cfg.ExpectExternal)
	if err != nil {
		return Outcome{Err: err}
	}
	expInt, err := parseAddrs("--expect-internal", cfg.ExpectInternal)
	if err != nil {
		return Outcome{Err: err}
	}

	type query struct{ view, server string }
	var qs []query
	for _, s := range cfg.ExternalDNS {
		qs = append(qs, query{viewExternal, s})
	}
	for _, s := range cfg.InternalDNS {
		qs = append(qs, query{viewInternal, s})
	}

	views := make([]dnsView, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			views[i] = fromAnswer(q.view, env.DNS.Lookup(ctx, q.server, cfg.Host))
		}()
	}
	var obs DNSObserved
	switch {
	case len(qs) == 0:
		views = []dnsView{systemLookup(ctx, env)}
		obs.Note = "no --external-dns or --internal-dns given: asked the system resolver only; give both to check the split view"
	case len(cfg.InternalDNS) == 0:
		obs.Note = "no --internal-dns given: the internal view was not checked"
	case len(cfg.ExternalDNS) == 0:
		obs.Note = "no --external-dns given: the external view was not checked"
	}
	// The connect address is resolved alongside: with --external-dns it is
	// the same cached query, so this costs no extra traffic.
	ca := env.Connect(ctx)
	wg.Wait()

	for _, v := range views {
		obs.Views = append(obs.Views, observeView(v))
	}
	if ca.Err != nil {
		obs.ConnectError = ca.Err.Error()
	} else {
		obs.ConnectAddress, obs.ConnectSource = ca.Addr.String(), ca.Source
	}
	out := Outcome{Observed: obs, Summary: dnsSummary(obs), Findings: dnsFindings(cfg.Host, views, expExt, expInt)}
	var unreachable []string
	for _, v := range views {
		if v.View != viewSystem && v.Err != nil && netx.VantageUnreachable(v.Err) {
			unreachable = append(unreachable, v.Resolver)
		}
	}
	if len(unreachable) > 0 {
		// a resolver the user named that this machine cannot even send to
		// says nothing about the deployment
		out.Err = fmt.Errorf("this machine has no route to the resolver %s; this is the probe host's network, not the dns: run exdiag where the resolver is reachable, or fix its route", strings.Join(unreachable, ", "))
	}
	return out
}

func parseAddrs(flag string, ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s %q is not an IP address; give addresses such as 203.0.113.10", flag, s)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func fromAnswer(view string, a dnsq.Answer) dnsView {
	return dnsView{
		View: view, Resolver: a.Resolver, Rcode: a.Rcode,
		Addresses: a.Addresses, CNAMEs: a.CNAMEs, RTT: a.RTT,
		Err: a.Err, Malformed: errors.Is(a.Err, dnsq.ErrMalformed), Timeout: a.Timeout(),
	}
}

// systemLookup asks the host's resolver. It reveals no rcode or CNAMEs,
// so NOERROR stands for "it answered" and NXDOMAIN for "not found".
func systemLookup(ctx context.Context, env *Env) dnsView {
	v := dnsView{View: viewSystem, Resolver: systemResolver, Rcode: -1}
	start := env.Now()
	addrs, err := env.SystemLookup(ctx)
	v.RTT = env.Now().Sub(start)
	var de *net.DNSError
	switch {
	case err == nil:
		v.Rcode = dns.RcodeSuccess
		for _, a := range addrs {
			v.Addresses = append(v.Addresses, a.Unmap())
		}
	case errors.As(err, &de) && de.IsNotFound:
		v.Rcode = dns.RcodeNameError
	default:
		v.Err = err
		v.Timeout = errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) && de.IsTimeout
	}
	return v
}

func observeView(v dnsView) DNSViewObserved {
	o := DNSViewObserved{View: v.View, Resolver: v.Resolver, Rcode: rcodeName(v.Rcode),
		Addresses: []string{}, CNAMEs: []string{}, RTTms: v.RTT.Milliseconds()}
	for _, a := range v.Addresses {
		o.Addresses = append(o.Addresses, a.String())
	}
	o.CNAMEs = append(o.CNAMEs, v.CNAMEs...)
	if v.Err != nil {
		o.Error = v.Err.Error()
	}
	return o
}

func rcodeName(rc int) string {
	return dnsq.Answer{Rcode: rc}.RcodeName()
}

// dnsFindings applies the split-view rules to the answers. The system
// resolver stands in for the external view for existence and expectation
// rules (it is what this client uses), but not for the private-address
// rule: exdiag may be running inside, where private answers are right.
func dnsFindings(host string, views []dnsView, expExt, expInt []netip.Addr) []Finding {
	var fs []Finding
	add := func(code string, v dnsView, format string, args ...any) {
		target := v.View + " " + v.Resolver
		if v.View == viewSystem {
			target = systemResolver
		}
		fs = append(fs, Finding{Code: code, Target: target, Summary: fmt.Sprintf(format, args...), Params: viewParams(v)})
	}
	var ext, intl []dnsView // views that returned addresses
	for _, v := range views {
		external := v.View != viewInternal
		switch {
		case v.Err != nil && v.Malformed:
			add("DNS-RESOLVER-FAILED", v, "%s gave a malformed answer for %s: %v", who(v), host, v.Err)
			continue
		case v.Err != nil && v.Timeout:
			add("DNS-RESOLVER-TIMEOUT", v, "%s gave no answer for %s before the deadline", who(v), host)
			continue
		case v.Err != nil:
			add("DNS-RESOLVER-TIMEOUT", v, "%s is unreachable for %s: %v", who(v), host, v.Err)
			continue
		}
		if len(v.CNAMEs) > 0 {
			add("DNS-CNAME", v, "%s is an alias in the %s: %s -> %s", host, who(v), host, strings.Join(v.CNAMEs, " -> "))
		}
		switch {
		case v.Rcode == dns.RcodeNameError && external:
			add("DNS-EXT-NXDOMAIN", v, "%s answers NXDOMAIN for %s%s", who(v), host, viaChain(v))
			continue
		case v.Rcode == dns.RcodeNameError:
			add("DNS-INT-NXDOMAIN", v, "%s answers NXDOMAIN for %s%s", who(v), host, viaChain(v))
			continue
		case v.Rcode != dns.RcodeSuccess:
			add("DNS-RESOLVER-FAILED", v, "%s answers %s for %s", who(v), rcodeName(v.Rcode), host)
			continue
		case len(v.Addresses) == 0 && external:
			add("DNS-EXT-NO-ADDRESS", v, "%s answers NOERROR for %s but no A or AAAA record%s", who(v), host, viaChain(v))
			continue
		case len(v.Addresses) == 0:
			// no code of its own: inside, a name without address is as
			// unknown to the proxy as a name that does not exist
			add("DNS-INT-NXDOMAIN", v, "%s answers NOERROR for %s but no A or AAAA record%s", who(v), host, viaChain(v))
			continue
		}
		if external {
			ext = append(ext, v)
			var bad []string
			for _, a := range v.Addresses {
				if notPublic(a) {
					bad = append(bad, a.String())
				}
			}
			if len(bad) > 0 && v.View == viewExternal {
				add("DNS-EXT-PRIVATE-ADDRESS", v, "%s answers %s for %s; internet clients cannot reach %s", who(v), addrList(v.Addresses), host, strings.Join(bad, ", "))
			}
			if len(expExt) > 0 && !sameSet(v.Addresses, expExt) {
				add("DNS-EXT-UNEXPECTED", v, "%s answers %s for %s, expected %s", who(v), addrList(v.Addresses), host, addrList(expExt))
			}
		} else {
			intl = append(intl, v)
			if len(expInt) > 0 && !sameSet(v.Addresses, expInt) {
				add("DNS-INT-UNEXPECTED", v, "%s answers %s for %s, expected %s", who(v), addrList(v.Addresses), host, addrList(expInt))
			}
		}
	}
	// One finding for the split as a whole: the first pair of views that
	// agree shows the problem; more pairs would say the same thing.
split:
	for _, e := range ext {
		if e.View != viewExternal {
			continue
		}
		for _, i := range intl {
			if sameSet(e.Addresses, i.Addresses) {
				fs = append(fs, Finding{Code: "DNS-NO-SPLIT", Target: "external " + e.Resolver + ", internal " + i.Resolver,
					Summary: fmt.Sprintf("both views answer %s for %s", addrList(e.Addresses), host), Params: viewParams(i)})
				break split
			}
		}
	}
	return fs
}

// viewParams are a view's evidence for the remediation templates: the
// resolver (its address, the form nslookup and dig take), what it
// answered, and the end of the CNAME chain.
func viewParams(v dnsView) map[string]string {
	p := map[string]string{}
	if v.View != viewSystem {
		r := v.Resolver
		if h, port, err := net.SplitHostPort(r); err == nil && port == "53" {
			r = h
		}
		p[catalog.ParamResolver] = r
	}
	if len(v.Addresses) > 0 {
		p[catalog.ParamAddresses] = addrList(v.Addresses)
	}
	if n := len(v.CNAMEs); n > 0 {
		p[catalog.ParamCNAME] = strings.TrimSuffix(v.CNAMEs[n-1], ".")
	}
	return p
}

// who names the view in a summary; the target names the resolver.
func who(v dnsView) string {
	if v.View == viewSystem {
		return systemResolver
	}
	return v.View + " view"
}

func viaChain(v dnsView) string {
	if len(v.CNAMEs) == 0 {
		return ""
	}
	return " (via " + strings.Join(v.CNAMEs, " -> ") + ")"
}

// cgnat is the carrier-grade NAT range (RFC 6598), not routable from the internet.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// notPublic reports addresses an internet client cannot reach the proxy
// at: private (RFC 1918, ULA), loopback, link-local, CGNAT, unspecified.
func notPublic(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || cgnat.Contains(a)
}

func sameSet(a, b []netip.Addr) bool {
	return slices.Equal(addrSet(a), addrSet(b))
}

func addrSet(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		out = append(out, a.Unmap())
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(out)
}

func addrList(as []netip.Addr) string {
	ss := make([]string, 0, len(as))
	for _, a := range as {
		ss = append(ss, a.String())
	}
	return strings.Join(ss, ", ")
}

// dnsSummary is one line per view: what each resolver answered.
func dnsSummary(o DNSObserved) string {
	var parts []string
	for _, v := range o.Views {
		ans := strings.Join(v.Addresses, " ")
		switch {
		case v.Error != "":
			ans = "no answer"
		case ans == "":
			ans = v.Rcode
		}
		parts = append(parts, v.View+" "+ans)
	}
	return strings.Join(parts, "; ")
}
