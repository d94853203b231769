// Package spnldap finds the accounts that own a servicePrincipalName in a
// directory (Active Directory, or any LDAP server whose schema carries AD's
// attribute), the way `setspn -Q` and `setspn -X` do.
package spnldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Limits on what one lookup may cost. An SPN has one owner when healthy and
// a handful when duplicated; more than maxOwners is reported as such.
//
// asn1-ber allocates a packet (about 250 bytes) for every element it
// decodes, and go-ldap keeps every value it returns, so the number of
// bytes read is not what bounds memory: one 3.8 MB entry of empty values
// (two bytes each) took over 500 MiB. maxMessage caps one LDAP message
// (an entry holding every SPN of an account is a few KB; 256 KiB of empty
// values is about 35 MiB of packets at worst), and maxReadBytes the whole
// conversation (a few dozen small answers plus a TLS handshake), so what
// go-ldap keeps stays in the tens of MiB.
const (
	maxOwners    = 20
	maxMessage   = 256 << 10
	maxReadBytes = 1 << 20 // everything read from the directory, TLS included
)

func init() {
	// asn1-ber's limit is a package variable (default 2 GiB). exdiag reads
	// BER only from directories, so the directory's bound applies to all;
	// it is set before any goroutine can read it.
	if ber.MaxPacketLengthBytes == 0 || ber.MaxPacketLengthBytes > maxMessage {
		ber.MaxPacketLengthBytes = maxMessage
	}
}

// Options says which directory to ask and how.
type Options struct {
	// URL is ldap://host[:port] or ldaps://host[:port]. StartTLS is asked
	// for with a "starttls" query: ldap://dc1.contoso.com/?starttls.
	URL      string
	Base     string // search base DN; empty asks the server's rootDSE
	BindName string // DN, UPN (user@realm) or DOMAIN\user: AD takes all three
	Password string
	Dial     netx.DialFunc
	RootCAs  *x509.CertPool // nil: the system's roots
}

// Endpoint is what a URL asks for.
type Endpoint struct {
	Addr     string // host:port
	Host     string
	TLS      bool // ldaps://
	StartTLS bool
}

// ParseURL reads an --ldap value.
func ParseURL(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// the value is not echoed: a mistyped URL may carry user:password
		return Endpoint{}, errors.New("the directory address is not an ldap:// or ldaps:// URL; give --ldap ldaps://dc1.contoso.com")
	}
	e := Endpoint{Host: u.Hostname()}
	port := u.Port()
	switch strings.ToLower(u.Scheme) {
	case "ldap":
		if port == "" {
			port = "389"
		}
		e.StartTLS = strings.Contains(strings.ToLower(u.RawQuery), "starttls")
	case "ldaps":
		if port == "" {
			port = "636"
		}
		e.TLS = true
	default:
		return Endpoint{}, fmt.Errorf("the directory address has scheme %q; use ldap:// (with ?starttls) or ldaps://", u.Scheme)
	}
	e.Addr = net.JoinHostPort(e.Host, port)
	return e, nil
}

// Encrypted is true when the bind travels inside TLS.
func (e Endpoint) Encrypted() bool { return e.TLS || e.StartTLS }

// Loopback is true when the URL names this machine, the one case a
// plain-text simple bind exposes the password to nobody else. It is a
// promise about the name only: Open also checks the address it dialled.
func (e Endpoint) Loopback() bool {
	if IsLocalhost(e.Host) {
		return true
	}
	ip, err := netip.ParseAddr(e.Host)
	return err == nil && ip.IsLoopback()
}

