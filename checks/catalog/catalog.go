// Package catalog maps finding codes to their title, severity, cause,
// remediation and references. Codes are a stable contract with the
// tickets exdiag feeds (see CATALOG.md in the shared design folder).
package catalog

import "sort"

// Entry documents one finding code.
type Entry struct {
	Code        string
	Check       string // the check id that raises it
	Severity    string // info | warn | fail
	Title       string
	Cause       string   // why it happens, in a sentence or two
	Remediation []string // exact steps, in order
	References  []string // URLs or document names
}

// entries is the whole catalog: the base list and the slices kept in
// their own files.
var entries = append(append([]Entry(nil), baseEntries...), logonEntries...)

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
