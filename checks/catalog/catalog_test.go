package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var (
	validChecks     = map[string]bool{"dns": true, "tls": true, "redirect": true, "auth": true, "spn": true, "rbac": true}
	validSeverities = map[string]bool{"info": true, "warn": true, "fail": true}
	codePattern     = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
)

func TestEntriesWellFormed(t *testing.T) {
	if len(entries) == 0 {
		t.Fatal("catalog is empty")
	}
	seen := map[string]bool{}
	for i, e := range entries {
		name := e.Code
		if name == "" {
			name = fmt.Sprintf("entry%d", i)
		}
		t.Run(name, func(t *testing.T) {
			if !codePattern.MatchString(e.Code) {
				t.Errorf("code %q is not upper-case words joined by dashes", e.Code)
			}
			if seen[e.Code] {
				t.Errorf("code %q appears twice", e.Code)
			}
			seen[e.Code] = true
			if !validChecks[e.Check] {
				t.Errorf("check %q is not one of dns, tls, redirect, auth, spn, rbac", e.Check)
			}
			if !validSeverities[e.Severity] {
				t.Errorf("severity %q is not info, warn or fail", e.Severity)
			}
			if strings.TrimSpace(e.Title) == "" {
				t.Error("title is empty")
			} else if r := []rune(e.Title)[0]; unicode.IsUpper(r) {
				t.Errorf("title %q should start lowercase", e.Title)
			}
			if strings.TrimSpace(e.Cause) == "" {
				t.Error("cause is empty")
			}
			if len(e.Remediation) == 0 {
				t.Error("no remediation steps")
			}
			for j, step := range e.Remediation {
				if strings.TrimSpace(step) == "" {
					t.Errorf("remediation step %d is empty", j)
				}
				if step != strings.TrimRightFunc(step, unicode.IsSpace) {
					t.Errorf("remediation step %d ends with whitespace: %q", j, step)
				}
			}
			if len(e.References) == 0 {
				t.Error("no references")
			}
			for j, ref := range e.References {
				if strings.TrimSpace(ref) == "" {
					t.Errorf("reference %d is empty", j)
				}
				// A URL must be https and carry no spaces; anything else is a
				// document name, which must say what it is.
				if strings.Contains(ref, "://") {
					if !strings.HasPrefix(ref, "https://") || strings.ContainsAny(ref, " \t") {
						t.Errorf("reference %d is not a clean https URL: %q", j, ref)
					}
				}
			}
			// The prefix of a code names the area its check covers, so a
			// ticket reader can tell the probe from the code alone.
			if want := prefixCheck(e.Code); want != "" && want != e.Check {
				t.Errorf("code %q belongs to check %q, entry says %q", e.Code, want, e.Check)
			}
		})
	}
}

func prefixCheck(code string) string {
	switch strings.SplitN(code, "-", 2)[0] {
	case "DNS":
		return "dns"
	case "TLS":
		return "tls"
	case "HTTP":
		return "redirect"
	case "AUTH":
		return "auth"
	case "SPN":
		return "spn"
	case "RBAC":
		return "rbac"
	}
	return ""
}

func TestLookupAndAll(t *testing.T) {
	all := All()
	if len(all) != len(entries) {
		t.Fatalf("All returned %d entries, want %d", len(all), len(entries))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if checkOrder(a.Check) > checkOrder(b.Check) ||
			(a.Check == b.Check && a.Code > b.Code) {
			t.Errorf("All is not ordered by check then code: %s before %s", a.Code, b.Code)
		}
	}
	for _, e := range entries {
		got, ok := Lookup(e.Code)
		if !ok || got.Code != e.Code {
			t.Errorf("Lookup(%q) = %q, %v", e.Code, got.Code, ok)
		}
	}
	if _, ok := Lookup("NO-SUCH-CODE"); ok {
		t.Error("Lookup found a code that does not exist")
	}
}

