// Package adlogon names why Active Directory refused a logon. The same
// few account states reach exdiag in three spellings: the Win32 code in
// an LDAP bind's diagnostic ("data 775"), the HRESULT on an IIS 401.1 page
// (0x80070775) and the NTSTATUS a domain controller's KDC puts in a
// KRB-ERROR's e-data (0xC0000234). Each state is its own finding, since
// each has its own fix.
package adlogon

import (
	"regexp"
	"strconv"
	"strings"
)

// Reason is an account state that makes a domain controller refuse a logon.
type Reason int

const (
	BadPassword     Reason = iota + 1 // 52e: the user name or password is wrong
	Locked                            // 775: locked out after too many bad passwords
	PasswordExpired                   // 532 expired, 773 must be changed at next logon
	AccountExpired                    // 701: the account's end date has passed
	Restricted                        // 530 outside logon hours, 531 not from this workstation
	Disabled                          // 533: the account is disabled
)

// Failure is one decoded refusal.
type Failure struct {
	Reason Reason
	Win32  uint32 // 0x52e …; 0 when only the KDC error code was known
	What   string // "the account is locked out"
}

type state struct {
	win32, ntstatus uint32
	reason          Reason
	what            string
}

// states are the sub-codes of LDAP result 49 (AcceptSecurityContext error,
// data NNN) and their NTSTATUS twins; see Microsoft's "LDAP error 49"
// and [MS-ERREF] tables.
var states = []state{
	{0x52e, 0xC000006A, BadPassword, "the user name or password is wrong"},
	{0x775, 0xC0000234, Locked, "the account is locked out"},
	{0x532, 0xC0000071, PasswordExpired, "the password has expired"},
	{0x773, 0xC0000224, PasswordExpired, "the password must be changed before the next logon"},
	{0x701, 0xC0000193, AccountExpired, "the account has expired"},
	{0x530, 0xC000006F, Restricted, "logons are not allowed at this time (logon hours)"},
	{0x531, 0xC0000070, Restricted, "logons are not allowed from this workstation"},
	{0x533, 0xC0000072, Disabled, "the account is disabled"},
}

// FromWin32 decodes an AD sub-code such as 0x775.
func FromWin32(code uint32) (Failure, bool) {
	for _, s := range states {
		if s.win32 == code {
			return Failure{Reason: s.reason, Win32: s.win32, What: s.what}, true
		}
	}
	return Failure{}, false
}

// FromNTStatus decodes the NTSTATUS of a KDC's extended error.
func FromNTStatus(st uint32) (Failure, bool) {
	for _, s := range states {
		if s.ntstatus == st {
			return Failure{Reason: s.reason, Win32: s.win32, What: s.what}, true
		}
	}
	return Failure{}, false
}

var dataRE = regexp.MustCompile(`(?i)\bdata\s+([0-9a-f]{3,8})\b`)

// FromLDAPDiag reads AD's diagnostic message of a failed bind:
// "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563".
func FromLDAPDiag(msg string) (Failure, bool) {
	m := dataRE.FindStringSubmatch(msg)
	if m == nil {
		return Failure{}, false
	}
	n, err := strconv.ParseUint(m[1], 16, 32)
	if err != nil {
		return Failure{}, false
	}
	return FromWin32(uint32(n))
}

// FromHResult decodes HRESULT_FROM_WIN32 of an AD sub-code, as IIS shows
// it on a 401.1 page ("Error Code 0x8007052e").
func FromHResult(hr string) (Failure, bool) {
	hr = strings.ToLower(hr)
	if len(hr) != 10 || !strings.HasPrefix(hr, "0x8007") {
		return Failure{}, false
	}
	n, err := strconv.ParseUint(hr[6:], 16, 16)
	if err != nil {
		return Failure{}, false
	}
	return FromWin32(uint32(n))
}

var suffixes = map[Reason]string{
	Locked:          "ACCOUNT-LOCKED",
	PasswordExpired: "PASSWORD-EXPIRED",
	AccountExpired:  "ACCOUNT-EXPIRED",
	Restricted:      "LOGON-RESTRICTED",
	Disabled:        "ACCOUNT-DISABLED",
}

// Code is the finding code of r for a check's prefix ("AUTH", "SPN"); a
// wrong password keeps the code each check had for it already.
func Code(prefix string, r Reason) string {
	if r == BadPassword {
		if prefix == "AUTH" {
			return "AUTH-BAD-CREDENTIALS"
		}
		return prefix + "-PREAUTH-FAILED"
	}
	return prefix + "-" + suffixes[r]
}

// Codes lists the account-state codes of a check's prefix, wrong password
// included, for the check's Codes list.
func Codes(prefix string) []string {
	out := []string{Code(prefix, BadPassword)}
	for _, r := range []Reason{Locked, PasswordExpired, AccountExpired, Restricted, Disabled} {
		out = append(out, Code(prefix, r))
	}
	return out
}
