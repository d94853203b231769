package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/dnsq"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/checks/wsman"
)

// Env is what a probe may use: the configuration and the network seams.
// Probes never dial, resolve or read the clock except through Env, so
// unit tests can hand them in-process fakes.
type Env struct {
	Config *Config
	// Dial opens raw connections (tests inject fakes). Probes that talk
	// to the target use DialTarget, which applies --resolve and the
	// external DNS view on top of it.
	Dial netx.DialFunc
	// LookupHost is the system resolver, used when no --external-dns is given.
	LookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
	// LookupSRV is the system resolver's SRV lookup (net.Resolver's
	// signature), used for the KDC of a realm when no --internal-dns is given.
	LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	Now       func() time.Time
	// DNS memoizes queries to named resolvers, shared by every probe.
	DNS *dnsq.Cache
	// Budgets, when its fields are set, shortens per-exchange budgets
	// (tests do, to reach a stalled server's finding quickly).
	Budgets Budgets
	// Logf writes progress to stderr when -v is given; never to stdout.
	// The runner scrubs every line and serialises the calls.
	Logf func(format string, args ...any)
	// Progress, when set, hears each check's state as it changes: "running"
	// when it starts, then its final status. It must not block.
	Progress func(checkID, state string)

	connectOnce sync.Once
	connect     ConnectAddr
	systemOnce  sync.Once
	systemAddrs []netip.Addr
	systemErr   error
	trustOnce   sync.Once
	trust       trust
	cred        credentialGuard
	lead        *leadCreate // set by Run when rbac's Create is the lead logon
	scrubOnce   sync.Once
	scrub       *scrubber

	transportsMu sync.Mutex
	transports   map[string]*http.Transport // by scheme://host:port, see EndpointTransport
	dialCtx      context.Context            // ends the transports' dials with the run (CloseIdle)
	dialStop     context.CancelFunc

	// the run's Windows logon mechanism (winmech.go): built once, so the
	// auth probe and the rbac session share one ticket
	winOnce    sync.Once
	win        *winMech
	winMechFor func(ctx context.Context, u *url.URL) *winMech // tests inject fake contexts; nil: winauth's
	winKept    *winauth.Transport                             // the auth probe's logged-on connection, for rbac
	winRefused string                                         // why the auth probe's Windows logon was refused, for rbac
}

type trust struct {
	roots *x509.CertPool
	extra []*x509.Certificate
	err   error
}

// Trust loads the system roots and every --ca-file once per run, for
// the tls probe's verification and the session probes' TLS alike.
func (e *Env) Trust() (*x509.CertPool, []*x509.Certificate, error) {
	e.trustOnce.Do(func() {
		e.trust.roots, e.trust.extra, e.trust.err = tlsinspect.LoadTrust(e.Config.CAFiles)
	})
	return e.trust.roots, e.trust.extra, e.trust.err
}

// ClientTLS is the TLS configuration of a probe that talks to the
// endpoint as New-PSSession would (see tlsinspect.ClientConfig).
func (e *Env) ClientTLS() (*tls.Config, error) {
	roots, extra, err := e.Trust()
	if err != nil {
		return nil, err
	}
	return tlsinspect.ClientConfig(roots, extra, e.Config.SkipCACheck, e.Config.SkipCNCheck), nil
}

// SystemLookup asks the system resolver for the URI's host once per run,
// so the dns probe and the connect address share one lookup.
func (e *Env) SystemLookup(ctx context.Context) ([]netip.Addr, error) {
	e.systemOnce.Do(func() { e.systemAddrs, e.systemErr = e.LookupHost(ctx, e.Config.Host) })
	return e.systemAddrs, e.systemErr
}

// NewEnv fills the seams with the real network.
func NewEnv(cfg *Config) *Env {
	d := &net.Dialer{}
	e := &Env{
		Config: cfg,
		Dial:   d.DialContext,
		LookupHost: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		LookupSRV: net.DefaultResolver.LookupSRV,
		Now:       time.Now,
		Logf:      func(string, ...any) {},
	}
	e.DNS = &dnsq.Cache{Client: &dnsq.Client{Dial: e.dial, QueryTimeout: DNSQueryBudget}}
	return e
}

