package checks

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Spec is what a user asks of a run, as given: the values of the `run`
// flags, one field per flag, before any validation. The command line, a
// profile file and the serve handler all fill a Spec and call Config, so
// one set of rules and messages judges every way of asking. The password is
// not part of it: it never comes from a flag value or a file of settings.
type Spec struct {
	URI            string
	Checks         []string
	ExternalDNS    []string
	InternalDNS    []string
	ExpectExternal []string
	ExpectInternal []string
	Resolve        []string // HOST:PORT:ADDR, as curl takes it
	Backends       []string
	User           string
	Authentication string // basic (default) | negotiate | kerberos | ntlm
	CAFiles        []string
	SkipCACheck    bool
	SkipCNCheck    bool
	FetchAIA       bool
	HTTPPort       int // 0 means 80
	Realm          string
	KDCs           []string
	// AllowLegacyKerberos is --allow-legacy-kerberos: derive an RC4 or DES
	// key from the password when the KDC offers nothing stronger.
	AllowLegacyKerberos bool
	LDAPURL             string
	LDAPBase            string
	// SPNs are --spn values: a NAME the spn check also checks as
	// HTTP/NAME, a SERVICE/HOST it checks as written, and at most one
	// HTTP/HOST[:PORT], which is also the SPN the Windows logon asks a
	// ticket for instead of HTTP/<uri host>.
	SPNs           []string
	ConfigName     string // default Microsoft.Exchange
	MinCmdlets     int
	RequireCmdlets []string
	Timeout        time.Duration // 0 means DefaultTimeout
	Verbose        bool
}

// DefaultTimeout is a run's budget when the Spec gives none: RunBudget,
// the top of the budget block in budgets.go.
const DefaultTimeout = RunBudget

// maxCAFile bounds what is read of one --ca-file: a bundle of every public
// root is about 250 KiB, so 4 MiB is generous and /dev/zero cannot grow
// without end.
const maxCAFile = 4 << 20

// InputError is a Spec value that cannot be used: one lowercase line that
// says what is wrong and what to do. Field is the flag's name without
// dashes ("uri", "external-dns"), so a profile file can point at its line.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Config validates every value and returns the run's configuration; an
// error is an *InputError.
func (s Spec) Config() (*Config, error) {
	c := &Config{
		Authentication:      strings.ToLower(strings.TrimSpace(s.Authentication)),
		CAFiles:             s.CAFiles,
		SkipCACheck:         s.SkipCACheck,
		SkipCNCheck:         s.SkipCNCheck,
		FetchAIA:            s.FetchAIA,
		HTTPPort:            s.HTTPPort,
		Realm:               s.Realm,
		AllowLegacyKerberos: s.AllowLegacyKerberos,
		LDAPURL:             s.LDAPURL,
		LDAPBase:            s.LDAPBase,
		ExtraSPNs:           s.SPNs,
		ConfigName:          s.ConfigName,
		MinCmdlets:          s.MinCmdlets,
		RequireCmdlets:      s.RequireCmdlets,
		Timeout:             s.Timeout,
		Verbose:             s.Verbose,
		User:                strings.TrimSpace(s.User),
	}
	if c.Authentication == "" {
		c.Authentication = "basic"
	}
	if c.ConfigName == "" {
		c.ConfigName = "Microsoft.Exchange"
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = 80
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if s.URI == "" {
		return nil, inputErr("uri", "--uri is missing; give the ConnectionUri, e.g. --uri https://mail.contoso.com/PowerShell (or try --lab)")
	}
	var err error
	if c.URI, c.Host, c.Port, err = ParseEndpoint(s.URI, "uri"); err != nil {
		return nil, err
	}
	known := map[string]bool{}
	var ids []string
	for _, ch := range All() {
		known[ch.ID] = true
		ids = append(ids, ch.ID)
	}
	for _, id := range s.Checks {
		id = strings.TrimSpace(strings.ToLower(id))
		if !known[id] {
			return nil, inputErr("checks", "unknown check %q in --checks; pick from %s", id, strings.Join(ids, ","))
		}
		c.Checks = append(c.Checks, id)
	}
	if c.ExternalDNS, err = resolvers(s.ExternalDNS, "external-dns"); err != nil {
		return nil, err
	}
	if c.InternalDNS, err = resolvers(s.InternalDNS, "internal-dns"); err != nil {
		return nil, err
	}
	if c.ExpectExternal, err = ipList(s.ExpectExternal, "expect-external"); err != nil {
		return nil, err
	}
	if c.ExpectInternal, err = ipList(s.ExpectInternal, "expect-internal"); err != nil {
		return nil, err
	}
	for _, r := range s.Resolve {
		e, err := parseResolve(r)
		if err != nil {
			return nil, err
		}
		c.Resolve = append(c.Resolve, e)
	}
	for _, b := range s.Backends {
		bu, _, _, err := ParseEndpoint(b, "backend")
		if err != nil {
			return nil, err
		}
		c.Backends = append(c.Backends, bu)
	}
	for _, k := range s.KDCs {
		if _, _, err := splitHostPortDefault(k, "88"); err != nil {
			return nil, inputErr("kdc", "--kdc %q is not HOST[:PORT]; give e.g. --kdc dc1.contoso.com:88", k)
		}
		c.KDCs = append(c.KDCs, k)
	}
	if s.LDAPURL != "" {
		lu, err := url.Parse(s.LDAPURL)
		if err != nil || (lu.Scheme != "ldap" && lu.Scheme != "ldaps") || lu.Host == "" {
			// the value may carry user:password, so it is not echoed
			return nil, inputErr("ldap", "--ldap is not an ldap:// or ldaps:// URL; give e.g. --ldap ldaps://dc1.contoso.com")
		}
		if lu.User != nil {
			return nil, inputErr("ldap", "--ldap must not carry credentials; the bind uses --user and its password")
		}
	}
	if err := checkAuthentication(c.Authentication, s.Authentication); err != nil {
		return nil, err
	}
	if c.LogonSPN, err = logonSPN(s.SPNs); err != nil {
		return nil, err
	}
	for _, p := range s.CAFiles {
		if err := checkReadable(p); err != nil {
			return nil, inputErr("ca-file", "cannot read --ca-file %s: %v; give a readable PEM file", p, err)
		}
	}
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		return nil, inputErr("http-port", "--http-port %d is out of range; give 1-65535", c.HTTPPort)
	}
	if c.MinCmdlets < 0 {
		return nil, inputErr("min-cmdlets", "--min-cmdlets must not be negative; give 0 or more")
	}
	if c.Timeout < 0 {
		return nil, inputErr("timeout", "--timeout is negative; give a positive budget, e.g. --timeout 30s")
	}
	if c.User != "" && !strings.ContainsAny(c.User, `\@=`) {
		return nil, inputErr("user", `--user %q has no domain; give DOMAIN\user or user@domain`, c.User)
	}
	if c.Authentication == AuthKerberos && c.User != "" {
		// a Kerberos logon has no NTLM to fall back to: without a realm
		// there is no KDC to ask, and no run could tell anything
		if _, realm := splitPrincipal(c); realm == "" {
			return nil, inputErr("realm", `--authentication kerberos needs the kerberos realm, and --user %s names none; give --realm (e.g. --realm CONTOSO.COM) or --user as user@contoso.com`, c.User)
		}
	}
	return c, nil
}

