package catalog

// Entries for logons a domain controller refused, for http:// URIs and
// for what reverse proxies other than ARR answer. Remediation steps are
// templates: {name} placeholders are filled from the finding's evidence
// (Finding.Params) and the run.

const (
	refLDAP49      = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/active-directory/ldap-error-49-bind-fails"
	refLockout     = "https://learn.microsoft.com/en-us/windows/security/threat-protection/security-policy-settings/account-lockout-threshold"
	refKILE        = "https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-kile/2a32282e-dd48-4ad9-a542-609804b02cc9"
	refKDCEvents   = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4771"
	refWinRMConfig = "https://learn.microsoft.com/en-us/windows/win32/winrm/installation-and-configuration-for-windows-remote-management"
	refAuthMech    = "https://learn.microsoft.com/en-us/dotnet/api/system.management.automation.runspaces.authenticationmechanism"
	refApacheProxy = "https://httpd.apache.org/docs/2.4/mod/mod_proxy.html"
	refHAProxy     = "https://docs.haproxy.org/2.6/configuration.html"
	refAppGwMTLS   = "https://learn.microsoft.com/en-us/azure/application-gateway/mutual-authentication-overview"
	srcWinHTTP     = "Windows SDK header winhttp.h (12002 ERROR_WINHTTP_TIMEOUT, 12030 ERROR_WINHTTP_CONNECTION_ERROR, 12152 ERROR_WINHTTP_INVALID_SERVER_RESPONSE)"
)

// accountState is one reason a domain controller refuses a logon, with
// what to do about it; it yields an auth entry (seen through IIS Basic)
// and an spn entry (seen by the KDC or the directory).
type accountState struct {
	suffix, title, cause string
	fix                  []string
}

var accountStates = []accountState{
	{"ACCOUNT-LOCKED", "the account is locked out",
		"The domain controller refuses the logon because the account is locked out (AD sub-code 775, STATUS_ACCOUNT_LOCKED_OUT): too many wrong passwords were tried within the lockout window, often by an old password saved in a phone, a mapped drive or a scheduled task. Retyping the password does not help until the account is unlocked.",
		[]string{
			"unlock the account: Unlock-ADAccount {account} (or Active Directory Users and Computers, the user, Account, Unlock account)",
			"find what keeps sending the old password: on the PDC emulator, event 4740 names the caller computer of each lockout",
			"then retype the password and run exdiag again; exdiag itself sends it once per run",
		}},
	{"PASSWORD-EXPIRED", "the password has expired or must be changed",
		"The domain controller refuses the logon because the password has expired (AD sub-code 532, KDC_ERR_KEY_EXPIRED) or the account is flagged to change it at next logon (773). Remote PowerShell cannot change a password.",
		[]string{
			"change the password of {account}: sign in interactively once, or Set-ADAccountPassword {account} -Reset",
			"clear \"user must change password at next logon\" if an admin set it: Set-ADUser {account} -ChangePasswordAtLogon $false",
			"then run exdiag again with the new password",
		}},
	{"ACCOUNT-EXPIRED", "the account has expired",
		"The domain controller refuses the logon because the account's expiry date has passed (AD sub-code 701, STATUS_ACCOUNT_EXPIRED); the password may well be right.",
		[]string{
			"extend or clear the account's expiry: Set-ADAccountExpiration {account} -DateTime (Get-Date).AddDays(30), or Clear-ADAccountExpiration {account}",
			"then run exdiag again",
		}},
	{"LOGON-RESTRICTED", "logons are restricted by time or workstation",
		"The domain controller refuses the logon because of the account's logon hours (AD sub-code 530) or its list of allowed workstations (531, Log On To); the password is right.",
		[]string{
			"check the account's Logon Hours and Log On To lists: Get-ADUser {account} -Properties logonHours,userWorkstations",
			"allow the Exchange servers (Basic logons happen on the CAS) or clear the list: Set-ADUser {account} -LogonWorkstations $null",
		}},
	{"ACCOUNT-DISABLED", "the account is disabled or its credentials revoked",
		"The domain controller refuses the logon because the account is disabled (AD sub-code 533), or its KDC answered KDC_ERR_CLIENT_REVOKED, which also covers a locked-out or expired account when no NTSTATUS says which.",
		[]string{
			"check the account: Get-ADUser {account} -Properties Enabled,LockedOut,AccountExpirationDate",
			"enable it (Enable-ADAccount {account}) or unlock it (Unlock-ADAccount {account}) as the check shows",
		}},
}

func logonStateEntries() []Entry {
	var out []Entry
	for _, st := range accountStates {
		out = append(out,
			Entry{Code: "AUTH-" + st.suffix, Check: "auth", Severity: "fail", Title: st.title,
				Cause:       st.cause + " IIS Basic authentication answered 401.1 with the logon error as HRESULT; WinRM reports Access is denied.",
				Remediation: st.fix, References: []string{refLDAP49, refIISStatus, refLockout}},
			Entry{Code: "SPN-" + st.suffix, Check: "spn", Severity: "fail", Title: st.title,
				Cause:       st.cause + " The KDC (or the directory's bind) said so.",
				Remediation: st.fix, References: []string{refLDAP49, refKILE, refKDCEvents}},
		)
	}
	return out
}

