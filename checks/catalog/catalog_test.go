package catalog

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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

// catalogRow matches a code row of CATALOG.md's tables: | CODE | sev | ...
var catalogRow = regexp.MustCompile(`^\|\s*([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\s*\|\s*(info|warn|fail)\s*\|`)

// sharedCatalog finds ../shared/CATALOG.md next to the repository root
// (the directory that holds go.mod).
func sharedCatalog(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "CATALOG.md")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func TestMatchesSharedCatalog(t *testing.T) {
	path := sharedCatalog(t)
	if path == "" {
		t.Skip("no go.mod above the test directory; cannot locate ../shared/CATALOG.md")
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("no shared CATALOG.md next to the repository (looked at %q); nothing to compare", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := catalogRow.FindStringSubmatch(sc.Text()); m != nil {
			want[m[1]] = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatalf("no | CODE | sev | rows found in %s", path)
	}
	for code, sev := range want {
		e, ok := Lookup(code)
		if !ok {
			t.Errorf("%s is in CATALOG.md but not in the catalog", code)
			continue
		}
		if e.Severity != sev {
			t.Errorf("%s: severity %q, CATALOG.md says %q", code, e.Severity, sev)
		}
	}
	for _, e := range entries {
		if _, ok := want[e.Code]; !ok {
			t.Logf("%s is in the catalog but not in CATALOG.md", e.Code)
		}
	}
	t.Logf("%d codes in CATALOG.md, %d in the catalog", len(want), len(entries))
}

// TestParseCatalogRow pins the row parser, so a format drift in CATALOG.md
// shows up as a failure here rather than as a silently empty comparison.
func TestParseCatalogRow(t *testing.T) {
	for _, tc := range []struct {
		line, code, sev string
	}{
		{"| DNS-EXT-NXDOMAIN | fail | the external resolver ... | facts |", "DNS-EXT-NXDOMAIN", "fail"},
		{"|TLS-WEAK|warn|x|y|", "TLS-WEAK", "warn"},
		{"| HTTP-PORT-CLOSED | info | nothing listens | ok |", "HTTP-PORT-CLOSED", "info"},
		{"| code | sev | raised when | facts |", "", ""},
		{"|---|---|---|---|", "", ""},
		{"| AUTH-X | critical | ... |", "", ""},
	} {
		m := catalogRow.FindStringSubmatch(tc.line)
		var code, sev string
		if m != nil {
			code, sev = m[1], m[2]
		}
		if code != tc.code || sev != tc.sev {
			t.Errorf("%q parsed as (%q, %q), want (%q, %q)", tc.line, code, sev, tc.code, tc.sev)
		}
	}
}
