package catalog

// Entries for the Windows logon the auth probe performs with
// --authentication kerberos, negotiate or ntlm: what the server answered
// to the Kerberos AP-REQ, Negotiate's silent fall back to NTLM, and
// Extended Protection behind a proxy that terminates TLS. A logon that
// got no ticket reuses the spn check's codes (SPN-MISSING,
// SPN-KDC-UNREACHABLE, the account states): the KDC's answer is the same.

const (
	refExchangeEP   = "https://learn.microsoft.com/en-us/exchange/plan-and-deploy/post-installation-tasks/security-best-practices/exchange-extended-protection"
	refEPScript     = "https://microsoft.github.io/CSS-Exchange/Security/ExchangeExtendedProtectionManagement/"
	refRFC5929      = "https://www.rfc-editor.org/rfc/rfc5929"
	refRFC4121      = "https://www.rfc-editor.org/rfc/rfc4121"
	refSetCAS       = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-clientaccessservice"
	refImportCert   = "https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/import-exchangecertificate"
	refKerbTrouble  = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/windows-security/kerberos-authentication-troubleshooting-guidance"
	refClockSkew    = "https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/maximum-tolerance-for-computer-clock-synchronization"
	refW32tm        = "https://learn.microsoft.com/en-us/windows-server/networking/windows-time-service/windows-time-service-tools-and-settings"
	refNegotiateSSP = "https://learn.microsoft.com/en-us/windows/win32/secauthn/microsoft-negotiate"
	refNLMP         = "https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/b38c36ed-2804-4868-a9ff-8dd3182128e4"
)

// Steps the Windows-logon entries share.
const (
	stepASADeploy = "deploy the alternate service account's credential to every CAS that answers {host}, from the Exchange Scripts folder: .\\RollAlternateServiceAccountPassword.ps1 -ToEntireForest -GenerateNewPasswordFor '{domain}\\EXASA$' (a computer account; Set-ClientAccessService with -AlternateServiceAccountCredential sets it one server at a time), then check with Get-ClientAccessService -IncludeAlternateServiceAccountCredentialStatus | Format-List Name,AlternateServiceAccountConfiguration"
	stepEPBasic   = "or let clients through the proxy log on with Basic over https, which Extended Protection does not bind: enable it on each CAS (Get-PowerShellVirtualDirectory | Set-PowerShellVirtualDirectory -BasicAuthentication $true), connect with New-PSSession -ConnectionUri {uri} -Authentication Basic, and keep Windows authentication for clients that reach the CAS directly"
	stepKlist     = "on the client, run klist purge and connect again: a ticket cached for the old key keeps failing until it expires"
	stepResync    = "make it follow the domain hierarchy and resynchronise: w32tm /config /syncfromflags:domhier /update, then w32tm /resync and w32tm /query /status (a virtual machine must not also take its host's time)"
	stepPDCTime   = "check the PDC emulator of {realm} takes its time from a reliable source: w32tm /query /source on it"
	stepOwnClock  = "check the clock of the machine exdiag ran on too (timedatectl, or w32tm /query /status): its authenticator carries that time"
	stepReencrypt = "make the proxy re-encrypt to the CAS (https to port 443, not http): offloading to http is never supported with Extended Protection"
)

