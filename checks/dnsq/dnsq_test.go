package dnsq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/miekg/dns"
)

// serve runs h on a loopback UDP and TCP port (the same number) and
// returns "127.0.0.1:port".
func serve(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for i := 0; ; i++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		pc.Close()
		if i > 20 {
			t.Fatal(err)
		}
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// rawUDP answers every datagram with reply(query) (nil: no answer).
func rawUDP(t *testing.T, reply func(q []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(append([]byte(nil), buf[:n]...)); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// zone answers like an authoritative server for the records given as
// zone-file lines, following CNAMEs inside the zone.
func zone(t *testing.T, lines ...string) dns.HandlerFunc {
	t.Helper()
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	return func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		name, qt := q.Question[0].Name, q.Question[0].Qtype
		for hop := 0; hop < 8; hop++ {
			found, next := false, ""
			for _, rr := range rrs {
				if !equalFold(rr.Header().Name, name) {
					continue
				}
				found = true
				if rr.Header().Rrtype == qt {
					m.Answer = append(m.Answer, rr)
				} else if c, ok := rr.(*dns.CNAME); ok {
					m.Answer = append(m.Answer, rr)
					next = c.Target
				}
			}
			if !found {
				m.Rcode = dns.RcodeNameError
				break
			}
			if next == "" {
				break
			}
			name = next
		}
		w.WriteMsg(m)
	}
}

func equalFold(a, b string) bool { return dns.CanonicalName(a) == dns.CanonicalName(b) }

func client() *Client { return &Client{QueryTimeout: 300 * time.Millisecond} }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestLookupAddresses(t *testing.T) {
	srv := serve(t, zone(t,
		"mail.contoso.test. 60 IN A 203.0.113.10",
		"mail.contoso.test. 60 IN AAAA 2001:db8::10",
	))
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || ans.RcodeName() != "NOERROR" {
		t.Fatalf("err %v rcode %s", ans.Err, ans.RcodeName())
	}
	if want := addrs("203.0.113.10", "2001:db8::10"); !reflect.DeepEqual(ans.Addresses, want) {
		t.Errorf("addresses %v, want %v", ans.Addresses, want)
	}
	if len(ans.CNAMEs) != 0 {
		t.Errorf("cnames %v, want none", ans.CNAMEs)
	}
	if ans.RTT == 0 {
		t.Error("rtt not recorded")
	}
	if ans.Resolver != srv {
		t.Errorf("resolver %q", ans.Resolver)
	}
}

func TestLookupNXDOMAIN(t *testing.T) {
	srv := serve(t, zone(t, "other.contoso.test. 60 IN A 203.0.113.10"))
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || ans.Rcode != dns.RcodeNameError || ans.RcodeName() != "NXDOMAIN" || len(ans.Addresses) != 0 {
		t.Fatalf("got %+v, want NXDOMAIN without error", ans)
	}
}

func TestLookupCNAMEChainInOneAnswer(t *testing.T) {
	srv := serve(t, zone(t,
		"mail.contoso.test. 60 IN CNAME proxy.contoso.test.",
		"proxy.contoso.test. 60 IN CNAME edge.contoso.test.",
		"edge.contoso.test. 60 IN A 203.0.113.10",
	))
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || !reflect.DeepEqual(ans.Addresses, addrs("203.0.113.10")) {
		t.Fatalf("got %+v", ans)
	}
	if want := []string{"proxy.contoso.test", "edge.contoso.test"}; !reflect.DeepEqual(ans.CNAMEs, want) {
		t.Errorf("cnames %v, want %v", ans.CNAMEs, want)
	}
}

// A resolver may return only the alias (the target lives in another zone);
// the client must ask again for the target.
func TestLookupCNAMEAcrossQueries(t *testing.T) {
	full := zone(t,
		"mail.contoso.test. 60 IN CNAME proxy.fabrikam.test.",
		"proxy.fabrikam.test. 60 IN A 203.0.113.11",
	)
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		if equalFold(q.Question[0].Name, "mail.contoso.test.") {
			m := new(dns.Msg)
			m.SetReply(q)
			rr, _ := dns.NewRR("mail.contoso.test. 60 IN CNAME proxy.fabrikam.test.")
			m.Answer = []dns.RR{rr}
			w.WriteMsg(m)
			return
		}
		full(w, q)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || !reflect.DeepEqual(ans.Addresses, addrs("203.0.113.11")) || !reflect.DeepEqual(ans.CNAMEs, []string{"proxy.fabrikam.test"}) {
		t.Fatalf("got %+v", ans)
	}
}

func TestLookupCNAMEToNXDOMAINKeepsChain(t *testing.T) {
	srv := serve(t, zone(t, "mail.contoso.test. 60 IN CNAME gone.contoso.test."))
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || ans.Rcode != dns.RcodeNameError {
		t.Fatalf("got %+v, want NXDOMAIN", ans)
	}
	if !reflect.DeepEqual(ans.CNAMEs, []string{"gone.contoso.test"}) {
		t.Errorf("cnames %v", ans.CNAMEs)
	}
}

func TestLookupCNAMELoopAcrossQueries(t *testing.T) {
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		target := "a.contoso.test."
		if equalFold(q.Question[0].Name, target) {
			target = "b.contoso.test."
		}
		m.Answer = []dns.RR{&dns.CNAME{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: target}}
		w.WriteMsg(m)
	})
	ans := client().Lookup(ctx(t), srv, "a.contoso.test")
	if !errors.Is(ans.Err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed for an endless alias chain", ans.Err)
	}
}

