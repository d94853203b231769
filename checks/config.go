package checks

import (
	"net/url"
	"time"
)

// Config is everything a run needs, built from flags by cmd/exdiag (or by
// the lab, which produces the same flags).
type Config struct {
	URI    *url.URL // the ConnectionUri
	Host   string   // URI host without port
	Port   int      // URI port, defaulted from the scheme
	Checks []string // selected check ids; empty means all

	ExternalDNS    []string // host:port of resolvers an internet client uses
	InternalDNS    []string // host:port of resolvers the proxy/CAS side uses
	ExpectExternal []string // addresses the external view must return
	ExpectInternal []string // addresses the internal view must return
	Resolve        []ResolveEntry
	Backends       []*url.URL

	User           string
	Password       Secret
	Authentication string // basic | negotiate | kerberos | ntlm (AuthBasic…)
	CAFiles        []string
	SkipCACheck    bool
	SkipCNCheck    bool
	FetchAIA       bool
	HTTPPort       int // port for the plain-http redirect probe (default 80)

	Realm string
	KDCs  []string
	// AllowLegacyKerberos lets the spn probe derive an RC4 or DES key
	// when the KDC offers nothing stronger (--allow-legacy-kerberos).
	AllowLegacyKerberos bool
	LDAPURL             string
	LDAPBase            string
	ExtraSPNs           []string
	// LogonSPN is the --spn HTTP/HOST[:PORT] the Windows logon asks a
	// ticket for instead of HTTP/<uri host>; "" when none was given.
	LogonSPN   string
	ConfigName string // PSRP configuration name, default Microsoft.Exchange

	MinCmdlets     int
	RequireCmdlets []string

	// Accept lists finding codes the user has accepted (a profile's
	// ignore): they are still reported, as info, so nothing is hidden.
	Accept []string
	// ExpiryWarn and ExpiryCrit are how close to its end a certificate
	// raises TLS-EXPIRES-SOON (0: tlsinspect.ExpiryWarning) and
	// TLS-EXPIRES-IMMINENT (0: never).
	ExpiryWarn, ExpiryCrit time.Duration

	Timeout time.Duration
	Verbose bool
}

// ResolveEntry is one --resolve HOST:PORT:ADDR, as curl takes it.
type ResolveEntry struct {
	Host string
	Port int
	Addr string
}

// Selected reports whether the user asked for check id (all when none named).
func (c *Config) Selected(id string) bool {
	if len(c.Checks) == 0 {
		return true
	}
	for _, s := range c.Checks {
		if s == id {
			return true
		}
	}
	return false
}

// ResolvesURIHost is true when a --resolve entry gives the URI host's
// address on the URI's port, so connections to it skip DNS.
func (c *Config) ResolvesURIHost() bool {
	for _, r := range c.Resolve {
		if r.Host == c.Host && (r.Port == c.Port || r.Port == 0) {
			return true
		}
	}
	return false
}

// WindowsAuth is true when the user logs on with Windows authentication
// (negotiate, kerberos or ntlm) rather than Basic.
func (c *Config) WindowsAuth() bool {
	switch c.Authentication {
	case AuthNegotiate, AuthKerberos, AuthNTLM:
		return true
	}
	return false
}

// KerberosSPN is the SPN a Kerberos logon to the --uri asks for: --spn
// HTTP/HOST when given, else HTTP/<uri host>, as the WinRM client builds
// it (the host as written in the ConnectionUri, without its port).
func (c *Config) KerberosSPN() string {
	if c.LogonSPN != "" {
		return c.LogonSPN
	}
	return "HTTP/" + c.Host
}

// HasCredentials is true when a user name and a password were given.
func (c *Config) HasCredentials() bool { return c.User != "" && !c.Password.Empty() }

// Secret holds a password. Every way of printing it prints a mask, so a
// stray %v, log line or JSON encoding cannot leak it.
type Secret struct{ v string }

func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the password for the one place that must send it.
func (s Secret) Reveal() string { return s.v }

func (s Secret) Empty() bool { return s.v == "" }

func (s Secret) String() string   { return "[redacted]" }
func (s Secret) GoString() string { return "[redacted]" }

func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
