package catalog

// The vocabulary of remediation templates. A step names an observed value
// as {name}; the runner fills it from the finding's Params (set by the
// probe) and from the run's own inputs. Every name a step may use is here,
// with what it holds, how `exdiag explain` shows it without a run, and the
// words a step says when the run did not observe it.
const (
	ParamHost            = "host"             // the host the finding is about: the --uri host, or a --backend's
	ParamPort            = "port"             // the port the finding is about: the --uri port, or a --backend's
	ParamURI             = "uri"              // the ConnectionUri as given
	ParamZone            = "zone"             // the DNS zone of the host (the host minus its first label)
	ParamHTTPPort        = "http_port"        // the plain-http port the redirect probe asked
	ParamUser            = "user"             // the --user as given
	ParamDomain          = "domain"           // the user's logon domain (DOMAIN of DOMAIN\user, or the UPN suffix)
	ParamServer          = "server"           // a CAS server's short name: the first label of a --backend host, or the machine a fault names
	ParamBackendURL      = "backend_url"      // a --backend /PowerShell URL
	ParamPublicAddr      = "public_addr"      // the reverse proxy's public addresses (--expect-external)
	ParamInternalAddr    = "internal_addr"    // the CAS or internal load-balancer addresses (--expect-internal)
	ParamAddresses       = "addresses"        // the addresses a resolver answered
	ParamCNAME           = "cname"            // the last name of the host's CNAME chain
	ParamResolver        = "resolver"         // the resolver that answered (or failed to)
	ParamRealm           = "realm"            // the Kerberos realm
	ParamKDC             = "kdc"              // the KDCs asked
	ParamSPN             = "spn"              // the servicePrincipalName in question, HTTP/name
	ParamAccount         = "account"          // the accounts that hold the SPN
	ParamCmdlet          = "cmdlet"           // a cmdlet the session lacks
	ParamSANs            = "sans"             // the names the certificate carries
	ParamThumbprint      = "thumbprint"       // the certificate's SHA-1 thumbprint, as Get-ExchangeCertificate shows it
	ParamSubject         = "subject"          // the subject of the certificate in question
	ParamFailureCategory = "failure_category" // Exchange's FailureCategory
	ParamFaultCode       = "fault_code"       // the WS-Management fault code, 0x8033…
	ParamTLSVersion      = "tls_version"      // a legacy TLS version the server accepted
	ParamLocation        = "location"         // the Location a redirect points to
	ParamLogonName       = "logon_name"       // the user's name without its domain, as Get-ADUser takes it
	// ParamVariant is the probe's word for which kind of evidence it saw
	// when no other param tells (e.g. name-mismatch); only conditions use it.
	ParamVariant = "variant"
)

// Param is one name of the vocabulary.
type Param struct {
	Name string
	// Placeholder is how `exdiag explain` shows the name without a run.
	Placeholder string
	// Unknown is what a step says in its place when the run did not
	// observe it: words, never a placeholder a user could paste.
	Unknown string
}

// Vocabulary lists every name a remediation step may use.
var Vocabulary = []Param{
	{ParamHost, "<published host>", "the published host name"},
	{ParamPort, "<published port>", "the published port (443 unless the URI names another)"},
	{ParamURI, "<ConnectionUri>", "the ConnectionUri the clients use"},
	{ParamZone, "<public zone>", "the zone that holds the published name"},
	{ParamHTTPPort, "<http port>", "port 80"},
	{ParamUser, "<user>", "the user exdiag logged on as"},
	{ParamDomain, "<logon domain>", "the users' logon domain (its name was not observed)"},
	{ParamServer, "<CAS server>", "the CAS server behind the proxy (its name was not observed)"},
	{ParamBackendURL, "<CAS /PowerShell URL>", "the CAS /PowerShell URL the proxy forwards to (not observed: give --backend)"},
	{ParamPublicAddr, "<proxy public address>", "the reverse proxy's public address (not given: --expect-external)"},
	{ParamInternalAddr, "<CAS or internal LB address>", "the CAS or internal load-balancer address (not given: --expect-internal)"},
	{ParamAddresses, "<answered addresses>", "the addresses the resolver answered"},
	{ParamCNAME, "<CNAME target>", "the name the alias points to"},
	{ParamResolver, "<resolver>", "the resolver the client uses"},
	{ParamRealm, "<Kerberos realm>", "the Active Directory DNS domain in upper case (the realm was not observed)"},
	{ParamKDC, "<KDC>", "a domain controller (its name was not observed)"},
	{ParamSPN, "<SPN>", "the HTTP/ SPN of the name the clients use"},
	{ParamAccount, "<account holding the SPN>", "the account that holds it (its name was not observed: search with setspn -Q)"},
	{ParamCmdlet, "<cmdlet>", "the missing cmdlet"},
	{ParamSANs, "<names the certificate carries>", "the names the certificate carries (they were not observed)"},
	{ParamThumbprint, "<certificate thumbprint>", "the certificate's thumbprint (it was not observed: Get-ExchangeCertificate lists it)"},
	{ParamSubject, "<certificate subject>", "the certificate in question"},
	{ParamFailureCategory, "<Exchange failure category>", "the failure category (Exchange sent none)"},
	{ParamFaultCode, "<fault code>", "the fault code (none was sent)"},
	{ParamTLSVersion, "<legacy TLS version>", "TLS 1.0 and 1.1"},
	{ParamLocation, "<redirect location>", "the location the redirect names"},
	{ParamLogonName, "<logon name>", "the user's logon name"},
	{ParamVariant, "<kind of evidence>", "the evidence"},
}

var vocabulary = func() map[string]Param {
	m := make(map[string]Param, len(Vocabulary))
	for _, p := range Vocabulary {
		m[p.Name] = p
	}
	return m
}()

// Known reports whether name is in the vocabulary.
func Known(name string) bool {
	_, ok := vocabulary[name]
	return ok
}
