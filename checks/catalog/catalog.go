// Package catalog maps finding codes to their title, severity, cause,
// remediation and references. Codes are a stable contract with the
// tickets exdiag feeds; CATALOG.md in this folder is generated from the
// entries (go test ./checks/catalog -run TestCatalogDoc -update).
package catalog

import "sort"

// Entry documents one finding code.
type Entry struct {
	Code     string
	Check    string // the check id that raises it
	Severity string // info | warn | fail
	Title    string
	Cause    string // why it happens, in a sentence or two
	// Remediation holds the exact steps, in order, as templates with
	// {name} placeholders from Vocabulary.
	Remediation []string
	// Variants replace Remediation when the evidence says which fix comes
	// first; the first whose condition holds wins.
	Variants   []Variant
	References []string // public sources: https URLs or a document's title
}

// entries is every catalog slice, one per file that adds codes.
var entries = concat(baseEntries, logonEntries, windowsLogonEntries)

func concat(lists ...[]Entry) []Entry {
	var out []Entry
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var byCode = func() map[string]Entry {
	m := make(map[string]Entry, len(entries))
	for _, e := range entries {
		m[e.Code] = e
	}
	return m
}()

// Lookup returns the entry for code.
func Lookup(code string) (Entry, bool) {
	e, ok := byCode[code]
	return e, ok
}

// All returns every entry, ordered by check then code.
func All() []Entry {
	out := append([]Entry(nil), entries...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Check != out[j].Check {
			return checkOrder(out[i].Check) < checkOrder(out[j].Check)
		}
		return out[i].Code < out[j].Code
	})
	return out
}

func checkOrder(id string) int {
	for i, c := range []string{"dns", "tls", "redirect", "auth", "spn", "rbac"} {
		if c == id {
			return i
		}
	}
	return 99
}
