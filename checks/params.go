package checks

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/exdiag/exdiag/checks/catalog"
)

// runParams are the template values every finding of a run shares: what
// the user gave (the URI, the user, the expected addresses) and what
// follows from it (the zone, the logon name). A probe's own Params win.
func runParams(c *Config) map[string]string {
	p := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	if c.URI != nil {
		set(catalog.ParamURI, c.URI.Redacted())
		set(catalog.ParamHost, c.Host)
		if c.Port != 0 {
			set(catalog.ParamPort, strconv.Itoa(c.Port))
		}
		set(catalog.ParamZone, parentZone(c.Host))
	}
	httpPort := c.HTTPPort
	if httpPort == 0 {
		httpPort = 80
	}
	set(catalog.ParamHTTPPort, strconv.Itoa(httpPort))
	set(catalog.ParamUser, c.User)
	name, realm := splitPrincipal(c)
	set(catalog.ParamLogonName, name)
	set(catalog.ParamRealm, realm)
	set(catalog.ParamDomain, logonDomain(c.User))
	set(catalog.ParamPublicAddr, strings.Join(c.ExpectExternal, ", "))
	set(catalog.ParamInternalAddr, strings.Join(c.ExpectInternal, ", "))
	return p
}

// withRunParams gives every finding the run's values it does not carry.
func withRunParams(c *Config, fs []Finding) {
	run := runParams(c)
	for i := range fs {
		merged := make(map[string]string, len(run)+len(fs[i].Params))
		for k, v := range run {
			merged[k] = v
		}
		for k, v := range fs[i].Params {
			if v != "" {
				merged[k] = v
			}
		}
		fs[i].Params = merged
	}
}

// parentZone is host without its first label ("" for a single label or
// an IP literal): the zone an admin opens to fix the host's record.
func parentZone(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	if i := strings.Index(host, "."); i > 0 && i < len(host)-1 {
		return host[i+1:]
	}
	return ""
}

// logonDomain is DOMAIN of DOMAIN\user, or the suffix of a UPN.
func logonDomain(user string) string {
	if i := strings.LastIndex(user, `\`); i > 0 {
		return user[:i]
	}
	if i := strings.LastIndex(user, "@"); i >= 0 && i < len(user)-1 {
		return user[i+1:]
	}
	return ""
}

// targetParams are the params of a finding about u, a --backend or the
// --uri: its host and port, and for a backend the CAS's short name.
func targetParams(u *url.URL, backend bool) map[string]string {
	p := map[string]string{catalog.ParamHost: u.Hostname(), catalog.ParamPort: port(u)}
	if backend {
		p[catalog.ParamBackendURL] = u.Redacted()
		p[catalog.ParamServer] = shortName(u.Hostname())
	}
	return p
}

// shortName is a host's first label, as Exchange cmdlets take -Server; an
// IP literal stays whole.
func shortName(host string) string {
	if net.ParseIP(host) != nil {
		return host
	}
	if i := strings.Index(host, "."); i > 0 {
		return host[:i]
	}
	return host
}