var logonEntries = append(logonStateEntries(),
	Entry{
		Code: "AUTH-BASIC-HTTP", Check: "auth", Severity: "fail",
		Title: "basic authentication over an http:// uri",
		Cause: "The -ConnectionUri is http:// and the client logs on with -Authentication Basic. Basic sends the password in clear, so the WinRM client refuses: \"The WinRM client cannot process the request. Unencrypted traffic is currently disabled in the client configuration. Change the client configuration and try the request again.\" (0x803380DE, ERROR_WSMAN_CLIENT_UNENCRYPTED_DISABLED). The configuration does not allow connecting to the PowerShell endpoint without encryption; exdiag did not send the password.",
		Remediation: []string{
			"use https:// with Basic: New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri https://{host}/PowerShell -Authentication Basic -Credential $cred",
			"from inside the domain, keep http:// but log on with Kerberos instead: -ConnectionUri http://{host}/PowerShell -Authentication Kerberos (message encryption protects it)",
			"never set AllowUnencrypted on the client to make Basic over http work: the password would cross the network readable",
		},
		References: []string{refSeed, refNewPSSess, refWinRMConfig, srcWSMERR},
	},
	Entry{
		Code: "AUTH-PROXY-SSL-HANDSHAKE", Check: "auth", Severity: "fail",
		Title: "the proxy's tls handshake with the backend failed",
		Cause: "The reverse proxy answered 500 or 502 saying its TLS handshake with the CAS failed (Apache mod_proxy: \"Proxy Error … Error during SSL Handshake with remote server\"): the proxy does not trust the CAS certificate, the certificate is not for the name the proxy uses, or the two share no protocol version.",
		Remediation: []string{
			"from the proxy, look at the CAS certificate: openssl s_client -connect {server}:443 -servername {server} -showcerts",
			"give the proxy the internal CA's root (Apache: SSLProxyCACertificateFile; nginx: proxy_ssl_trusted_certificate; ARR: the machine's Trusted Root store)",
			"make the name the proxy connects to one of the certificate's names (Apache: ProxyPass to that name, SSLProxyCheckPeerName on)",
			"run exdiag from the proxy with --backend for each CAS to see which one fails",
		},
		References: []string{refApacheProxy, refARR502},
	},
	Entry{
		Code: "AUTH-PROXY-CLIENT-CERT", Check: "auth", Severity: "fail",
		Title: "the gateway asks for a client certificate",
		Cause: "The reverse proxy itself demands a TLS client certificate and answered 400 \"No required SSL certificate was sent\" (Azure Application Gateway with mutual authentication, nginx ssl_verify_client on). New-PSSession does not send one for Exchange, so every client fails before authentication.",
		Remediation: []string{
			"exempt the /PowerShell path from mutual authentication on the gateway (Application Gateway: an SSL profile without client authentication on the listener that serves {host})",
			"or publish /PowerShell on its own listener without client certificate verification (nginx: ssl_verify_client off or optional for that server)",
		},
		References: []string{refAppGwMTLS, refSeed},
	},
	Entry{
		Code: "AUTH-PROXY-NO-BACKEND", Check: "auth", Severity: "fail",
		Title: "the proxy has no backend up",
		Cause: "The reverse proxy answered 503 in its own words (HAProxy \"No server is available to handle this request\", Apache mod_proxy \"Service Unavailable\" for a balancer whose members are all in error): its health checks mark every CAS down, or every connection to them fails (HAProxy answers the same when it does not trust the CAS certificate under verify required, or the port is closed). That is the proxy's pool, not the Exchange application pool.",
		Remediation: []string{
			"on the proxy, see which backends it marks down and why (HAProxy: the log's SC/ssl handshake lines, the stats page or show servers state; Apache: the error log's AH00957 lines, balancer-manager)",
			"if the proxy verifies the CAS certificate, give it the internal CA's root (HAProxy: ca-file on the server line; Apache: SSLProxyCACertificateFile)",
			"from the proxy, reach each CAS: run exdiag there with --backend https://CAS/PowerShell for each server of the pool",
			"fix the health check if it asks for a path Exchange answers with 401 (use /owa/healthcheck.htm)",
		},
		References: []string{refHAProxy, refApacheProxy},
	},
	Entry{
		Code: "AUTH-PROXY-BACKEND-RESET", Check: "auth", Severity: "fail",
		Title: "the backend dropped the proxy's connection",
		Cause: "The proxy reached the CAS but the connection was aborted before an answer came: ARR 502.3 with WinHTTP 12030 (ERROR_WINHTTP_CONNECTION_ERROR), or a proxy that says the backend closed the connection. Typical causes are a TLS protocol or cipher the CAS refuses, a firewall that resets long connections, or an IIS worker that crashed.",
		Remediation: []string{
			"from the proxy, open a TLS session to the CAS by hand and watch for a reset: openssl s_client -connect {server}:443",
			"check the CAS's System and Application logs for worker process crashes (WAS 5011) and the HTTPERR log for Connection_Dropped",
			"align the TLS versions and ciphers the proxy offers with what the CAS accepts",
		},
		References: []string{refARR502, srcWinHTTP},
	},
	Entry{
		Code: "AUTH-PROXY-BAD-RESPONSE", Check: "auth", Severity: "fail",
		Title: "the backend's answer was not valid http for the proxy",
		Cause: "The proxy got an answer it could not parse: ARR 502.3 with WinHTTP 12152 (ERROR_WINHTTP_INVALID_SERVER_RESPONSE), or Apache's \"Invalid response from upstream\". The proxy may talk http to an https port (or the reverse), or a device between them rewrites the traffic.",
		Remediation: []string{
			"check the server farm or ProxyPass uses the scheme the CAS listens with: https to port 443",
			"from the proxy, fetch {backend_url} with curl -v and look at the first bytes of the answer",
		},
		References: []string{refARR502, srcWinHTTP},
	},
)