func TestTruncatedRetriesOverTCP(t *testing.T) {
	var tcpQueries atomic.Int32
	full := zone(t, "mail.contoso.test. 60 IN A 203.0.113.10")
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		if w.RemoteAddr().Network() == "udp" {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
		tcpQueries.Add(1)
		full(w, q)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || !reflect.DeepEqual(ans.Addresses, addrs("203.0.113.10")) {
		t.Fatalf("got %+v", ans)
	}
	if n := tcpQueries.Load(); n != 2 {
		t.Errorf("%d queries over tcp, want 2 (A and AAAA)", n)
	}
}

func TestRcodeFailures(t *testing.T) {
	for _, rc := range []int{dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeNotImplemented} {
		srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetRcode(q, rc)
			w.WriteMsg(m)
		})
		ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
		if ans.Err != nil || ans.Rcode != rc || ans.RcodeName() != dns.RcodeToString[rc] {
			t.Errorf("rcode %d: got %+v", rc, ans)
		}
	}
}

func TestGarbageIsMalformed(t *testing.T) {
	srv := rawUDP(t, func(q []byte) []byte {
		// the query's id, then bytes that claim one answer and end
		return append(q[:2:2], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if !errors.Is(ans.Err, ErrMalformed) || ans.Timeout() {
		t.Fatalf("err %v, want ErrMalformed", ans.Err)
	}
}

func TestMismatchedQuestionIsMalformed(t *testing.T) {
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Question[0].Name = "evil.example."
		w.WriteMsg(m)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if !errors.Is(ans.Err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed", ans.Err)
	}
}

func TestMismatchedTypeIsMalformed(t *testing.T) {
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Question[0].Qtype = dns.TypeMX
		w.WriteMsg(m)
	})
	if ans := client().Lookup(ctx(t), srv, "mail.contoso.test"); !errors.Is(ans.Err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed", ans.Err)
	}
}

// A datagram with another id is someone else's (or spoofed): it is
// ignored and the real answer still counts.
func TestForeignIDIgnored(t *testing.T) {
	good := zone(t, "mail.contoso.test. 60 IN A 203.0.113.10")
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		spoof := new(dns.Msg)
		spoof.SetReply(q)
		spoof.Id = q.Id + 1
		spoof.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)}}
		w.WriteMsg(spoof)
		good(w, q)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || !reflect.DeepEqual(ans.Addresses, addrs("203.0.113.10")) {
		t.Fatalf("got %+v", ans)
	}
}

