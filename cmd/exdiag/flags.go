package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/spf13/pflag"
)

// labDefault is --lab's value when no scenario follows it with "=":
// the scenario may then come as the next argument, else the default one.
const labDefault = "default"

// runFlags holds the raw values of `exdiag run`; toConfig validates them.
type runFlags struct {
	uri, user, passwordFile, authentication string
	checks                                  []string
	externalDNS, internalDNS                []string
	expectExternal, expectInternal          []string
	resolve, backends, caFiles, kdcs, spns  []string
	skipCA, skipCN, fetchAIA                bool
	httpPort                                int
	realm, ldapURL, ldapBase, configName    string
	minCmdlets                              int
	requireCmdlets                          []string
	format, output                          string
	timeout                                 time.Duration
	noColour, verbose                       bool
	lab                                     string
	password                                string // only to refuse it
}

func newRunFlagSet(f *runFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, as one line, by Main
	fs.SortFlags = false
	fs.StringVar(&f.uri, "uri", "", "the ConnectionUri, e.g. https://mail.contoso.com/PowerShell")
	fs.StringSliceVar(&f.checks, "checks", nil, "subset of dns,tls,redirect,auth,spn,rbac (default all that have their inputs)")
	fs.StringArrayVar(&f.externalDNS, "external-dns", nil, "resolver an internet client uses, ADDR[:PORT] (repeatable)")
	fs.StringArrayVar(&f.internalDNS, "internal-dns", nil, "resolver the proxy/CAS side uses, ADDR[:PORT] (repeatable)")
	fs.StringSliceVar(&f.expectExternal, "expect-external", nil, "the proxy's public addresses, IP,…")
	fs.StringSliceVar(&f.expectInternal, "expect-internal", nil, "the CAS or internal load-balancer addresses, IP,…")
	fs.StringArrayVar(&f.resolve, "resolve", nil, "HOST:PORT:ADDR, connect to ADDR for HOST:PORT (like curl)")
	fs.StringArrayVar(&f.backends, "backend", nil, "a CAS /PowerShell URL behind the proxy, checked individually (repeatable)")
	fs.StringVar(&f.user, "user", "", `DOMAIN\user or user@domain; password from EXDIAG_PASSWORD, --password-file or a prompt`)
	fs.StringVar(&f.passwordFile, "password-file", "", "file whose first line is the password")
	fs.StringVar(&f.password, "password", "", "refused: passwords never come from a flag value")
	_ = fs.MarkHidden("password")
	fs.StringVar(&f.authentication, "authentication", "basic", "basic or negotiate, as New-PSSession -Authentication")
	fs.StringArrayVar(&f.caFiles, "ca-file", nil, "extra trust anchors, PEM (repeatable)")
	fs.BoolVar(&f.skipCA, "skip-ca-check", false, "accept an untrusted root, as New-PSSessionOption -SkipCACheck")
	fs.BoolVar(&f.skipCN, "skip-cn-check", false, "accept a name mismatch, as New-PSSessionOption -SkipCNCheck")
	fs.BoolVar(&f.fetchAIA, "fetch-aia", false, "fetch a missing intermediate from the certificate's AIA URL")
	fs.IntVar(&f.httpPort, "http-port", 80, "port of the plain-http listener for the redirect check")
	fs.StringVar(&f.realm, "realm", "", "Kerberos realm (default from --user)")
	fs.StringArrayVar(&f.kdcs, "kdc", nil, "KDC HOST[:PORT] (default from DNS SRV _kerberos._tcp on the internal resolver)")
	fs.StringVar(&f.ldapURL, "ldap", "", "directory to search for servicePrincipalName: ldaps://host, or ldap://host/?starttls")
	fs.StringVar(&f.ldapBase, "ldap-base", "", "search base DN, e.g. DC=contoso,DC=com")
	fs.StringArrayVar(&f.spns, "spn", nil, "an extra name to check as HTTP/<name> (repeatable)")
	fs.StringVar(&f.configName, "configuration-name", "Microsoft.Exchange", "PowerShell session configuration, as New-PSSession -ConfigurationName")
	fs.IntVar(&f.minCmdlets, "min-cmdlets", 0, "warn when the session exposes fewer commands")
	fs.StringArrayVar(&f.requireCmdlets, "require-cmdlet", nil, "a cmdlet the session must expose (repeatable)")
	fs.StringVar(&f.format, "format", "table", "table or json")
	fs.StringVarP(&f.output, "output", "o", "", "write the report to FILE instead of stdout")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "the whole run's budget")
	fs.BoolVar(&f.noColour, "no-color", false, "no colour even on a terminal (NO_COLOR is honoured too)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "progress on stderr")
	fs.StringVar(&f.lab, "lab", "", "run against the built-in simulated deployment `SCENARIO` (exdiag lab list)")
	fs.Lookup("lab").NoOptDefVal = labDefault
	return fs
}