// Authentication mechanisms of --authentication. Negotiate, Kerberos and
// NTLM are Windows logons (winauth's names); Basic is the default.
const (
	AuthBasic     = "basic"
	AuthNegotiate = "negotiate" // Kerberos, falling back to NTLM as Windows does
	AuthKerberos  = "kerberos"  // Kerberos only, as New-PSSession -Authentication Kerberos
	AuthNTLM      = "ntlm"      // NTLM only
)

// authMechanisms is every --authentication value, in the order the help
// and the error name them.
var authMechanisms = []string{AuthBasic, AuthNegotiate, AuthKerberos, AuthNTLM}

// checkAuthentication accepts a lowercased --authentication value; given
// is the value as typed, for the message. PowerShell's other names get
// exdiag's: its Default is Negotiate.
func checkAuthentication(a, given string) error {
	for _, m := range authMechanisms {
		if a == m {
			return nil
		}
	}
	list := strings.Join(authMechanisms[:len(authMechanisms)-1], ", ") + " or " + authMechanisms[len(authMechanisms)-1]
	switch a {
	case "default", "negotiatewithimplicitcredential":
		return inputErr("authentication", "--authentication %q is what new-pssession calls negotiate; give --authentication negotiate", given)
	case "credssp", "digest":
		return inputErr("authentication", "--authentication %q is not supported (exchange remote powershell takes none of it); use %s", given, list)
	}
	return inputErr("authentication", "--authentication %q is not supported; use %s", given, list)
}

