package catalog

// The vocabulary of remediation templates. A step names an observed value
// as {name}; the runner fills it from the finding's Params (set by the
// probe) and from the run's own inputs. Every name a step may use is a
// constant here; Vocabulary says in one line what each holds, how `exdiag
// explain` shows it without a run, and the words a step says when the run
// did not observe it.
const (
	ParamHost            = "host"
	ParamPort            = "port"
	ParamURI             = "uri"
	ParamZone            = "zone"
	ParamHTTPPort        = "http_port"
	ParamUser            = "user"
	ParamDomain          = "domain"
	ParamServer          = "server"
	ParamBackendURL      = "backend_url"
	ParamPublicAddr      = "public_addr"
	ParamInternalAddr    = "internal_addr"
	ParamAddresses       = "addresses"
	ParamCNAME           = "cname"
	ParamResolver        = "resolver"
	ParamRealm           = "realm"
	ParamKDC             = "kdc"
	ParamSPN             = "spn"
	ParamAccount         = "account"
	ParamCmdlet          = "cmdlet"
	ParamSANs            = "sans"
	ParamThumbprint      = "thumbprint"
	ParamSubject         = "subject"
	ParamFailureCategory = "failure_category"
	ParamFaultCode       = "fault_code"
	ParamTLSVersion      = "tls_version"
	ParamLocation        = "location"
	ParamLogonName       = "logon_name"
	ParamVariant         = "variant"
	ParamMechanism       = "mechanism"
	ParamProxySubject    = "proxy_subject"
	ParamProxyThumbprint = "proxy_thumbprint"
	ParamCASSubject      = "cas_subject"
	ParamCASThumbprint   = "cas_thumbprint"
)

// Param is one name of the vocabulary.
type Param struct {
	Name string
	Doc  string // what it holds, in one line
	// Placeholder is how `exdiag explain` shows the name without a run.
	Placeholder string
	// Unknown is what a step says in its place when the run did not
	// observe it: words, never a placeholder a user could paste.
	Unknown string
}

// Vocabulary lists every name a remediation step may use.
var Vocabulary = []Param{
	{ParamHost, "the host the finding is about: the --uri host, or a --backend's", "<published host>", "the published host name"},
	{ParamPort, "the port the finding is about: the --uri port, or a --backend's", "<published port>", "the published port (443 unless the URI names another)"},
	{ParamURI, "the ConnectionUri as given", "<ConnectionUri>", "the ConnectionUri the clients use"},
	{ParamZone, "the DNS zone of the host (the host minus its first label)", "<public zone>", "the zone that holds the published name"},
	{ParamHTTPPort, "the plain-http port the redirect probe asked", "<http port>", "port 80"},
	{ParamUser, "the --user as given", "<user>", "the user exdiag logged on as"},
	{ParamDomain, "the user's logon domain (DOMAIN of DOMAIN\\user, or the UPN suffix)", "<logon domain>", "the users' logon domain (its name was not observed)"},
	{ParamServer, "a CAS server's short name: the first label of a --backend host, or the machine a fault names", "<CAS server>", "the CAS server behind the proxy (its name was not observed)"},
	{ParamBackendURL, "a --backend /PowerShell URL", "<CAS /PowerShell URL>", "the CAS /PowerShell URL the proxy forwards to (not observed: give --backend)"},
	{ParamPublicAddr, "the reverse proxy's public addresses (--expect-external)", "<proxy public address>", "the reverse proxy's public address (not given: --expect-external)"},
	{ParamInternalAddr, "the CAS or internal load-balancer addresses (--expect-internal)", "<CAS or internal LB address>", "the CAS or internal load-balancer address (not given: --expect-internal)"},
	{ParamAddresses, "the addresses a resolver answered", "<answered addresses>", "the addresses the resolver answered"},
	{ParamCNAME, "the last name of the host's CNAME chain", "<CNAME target>", "the name the alias points to"},
	{ParamResolver, "the resolver that answered (or failed to)", "<resolver>", "the resolver the client uses"},
	{ParamRealm, "the Kerberos realm", "<Kerberos realm>", "the Active Directory DNS domain in upper case (the realm was not observed)"},
	{ParamKDC, "the KDCs asked", "<KDC>", "a domain controller (its name was not observed)"},
	{ParamSPN, "the servicePrincipalName in question, HTTP/name", "<SPN>", "the HTTP/ SPN of the name the clients use"},
	{ParamAccount, "the accounts that hold the SPN", "<account holding the SPN>", "the account that holds it (its name was not observed: search with setspn -Q)"},
	{ParamCmdlet, "a cmdlet the session lacks", "<cmdlet>", "the missing cmdlet"},
	{ParamSANs, "the names the certificate carries", "<names the certificate carries>", "the names the certificate carries (they were not observed)"},
	{ParamThumbprint, "the certificate's SHA-1 thumbprint, as Get-ExchangeCertificate shows it", "<certificate thumbprint>", "the certificate's thumbprint (it was not observed: Get-ExchangeCertificate lists it)"},
	{ParamSubject, "the subject of the certificate in question", "<certificate subject>", "the certificate in question"},
	{ParamFailureCategory, "Exchange's FailureCategory", "<Exchange failure category>", "the failure category (Exchange sent none)"},
	{ParamFaultCode, "the WS-Management fault code, 0x8033…", "<fault code>", "the fault code (none was sent)"},
	{ParamTLSVersion, "a legacy TLS version the server accepted", "<legacy TLS version>", "TLS 1.0 and 1.1"},
	{ParamLocation, "the Location a redirect points to", "<redirect location>", "the location the redirect names"},
	{ParamLogonName, "the user's name without its domain, as Get-ADUser takes it", "<logon name>", "the user's logon name"},
	{ParamMechanism, "the Windows logon mechanism in use: kerberos or ntlm, as --authentication takes it", "<kerberos or ntlm>", "kerberos"},
	{ParamProxySubject, "the subject of the certificate the reverse proxy presents to clients on the --uri", "<proxy certificate subject>", "the certificate the proxy presents (it was not observed)"},
	{ParamProxyThumbprint, "the SHA-1 thumbprint of the certificate the reverse proxy presents to clients", "<proxy certificate thumbprint>", "the proxy certificate's thumbprint (it was not observed)"},
	{ParamCASSubject, "the subject of the certificate a CAS (a --backend) presents", "<CAS certificate subject>", "the CAS certificate (it was not observed: give --backend)"},
	{ParamCASThumbprint, "the SHA-1 thumbprint of the certificate a CAS (a --backend) presents, as Get-ExchangeCertificate shows it", "<CAS certificate thumbprint>", "the CAS certificate's thumbprint (Get-ExchangeCertificate on the CAS lists it)"},
	{ParamVariant, "the probe's word for which kind of evidence it saw when no other param tells (e.g. name-mismatch); only conditions use it", "<kind of evidence>", "the evidence"},
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
