package catalog

// References shared by several entries: public pages by URL, sources
// without a stable public address (old KB articles, SDK headers) by their
// title, so a reader can still find them.
const (
	refSeed        = "https://learn.microsoft.com/en-us/archive/technet-wiki/31066.exchange-server-2013-powershell-implicit-remoting-over-the-internet-using-iis-arr-as-the-reverse-proxy"
	refNewPSSess   = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/new-pssession"
	refPSSessOpt   = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/new-pssessionoption"
	refRemoteTS    = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_remote_troubleshooting"
	refSetPSVdir   = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-powershellvirtualdirectory"
	refSetUser     = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-user"
	refRPSAccess   = "https://learn.microsoft.com/en-us/powershell/exchange/control-remote-powershell-access-to-exchange-servers"
	refGetRole     = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-managementrole"
	refNewRoleAsg  = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-managementroleassignment"
	refNewThrottle = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-throttlingpolicy"
	refThrottleAsc = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-throttlingpolicyassociation"
	refEnableCert  = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/enable-exchangecertificate"
	refSetspn      = "https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/setspn"
	refNslookup    = "https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/nslookup"
	refASA         = "https://learn.microsoft.com/en-us/exchange/architecture/client-access/kerberos-auth-for-load-balanced-client-access"
	refIISStatus   = "https://learn.microsoft.com/en-us/troubleshoot/developer/webapps/iis/health-diagnostic-performance/http-status-code"
	refARR502      = "https://learn.microsoft.com/en-us/iis/extensions/troubleshooting-application-request-routing/troubleshooting-502-errors-in-arr"
	refIISBasic    = "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/authentication/basicauthentication"
	refIISAccess   = "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/access"
	refIISIPSec    = "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/ipsecurity/"
	refIISHSTS     = "https://learn.microsoft.com/en-us/iis/configuration/system.applicationhost/sites/site/hsts"
	refTLSRegistry = "https://learn.microsoft.com/en-us/windows-server/security/tls/tls-registry-settings"
	refRFC1918     = "https://www.rfc-editor.org/rfc/rfc1918"
	refRFC6598     = "https://www.rfc-editor.org/rfc/rfc6598"
	refRFC6797     = "https://www.rfc-editor.org/rfc/rfc6797"
	refRFC4120     = "https://www.rfc-editor.org/rfc/rfc4120"
	refRFC3962     = "https://www.rfc-editor.org/rfc/rfc3962"
	refRFC8429     = "https://www.rfc-editor.org/rfc/rfc8429"
	refKerbEtypes  = "https://learn.microsoft.com/en-us/windows-server/security/kerberos/preventing-kerberos-change-password-that-uses-rc4-secret-keys"

	srcKB2276957 = "KB2276957: Exchange Management Shell fails with HTTP status code 403 (Require SSL on the PowerShell virtual directory)"
	srcKB2028305 = "KB2028305: the WinRM client cannot process the request, content type is absent or invalid"
	srcEMTBLOG   = "Exchange team blog, Troubleshooting Exchange 2010 Management Tools startup issues (2010-02-04)"
	srcWSMERR    = "Windows SDK header wsmerror.h (WinRM client error codes)"
	srcWINHTTP   = "Windows SDK header winhttp.h (12002 timeout, 12029 cannot connect, 12175 secure failure, 12045 invalid CA, 12038 CN invalid, 12037 date invalid)"
)

// Steps several entries share.
const (
	stepEnableRPS  = "check the user: Get-User {user} | Format-List RemotePowerShellEnabled, and enable it with Set-User {user} -RemotePowerShellEnabled $true"
	stepRoles      = "make sure {user} holds a management role: Get-ManagementRoleAssignment -RoleAssignee {user} must list some; otherwise add the user to a role group such as Organization Management or Recipient Management (Add-RoleGroupMember), then open a new session"
	stepSSLIgnore  = "or: appcmd set config \"Default Web Site/PowerShell\" -section:system.webServer/security/access /sslFlags:None /commit:apphost"
	stepRetypePass = "retype the password, and check that EXDIAG_PASSWORD or the --password-file holds exactly that password"
)