// frozen is the code contract as the design's catalog published it:
// tickets and monitors key on these codes and their severities, so none
// may disappear or change weight. New codes may be added freely.
var frozen = map[string]string{
	"DNS-EXT-NXDOMAIN":        "fail",
	"DNS-EXT-NO-ADDRESS":      "fail",
	"DNS-EXT-PRIVATE-ADDRESS": "fail",
	"DNS-EXT-UNEXPECTED":      "fail",
	"DNS-INT-NXDOMAIN":        "fail",
	"DNS-INT-UNEXPECTED":      "fail",
	"DNS-NO-SPLIT":            "warn",
	"DNS-CNAME":               "warn",
	"DNS-RESOLVER-FAILED":     "fail",
	"DNS-RESOLVER-TIMEOUT":    "fail",
	"TLS-CONNECT-FAILED":      "fail",
	"TLS-UNTRUSTED-ROOT":      "fail",
	"TLS-INCOMPLETE-CHAIN":    "warn",
	"TLS-NAME-MISMATCH":       "fail",
	"TLS-EXPIRED":             "fail",
	"TLS-EXPIRES-SOON":        "warn",
	"TLS-WEAK":                "warn",
	"TLS-BACKEND-UNTRUSTED":   "fail",
	"HTTP-NOT-REDIRECTED":     "fail",
	"HTTP-BASIC-OVER-HTTP":    "fail",
	"HTTP-REDIRECT-ELSEWHERE": "warn",
	"HTTP-PORT-CLOSED":        "info",
	"HTTP-NO-HSTS":            "info",
	"AUTH-BASIC-NOT-OFFERED":  "fail",
	"AUTH-BAD-CREDENTIALS":    "fail",
	"AUTH-REQUIRE-SSL":        "fail",
	"AUTH-CLIENT-CERT":        "fail",
	"AUTH-IP-DENIED":          "fail",
	"AUTH-FORBIDDEN":          "fail",
	"AUTH-NEGOTIATE-400":      "fail",
	"AUTH-NEGOTIATE-HTTP":     "fail",
	"AUTH-NOT-PUBLISHED":      "fail",
	"AUTH-NOT-WSMAN":          "fail",
	"AUTH-SERVER-ERROR":       "fail",
	"AUTH-PROXY-BACKEND-CERT": "fail",
	"AUTH-PROXY-BACKEND-DOWN": "fail",
	"AUTH-PROXY-502":          "fail",
	"AUTH-UNAVAILABLE":        "fail",
	"AUTH-REDIRECTED":         "warn",
	"AUTH-UNEXPECTED":         "fail",
	"SPN-MISSING":             "fail",
	"SPN-DUPLICATE":           "fail",
	"SPN-KDC-UNREACHABLE":     "fail",
	"SPN-PREAUTH-FAILED":      "fail",
	"SPN-NOT-NEEDED":          "info",
	"RBAC-SESSION-FAILED":     "fail",
	"RBAC-REMOTEPS-DISABLED":  "fail",
	"RBAC-SHELL-QUOTA":        "fail",
	"RBAC-LIMITED":            "warn",
	"RBAC-MISSING-CMDLET":     "fail",
	// issue 16: the Windows logon
	"AUTH-KERBEROS-MODIFIED":    "fail",
	"AUTH-KERBEROS-SKEW":        "fail",
	"AUTH-NTLM-FALLBACK":        "warn",
	"AUTH-EXTENDED-PROTECTION":  "fail",
	"AUTH-WINDOWS-LOGON-FAILED": "fail",
}

func TestFrozenCodes(t *testing.T) {
	for code, sev := range frozen {
		e, ok := Lookup(code)
		if !ok {
			t.Errorf("%s is part of the published code contract but not in the catalog", code)
			continue
		}
		if e.Severity != sev {
			t.Errorf("%s: severity %q, the published contract says %q", code, e.Severity, sev)
		}
	}
}