// logonSPN picks the --spn value written HTTP/HOST[:PORT], the SPN the
// Windows logon asks for (WinRM over http and https asks for HTTP/); a
// bare NAME, or another service's SPN, is only for the spn check. The ticket is asked in the user's realm, so an SPN@REALM is
// refused rather than half honoured.
func logonSPN(spns []string) (string, error) {
	var logon string
	for _, raw := range spns {
		s := strings.TrimSpace(raw)
		service, host, isSPN := strings.Cut(s, "/")
		if !isSPN {
			if !validHostName(s) {
				return "", inputErr("spn", "--spn %q is not a host name or SERVICE/HOST; give e.g. --spn mail.contoso.com or --spn HTTP/mail.contoso.com", raw)
			}
			continue
		}
		if strings.Contains(host, "@") {
			return "", inputErr("spn", "--spn %q names a realm; the ticket is asked in the realm of --realm or --user, so give --spn %s", raw, strings.SplitN(s, "@", 2)[0])
		}
		if h, p, err := net.SplitHostPort(host); err == nil {
			if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
				return "", inputErr("spn", "--spn %q has a bad port; give SERVICE/HOST or SERVICE/HOST:PORT with a port of 1-65535", raw)
			}
			host = h
		}
		if !validService(service) || !validHostName(host) {
			return "", inputErr("spn", "--spn %q is not SERVICE/HOST; give e.g. --spn HTTP/mail.contoso.com", raw)
		}
		if !strings.EqualFold(service, "HTTP") {
			continue // WSMAN/… and the like: the spn check checks them, WinRM over http(s) asks for HTTP/
		}
		if logon != "" && !strings.EqualFold(logon, s) {
			return "", inputErr("spn", "--spn %s and --spn %s both name the spn of the logon; give one HTTP/HOST (a bare name is an extra name to check)", logon, s)
		}
		logon = s
	}
	return logon, nil
}

func validService(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// validHostName is a DNS name of letters, digits, dashes and dots (with
// a trailing dot or not); SPNs hold no IP literal a client would use.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkReadable opens path as a regular file and reads a bounded prefix,
// so a FIFO cannot block validation and a device cannot make it grow.
func checkReadable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return BarePathErr(err)
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return BarePathErr(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return err
	}
	if n > maxCAFile {
		return fmt.Errorf("larger than %d MiB", maxCAFile>>20)
	}
	return nil
}

// BarePathErr drops the operation and path an *os.PathError repeats, for a
// message that names the file itself ("cannot read --ca-file F: no such
// file or directory").
func BarePathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseEndpoint checks an http(s) URL given for field and returns it with
// its lowercased host and its port (defaulted from the scheme); an empty
// path becomes /PowerShell.
func ParseEndpoint(raw, field string) (*url.URL, string, int, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		if u != nil && u.User != nil {
			return nil, "", 0, inputErr(field, "--%s must not carry credentials; use --user and EXDIAG_PASSWORD", field)
		}
		return nil, "", 0, inputErr(field, "--%s %q is not an http(s) URL; give e.g. --%s https://mail.contoso.com/PowerShell", field, raw, field)
	}
	if u.User != nil {
		return nil, "", 0, inputErr(field, "--%s must not carry credentials; use --user and EXDIAG_PASSWORD", field)
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, "", 0, inputErr(field, "--%s %q has a bad port; give 1-65535", field, raw)
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
			return "", "", errors.New("bad port")
		}
		return h, p, nil
	}
	if strings.Count(s, ":") > 1 { // bare IPv6
		if _, err := netip.ParseAddr(s); err == nil {
			return s, defPort, nil
		}
		return "", "", errors.New("bad address")
	}
	if s == "" || strings.ContainsAny(s, "/ ") {
		return "", "", errors.New("bad address")
	}
	return s, defPort, nil
}

func resolvers(in []string, field string) ([]string, error) {
	var out []string
	for _, r := range in {
		h, p, err := splitHostPortDefault(strings.TrimSpace(r), "53")
		if err == nil {
			if _, perr := netip.ParseAddr(h); perr != nil {
				err = perr
			}
		}
		if err != nil {
			return nil, inputErr(field, "--%s %q is not ADDR[:PORT]; give an IP address, e.g. --%s 192.0.2.53 or --%s 127.0.0.1:5353", field, r, field, field)
		}
		out = append(out, net.JoinHostPort(h, p))
	}
	return out, nil
}

func ipList(in []string, field string) ([]string, error) {
	var out []string
	for _, s := range in {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, inputErr(field, "--%s %q is not an IP address; give e.g. --%s 203.0.113.10", field, s, field)
		}
		out = append(out, a.String())
	}
	return out, nil
}

func parseResolve(s string) (ResolveEntry, error) {
	bad := inputErr("resolve", "--resolve %q is not HOST:PORT:ADDR; give e.g. --resolve mail.contoso.com:443:203.0.113.10", s)
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] == "" {
		return ResolveEntry{}, bad
	}
	port, err := strconv.Atoi(parts[1])
	if err != nil || port <= 0 || port > 65535 {
		return ResolveEntry{}, bad
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(parts[2], "["), "]")
	if _, err := netip.ParseAddr(addr); err != nil {
		return ResolveEntry{}, bad
	}
	return ResolveEntry{Host: strings.ToLower(parts[0]), Port: port, Addr: addr}, nil
}