// toConfig validates every value; each error says what to do.
func (f *runFlags) toConfig() (*checks.Config, error) {
	if f.password != "" {
		return nil, usagef("passwords are never taken from a flag value; set EXDIAG_PASSWORD, use --password-file, or answer the prompt")
	}
	c := &checks.Config{
		Authentication: strings.ToLower(f.authentication),
		CAFiles:        f.caFiles,
		SkipCACheck:    f.skipCA,
		SkipCNCheck:    f.skipCN,
		FetchAIA:       f.fetchAIA,
		HTTPPort:       f.httpPort,
		Realm:          f.realm,
		LDAPURL:        f.ldapURL,
		LDAPBase:       f.ldapBase,
		ExtraSPNs:      f.spns,
		ConfigName:     f.configName,
		MinCmdlets:     f.minCmdlets,
		RequireCmdlets: f.requireCmdlets,
		Timeout:        f.timeout,
		Verbose:        f.verbose,
		User:           f.user,
	}
	if f.uri == "" {
		return nil, usagef("--uri is required, e.g. --uri https://mail.contoso.com/PowerShell (or try --lab)")
	}
	u, host, port, err := parseEndpoint(f.uri, "--uri")
	if err != nil {
		return nil, err
	}
	c.URI, c.Host, c.Port = u, host, port

	known := map[string]bool{}
	for _, ch := range checks.All() {
		known[ch.ID] = true
	}
	for _, id := range f.checks {
		id = strings.TrimSpace(strings.ToLower(id))
		if !known[id] {
			return nil, usagef("unknown check %q in --checks; pick from dns,tls,redirect,auth,spn,rbac", id)
		}
		c.Checks = append(c.Checks, id)
	}
	if c.ExternalDNS, err = resolvers(f.externalDNS, "--external-dns"); err != nil {
		return nil, err
	}
	if c.InternalDNS, err = resolvers(f.internalDNS, "--internal-dns"); err != nil {
		return nil, err
	}
	if c.ExpectExternal, err = ipList(f.expectExternal, "--expect-external"); err != nil {
		return nil, err
	}
	if c.ExpectInternal, err = ipList(f.expectInternal, "--expect-internal"); err != nil {
		return nil, err
	}
	for _, r := range f.resolve {
		e, err := parseResolve(r)
		if err != nil {
			return nil, err
		}
		c.Resolve = append(c.Resolve, e)
	}
	for _, b := range f.backends {
		bu, _, _, err := parseEndpoint(b, "--backend")
		if err != nil {
			return nil, err
		}
		c.Backends = append(c.Backends, bu)
	}
	for _, k := range f.kdcs {
		if _, _, err := splitHostPortDefault(k, "88"); err != nil {
			return nil, usagef("--kdc %q is not HOST[:PORT]; give e.g. --kdc dc1.contoso.com:88", k)
		}
		c.KDCs = append(c.KDCs, k)
	}
	if f.ldapURL != "" {
		lu, err := url.Parse(f.ldapURL)
		if err != nil || (lu.Scheme != "ldap" && lu.Scheme != "ldaps") || lu.Host == "" {
			return nil, usagef("--ldap %q is not an ldap:// or ldaps:// URL; give e.g. --ldap ldaps://dc1.contoso.com", f.ldapURL)
		}
	}
	switch c.Authentication {
	case "basic", "negotiate":
	default:
		return nil, usagef("--authentication %q is not supported; use basic or negotiate", f.authentication)
	}
	for _, p := range f.caFiles {
		if _, err := os.ReadFile(p); err != nil {
			return nil, usagef("cannot read --ca-file %s: %v; give a readable PEM file", p, unwrapPathErr(err))
		}
	}
	if f.httpPort <= 0 || f.httpPort > 65535 {
		return nil, usagef("--http-port %d is out of range; give 1-65535", f.httpPort)
	}
	if f.minCmdlets < 0 {
		return nil, usagef("--min-cmdlets must not be negative")
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout must be positive, e.g. --timeout 30s")
	}
	if c.User != "" {
		if !strings.Contains(c.User, `\`) && !strings.Contains(c.User, "@") && !strings.Contains(c.User, "=") {
			return nil, usagef(`--user %q needs a domain: give DOMAIN\user or user@domain`, c.User)
		}
	}
	return c, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parseEndpoint checks an http(s) URL and returns it with its host and port.
func parseEndpoint(raw, flag string) (*url.URL, string, int, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, "", 0, usagef("%s %q is not an http(s) URL; give e.g. %s https://mail.contoso.com/PowerShell", flag, raw, flag)
	}
	if u.User != nil {
		return nil, "", 0, usagef("%s must not carry credentials; use --user and EXDIAG_PASSWORD", flag)
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, "", 0, usagef("%s %q has a bad port; give 1-65535", flag, raw)
		}
		port = n
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/PowerShell"
	}
	return u, strings.ToLower(u.Hostname()), port, nil
}

func splitHostPortDefault(s, defPort string) (string, string, error) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return "", "", fmt.Errorf("bad port")
		}
		return h, p, nil
	}
	if strings.Count(s, ":") > 1 { // bare IPv6
		if _, err := netip.ParseAddr(s); err == nil {
			return s, defPort, nil
		}
		return "", "", fmt.Errorf("bad address")
	}
	if s == "" || strings.ContainsAny(s, "/ ") {
		return "", "", fmt.Errorf("bad address")
	}
	return s, defPort, nil
}

func resolvers(in []string, flag string) ([]string, error) {
	var out []string
	for _, r := range in {
		h, p, err := splitHostPortDefault(strings.TrimSpace(r), "53")
		if err == nil {
			if _, perr := netip.ParseAddr(h); perr != nil {
				err = perr
			}
		}
		if err != nil {
			return nil, usagef("%s %q is not ADDR[:PORT]; give an IP address, e.g. %s 192.0.2.53 or %s 127.0.0.1:5353", flag, r, flag, flag)
		}
		out = append(out, net.JoinHostPort(h, p))
	}
	return out, nil
}

func ipList(in []string, flag string) ([]string, error) {
	var out []string
	for _, s := range in {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("%s %q is not an IP address; give e.g. %s 203.0.113.10", flag, s, flag)
		}
		out = append(out, a.String())
	}
	return out, nil
}

func parseResolve(s string) (checks.ResolveEntry, error) {
	bad := usagef("--resolve %q is not HOST:PORT:ADDR; give e.g. --resolve mail.contoso.com:443:203.0.113.10", s)
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] == "" {
		return checks.ResolveEntry{}, bad
	}
	port, err := strconv.Atoi(parts[1])
	if err != nil || port <= 0 || port > 65535 {
		return checks.ResolveEntry{}, bad
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(parts[2], "["), "]")
	if _, err := netip.ParseAddr(addr); err != nil {
		return checks.ResolveEntry{}, bad
	}
	return checks.ResolveEntry{Host: strings.ToLower(parts[0]), Port: port, Addr: addr}, nil
}