// baseEntries is the catalog of the six probes. Remediation is written for
// an Exchange admin: exact cmdlets, appcmd lines and console steps, in the
// order to follow, filled with the deployment's own names ({name}, see
// Vocabulary). IIS's own server variables ({HTTP_HOST}, {R:1}) are upper
// case and are not placeholders.
var baseEntries = []Entry{
	// dns
	{
		Code: "DNS-EXT-NXDOMAIN", Check: "dns", Severity: "fail",
		Title: "the public name does not exist",
		Cause: "The resolver an internet client uses answers NXDOMAIN for the namespace, so clients never find the reverse proxy. The public zone has no record for the name, or the name is misspelt in -ConnectionUri. The external record must point at the reverse proxy's public address; until it exists, a HOSTS entry lets one test client connect.",
		Remediation: []string{
			"check that {host} in -ConnectionUri is the published name (the name the certificate carries)",
			"in the public DNS zone {zone}, create an A record for {host} that points at {public_addr} (an AAAA record too if the proxy listens on IPv6)",
			"verify from outside the network: nslookup {host} {resolver} (or dig @{resolver} {host} A) must return {public_addr}",
			"for a single test client only, add {host} and {public_addr} to C:\\Windows\\System32\\drivers\\etc\\hosts until the record exists",
		},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-EXT-NO-ADDRESS", Check: "dns", Severity: "fail",
		Title: "the public name has no address",
		Cause: "The external resolver knows the name (NOERROR) but returns no A or AAAA record, usually because a CNAME points at a name that has no address or the zone holds only other record types. The external record must point at the reverse proxy's public address.",
		Remediation: []string{
			"follow the chain from outside: nslookup -type=CNAME {host} {resolver}, then nslookup each target (or dig +trace {host})",
			"give {cname}, the last name of the chain, an A record for {public_addr}, or replace the CNAME of {host} with an A record",
			"repeat nslookup {host} {resolver} from outside and confirm {public_addr} comes back",
		},
		Variants: []Variant{{When: "!cname", Remediation: []string{
			"in the public DNS zone {zone}, add an A record for {host} that points at {public_addr}: the name exists but holds no address record",
			"repeat nslookup {host} {resolver} from outside and confirm {public_addr} comes back",
		}}},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-EXT-PRIVATE-ADDRESS", Check: "dns", Severity: "fail",
		Title: "the public name resolves to a private address",
		Cause: "The external view returns a private (RFC 1918), loopback, link-local or carrier-grade NAT (100.64.0.0/10) address that internet clients cannot reach. The internal record leaked into the public zone, or the split-brain view serves the wrong zone to outside resolvers.",
		Remediation: []string{
			"query the public authoritative servers directly: nslookup -type=NS {zone} {resolver}, then nslookup {host} against each of them",
			"in the public zone, replace {addresses} for {host} with {public_addr}, the reverse proxy's public (NAT) address",
			"if the internal DNS server also answers internet queries, restrict it (or its split view) so outside clients get the public zone only",
			"wait for the old record's TTL to expire and query again from outside: nslookup {host} {resolver}",
		},
		References: []string{refSeed, refRFC1918, refRFC6598, refNslookup},
	},
	{
		Code: "DNS-EXT-UNEXPECTED", Check: "dns", Severity: "fail",
		Title: "the public name points somewhere other than the proxy",
		Cause: "The external answer does not match the addresses given with --expect-external: the record is stale (old proxy, old provider) or was changed to another host.",
		Remediation: []string{
			"compare the answer {addresses} with {public_addr}, the reverse proxy's public address (the NAT or load-balancer VIP in front of it)",
			"correct the A/AAAA record of {host} in the public zone {zone} so it holds only {public_addr}",
			"wait for the TTL of the old record to pass, then verify with nslookup {host} {resolver}",
		},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-INT-NXDOMAIN", Check: "dns", Severity: "fail",
		Title: "the internal resolver does not know the name",
		Cause: "The DNS server the proxy uses has no record for the namespace, so the proxy cannot resolve the name to forward requests to the Client Access servers. On the reverse proxy, the name must resolve to the CAS server or its internal load balancer.",
		Remediation: []string{
			"on the reverse proxy, run nslookup {host} {resolver} and note which DNS server answers",
			"in the internal zone (or a pinpoint zone named {host} on the internal DNS servers), create an A record for {host} that points at {internal_addr}",
			"run nslookup {host} on the proxy again: it must return {internal_addr}, while a client outside gets {public_addr}",
		},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-INT-UNEXPECTED", Check: "dns", Severity: "fail",
		Title: "the internal name points somewhere other than the CAS",
		Cause: "The internal answer does not match the addresses given with --expect-internal, so the proxy would forward requests to a host that is not the Client Access server or its load balancer.",
		Remediation: []string{
			"on the reverse proxy, run nslookup {host} {resolver}: it answers {addresses} where {internal_addr} is expected",
			"correct the A record of {host} in the internal zone (or pinpoint zone) so it holds {internal_addr}",
			"if the proxy's server farm uses {host} as its server address, recheck the farm's server list in IIS Manager (Server Farms, Servers) after the fix",
		},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-NO-SPLIT", Check: "dns", Severity: "warn",
		Title: "internal and external views return the same addresses",
		Cause: "Without a split view the namespace resolves to the same address inside and out: the proxy resolves the name to itself (a forwarding loop) or internal clients are sent out through the proxy. nslookup on a client should return the reverse proxy, on the proxy the CAS server.",
		Remediation: []string{
			"give the internal DNS a zone (or a pinpoint zone for {host}) whose A record points at {internal_addr}; today both views answer {addresses}",
			"alternatively, configure the proxy's server farm with the CAS servers' own FQDNs instead of {host}, so it never resolves the public name",
			"verify: nslookup {host} on the proxy returns {internal_addr}, from outside it returns {public_addr}",
		},
		References: []string{refSeed, refNslookup},
	},
	{
		Code: "DNS-CNAME", Check: "dns", Severity: "warn",
		Title: "the namespace is a CNAME",
		Cause: "A CNAME makes Kerberos clients ask for a ticket for the CNAME target's name instead of the shared namespace, and clients connect to the alias, so the certificate must carry the alias as well.",
		Remediation: []string{
			"replace the CNAME {host} -> {cname} with an A record for {host} where you can (recommended for load-balanced Client Access namespaces)",
			"if the CNAME stays, make sure the certificate's subject alternative names include {host}, the name the clients use in -ConnectionUri",
			"for Kerberos through the alias, register HTTP/{cname}, the name a client asks a ticket for (see SPN-MISSING), or use https with -Authentication Basic, which needs no SPN",
		},
		References: []string{refASA, refSeed},
	},
	{
		Code: "DNS-RESOLVER-FAILED", Check: "dns", Severity: "fail",
		Title: "the resolver failed or refused the query",
		Cause: "The resolver answered SERVFAIL, REFUSED or a malformed reply: it cannot reach the zone's authoritative servers, DNSSEC validation failed, or it refuses recursion for this client.",
		Remediation: []string{
			"repeat the query against the same resolver: nslookup {host} {resolver} (or dig @{resolver} {host} A) and note the status",
			"for REFUSED, allow recursion for this client's network on {resolver}, or use the resolver the client is meant to use",
			"for SERVFAIL, query the zone's authoritative servers directly (nslookup -type=NS {zone}, then nslookup {host} against each) and fix the zone or its delegation/DNSSEC",
		},
		References: []string{refNslookup, "https://www.rfc-editor.org/rfc/rfc1035"},
	},
	{
		Code: "DNS-RESOLVER-TIMEOUT", Check: "dns", Severity: "fail",
		Title: "the resolver did not answer",
		Cause: "No answer arrived within the deadline: the resolver address is wrong, the server is down, or a firewall drops DNS (UDP and TCP port 53) between this host and the resolver.",
		Remediation: []string{
			"check the resolver address {resolver} given to exdiag and in the host's network settings (ipconfig /all on Windows)",
			"test reachability: nslookup {host} {resolver}; on Windows also Test-NetConnection {resolver} -Port 53 for TCP",
			"open UDP and TCP port 53 from this host to {resolver} on every firewall in between, or start the DNS service",
		},
		References: []string{refNslookup},
	},

	// tls
	{
		Code: "TLS-CONNECT-FAILED", Check: "tls", Severity: "fail",
		Title: "no TLS connection to the published name",
		Cause: "The TCP connection was refused or timed out, or the TLS handshake failed: the port is not open or not forwarded to the proxy, or the https listener has no certificate bound.",
		Remediation: []string{
			"from outside, test the port: Test-NetConnection {host} -Port {port} (or nc -vz {host} {port})",
			"check the firewall/NAT forwards TCP {port} on {public_addr} to the reverse proxy",
			"on the proxy, open IIS Manager, select the site, Bindings..., and make sure an https binding on port {port} exists with an SSL certificate selected (netsh http show sslcert lists what HTTP.sys has bound)",
			"confirm the handshake: openssl s_client -connect {host}:{port} -servername {host} must print the certificate chain",
		},
		Variants: []Variant{{When: "backend_url", Remediation: []string{
			"from the reverse proxy, test the CAS: Test-NetConnection {host} -Port {port}",
			"open TCP {port} from the proxy to {server} on every firewall in between, and check IIS runs on {server}",
			"on {server}, IIS Manager, Default Web Site, Bindings...: an https binding on port {port} must exist with the Exchange certificate selected",
			"confirm the handshake from the proxy: openssl s_client -connect {host}:{port} -servername {host} must print the certificate chain",
		}}},
		References: []string{refSeed, srcWINHTTP},
	},
	{
		Code: "TLS-UNTRUSTED-ROOT", Check: "tls", Severity: "fail",
		Title: "the certificate chain is not trusted",
		Cause: "The chain the proxy presents does not end at a root the client trusts (a self-signed certificate or a private CA). WinRM reports it as a secure channel failure (12175): the certificate is signed by an unknown certificate authority.",
		Remediation: []string{
			"preferred: bind a certificate from a public CA on the reverse proxy so every client trusts it",
			"otherwise export the root of {subject} (for a self-signed certificate, the certificate itself, thumbprint {thumbprint}) from the proxy without the private key: MMC, Certificates (Local Computer), Personal, Certificates, right-click the certificate, All Tasks, Export, DER .cer",
			"on each client: mmc, File, Add/Remove Snap-in, Certificates, Computer account; open Trusted Root Certification Authorities, right-click Certificates, All Tasks, Import, and pick the .cer (or run Import-Certificate -FilePath root.cer -CertStoreLocation Cert:\\LocalMachine\\Root)",
			"check the result from any host with OpenSSL: openssl x509 -inform der -in root.cer -out root.pem, then openssl s_client -connect {host}:{port} -servername {host} -CAfile root.pem must report Verify return code: 0 (ok)",
			"for a one-off test only, skip the check: $o = New-PSSessionOption -SkipCACheck; New-PSSession -ConnectionUri {uri} ... -SessionOption $o",
		},
		References: []string{refSeed, refPSSessOpt, refNewPSSess, srcWINHTTP, srcWSMERR},
	},
	{
		Code: "TLS-INCOMPLETE-CHAIN", Check: "tls", Severity: "warn",
		Title: "the server does not send its intermediate certificate",
		Cause: "The proxy sends only its leaf certificate; verification succeeds only with an intermediate fetched elsewhere (AIA). Windows clients that can reach the AIA URL may succeed, other clients and locked-down networks fail.",
		Remediation: []string{
			"get the intermediate certificate that issued {subject} from the issuing CA's download page",
			"on the reverse proxy: MMC, Certificates (Local Computer), Intermediate Certification Authorities, Certificates, All Tasks, Import, and import each intermediate",
			"re-select the certificate (thumbprint {thumbprint}) on the https binding (IIS Manager, site, Bindings..., https, Edit) so HTTP.sys rebuilds the chain, or restart the proxy",
			"verify: openssl s_client -connect {host}:{port} -servername {host} -showcerts must list the leaf and the intermediate",
		},
		References: []string{"https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2", refSeed},
	},
	{
		Code: "TLS-NAME-MISMATCH", Check: "tls", Severity: "fail",
		Title: "the certificate is not for this name",
		Cause: "No subject alternative name in the certificate matches the host in the URI, typically when clients use a CNAME, a virtual name or a new namespace: the certificate must carry every name the clients connect to. WinRM says the certificate has a common name (CN) that does not match the hostname.",
		Remediation: []string{
			"check which names the certificate carries: openssl s_client -connect {host}:{port} -servername {host} | openssl x509 -noout -ext subjectAltName",
			"either connect with a name the certificate already carries in -ConnectionUri, or request a new certificate whose subject alternative names include {host}",
			"import the new certificate on the reverse proxy and select it on the https binding (IIS Manager, site, Bindings..., https, Edit, SSL certificate)",
			"for a one-off test only: $o = New-PSSessionOption -SkipCNCheck; New-PSSession -ConnectionUri {uri} ... -SessionOption $o",
		},
		Variants: []Variant{{When: "sans", Remediation: []string{
			"the certificate carries {sans}, not {host}: connect with one of those names in -ConnectionUri, or request a new certificate whose subject alternative names include {host}",
			"import the new certificate on the reverse proxy and select it on the https binding in place of thumbprint {thumbprint} (IIS Manager, site, Bindings..., https, Edit, SSL certificate)",
			"for a one-off test only: $o = New-PSSessionOption -SkipCNCheck; New-PSSession -ConnectionUri {uri} ... -SessionOption $o",
		}}},
		References: []string{refSeed, refPSSessOpt, srcWINHTTP},
	},
	{
		Code: "TLS-EXPIRED", Check: "tls", Severity: "fail",
		Title: "the certificate has expired",
		Cause: "The current time is past the certificate's NotAfter date, so clients refuse the connection (WinHTTP 12037, certificate date invalid).",
		Remediation: []string{
			"renew {subject} with the issuing CA (same names: {sans}; new validity period)",
			"import the renewed certificate with its private key on the reverse proxy and select it on the https binding in place of thumbprint {thumbprint} (IIS Manager, site, Bindings..., https, Edit)",
			"on each CAS that uses it (Get-ExchangeCertificate -Thumbprint {thumbprint} shows where), import the renewed certificate and run Enable-ExchangeCertificate with its new thumbprint and -Services IIS",
			"verify: openssl s_client -connect {host}:{port} -servername {host} | openssl x509 -noout -dates",
		},
		References: []string{refEnableCert, srcWINHTTP},
	},
	{
		Code: "TLS-NOT-YET-VALID", Check: "tls", Severity: "fail",
		Title: "the certificate is not valid yet",
		Cause: "The current time is before the certificate's NotBefore date: a just-issued certificate was bound too early, or the clock of the client (or of the CA that issued it) is wrong. Clients refuse it as a date error (WinHTTP 12037).",
		Remediation: []string{
			"compare the dates of {subject} with the current time: openssl s_client -connect {host}:{port} -servername {host} | openssl x509 -noout -dates",
			"check the clocks: w32tm /query /status on Windows (timedatectl on Linux) on the client and the proxy, and fix time synchronisation if they are off",
			"if the clocks are right, rebind the previous valid certificate on the proxy until the NotBefore of thumbprint {thumbprint} has passed, or reissue it",
		},
		References: []string{srcWINHTTP, "https://learn.microsoft.com/en-us/windows-server/networking/windows-time-service/windows-time-service-tools-and-settings"},
	},
	{
		Code: "TLS-EXPIRES-SOON", Check: "tls", Severity: "warn",
		Title: "the certificate expires within 30 days",
		Cause: "Fewer than 30 days are left before NotAfter; when it lapses every remote PowerShell client will fail.",
		Remediation: []string{
			"start the renewal of {subject} with the issuing CA now (same subject alternative names: {sans})",
			"plan the rebinding on the reverse proxy and on each CAS that uses the certificate (Get-ExchangeCertificate -Thumbprint {thumbprint} shows where; Enable-ExchangeCertificate with the new thumbprint and -Services IIS binds the renewed one)",
			"put the new expiry date in the monitoring calendar; exdiag run can be scheduled to warn again",
		},
		References: []string{refEnableCert},
	},
	{
		Code: "TLS-EXPIRES-IMMINENT", Check: "tls", Severity: "fail",
		Title: "the certificate expires within the profile's critical threshold",
		Cause: "Fewer days are left before NotAfter than the deployment's crit_days allows; the renewal is overdue by its own runbook, and when the certificate lapses every remote PowerShell client fails.",
		Remediation: []string{
			"renew {subject} with the issuing CA today (same subject alternative names: {sans})",
			"bind the renewed certificate on the reverse proxy and on each CAS that uses the old one (Get-ExchangeCertificate -Thumbprint {thumbprint} shows where; Enable-ExchangeCertificate with the new thumbprint and -Services IIS binds it)",
			"rerun exdiag run to confirm the new expiry date",
		},
		References: []string{refEnableCert},
	},
	{
		Code: "TLS-WEAK", Check: "tls", Severity: "warn",
		Title: "weak certificate or legacy TLS version",
		Cause: "The certificate has a SHA-1 signature or an RSA key under 2048 bits, or the proxy still accepts TLS 1.0/1.1; current clients reject some of these and all of them weaken the connection that carries the Basic credentials.",
		Remediation: []string{
			"request a new certificate in place of {subject} with an RSA key of at least 2048 bits and a SHA-256 signature, and bind it on the proxy in place of thumbprint {thumbprint}",
			"verify: openssl s_client -connect {host}:{port} -servername {host} | openssl x509 -noout -text shows the new key size and signature algorithm",
		},
		Variants: []Variant{{When: "tls_version", Remediation: []string{
			"the proxy accepts {tls_version}: on a Windows proxy, set Enabled=0 and DisabledByDefault=1 (DWORD) under HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server and ...\\TLS 1.1\\Server, then restart the server",
			"verify: openssl s_client -connect {host}:{port} -servername {host} -tls1_1 -cipher DEFAULT@SECLEVEL=0 must fail, and the same with -tls1_2 must succeed",
		}}},
		References: []string{refTLSRegistry, "https://www.rfc-editor.org/rfc/rfc8996"},
	},
	{
		Code: "TLS-BACKEND-UNTRUSTED", Check: "tls", Severity: "fail",
		Title: "the proxy does not trust a CAS certificate",
		Cause: "From the proxy's vantage the Client Access server's certificate is not trusted or not for the name the proxy uses to reach it, so ARR cannot open the back-end connection and answers 502.3 (0x80072F8F, WinHTTP 12175). The Exchange certificate's root belongs in the proxy's Trusted Root store and its intermediate in the Intermediate store.",
		Remediation: []string{
			"on the reverse proxy, import the root that issued {subject} (for a self-signed Exchange certificate, the certificate itself, thumbprint {thumbprint}) into Trusted Root Certification Authorities, and any intermediate into Intermediate Certification Authorities: MMC, Certificates (Local Computer), All Tasks, Import",
			"to get it, export it from {server} without the private key: MMC, Certificates (Local Computer), Personal, the certificate with thumbprint {thumbprint}, All Tasks, Export, DER .cer",
			"make sure the proxy's server farm addresses {server} by a name its certificate carries ({sans}) (IIS Manager, Server Farms, Servers)",
			"verify from the proxy: Invoke-WebRequest {backend_url} -UseBasicParsing must not fail with a trust error (a 401 answer is fine)",
		},
		Variants: []Variant{{When: "variant=name-mismatch", Remediation: []string{
			"the certificate of {server} carries {sans}, not {host}: make the proxy's server farm address {server} by one of those names (IIS Manager, Server Farms, Servers), or issue {server} a certificate that includes {host}",
			"on {server}, bind the new certificate with Enable-ExchangeCertificate -Server {server} and its thumbprint -Services IIS (today's is {thumbprint})",
			"verify from the proxy: Invoke-WebRequest {backend_url} -UseBasicParsing must not fail with a trust error (a 401 answer is fine)",
		}}},
		References: []string{refSeed, refARR502, srcWINHTTP},
	},

	// redirect
	{
		Code: "HTTP-NOT-REDIRECTED", Check: "redirect", Severity: "fail",
		Title: "plain http is answered instead of redirected",
		Cause: "http://host/PowerShell returns content or an error instead of a redirect to https, so a client that mistypes the scheme talks to the endpoint unencrypted. No URL Rewrite rule on the proxy should forward plain http to the farm.",
		Remediation: []string{
			"on the reverse proxy, open IIS Manager, the site, URL Rewrite, and disable any rule that forwards plain-http requests to the server farm",
			"add an inbound rule that matches (.*) with the condition {HTTPS} is off and the action Redirect to https://{HTTP_HOST}/{R:1} (permanent), or close port {http_port} on the public address",
			"do not tick Require SSL on the Exchange PowerShell virtual directory to achieve this: the internal Kerberos shell over http then fails with 403",
			"verify: curl -sI http://{host}:{http_port}/PowerShell must show a 301/302/307/308 with a https:// Location",
		},
		References: []string{refSeed, srcKB2276957},
	},
	{
		Code: "HTTP-BASIC-OVER-HTTP", Check: "redirect", Severity: "fail",
		Title: "basic authentication is offered over plain http",
		Cause: "The plain-http endpoint answers with a Basic challenge, so a client that answers sends its password in clear text. WinRM clients refuse this by default (0x803380DE, unencrypted traffic is disabled).",
		Remediation: []string{
			"on the reverse proxy, disable the rule or binding that serves /PowerShell on http://{host}:{http_port} (IIS Manager, site, Bindings... and URL Rewrite)",
			"redirect http to https instead (see HTTP-NOT-REDIRECTED) or close port {http_port}",
			"treat passwords that may have been used against the http endpoint as exposed and have those users change them",
		},
		References: []string{refSeed, srcWSMERR, "https://www.rfc-editor.org/rfc/rfc7617#section-4"},
	},
	{
		Code: "HTTP-REDIRECT-ELSEWHERE", Check: "redirect", Severity: "warn",
		Title: "the http redirect changes host or path, or stays on http",
		Cause: "The redirect from http points to another host, drops the /PowerShell path, or points to http again; clients need -AllowRedirection and may end up on the wrong endpoint.",
		Remediation: []string{
			"change the redirect rule on the proxy so it keeps host and path: Redirect to https://{HTTP_HOST}/{R:1}; today it sends clients to {location}",
			"tell users to put {uri} in -ConnectionUri; if a redirect must stay, New-PSSession needs -AllowRedirection",
			"verify: curl -sI http://{host}:{http_port}/PowerShell shows Location: {uri}",
		},
		References: []string{refSeed, refNewPSSess},
	},
	{
		Code: "HTTP-PORT-CLOSED", Check: "redirect", Severity: "info",
		Title: "nothing listens for plain http",
		Cause: "Plain http is not served at all; no credentials can leak over it, and clients that use http:// get a connection error instead of a redirect.",
		Remediation: []string{
			"no action needed on port {http_port}; tell users to always use {uri} in -ConnectionUri",
		},
		References: []string{refSeed},
	},
	{
		Code: "HTTP-NO-HSTS", Check: "redirect", Severity: "info",
		Title: "no Strict-Transport-Security header",
		Cause: "The https responses carry no HSTS header, so browsers used to test the endpoint do not remember to use https. PowerShell clients ignore HSTS; this is hardening only.",
		Remediation: []string{
			"on an IIS 10 (1709 or later) proxy, enable HSTS for the site: appcmd set config -section:system.applicationHost/sites \"/[name='Default Web Site'].hsts.enabled:true\" \"/[name='Default Web Site'].hsts.max-age:31536000\" /commit:apphost",
			"on older IIS, add the response header in IIS Manager: site, HTTP Response Headers, Add, name Strict-Transport-Security, value max-age=31536000",
			"verify: curl -sI {uri} shows the Strict-Transport-Security header",
		},
		References: []string{refIISHSTS, refRFC6797},
	},

	// auth
	{
		Code: "AUTH-BASIC-NOT-OFFERED", Check: "auth", Severity: "fail",
		Title: "basic authentication is not enabled",
		Cause: "The unauthenticated request got a 401 without a Basic challenge: Basic authentication is disabled on the PowerShell virtual directory of the CAS (it is off by default), or the proxy strips the challenge.",
		Remediation: []string{
			"on every CAS behind the proxy, in the Exchange Management Shell: Get-PowerShellVirtualDirectory | Set-PowerShellVirtualDirectory -BasicAuthentication $true",
			"or with IIS on each CAS: %windir%\\system32\\inetsrv\\appcmd.exe set config \"Default Web Site/PowerShell\" -section:system.webServer/security/authentication/basicAuthentication /enabled:true /commit:apphost (IIS Manager: Default Web Site, PowerShell, Authentication, Basic Authentication, Enable)",
			"if Basic Authentication is missing from the list, install the IIS role service first: Install-WindowsFeature Web-Basic-Auth",
			"make sure the proxy passes the WWW-Authenticate header through unchanged, then run exdiag again",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"enable Basic on {server}, in the Exchange Management Shell: Get-PowerShellVirtualDirectory -Server {server} | Set-PowerShellVirtualDirectory -BasicAuthentication $true",
			"or with IIS on {server}: %windir%\\system32\\inetsrv\\appcmd.exe set config \"Default Web Site/PowerShell\" -section:system.webServer/security/authentication/basicAuthentication /enabled:true /commit:apphost",
			"if Basic Authentication is missing from the list on {server}, install the IIS role service first: Install-WindowsFeature Web-Basic-Auth",
			"run exdiag again with --backend {backend_url}",
		}}},
		References: []string{refSeed, refSetPSVdir, refIISBasic},
	},
	{
		Code: "AUTH-BAD-CREDENTIALS", Check: "auth", Severity: "fail",
		Title: "the credentials were rejected",
		Cause: "Basic was offered and the credentials were sent, but the server answered 401 again (IIS 401.1, logon failed): wrong user name format or password, or the account is locked, disabled or its password expired. WinRM reports Access is denied.",
		Remediation: []string{
			stepRetypePass,
			"check the user name: exdiag logged on as {user}; give it as domain\\username or as the UPN (username@domain), not the bare user name",
			"check the account: Get-ADUser {logon_name} -Properties LockedOut,Enabled,PasswordExpired; unlock it with Unlock-ADAccount {logon_name} if needed",
			"if users log on without a domain, set the default domain on the vdir: IIS Manager, Default Web Site, PowerShell, Authentication, Basic Authentication, Edit, Default domain",
		},
		References: []string{refSeed, refIISStatus, refIISBasic},
	},
	{
		Code: "AUTH-REQUIRE-SSL", Check: "auth", Severity: "fail",
		Title: "require ssl is set on the PowerShell virtual directory",
		Cause: "The CAS answers 403 or 403.4 (SSL required): Require SSL is ticked on the PowerShell virtual directory. That also breaks the internal Exchange Management Shell, which connects over http with Kerberos; the proxy is the place to enforce https.",
		Remediation: []string{
			"on every CAS: IIS Manager, Default Web Site, PowerShell, SSL Settings, untick Require SSL, set Client certificates to Ignore, Apply",
			stepSSLIgnore,
			"or in the Exchange Management Shell: Get-PowerShellVirtualDirectory | Set-PowerShellVirtualDirectory -RequireSSL $false",
			"enforce https on the reverse proxy instead (see HTTP-NOT-REDIRECTED)",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"on {server}: Get-PowerShellVirtualDirectory -Server {server} | Set-PowerShellVirtualDirectory -RequireSSL $false (or IIS Manager, Default Web Site, PowerShell, SSL Settings, untick Require SSL, Client certificates Ignore)",
			stepSSLIgnore,
			"enforce https on the reverse proxy instead (see HTTP-NOT-REDIRECTED), then run exdiag again with --backend {backend_url}",
		}}},
		References: []string{refSeed, srcKB2276957, refIISAccess, refIISStatus, refSetPSVdir},
	},
	{
		Code: "AUTH-CLIENT-CERT", Check: "auth", Severity: "fail",
		Title: "the virtual directory requires a client certificate",
		Cause: "The CAS answers 403.7 (client certificate required): SSL Settings on the PowerShell virtual directory are set to Require client certificates, which remote PowerShell clients through the proxy do not send.",
		Remediation: []string{
			"on every CAS: IIS Manager, Default Web Site, PowerShell, SSL Settings, Client certificates: Ignore (leave Require SSL unticked), Apply",
			stepSSLIgnore,
			"run exdiag again, with --backend for each CAS when run from the proxy",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"on {server}: IIS Manager, Default Web Site, PowerShell, SSL Settings, Client certificates: Ignore (leave Require SSL unticked), Apply",
			stepSSLIgnore,
			"run exdiag again with --backend {backend_url}",
		}}},
		References: []string{refSeed, refIISAccess, refIISStatus},
	},
	{
		Code: "AUTH-IP-DENIED", Check: "auth", Severity: "fail",
		Title: "the caller's address is denied",
		Cause: "The answer is 403.6 (IP address rejected) or 403.503 (rejected by IP restriction): IP and Domain Restrictions on the PowerShell virtual directory or on the proxy reject this client, or the CAS sees the proxy's address rather than the client's.",
		Remediation: []string{
			"list the rules: appcmd list config \"Default Web Site/PowerShell\" -section:system.webServer/security/ipSecurity (on the CAS and on the proxy's site that publishes {host})",
			"in IIS Manager, Default Web Site, PowerShell, IP Address and Domain Restrictions, add an Allow entry for the clients (or for the proxy's internal address on the CAS), or review Edit Feature Settings for the default access",
			"run exdiag again from the same vantage point",
		},
		References: []string{refIISIPSec, refIISStatus},
	},
	{
		Code: "AUTH-FORBIDDEN", Check: "auth", Severity: "fail",
		Title: "access to /PowerShell is forbidden",
		Cause: "A 403 without a more specific sub-status: typical causes are SSL settings on the virtual directory (KB2276957) or a user who is not enabled for remote PowerShell; Exchange says which with its FailureCategory.",
		Remediation: []string{
			"check SSL Settings on the PowerShell virtual directory of every CAS: Require SSL unticked, Client certificates Ignore",
			stepEnableRPS,
			"read the sub-status in the IIS log (sc-substatus) on the proxy and the CAS to find the exact rule, or enable Failed Request Tracing for status 403",
		},
		Variants: []Variant{{When: "failure_category=AuthZ-*", Remediation: []string{
			"Exchange refused {user} after logon ({failure_category}): " + stepEnableRPS,
			stepRoles,
			"if RemotePowerShellEnabled is already $true, check for a user or organization-wide remote PowerShell restriction (Get-User {user} | Format-List RemotePowerShell*)",
		}}},
		References: []string{srcKB2276957, refRPSAccess, refSetUser, refIISStatus},
	},
	{
		Code: "AUTH-NEGOTIATE-400", Check: "auth", Severity: "fail",
		Title: "negotiate over https is rejected with 400",
		Cause: "Over https New-PSSession defaults to Negotiate when -Authentication Basic is not given, and Windows Authentication is disabled on the PowerShell virtual directory, so the server answers 400 Bad Request.",
		Remediation: []string{
			"connect with Basic: New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri {uri} -Authentication Basic -Credential $cred",
			"or, for internal clients, enable Windows Authentication on the vdir of each CAS: Get-PowerShellVirtualDirectory | Set-PowerShellVirtualDirectory -WindowsAuthentication $true",
			"check the credentials as well; wrong ones can produce the same 400",
		},
		References: []string{refSeed, refNewPSSess, refSetPSVdir},
	},
	{
		Code: "AUTH-NEGOTIATE-HTTP", Check: "auth", Severity: "fail",
		Title: "negotiate over plain http",
		Cause: "Negotiate authentication was attempted over plain http against a virtual directory with Windows Authentication enabled, which does not work for this endpoint.",
		Remediation: []string{
			"use https:// in -ConnectionUri together with -Authentication Negotiate: New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri https://{host}/PowerShell -Authentication Negotiate",
			"or, from inside the domain, connect to the CAS FQDN over http with -Authentication Kerberos",
		},
		References: []string{refSeed, refNewPSSess},
	},
	{
		Code: "AUTH-NOT-PUBLISHED", Check: "auth", Severity: "fail",
		Title: "/PowerShell is not published",
		Cause: "The answer is 404: the reverse proxy does not forward the /PowerShell path (its URL Rewrite rules cover other paths only) or the virtual directory is missing. WinRM reports that the requested HTTP URL was not available (0x80338113). The proxy's rule should match the selective pattern ^PowerShell/*.",
		Remediation: []string{
			"on the proxy that publishes {host}, IIS Manager, the site, URL Rewrite: make sure a rule matching ^PowerShell/* (ignore case) routes to the server farm of the CAS servers",
			"check the path in -ConnectionUri {uri} is /PowerShell (not /powershell-liveid or a typo)",
			"on the CAS, check the vdir exists: Get-PowerShellVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl lists it for every server",
		},
		References: []string{refSeed, srcWSMERR},
	},
	{
		Code: "AUTH-NOT-WSMAN", Check: "auth", Severity: "fail",
		Title: "the answer is not WS-Management",
		Cause: "The endpoint answered with a content type other than application/soap+xml, such as an HTML page from a proxy, WAF or pre-authentication portal, or an IIS error page because the WSMan or Kerbauth module is missing. WinRM reports the content type is absent or invalid (0x803380F7).",
		Remediation: []string{
			"open {uri} in a browser from the same place: an HTML logon or block page means the proxy or WAF intercepts /PowerShell; exempt the path from forms pre-authentication and content inspection",
			"on the CAS: IIS Manager, server node, Modules must list WSMan; the PowerShell virtual directory's Modules must list Kerbauth as a native module (compare with a healthy CAS)",
			stepEnableRPS,
		},
		References: []string{srcKB2028305, srcWSMERR, refRPSAccess},
	},
	{
		Code: "AUTH-SERVER-ERROR", Check: "auth", Severity: "fail",
		Title: "the server failed with 500",
		Cause: "The CAS answered 500 Internal Server Error; Exchange puts a [FailureCategory=...] text in the body or the X-RemotePS-FailureCategory header when it knows why. Common causes are a wrong physical path of the PowerShell virtual directory, a missing or misregistered Kerbauth or WSMan module, or a stopped dependency.",
		Remediation: []string{
			"read the MSExchange events in the Application log of the CAS at the time of the request; Exchange sent no failure category",
			"compare the PowerShell virtual directory on the failing CAS with a healthy one: physical path (IIS Manager, Default Web Site, PowerShell, Basic Settings) and the Modules list (Kerbauth, WSMan)",
			"recycle the pools: appcmd recycle apppool /apppool.name:MSExchangePowerShellFrontEndAppPool and appcmd recycle apppool /apppool.name:MSExchangePowerShellAppPool",
			"if the vdir is damaged, record its settings, then remove and recreate it with Remove-PowerShellVirtualDirectory and New-PowerShellVirtualDirectory (Microsoft advises doing this with support)",
		},
		Variants: []Variant{
			{When: "failure_category=AuthZ-*", Remediation: []string{
				"Exchange refused {user} after logon ({failure_category}): " + stepEnableRPS,
				stepRoles,
			}},
			{When: "failure_category", Remediation: []string{
				"Exchange names the failure {failure_category}: read the MSExchange events in the Application log of the CAS at the time of the request for its detail",
				"compare the PowerShell virtual directory on the failing CAS with a healthy one: physical path (IIS Manager, Default Web Site, PowerShell, Basic Settings) and the Modules list (Kerbauth, WSMan)",
				"recycle the pools: appcmd recycle apppool /apppool.name:MSExchangePowerShellFrontEndAppPool and appcmd recycle apppool /apppool.name:MSExchangePowerShellAppPool",
				"if the vdir is damaged, record its settings, then remove and recreate it with Remove-PowerShellVirtualDirectory and New-PowerShellVirtualDirectory (Microsoft advises doing this with support)",
			}},
		},
		References: []string{srcEMTBLOG, srcKB2028305, refIISStatus},
	},
	{
		Code: "AUTH-PROXY-BACKEND-CERT", Check: "auth", Severity: "fail",
		Title: "the proxy rejected the CAS certificate (502)",
		Cause: "The proxy answered 502 with a certificate error towards the CAS (502.3 with 0x80072F8F, or WinHTTP 12175, 12045, 12038): the proxy does not trust the Exchange certificate or it is not for the name the proxy uses. The Exchange certificate's root belongs in the proxy's Trusted Root store and its intermediate in the Intermediate store.",
		Remediation: []string{
			"on the reverse proxy, import the Exchange certificate's root into Trusted Root Certification Authorities and its intermediate into Intermediate Certification Authorities (MMC, Certificates, Local Computer)",
			"make sure the server farm addresses each CAS by a name its certificate carries",
			"check the PowerShell vdir on each CAS ignores client certificates (SSL Settings, Client certificates: Ignore)",
			"run exdiag from the proxy with one --backend per CAS (its https://…/PowerShell URL) to see which one fails (TLS-BACKEND-UNTRUSTED)",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"on the reverse proxy, import the root of {server}'s Exchange certificate into Trusted Root Certification Authorities and its intermediate into Intermediate Certification Authorities (MMC, Certificates, Local Computer)",
			"make sure the server farm addresses {server} by a name its certificate carries (see the tls check's TLS-BACKEND-UNTRUSTED for {backend_url})",
			"verify from the proxy: Invoke-WebRequest {backend_url} -UseBasicParsing must not fail with a trust error (a 401 answer is fine)",
		}}},
		References: []string{refSeed, refARR502, srcWINHTTP},
	},
	{
		Code: "AUTH-PROXY-BACKEND-DOWN", Check: "auth", Severity: "fail",
		Title: "the proxy cannot reach a CAS (502/504)",
		Cause: "The proxy answered 502 or 504 with a timeout or connection error (502.3 with WinHTTP 12002 timeout or 12029 cannot connect, or 502.4 no server available): the CAS is down, unreachable from the proxy, or slower than ARR's proxy timeout (30 seconds by default).",
		Remediation: []string{
			"run exdiag from the proxy with one --backend per CAS (its https://…/PowerShell URL) to find the one that does not answer",
			"in IIS Manager on the proxy, Server Farms, the farm, Monitoring and Management: bring unhealthy servers back online and check the health test URL",
			"if requests are slow rather than refused, raise the proxy timeout: server farm, Proxy, Time-out (seconds), or appcmd set config -section:system.webServer/proxy /timeout:00:02:00 /commit:apphost",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"from the proxy, test {server}: Test-NetConnection {server} -Port {port} and Invoke-WebRequest {backend_url} -UseBasicParsing (a 401 is fine)",
			"on {server}, check IIS and the MSExchangePowerShellFrontEndAppPool run (appcmd list apppool), and that the firewall allows TCP {port} from the proxy",
			"in IIS Manager on the proxy, Server Farms, the farm, Monitoring and Management: bring {server} back online once it answers",
		}}},
		References: []string{refARR502, refIISStatus, srcWINHTTP},
	},
	{
		Code: "AUTH-PROXY-502", Check: "auth", Severity: "fail",
		Title: "the proxy answered 502 without detail",
		Cause: "A 502 Bad Gateway with no sub-status or error code: either the proxy does not trust the CAS certificate or it cannot reach the CAS, and the response does not say which.",
		Remediation: []string{
			"run exdiag on the proxy with one --backend per CAS (its https://…/PowerShell URL); it reports TLS-BACKEND-UNTRUSTED or a connection failure for the one at fault",
			"or look at the proxy's IIS log for the request to {uri}: sc-substatus and sc-win32-status (12175 means certificate, 12002/12029 mean timeout/unreachable)",
			"then follow AUTH-PROXY-BACKEND-CERT or AUTH-PROXY-BACKEND-DOWN",
		},
		References: []string{refSeed, refARR502, refIISStatus},
	},
	{
		Code: "AUTH-UNAVAILABLE", Check: "auth", Severity: "fail",
		Title: "the service is unavailable (503)",
		Cause: "The answer is 503: the application pool that serves /PowerShell is stopped (it stops after repeated crashes), the server is overloaded, or the proxy has no healthy server left in the farm.",
		Remediation: []string{
			"on each CAS: appcmd list apppool \"MSExchangePowerShellFrontEndAppPool\" and appcmd list apppool \"MSExchangePowerShellAppPool\" (Exchange 2010 has only the latter); start a stopped one with appcmd start apppool /apppool.name:MSExchangePowerShellFrontEndAppPool (or MSExchangePowerShellAppPool)",
			"check the System and Application logs for WAS events that explain why the pool stopped, and Test-ServiceHealth for stopped Exchange services",
			"on the proxy, IIS Manager, Server Farms, the farm, Monitoring and Management: make sure at least one server is healthy",
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"on {server}: appcmd list apppool \"MSExchangePowerShellFrontEndAppPool\" and appcmd list apppool \"MSExchangePowerShellAppPool\"; start a stopped one with appcmd start apppool /apppool.name:MSExchangePowerShellFrontEndAppPool (or MSExchangePowerShellAppPool)",
			"check the System and Application logs of {server} for WAS events that explain why the pool stopped, and Test-ServiceHealth -Server {server} for stopped Exchange services",
			"run exdiag again with --backend {backend_url}",
		}}},
		References: []string{refIISStatus, refARR502},
	},
	{
		Code: "AUTH-REDIRECTED", Check: "auth", Severity: "warn",
		Title: "the https endpoint redirects",
		Cause: "https://host/PowerShell answers with a redirect; New-PSSession fails unless -AllowRedirection is given, and the redirect may lead to another endpoint.",
		Remediation: []string{
			"point -ConnectionUri at the final location, {location}, if that is the endpoint you meant",
			"if the redirect is intended, connect with New-PSSession -ConnectionUri {uri} ... -AllowRedirection",
			"otherwise remove the redirect rule for /PowerShell on the proxy that publishes {host} (IIS Manager, site, URL Rewrite or HTTP Redirect)",
		},
		References: []string{refNewPSSess, refSeed},
	},
	{
		Code: "AUTH-UNEXPECTED", Check: "auth", Severity: "fail",
		Title: "unexpected answer from /PowerShell",
		Cause: "The endpoint answered with a status exdiag has no rule for; the recorded status, headers and first bytes of the body show what answered.",
		Remediation: []string{
			"look at the recorded headers (Server, Via, X-FEServer, X-BEServer) to see whether the proxy or a CAS answered {uri}",
			"enable Failed Request Tracing for that status code on the proxy and the CAS, repeat the request and read the trace",
			"check the status in the IIS status code reference (KB943891)",
		},
		References: []string{refIISStatus, refRemoteTS},
	},

	// spn
	{
		Code: "SPN-MISSING", Check: "spn", Severity: "fail",
		Title: "no SPN for the name",
		Cause: "The KDC has no account with HTTP/<name> (KDC_ERR_S_PRINCIPAL_UNKNOWN), so Kerberos to a load-balanced or alias name cannot work. WinRM reports the computer is unknown to Kerberos (0x80090322). Kerberos on an alias or a load-balancer name needs its SPN on an alternate service account; https with -Authentication Basic needs none.",
		Remediation: []string{
			"easiest: connect over https with -Authentication Basic, which needs no SPN, or use the CAS's own FQDN in -ConnectionUri for Kerberos",
			"to keep Kerberos on the shared name, create an alternate service account (a computer account, e.g. EXASA$) and deploy it from the Exchange Scripts folder: .\\RollAlternateServiceAccountPassword.ps1 -ToEntireForest -GenerateNewPasswordFor '{domain}\\EXASA$'",
			"check the SPN is free in the forest: setspn -F -Q {spn}",
			"register it on the ASA: setspn -S {spn} {domain}\\EXASA$",
			"verify: setspn -L {domain}\\EXASA$ lists {spn}; on the client run klist purge and connect again",
		},
		References: []string{refASA, refSetspn, refSeed, srcWSMERR},
	},
	{
		Code: "SPN-DUPLICATE", Check: "spn", Severity: "fail",
		Title: "the SPN is registered more than once",
		Cause: "The same HTTP/<name> is on more than one account, so the KDC cannot tell which key to use and Kerberos to that name fails.",
		Remediation: []string{
			"list duplicates in the forest: setspn -X -F",
			"see which accounts hold {spn}: setspn -F -Q {spn}",
			"remove it from every account except the right one (the ASA for a shared name, the CAS computer account for its own FQDN): setspn -D {spn} followed by the wrong account's name, once per wrong account",
			"on the client, run klist purge and connect again",
		},
		Variants: []Variant{{When: "account", Remediation: []string{
			"{spn} is on {account}: keep it on the right one (the ASA for a shared name, the CAS computer account for its own FQDN)",
			"remove it from each of the others: setspn -D {spn} followed by that account's name, then check with setspn -F -Q {spn}",
			"list any further duplicates in the forest: setspn -X -F",
			"on the client, run klist purge and connect again",
		}}},
		References: []string{refSetspn, refASA},
	},
	{
		Code: "SPN-KDC-UNREACHABLE", Check: "spn", Severity: "fail",
		Title: "no domain controller (KDC) answered",
		Cause: "No KDC answered, whether given with --kdc or found through the _kerberos._tcp SRV record of the realm. Kerberos needs line of sight to a domain controller, which an internet client never has.",
		Remediation: []string{
			"from the internet, use https with -Authentication Basic instead of Kerberos",
			"inside the network, find the KDCs: nslookup -type=SRV _kerberos._tcp.{realm}",
			"test the port: Test-NetConnection {kdc} -Port 88 and open TCP/UDP 88 between the client and the domain controllers",
		},
		References: []string{refSeed, refRFC4120, refNslookup},
	},
	{
		Code: "SPN-PREAUTH-FAILED", Check: "spn", Severity: "fail",
		Title: "the KDC rejected the user's credentials",
		Cause: "The KDC answered KDC_ERR_PREAUTH_FAILED (wrong password) or KDC_ERR_C_PRINCIPAL_UNKNOWN (no such user in this realm).",
		Remediation: []string{
			stepRetypePass,
			"check the user name and realm: {user} in {realm}, the realm being the Active Directory DNS domain in upper case",
			"check the account: Get-ADUser {logon_name} -Properties LockedOut,Enabled,PasswordExpired, and unlock it with Unlock-ADAccount {logon_name} if needed",
		},
		References: []string{refRFC4120},
	},
	{
		Code: "SPN-KDC-WEAK-ETYPE", Check: "spn", Severity: "warn",
		Title: "the KDC offers only RC4 or DES keys for the user",
		Cause: "The KDC's pre-authentication hints (ETYPE-INFO2) name no AES key for the account, or it refused an AES-only request with KDC_ERR_ETYPE_NOSUPP. The account's password predates AES (domain functional level 2008 or later gives AES keys at the next password change), or msDS-SupportedEncryptionTypes allows RC4 only. A timestamp encrypted in the RC4 key (the NT hash) can be cracked offline by whoever answers as the KDC, so exdiag sends none.",
		Remediation: []string{
			"see what the account allows: Get-ADUser {logon_name} -Properties msDS-SupportedEncryptionTypes,PasswordLastSet",
			"allow AES for it: Set-ADUser {logon_name} -KerberosEncryptionType AES128,AES256, then change the password so the KDC of {realm} holds AES keys",
			"check that {kdc} is a domain controller of {realm} you trust: nslookup -type=SRV _kerberos._tcp.{realm}",
			"to check SPNs with the legacy key anyway, run exdiag again with --allow-legacy-kerberos",
		},
		References: []string{refRFC4120, refRFC8429, refKerbEtypes},
	},
	{
		Code: "SPN-KDC-S2K-COST", Check: "spn", Severity: "fail",
		Title: "the KDC asks for an unbounded key derivation",
		Cause: "The KDC's ETYPE-INFO2 asks the client to run PBKDF2 for more iterations than any real KDC uses (Active Directory and MIT use 4096, RFC 8009 32768; exdiag stops at 65536). A count of 2^32 runs for hours: this is not a domain controller's answer.",
		Remediation: []string{
			"check that {kdc} is a domain controller of {realm}: nslookup -type=SRV _kerberos._tcp.{realm} on the internal resolver, and give the right one with --kdc",
			"if {kdc} is an MIT KDC, check the realm's string-to-key parameters: kadmin -q 'getprinc {logon_name}' and the supported_enctypes of kdc.conf",
		},
		References: []string{refRFC3962, refRFC4120},
	},
	{
		Code: "SPN-NOT-NEEDED", Check: "spn", Severity: "info",
		Title: "no SPN needed for basic over https",
		Cause: "Only Basic authentication over https (or NTLM alone) is in use; neither uses Kerberos, so no SPN has to be set up for the virtual name.",
		Remediation: []string{
			"no action needed for {host}; register SPNs only if clients will also use Kerberos or Negotiate on this name",
		},
		References: []string{refSeed},
	},

	// rbac
	{
		Code: "RBAC-SESSION-FAILED", Check: "rbac", Severity: "fail",
		Title: "the remote shell could not be opened",
		Cause: "Creating the shell or the runspace pool failed with a WS-Management fault, for example 0x8033803B (resource URI not found: wrong path or configuration name), 0x8033805B (shell not found: a load balancer without affinity, or the session cookie dropped) or 0x8033803F (quota).",
		Remediation: []string{
			"if the fault is 0x8033803B, connect with -ConfigurationName Microsoft.Exchange and the path /PowerShell",
			"if it is 0x8033805B, enable server affinity: IIS Manager on the proxy, Server Farms, the farm, Server Affinity, Client affinity (or persistence on the load balancer), and make sure the proxy passes cookies",
			"for other codes, look the code up in wsmerror.h or with winrm helpmsg and the code on a Windows machine",
		},
		Variants: []Variant{
			{When: "fault_code=0x8033803B", Remediation: []string{
				"the resource URI was not found: connect with New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri {uri}, the path being /PowerShell",
				"on the CAS, check the PowerShell vdir exists and is the Exchange one: Get-PowerShellVirtualDirectory | Format-List Server,InternalUrl,ExternalUrl",
			}},
			{When: "fault_code=0x8033805B", Remediation: []string{
				"the shell was not found on the next request: enable server affinity on the proxy (IIS Manager, Server Farms, the farm, Server Affinity, Client affinity) or persistence on the load balancer in front of {host}",
				"make sure the proxy passes cookies through unchanged, then run exdiag again",
			}},
			{When: "fault_code", Remediation: []string{
				"look up {fault_code}: winrm helpmsg {fault_code} on a Windows machine, or in wsmerror.h",
				"read the MSExchange and WinRM events of the CAS at the time of the session for the detail",
			}},
		},
		References: []string{srcWSMERR, refRemoteTS, refNewPSSess},
	},
	{
		Code: "RBAC-REMOTEPS-DISABLED", Check: "rbac", Severity: "fail",
		Title: "the user is not allowed remote PowerShell",
		Cause: "Exchange refused the session because the user's RemotePowerShellEnabled property is false.",
		Remediation: []string{
			stepEnableRPS,
			stepRoles,
		},
		References: []string{refRPSAccess, refSetUser},
	},
	{
		Code: "RBAC-SHELL-QUOTA", Check: "rbac", Severity: "fail",
		Title: "too many open shells for the user",
		Cause: "The user has reached the Exchange throttling limit for concurrent remote PowerShell sessions (18 by default); sessions left open by scripts count until they time out.",
		Remediation: []string{
			"in every PowerShell window {user} has open: Get-PSSession | Remove-PSSession",
			"wait for abandoned sessions to time out, then connect again",
			"if {user} needs more sessions, create a policy and assign it: New-ThrottlingPolicy -Name RPSAdmins -PowerShellMaxConcurrency 30 and Set-ThrottlingPolicyAssociation -Identity {user} -ThrottlingPolicy RPSAdmins",
		},
		References: []string{refNewThrottle, refThrottleAsc, "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/remove-pssession"},
	},
	{
		Code: "RBAC-LIMITED", Check: "rbac", Severity: "warn",
		Title: "the session exposes fewer commands than expected",
		Cause: "Exchange adds to a session only the cmdlets and parameters the user's RBAC roles allow; fewer commands than --min-cmdlets means the user logged on with lower-permission credentials (one example: 90 commands for a plain user against 692 for an administrator).",
		Remediation: []string{
			"check that {user}, the account exdiag used, is the administrative one",
			"list its roles: Get-ManagementRoleAssignment -RoleAssignee {user}",
			"add {user} to the role group that matches the job, e.g. Add-RoleGroupMember \"Organization Management\" -Member {user}, then open a new session",
		},
		References: []string{refSeed, refNewRoleAsg},
	},
	{
		Code: "RBAC-MISSING-CMDLET", Check: "rbac", Severity: "fail",
		Title: "a required cmdlet is not available",
		Cause: "A cmdlet given with --require-cmdlet is not in the session because none of the user's management roles contains it.",
		Remediation: []string{
			"find the roles that contain it: Get-ManagementRole -Cmdlet {cmdlet}",
			"assign one of them: New-ManagementRoleAssignment -User {user} -Role with that role's name, or add {user} to a role group that already has it (Add-RoleGroupMember with the group's name -Member {user})",
			"open a new session; the cmdlet list is built when the session starts",
		},
		References: []string{refGetRole, refNewRoleAsg, refRPSAccess},
	},
}
