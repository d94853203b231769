// Package dnsq asks named resolvers for a host's addresses the way a
// diagnostic must: explicit servers, the raw rcode, CNAMEs kept, UDP with a
// retry over TCP when the answer is truncated, and a deadline on every query.
package dnsq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/miekg/dns"
)

// maxCNAMEHops bounds how far a CNAME chain is followed across queries.
const maxCNAMEHops = 8

// maxMsgSize bounds what is read from a resolver (EDNS0 buffer, TCP length).
const maxMsgSize = 4096

// Answer is what one resolver said about one host.
type Answer struct {
	Resolver  string
	Rcode     int          // dns.RcodeSuccess, dns.RcodeNameError, …; -1 when no answer came
	Addresses []netip.Addr // A then AAAA, after following CNAMEs
	CNAMEs    []string     // the alias chain, in order, without trailing dots
	RTT       time.Duration
	Err       error // transport failure, timeout or malformed answer
}

// RcodeName is the rcode as dig prints it, or "" when no answer came.
func (a Answer) RcodeName() string {
	if a.Rcode < 0 {
		return ""
	}
	if s, ok := dns.RcodeToString[a.Rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", a.Rcode)
}

// Timeout reports whether the resolver failed to answer in time.
func (a Answer) Timeout() bool { return a.Err != nil && netx.IsTimeout(a.Err) }

// ErrMalformed marks an answer that did not parse or did not match the query.
var ErrMalformed = errors.New("malformed answer")

// Client queries resolvers over the injected dialer.
type Client struct {
	Dial netx.DialFunc
	// QueryTimeout caps one query inside the caller's deadline, so a lost
	// UDP datagram leaves time for the retry.
	QueryTimeout time.Duration
}

// Lookup resolves host's A and AAAA records on server (host:port),
// following CNAMEs within the resolver's answers and, when the resolver
// returns only the alias, by asking again for its target.
func (c *Client) Lookup(ctx context.Context, server, host string) (ans Answer) {
	ans = Answer{Resolver: server, Rcode: -1}
	start := time.Now()
	// a named result, so the deferred RTT lands in what the caller gets
	defer func() { ans.RTT = time.Since(start) }()

	type res struct {
		qtype uint16
		rcode int
		addrs []netip.Addr
		cname []string
		err   error
	}
	var wg sync.WaitGroup
	out := make([]res, 2)
	for i, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := res{qtype: qt}
			r.rcode, r.addrs, r.cname, r.err = c.follow(ctx, server, host, qt)
			out[i] = r
		}()
	}
	wg.Wait()

	a, aaaa := out[0], out[1]
	switch {
	case a.err != nil && aaaa.err != nil:
		ans.Err = a.err
		return ans
	case a.err != nil:
		a = aaaa
	}
	ans.Rcode = a.rcode
	ans.CNAMEs = a.cname
	if len(ans.CNAMEs) == 0 {
		ans.CNAMEs = aaaa.cname
	}
	ans.Addresses = append(ans.Addresses, a.addrs...)
	if aaaa.err == nil && aaaa.rcode == dns.RcodeSuccess && a.qtype != aaaa.qtype {
		ans.Addresses = append(ans.Addresses, aaaa.addrs...)
	}
	return ans
}

func (c *Client) follow(ctx context.Context, server, host string, qtype uint16) (int, []netip.Addr, []string, error) {
	var chain []string
	name := dns.Fqdn(host)
	for hop := 0; hop < maxCNAMEHops; hop++ {
		m, err := c.Exchange(ctx, server, name, qtype)
		if err != nil {
			return -1, nil, chain, err
		}
		// walk even a failed answer: an NXDOMAIN at the end of an alias
		// chain carries the CNAMEs that lead there, and they are evidence
		addrs, target := walk(m.Answer, name, qtype, &chain)
		if m.Rcode != dns.RcodeSuccess {
			return m.Rcode, nil, chain, nil
		}
		if len(addrs) > 0 || target == "" {
			return m.Rcode, addrs, chain, nil
		}
		name = target // the resolver gave only the alias: ask for its target
	}
	return dns.RcodeSuccess, nil, chain, fmt.Errorf("%w: CNAME chain longer than %d", ErrMalformed, maxCNAMEHops)
}