func TestNeverAnswersTimesOutWithinDeadline(t *testing.T) {
	srv := rawUDP(t, func([]byte) []byte { return nil })
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ans := client().Lookup(c, srv, "mail.contoso.test")
	if !ans.Timeout() || ans.Rcode != -1 || ans.RcodeName() != "" {
		t.Fatalf("got %+v, want a timeout", ans)
	}
	// the same words whichever deadline fired first, so reports are stable
	if got := ans.Err.Error(); got != "no answer over udp: context deadline exceeded" {
		t.Errorf("error %q", got)
	}
	if c.Err() != nil {
		t.Error("the lookup used up the caller's whole deadline instead of its query timeout")
	}
}

// Without a query timeout the caller's deadline alone must stop the wait.
func TestCallerDeadlineStopsQuery(t *testing.T) {
	srv := rawUDP(t, func([]byte) []byte { return nil })
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ans := (&Client{}).Lookup(c, srv, "mail.contoso.test")
	if !ans.Timeout() {
		t.Fatalf("err %v, want a timeout", ans.Err)
	}
}

func TestLostDatagramIsRetried(t *testing.T) {
	var n atomic.Int32
	good := zone(t, "mail.contoso.test. 60 IN A 203.0.113.10")
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		if q.Question[0].Qtype == dns.TypeA && n.Add(1) == 1 {
			return // drop the first A query
		}
		good(w, q)
	})
	ans := client().Lookup(ctx(t), srv, "mail.contoso.test")
	if ans.Err != nil || !reflect.DeepEqual(ans.Addresses, addrs("203.0.113.10")) {
		t.Fatalf("got %+v", ans)
	}
}

func TestUnreachableIsNotMalformed(t *testing.T) {
	c := &Client{Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "udp", Err: errors.New("network is unreachable")}
	}}
	ans := c.Lookup(ctx(t), "192.0.2.53:53", "mail.contoso.test")
	if ans.Err == nil || errors.Is(ans.Err, ErrMalformed) {
		t.Fatalf("err %v, want a transport error", ans.Err)
	}
}

func TestCacheSharesQueries(t *testing.T) {
	var n atomic.Int32
	good := zone(t, "mail.contoso.test. 60 IN A 203.0.113.10")
	srv := serve(t, func(w dns.ResponseWriter, q *dns.Msg) {
		n.Add(1)
		good(w, q)
	})
	cache := &Cache{Client: client()}
	done := make(chan Answer, 4)
	for range 4 {
		go func() { done <- cache.Lookup(ctx(t), srv, "MAIL.contoso.test") }()
	}
	for range 4 {
		if a := <-done; !reflect.DeepEqual(a.Addresses, addrs("203.0.113.10")) {
			t.Fatalf("got %+v", a)
		}
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d queries reached the server, want 2 (one A, one AAAA)", got)
	}
}

// pipeDial answers each query on an in-memory stream with reply(query),
// framed as DNS over TCP.
func pipeDial(reply func(q []byte) []byte) netx.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			var l [2]byte
			if _, err := io.ReadFull(server, l[:]); err != nil {
				return
			}
			q := make([]byte, int(l[0])<<8|int(l[1]))
			if _, err := io.ReadFull(server, q); err != nil {
				return
			}
			out := reply(q)
			server.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...))
		}()
		return client, nil
	}
}

// FuzzLookup feeds arbitrary answers (carrying the query's id, so they get
// past the first check) to the client: it must return an answer or an
// error, never panic or hang.
func FuzzLookup(f *testing.F) {
	m := new(dns.Msg)
	m.SetQuestion("mail.contoso.test.", dns.TypeA)
	m.Response = true
	m.Answer = []dns.RR{
		&dns.CNAME{Hdr: dns.RR_Header{Name: "mail.contoso.test.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET}, Target: "mail.contoso.test."},
		&dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(10, 0, 0, 1)},
	}
	seed, _ := m.Pack()
	f.Add(seed)
	f.Add([]byte{0, 0, 0x81, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Client{Dial: pipeDial(func(q []byte) []byte {
			out := append([]byte(nil), data...)
			if len(out) >= 2 && len(q) >= 2 {
				copy(out, q[:2])
			}
			if len(out) > 0xffff {
				out = out[:0xffff]
			}
			return out
		})}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ans := c.Lookup(ctx, "192.0.2.53:53", "mail.contoso.test")
		if ans.Err == nil && ans.Rcode < 0 {
			t.Fatalf("no error and no rcode: %+v", ans)
		}
	})
}