// IsLocalhost is true for "localhost" and names under it, which RFC 6761
// says resolve to loopback without asking DNS; a resolver that answers
// for them is not to be believed.
func IsLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// dialledLoopback is true when c really goes to a loopback address.
func dialledLoopback(c net.Conn) bool {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// ErrPlainBind refuses to send a password over an unencrypted connection.
var ErrPlainBind = errors.New("refusing to send the password over plain ldap:// to a remote directory; use ldaps://HOST or ldap://HOST/?starttls")

// BindError is a bind the directory refused.
type BindError struct {
	Code uint16
	Err  error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("the directory refused the bind: %v", e.Err)
}

// InvalidCredentials is true for LDAP result 49, a wrong name or password.
func (e *BindError) InvalidCredentials() bool { return e.Code == ldap.LDAPResultInvalidCredentials }

// Owner is an account that carries the SPN.
type Owner struct {
	DN      string
	Account string // sAMAccountName when the directory has it, else the DN
}

// Client is an open, bound directory connection.
type Client struct {
	conn *ldap.Conn
	base string
	stop func() bool
}

// Open connects, secures the connection when the URL asks for it, binds
// and finds the search base. Close it when done.
func Open(ctx context.Context, o Options) (*Client, error) {
	ep, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if o.Password != "" && !ep.Encrypted() && !ep.Loopback() {
		return nil, ErrPlainBind
	}
	dial := o.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", ep.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the directory at %s: %v; check --ldap and the firewall", ep.Addr, err)
	}
	if o.Password != "" && !ep.Encrypted() && !dialledLoopback(raw) {
		// "localhost" answered by a resolver, or a dialer that went
		// elsewhere: the address decides, not the name
		raw.Close()
		return nil, fmt.Errorf("%s reached %s, not this machine: %w", ep.Host, raw.RemoteAddr(), ErrPlainBind)
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	var nc net.Conn = &limitConn{Conn: raw, left: maxReadBytes}
	tcfg := &tls.Config{ServerName: ep.Host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	if ep.TLS {
		tc := tls.Client(nc, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls with the directory at %s failed: %v; check the certificate or give --ca-file", ep.Addr, err)
		}
		nc = tc
	}
	conn := ldap.NewConn(nc, ep.TLS)
	conn.Start()
	c := &Client{conn: conn}
	// Closing the socket is what unblocks go-ldap's reader when the run's
	// deadline passes; its own request timeout covers each request.
	c.stop = context.AfterFunc(ctx, func() { raw.Close() })
	if dl, ok := ctx.Deadline(); ok {
		conn.SetTimeout(time.Until(dl))
	}
	if ep.StartTLS {
		if err := conn.StartTLS(tcfg); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls with the directory at %s failed: %v; check the certificate, give --ca-file, or use ldaps://", ep.Addr, ctxErr(ctx, err))
		}
	}
	if o.BindName != "" {
		if err := conn.Bind(o.BindName, o.Password); err != nil {
			c.Close()
			var le *ldap.Error
			if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork {
				return nil, &BindError{Code: le.ResultCode, Err: err}
			}
			return nil, fmt.Errorf("bind to the directory at %s failed: %v", ep.Addr, ctxErr(ctx, err))
		}
	}
	c.base = o.Base
	if c.base == "" {
		if c.base, err = c.defaultBase(); err != nil {
			c.Close()
			return nil, fmt.Errorf("the directory at %s names no default naming context (%v); give --ldap-base DC=contoso,DC=com", ep.Addr, ctxErr(ctx, err))
		}
	}
	return c, nil
}

// defaultBase reads the rootDSE's defaultNamingContext, as AD tools do.
func (c *Client) defaultBase() (string, error) {
	sr, err := c.conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"defaultNamingContext", "namingContexts"}, nil))
	if err != nil {
		return "", err
	}
	if len(sr.Entries) == 1 {
		if v := sr.Entries[0].GetAttributeValue("defaultNamingContext"); v != "" {
			return v, nil
		}
		if v := sr.Entries[0].GetAttributeValues("namingContexts"); len(v) == 1 {
			return v[0], nil
		}
	}
	return "", errors.New("no defaultNamingContext in the rootDSE")
}

// Base is the search base in use.
func (c *Client) Base() string { return c.base }

// Close ends the connection.
func (c *Client) Close() {
	if c.stop != nil {
		c.stop()
	}
	c.conn.Close()
}

// Owners returns the accounts whose servicePrincipalName equals spn.
// Matching is the directory's (case-insensitive for AD's attribute); the
// value is escaped, so a name cannot change the filter.
func (c *Client) Owners(ctx context.Context, spn string) ([]Owner, error) {
	timeLimit := 10
	if dl, ok := ctx.Deadline(); ok {
		timeLimit = max(1, int(time.Until(dl)/time.Second))
	}
	req := ldap.NewSearchRequest(c.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, maxOwners+1, timeLimit, false,
		"(servicePrincipalName="+ldap.EscapeFilter(spn)+")", []string{"sAMAccountName", "servicePrincipalName"}, nil)
	sr, err := c.conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("the search base %s does not exist in the directory; check --ldap-base", c.base)
	}
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("searching %s for %s failed: %v", c.base, spn, ctxErr(ctx, err))
	}
	if sr == nil {
		return nil, fmt.Errorf("searching %s for %s gave no result", c.base, spn)
	}
	var out []Owner
	for _, e := range sr.Entries {
		// Defend against a directory whose matching rule is looser than
		// AD's: keep only entries that really carry the value.
		if !hasValue(e.GetAttributeValues("servicePrincipalName"), spn) {
			continue
		}
		o := Owner{DN: e.DN, Account: e.GetAttributeValue("sAMAccountName")}
		if o.Account == "" {
			o.Account = e.DN
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out, nil
}

func hasValue(vals []string, want string) bool {
	for _, v := range vals {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%v (%v)", err, ctx.Err())
	}
	return err
}

// limitConn fails reads once a budget is spent, so a hostile directory
// cannot feed go-ldap an unbounded packet.
type limitConn struct {
	net.Conn
	left int64
}

func (c *limitConn) Read(p []byte) (int, error) {
	if atomic.LoadInt64(&c.left) <= 0 {
		return 0, errors.New("the directory sent more than the read limit")
	}
	n, err := c.Conn.Read(p)
	atomic.AddInt64(&c.left, -int64(n))
	return n, err
}