// walk follows name through the answer section's CNAMEs and returns the
// addresses of the final name, or the unresolved CNAME target.
func walk(rrs []dns.RR, name string, qtype uint16, chain *[]string) ([]netip.Addr, string) {
	seen := map[string]bool{}
	cur := strings.ToLower(name)
	for !seen[cur] {
		seen[cur] = true
		var addrs []netip.Addr
		next, owned := "", false
		for _, rr := range rrs {
			if !strings.EqualFold(rr.Header().Name, cur) {
				continue
			}
			owned = true
			switch v := rr.(type) {
			case *dns.A:
				if qtype == dns.TypeA {
					if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
						addrs = append(addrs, ip)
					}
				}
			case *dns.AAAA:
				if qtype == dns.TypeAAAA {
					if ip, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
						addrs = append(addrs, ip)
					}
				}
			case *dns.CNAME:
				next = strings.ToLower(v.Target)
			}
		}
		if len(addrs) > 0 {
			return addrs, ""
		}
		if next == "" {
			if !owned && cur != strings.ToLower(name) {
				return nil, cur // the alias target is not in this answer: ask for it
			}
			return nil, ""
		}
		*chain = append(*chain, strings.TrimSuffix(next, "."))
		cur = next
	}
	return nil, "" // a CNAME loop inside one answer: no address
}

// udpTries is how often a query whose UDP answer never came is sent,
// as long as the caller's deadline allows: one lost datagram must not
// read as a dead resolver.
const udpTries = 2

// Exchange sends one query over UDP, again when the datagram got no
// answer in QueryTimeout, and repeats it over TCP when the answer is
// truncated.
func (c *Client) Exchange(ctx context.Context, server, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.RecursionDesired = true
	q.SetEdns0(maxMsgSize, false)
	var m *dns.Msg
	var err error
	for try := 1; ; try++ {
		m, err = c.exchange(ctx, "udp", server, q)
		if err == nil || try >= udpTries || ctx.Err() != nil || !netx.IsTimeout(err) {
			break
		}
	}
	if err == nil && m.Truncated {
		m, err = c.exchange(ctx, "tcp", server, q)
	}
	return m, err
}

func (c *Client) exchange(ctx context.Context, network, server string, q *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := netx.Attempt(ctx, c.QueryTimeout)
	defer cancel()
	conn, release, err := netx.DialBound(ctx, c.Dial, network, server)
	if err != nil {
		return nil, err
	}
	defer release()

	dc := &dns.Conn{Conn: conn, UDPSize: maxMsgSize}
	q.Id = dns.Id()
	if err := dc.WriteMsg(q); err != nil {
		return nil, netx.CtxErr(ctx, err)
	}
	for {
		m, err := dc.ReadMsg()
		if err != nil {
			// the conn deadline and the context fire together; say the
			// same thing whichever won, so reports do not flicker
			if ctx.Err() != nil || netx.IsTimeout(err) {
				return nil, fmt.Errorf("no answer over %s: %w", network, context.DeadlineExceeded)
			}
			var ne net.Error
			if errors.As(err, &ne) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if m.Id != q.Id {
			if network == "udp" {
				continue // a stale or spoofed datagram; keep waiting for ours
			}
			return nil, fmt.Errorf("%w: answer id %d does not match query id %d", ErrMalformed, m.Id, q.Id)
		}
		if !m.Response || !sameQuestion(m, q) {
			return nil, fmt.Errorf("%w: answer does not match the question", ErrMalformed)
		}
		return m, nil
	}
}

// sameQuestion reports whether m answers q's question. Servers may echo
// the name in another letter case (0x20 randomisation), so names compare
// without case.
func sameQuestion(m, q *dns.Msg) bool {
	if len(m.Question) != 1 {
		return false
	}
	a, b := m.Question[0], q.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// Cache memoizes Lookup per resolver and host so the dns probe and the
// probes that need the connect address share one set of queries.
type Cache struct {
	Client *Client
	mu     sync.Mutex
	calls  map[string]*call
}

type call struct {
	done chan struct{}
	ans  Answer
}

// Lookup returns the cached answer or asks once; concurrent callers wait
// for the same query.
func (c *Cache) Lookup(ctx context.Context, server, host string) Answer {
	key := server + "\x00" + strings.ToLower(host)
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]*call{}
	}
	cl, ok := c.calls[key]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.calls[key] = cl
		c.mu.Unlock()
		cl.ans = c.Client.Lookup(ctx, server, host)
		close(cl.done)
		return cl.ans
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.ans
	case <-ctx.Done():
		return Answer{Resolver: server, Rcode: -1, Err: ctx.Err()}
	}
}
