package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/dnsq"
	"github.com/miekg/dns"
)

func ips(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return out
}

func TestDNSFindings(t *testing.T) {
	ext := func(addrs ...string) dnsView {
		return dnsView{View: viewExternal, Resolver: "198.51.100.53:53", Rcode: dns.RcodeSuccess, Addresses: ips(addrs...)}
	}
	intl := func(addrs ...string) dnsView {
		return dnsView{View: viewInternal, Resolver: "10.0.0.53:53", Rcode: dns.RcodeSuccess, Addresses: ips(addrs...)}
	}
	with := func(v dnsView, f func(*dnsView)) dnsView { f(&v); return v }
	timeout := fmt.Errorf("read udp: %w", context.DeadlineExceeded)
	malformed := fmt.Errorf("%w: answer does not match the question", dnsq.ErrMalformed)

	pub, lb := "203.0.113.10", "10.0.0.20"
	expExt, expInt := ips(pub), ips(lb)
	tests := []struct {
		name           string
		views          []dnsView
		expExt, expInt []netip.Addr
		want           []string
	}{
		{"healthy split", []dnsView{ext(pub), intl(lb)}, expExt, expInt, nil},
		{"healthy without expectations", []dnsView{ext(pub), intl(lb)}, nil, nil, nil},
		{"expectation order and duplicates do not matter", []dnsView{ext("203.0.113.11", pub, pub), intl(lb)}, ips(pub, "203.0.113.11"), expInt, nil},
		{"external nxdomain", []dnsView{with(ext(), func(v *dnsView) { v.Rcode = dns.RcodeNameError }), intl(lb)}, expExt, expInt, []string{"DNS-EXT-NXDOMAIN"}},
		{"external no address", []dnsView{ext(), intl(lb)}, expExt, expInt, []string{"DNS-EXT-NO-ADDRESS"}},
		{"external cname ending nowhere", []dnsView{with(ext(), func(v *dnsView) { v.CNAMEs = []string{"gone.contoso.test"} }), intl(lb)}, expExt, expInt, []string{"DNS-CNAME", "DNS-EXT-NO-ADDRESS"}},
		{"external leaks the internal address", []dnsView{ext(lb), intl(lb)}, expExt, expInt, []string{"DNS-EXT-PRIVATE-ADDRESS", "DNS-EXT-UNEXPECTED", "DNS-NO-SPLIT"}},
		{"external private without expectations", []dnsView{ext("192.168.1.5"), intl(lb)}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external loopback", []dnsView{ext("127.0.0.1")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external link-local", []dnsView{ext("169.254.10.1")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external cgnat", []dnsView{ext("100.64.1.1")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external cgnat upper edge", []dnsView{ext("100.127.255.254")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"just outside cgnat is public", []dnsView{ext("100.128.0.1")}, nil, nil, nil},
		{"external ula", []dnsView{ext("fd00::20")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external ipv6 link-local", []dnsView{ext("fe80::1")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external unspecified", []dnsView{ext("0.0.0.0")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external v4-mapped private", []dnsView{ext("::ffff:10.1.2.3")}, nil, nil, []string{"DNS-EXT-PRIVATE-ADDRESS"}},
		{"external points elsewhere", []dnsView{ext("198.51.100.7"), intl(lb)}, expExt, expInt, []string{"DNS-EXT-UNEXPECTED"}},
		{"external has an extra address", []dnsView{ext(pub, "2001:db8::10"), intl(lb)}, expExt, expInt, []string{"DNS-EXT-UNEXPECTED"}},
		{"internal nxdomain", []dnsView{ext(pub), with(intl(), func(v *dnsView) { v.Rcode = dns.RcodeNameError })}, expExt, expInt, []string{"DNS-INT-NXDOMAIN"}},
		{"internal no address", []dnsView{ext(pub), intl()}, expExt, expInt, []string{"DNS-INT-NXDOMAIN"}},
		{"internal points elsewhere", []dnsView{ext(pub), intl("10.0.0.99")}, expExt, expInt, []string{"DNS-INT-UNEXPECTED"}},
		{"no split view", []dnsView{ext(pub), intl(pub)}, expExt, expInt, []string{"DNS-INT-UNEXPECTED", "DNS-NO-SPLIT"}},
		{"no split without expectations", []dnsView{ext(pub), intl(pub)}, nil, nil, []string{"DNS-NO-SPLIT"}},
		{"no split reported once for many resolvers", []dnsView{ext(pub), ext(pub), intl(pub), intl(pub)}, nil, nil, []string{"DNS-NO-SPLIT"}},
		{"cname in both views", []dnsView{
			with(ext(pub), func(v *dnsView) { v.CNAMEs = []string{"proxy.contoso.test"} }),
			with(intl(lb), func(v *dnsView) { v.CNAMEs = []string{"caslb.contoso.test"} }),
		}, expExt, expInt, []string{"DNS-CNAME", "DNS-CNAME"}},
		{"servfail", []dnsView{with(ext(), func(v *dnsView) { v.Rcode = dns.RcodeServerFailure }), intl(lb)}, expExt, expInt, []string{"DNS-RESOLVER-FAILED"}},
		{"refused inside", []dnsView{ext(pub), with(intl(), func(v *dnsView) { v.Rcode = dns.RcodeRefused })}, expExt, expInt, []string{"DNS-RESOLVER-FAILED"}},
		{"malformed", []dnsView{with(ext(), func(v *dnsView) { v.Rcode, v.Err, v.Malformed = -1, malformed, true }), intl(lb)}, expExt, expInt, []string{"DNS-RESOLVER-FAILED"}},
		{"timeout", []dnsView{ext(pub), with(intl(), func(v *dnsView) { v.Rcode, v.Err, v.Timeout = -1, timeout, true })}, expExt, expInt, []string{"DNS-RESOLVER-TIMEOUT"}},
		{"unreachable", []dnsView{with(ext(), func(v *dnsView) { v.Rcode, v.Err = -1, errors.New("connect: network is unreachable") })}, nil, nil, []string{"DNS-RESOLVER-TIMEOUT"}},
		{"system resolver healthy", []dnsView{{View: viewSystem, Resolver: systemResolver, Addresses: ips(pub)}}, expExt, nil, nil},
		{"system resolver private is not flagged", []dnsView{{View: viewSystem, Resolver: systemResolver, Addresses: ips(lb)}}, nil, nil, nil},
		{"system resolver unexpected", []dnsView{{View: viewSystem, Resolver: systemResolver, Addresses: ips(lb)}}, expExt, nil, []string{"DNS-EXT-UNEXPECTED"}},
		{"system resolver not found", []dnsView{{View: viewSystem, Resolver: systemResolver, Rcode: dns.RcodeNameError}}, expExt, nil, []string{"DNS-EXT-NXDOMAIN"}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := dnsFindings("mail.contoso.test", tc.views, tc.expExt, tc.expInt)
			if got := codes(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("codes %v, want %v", got, tc.want)
			}
			for _, f := range fs {
				seen[f.Code] = true
				if f.Target == "" || f.Summary == "" || strings.ContainsAny(f.Summary, "\n") {
					t.Errorf("finding %s needs a target and a one-line summary: %+v", f.Code, f)
				}
				if !strings.Contains(f.Summary, "mail.contoso.test") {
					t.Errorf("summary %q does not name the host", f.Summary)
				}
			}
		})
	}
	for _, c := range DNSCheck.Codes {
		if !seen[c] {
			t.Errorf("no table case raises %s", c)
		}
	}
}

func TestDNSFindingTargets(t *testing.T) {
	fs := dnsFindings("mail.contoso.test", []dnsView{
		{View: viewExternal, Resolver: "198.51.100.53:53", Addresses: ips("10.0.0.20")},
		{View: viewInternal, Resolver: "10.0.0.53:53", Addresses: ips("10.0.0.20")},
	}, nil, nil)
	want := map[string]string{
		"DNS-EXT-PRIVATE-ADDRESS": "external 198.51.100.53:53",
		"DNS-NO-SPLIT":            "external 198.51.100.53:53, internal 10.0.0.53:53",
	}
	for _, f := range fs {
		if want[f.Code] != f.Target {
			t.Errorf("%s target %q, want %q", f.Code, f.Target, want[f.Code])
		}
	}
	if len(fs) != len(want) {
		t.Errorf("got %v", codes(fs))
	}
}

// fakeView is an authoritative server for one view of contoso.test on a
// loopback port; it counts the queries it gets.
type fakeView struct {
	addr    string
	queries atomic.Int32
}

func startView(t *testing.T, records map[string]string, rcode int) *fakeView {
	t.Helper()
	fv := &fakeView{}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		fv.queries.Add(1)
		m := new(dns.Msg)
		m.SetRcode(q, rcode)
		name := strings.ToLower(q.Question[0].Name)
		for hop := 0; hop < 4 && rcode == dns.RcodeSuccess; hop++ {
			v, ok := records[name]
			if !ok {
				m.Rcode = dns.RcodeNameError
				break
			}
			if strings.HasSuffix(v, ".") {
				rr, _ := dns.NewRR(name + " 60 IN CNAME " + v)
				m.Answer = append(m.Answer, rr)
				name = v
				continue
			}
			if ip := netip.MustParseAddr(v); ip.Is4() == (q.Question[0].Qtype == dns.TypeA) {
				rr, _ := dns.NewRR(fmt.Sprintf("%s 60 IN %s %s", name, dns.TypeToString[q.Question[0].Qtype], v))
				m.Answer = append(m.Answer, rr)
			}
			break
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	fv.addr = pc.LocalAddr().String()
	return fv
}

func dnsEnv(t *testing.T, cfg *Config) *Env {
	t.Helper()
	if cfg.URI == nil {
		cfg.URI, _ = url.Parse("https://mail.contoso.test/PowerShell")
		cfg.Host, cfg.Port = "mail.contoso.test", 443
	}
	env := NewEnv(cfg)
	env.DNS.Client.QueryTimeout = 300 * time.Millisecond
	env.LookupHost = func(context.Context, string) ([]netip.Addr, error) {
		t.Error("the system resolver was asked although resolvers were given")
		return nil, errors.New("not here")
	}
	return env
}

func runCheck(t *testing.T, env *Env) Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := DNSCheck.Run(ctx, env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	return out
}

func TestDNSRunSplitView(t *testing.T) {
	ext := startView(t, map[string]string{"mail.contoso.test.": "203.0.113.10"}, dns.RcodeSuccess)
	intl := startView(t, map[string]string{"mail.contoso.test.": "caslb.contoso.test.", "caslb.contoso.test.": "10.0.0.20"}, dns.RcodeSuccess)
	env := dnsEnv(t, &Config{ExternalDNS: []string{ext.addr}, InternalDNS: []string{intl.addr},
		ExpectExternal: []string{"203.0.113.10"}, ExpectInternal: []string{"10.0.0.20"}})
	out := runCheck(t, env)
	if got := codes(out.Findings); !slices.Equal(got, []string{"DNS-CNAME"}) {
		t.Fatalf("codes %v, want only DNS-CNAME (internal alias)", got)
	}
	obs := out.Observed.(DNSObserved)
	if obs.Note != "" {
		t.Errorf("note %q with both views given", obs.Note)
	}
	if len(obs.Views) != 2 {
		t.Fatalf("views %+v", obs.Views)
	}
	e, i := obs.Views[0], obs.Views[1]
	if e.View != "external" || e.Resolver != ext.addr || e.Rcode != "NOERROR" || !slices.Equal(e.Addresses, []string{"203.0.113.10"}) || len(e.CNAMEs) != 0 {
		t.Errorf("external view %+v", e)
	}
	if i.View != "internal" || i.Resolver != intl.addr || !slices.Equal(i.Addresses, []string{"10.0.0.20"}) || !slices.Equal(i.CNAMEs, []string{"caslb.contoso.test"}) {
		t.Errorf("internal view %+v", i)
	}
	if obs.ConnectAddress != "203.0.113.10" || obs.ConnectSource != "external-dns "+ext.addr {
		t.Errorf("connect %q from %q", obs.ConnectAddress, obs.ConnectSource)
	}
	// the connect address reused the probe's queries: one A, one AAAA
	if n := ext.queries.Load(); n != 2 {
		t.Errorf("external resolver got %d queries, want 2", n)
	}
	b, err := json.Marshal(out.Observed)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"views":[`, `"view":"external"`, `"resolver":`, `"rcode":"NOERROR"`, `"addresses":["203.0.113.10"]`, `"cnames":[]`, `"rtt_ms":`, `"connect_address":"203.0.113.10"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("observed json lacks %s: %s", key, b)
		}
	}
}

func TestDNSRunFaults(t *testing.T) {
	ext := startView(t, map[string]string{"mail.contoso.test.": "10.0.0.20"}, dns.RcodeSuccess)
	intl := startView(t, nil, dns.RcodeServerFailure)
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	env := dnsEnv(t, &Config{ExternalDNS: []string{ext.addr}, InternalDNS: []string{intl.addr, dead.LocalAddr().String()},
		ExpectExternal: []string{"203.0.113.10"}})
	out := runCheck(t, env)
	want := []string{"DNS-EXT-PRIVATE-ADDRESS", "DNS-EXT-UNEXPECTED", "DNS-RESOLVER-FAILED", "DNS-RESOLVER-TIMEOUT"}
	if got := codes(out.Findings); !slices.Equal(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	obs := out.Observed.(DNSObserved)
	if obs.Views[1].Rcode != "SERVFAIL" || obs.Views[2].Rcode != "" || obs.Views[2].Error == "" {
		t.Errorf("views %+v", obs.Views)
	}
}

func TestDNSRunNXDOMAINLeavesNoConnectAddress(t *testing.T) {
	ext := startView(t, map[string]string{}, dns.RcodeSuccess)
	env := dnsEnv(t, &Config{ExternalDNS: []string{ext.addr}})
	out := runCheck(t, env)
	if got := codes(out.Findings); !slices.Equal(got, []string{"DNS-EXT-NXDOMAIN"}) {
		t.Fatalf("codes %v", got)
	}
	obs := out.Observed.(DNSObserved)
	if !strings.Contains(obs.Note, "--internal-dns") {
		t.Errorf("note %q does not say the internal view was not checked", obs.Note)
	}
	if obs.Views[0].Rcode != "NXDOMAIN" || obs.ConnectAddress != "" || obs.ConnectError == "" {
		t.Errorf("observed %+v", obs)
	}
}

func TestDNSRunSystemResolver(t *testing.T) {
	env := dnsEnv(t, &Config{ExpectExternal: []string{"203.0.113.10"}})
	env.LookupHost = func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "mail.contoso.test" {
			t.Errorf("looked up %q", host)
		}
		return ips("203.0.113.10"), nil
	}
	out := runCheck(t, env)
	if len(out.Findings) != 0 {
		t.Fatalf("findings %+v", out.Findings)
	}
	obs := out.Observed.(DNSObserved)
	if len(obs.Views) != 1 || obs.Views[0].View != "system" || obs.Views[0].Resolver != "system resolver" || obs.Note == "" {
		t.Errorf("observed %+v", obs)
	}
	if obs.ConnectSource != "system resolver" {
		t.Errorf("connect source %q", obs.ConnectSource)
	}

	env = dnsEnv(t, &Config{})
	env.LookupHost = func(context.Context, string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "mail.contoso.test", IsNotFound: true}
	}
	out = runCheck(t, env)
	if got := codes(out.Findings); !slices.Equal(got, []string{"DNS-EXT-NXDOMAIN"}) || out.Findings[0].Target != "system resolver" {
		t.Fatalf("findings %+v", out.Findings)
	}
}

func TestDNSRunBadExpectation(t *testing.T) {
	env := dnsEnv(t, &Config{ExpectInternal: []string{"cas1"}})
	out := DNSCheck.Run(context.Background(), env)
	if out.Err == nil || !strings.Contains(out.Err.Error(), "--expect-internal") {
		t.Fatalf("err %v, want a message naming --expect-internal", out.Err)
	}
}

// The probe must stay inside the run's deadline when a resolver never answers.
func TestDNSRunHonoursDeadline(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	env := dnsEnv(t, &Config{ExternalDNS: []string{dead.LocalAddr().String()}})
	env.DNS.Client.QueryTimeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out := DNSCheck.Run(ctx, env)
	if got := codes(out.Findings); !slices.Equal(got, []string{"DNS-RESOLVER-TIMEOUT"}) {
		t.Fatalf("codes %v", got)
	}
}

func TestDNSSkipsWithoutURI(t *testing.T) {
	if DNSCheck.Inputs(&Config{}) == "" {
		t.Error("dns runs without a host")
	}
}

func TestDNSRunDoesNotCallNetworkWhenInjected(t *testing.T) {
	// env.Dial carries every query, so a probe can run with no network at all
	env := dnsEnv(t, &Config{ExternalDNS: []string{"198.51.100.53:53"}})
	var dialled atomic.Int32
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled.Add(1)
		if addr != "198.51.100.53:53" {
			t.Errorf("dialled %s", addr)
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("network is unreachable")}
	}
	out := runCheck(t, env)
	if got := codes(out.Findings); !slices.Equal(got, []string{"DNS-RESOLVER-TIMEOUT"}) || dialled.Load() == 0 {
		t.Fatalf("codes %v after %d dials", got, dialled.Load())
	}
	if !reflect.DeepEqual(out.Observed.(DNSObserved).Views[0].Addresses, []string{}) {
		t.Error("addresses must be an empty list, not null")
	}
}

// TestDNSUnroutableResolverIsTheProbeHosts: a resolver the user named that
// this machine has no route to is exdiag's vantage point at fault (an
// error, exit 3), not a resolver that failed; a silent one stays a finding.
func TestDNSUnroutableResolverIsTheProbeHosts(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH} {
		env := dnsEnv(t, &Config{ExternalDNS: []string{"198.51.100.53:53"}})
		env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", errno)}
		}
		out := DNSCheck.Run(context.Background(), env)
		if out.Err == nil || !strings.Contains(out.Err.Error(), "probe host's network") {
			t.Errorf("%v: %v, want the probe host named", errno, out.Err)
		}
	}
}