var windowsLogonEntries = []Entry{
	{
		Code: "AUTH-KERBEROS-MODIFIED", Check: "auth", Severity: "fail",
		Title: "the server cannot decrypt the kerberos ticket",
		Cause: "The KDC issued a service ticket for the SPN the client asked for, and the server answered KRB_AP_ERR_MODIFIED (41; an MIT acceptor such as Apache mod_auth_gssapi says KRB_AP_ERR_BAD_INTEGRITY, 31) or KRB_AP_ERR_BADKEYVER (44, a keytab without the ticket's key version): the ticket is encrypted with the key of the account that holds the SPN in the directory, and the server that received it does not hold that key (RFC 4120 section 3.2.3, MS-KILE). The usual causes are the SPN registered on another account than the one the server runs as (a duplicate, or an SPN left on an old account); a load-balanced or alias name whose SPN is on an alternate service account (ASA) whose credential is missing, or out of date, on the CAS that answered (Exchange needs the same ASA credential on every Client Access server behind the name); and on a server that is not Windows, a keytab exported before the account's password or key version last changed.",
		Remediation: []string{
			"find every account that holds {spn}: setspn -F -Q {spn}; it must be on exactly one, the account whose key the servers behind {host} have (the ASA for a shared or load-balanced name, the CAS computer account for its own FQDN)",
			"remove it from any other account: setspn -D {spn} followed by that account's name, then list duplicates in the forest with setspn -X -F",
			stepASADeploy,
			"if {host} is served by something other than IIS (a keytab, such as Apache mod_auth_gssapi), export the keytab again after the last password change (ktpass on Windows, kadmin ktadd for MIT) and compare the key version: klist -k on the server, kvno {spn} on a client",
			stepKlist,
		},
		Variants: []Variant{{When: "server", Remediation: []string{
			"{server} cannot decrypt a ticket for {spn}: find every account that holds it with setspn -F -Q {spn}; it must be on one account only, and {server} must hold its key (the ASA credential for a shared name, its own computer account for its FQDN)",
			"remove it from any other account: setspn -D {spn} followed by that account's name, then list duplicates with setspn -X -F",
			"on {server}, check the ASA credential: Get-ClientAccessService {server} -IncludeAlternateServiceAccountCredentialStatus | Format-List AlternateServiceAccountConfiguration, and deploy it again with .\\RollAlternateServiceAccountPassword.ps1 -ToSpecificServer {server} -CopyFrom followed by a CAS where Kerberos works",
			stepKlist,
		}}},
		References: []string{refRFC4120, refKILE, refASA, refSetCAS, refSetspn, refKerbTrouble},
	},
	{
		Code: "AUTH-KERBEROS-SKEW", Check: "auth", Severity: "fail",
		Title: "the server's clock and the client's differ too much for kerberos",
		Cause: "The server answered KRB_AP_ERR_SKEW (37): the time in the Kerberos authenticator is further from the server's clock than it allows, 5 minutes by default in Active Directory (the Maximum tolerance for computer clock synchronization policy) and in MIT Kerberos (clockskew). The KDC issued the ticket, so the client and the domain agree; the server's clock has drifted (a CAS or proxy host that does not follow the domain's time hierarchy, a virtual machine that takes its host's time), or the client's has.",
		Remediation: []string{
			"on each server that answers {host}, compare its clock with a domain controller: w32tm /stripchart /computer:{kdc} /samples:3 /dataonly",
			stepResync,
			stepPDCTime,
			stepOwnClock,
			"do not raise the clock tolerance to hide the drift: it widens the window for replayed authenticators",
		},
		Variants: []Variant{{When: "!kdc", Remediation: []string{
			"on each server that answers {host}, compare its clock with the domain's: w32tm /stripchart /computer:{realm} /samples:3 /dataonly (the domain's name reaches one of its domain controllers)",
			stepResync,
			stepPDCTime,
			stepOwnClock,
		}}},
		References: []string{refRFC4120, refClockSkew, refW32tm, refKerbTrouble},
	},
	{
		Code: "AUTH-NTLM-FALLBACK", Check: "auth", Severity: "warn",
		Title: "negotiate fell back to ntlm",
		Cause: "With -Authentication Negotiate (or Default), Windows asks the KDC for a ticket for HTTP/<name> first and, when the KDC knows no such SPN or no KDC answers, its Negotiate package uses NTLM instead without saying so. The logon still works, but NTLM gives no mutual authentication, can be relayed, is refused where NTLM is restricted by policy, and leaves Kerberos broken for the name. exdiag did the same and says which one it used.",
		Remediation: []string{
			"give the name its SPN so Kerberos works: check it is free with setspn -F -Q {spn}, then register it on the account the servers behind {host} share, for a load-balanced name the alternate service account: setspn -S {spn} {domain}\\EXASA$",
			stepASADeploy,
			"or use a name that has an SPN: a CAS's own FQDN in -ConnectionUri",
			"verify: klist get {spn} on a domain client returns a ticket, and exdiag with --authentication kerberos logs on",
		},
		Variants: []Variant{
			{When: "variant=no-kdc", Remediation: []string{
				"no KDC of {realm} answered, so Kerberos was impossible from here: from outside the network that is expected, and Basic over https is the way in (New-PSSession -ConnectionUri {uri} -Authentication Basic)",
				"inside the network, find the KDCs with nslookup -type=SRV _kerberos._tcp.{realm} and test port 88 on each: Test-NetConnection followed by its name and -Port 88",
				"then run exdiag again with --kdc for a reachable domain controller",
			}},
			{When: "variant=other", Remediation: []string{
				"the summary says why no ticket came; fix that and run exdiag again with --authentication kerberos to see the Kerberos logon alone",
				"check that {spn} exists and is on one account: setspn -F -Q {spn}",
			}},
		},
		References: []string{refNegotiateSSP, refASA, refSetspn, refKILE},
	},
	{
		Code: "AUTH-EXTENDED-PROTECTION", Check: "auth", Severity: "fail",
		Title: "the proxy terminates tls in front of extended protection",
		Cause: "Exchange supports Extended Protection for Authentication on its IIS virtual directories since the August 2022 security updates, and turns it on by default since Exchange Server 2019 CU14 (ExchangeExtendedProtectionManagement.ps1 turns it on for older builds): a Kerberos or NTLM logon must carry the channel binding of the TLS connection the CAS itself terminates, the hash of the CAS's certificate (RFC 5929 tls-server-end-point). A reverse proxy or load balancer that terminates TLS and forwards in clear (SSL offloading), or re-encrypts with a certificate other than the CAS's, gives the client a different certificate, so every Windows logon through it is refused with 401 (IIS's 401.1 page, where it shows the detail, gives 0x80090346 SEC_E_BAD_BINDINGS) while the same logon without a binding, or straight to the CAS, would pass. Exchange's Extended Protection documentation says SSL offloading is not supported; SSL bridging is, when the proxy presents the same certificate as the CAS.",
		Remediation: []string{
			"bridge TLS with one certificate: the proxy that publishes {host} presents {proxy_subject} (thumbprint {proxy_thumbprint}) and the CAS presents {cas_subject} (thumbprint {cas_thumbprint}); they must be the same certificate",
			"either install the CAS certificate with its private key on the proxy and bind it to the listener of {host}, or give each CAS the proxy's certificate: Import-ExchangeCertificate on each CAS, then Enable-ExchangeCertificate -Thumbprint {proxy_thumbprint} -Services IIS",
			stepReencrypt,
			stepEPBasic,
			"verify: exdiag --authentication {mechanism} against {uri} and with --backend {backend_url} both log on; do not turn Extended Protection off to make offloading work, it is what stops NTLM relay to Exchange",
		},
		Variants: []Variant{{When: "!cas_thumbprint", Remediation: []string{
			"the proxy that publishes {host} presents {proxy_subject} (thumbprint {proxy_thumbprint}); find the certificate each CAS presents: Get-ExchangeCertificate | Where-Object {$_.Services -match 'IIS'} | Format-List Subject,Thumbprint on each CAS, or run exdiag from the proxy with --backend for each CAS",
			"make them one certificate: install the CAS certificate with its private key on the proxy for the listener of {host}, or Import-ExchangeCertificate the proxy's on each CAS and Enable-ExchangeCertificate -Thumbprint {proxy_thumbprint} -Services IIS",
			stepReencrypt,
			stepEPBasic,
		}}},
		References: []string{refExchangeEP, refEPScript, refRFC5929, refEnableCert, refImportCert},
	},
	{
		Code: "AUTH-WINDOWS-LOGON-FAILED", Check: "auth", Severity: "fail",
		Title: "the windows logon was refused",
		Cause: "The server refused the Kerberos or NTLM logon for a reason no other code names: a 401 to the last token without a Kerberos error exdiag could read, an NTLM logon refused (a wrong password, an account the server does not accept, NTLM blocked by policy), or a Kerberos answer whose mutual authentication did not verify (the AP-REP of RFC 4121 did not match the request: the answer is not from the holder of the service key). The summary says what came back.",
		Remediation: []string{
			"read what the server logged at the time of the run: on the CAS that answers {host}, the Security log's event 4625 (its Status and Sub Status say why) for NTLM; on the domain controllers, events 4769 and 4771 for Kerberos",
			stepRetypePass,
			"tell the mechanisms apart: run exdiag with --authentication kerberos and with --authentication ntlm; Basic over https to {uri} shows whether the account itself can log on",
			"check Windows authentication on the vdir of each CAS: Get-PowerShellVirtualDirectory | Format-List Server,WindowsAuthentication, and that no policy restricts NTLM (Network security: Restrict NTLM) where NTLM was used",
		},
		References: []string{refNegotiateSSP, refNLMP, refRFC4121, refKDCEvents},
	},
}