func (e *Env) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return e.Dial(ctx, network, addr)
}

// ConnectAddr is the address an internet client would reach for the URI's
// host, and where it came from.
type ConnectAddr struct {
	Addr   netip.Addr
	Source string // "resolve", "external-dns <server>", "system resolver"
	Err    error
}

// Connect returns the address the tls, redirect, auth and rbac probes use
// for the URI's host: --resolve wins, else the first external resolver's
// answer (the same query the dns probe makes), else the system resolver.
// It resolves once per run.
func (e *Env) Connect(ctx context.Context) ConnectAddr {
	e.connectOnce.Do(func() { e.connect = e.resolveConnect(ctx) })
	return e.connect
}

func (e *Env) resolveConnect(ctx context.Context) ConnectAddr {
	c := e.Config
	for _, r := range c.Resolve {
		if strings.EqualFold(r.Host, c.Host) {
			if ip, err := netip.ParseAddr(r.Addr); err == nil {
				return ConnectAddr{Addr: ip, Source: "resolve"}
			}
		}
	}
	for _, srv := range c.ExternalDNS {
		ans := e.DNS.Lookup(ctx, srv, c.Host)
		if len(ans.Addresses) > 0 {
			return ConnectAddr{Addr: ans.Addresses[0], Source: "external-dns " + srv}
		}
	}
	if len(c.ExternalDNS) > 0 {
		return ConnectAddr{Err: fmt.Errorf("%s has no address in the external view; check the dns results", c.Host)}
	}
	addrs, err := e.SystemLookup(ctx)
	if err != nil || len(addrs) == 0 {
		if err == nil {
			err = fmt.Errorf("no address")
		}
		return ConnectAddr{Err: fmt.Errorf("cannot resolve %s with the system resolver (%v); give --resolve %s:%d:ADDR or --external-dns", c.Host, err, c.Host, c.Port)}
	}
	return ConnectAddr{Addr: addrs[0], Source: "system resolver"}
}

// DialTarget dials addr (host:port) as the probes of the target must:
// a --resolve entry for that host and port wins (curl semantics), the URI's
// host goes to Connect's address, and any other host (a --backend seen
// from the proxy) is dialled as named.
func (e *Env) DialTarget(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, _ := strconv.Atoi(port)
	for _, r := range e.Config.Resolve {
		if strings.EqualFold(r.Host, host) && (r.Port == p || r.Port == 0) {
			return e.Dial(ctx, network, net.JoinHostPort(r.Addr, port))
		}
	}
	if strings.EqualFold(host, e.Config.Host) {
		ca := e.Connect(ctx)
		if ca.Err != nil {
			return nil, ca.Err
		}
		return e.Dial(ctx, network, net.JoinHostPort(ca.Addr.String(), port))
	}
	return e.Dial(ctx, network, addr)
}

// Budgets overrides the consts of budgets.go for one run; a zero field
// keeps the const.
type Budgets struct {
	Request     time.Duration // RequestBudget
	Exchange    time.Duration // ExchangeBudget
	KDCExchange time.Duration // KDCExchangeBudget
	LDAP        time.Duration // LDAPBudget
	Session     time.Duration // SessionRequestBudget
	Overrun     time.Duration // OverrunGrace
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (e *Env) requestBudget() time.Duration  { return orDefault(e.Budgets.Request, RequestBudget) }
func (e *Env) exchangeBudget() time.Duration { return orDefault(e.Budgets.Exchange, ExchangeBudget) }
func (e *Env) kdcBudget() time.Duration      { return orDefault(e.Budgets.KDCExchange, KDCExchangeBudget) }
func (e *Env) ldapBudget() time.Duration     { return orDefault(e.Budgets.LDAP, LDAPBudget) }
func (e *Env) overrunGrace() time.Duration   { return orDefault(e.Budgets.Overrun, OverrunGrace) }

func (e *Env) sessionBudgets() wsman.Budgets {
	return wsman.Budgets{Request: orDefault(e.Budgets.Session, SessionRequestBudget), ReceiveWait: ReceiveWait,
		Delete: ShellDeleteBudget, LateDelete: LateShellDeleteBudget}
}
