package checks

import (
	"testing"

	"github.com/exdiag/exdiag/checks/catalog"
)

// The catalog and the probes must agree: a probe may raise only catalog
// codes, and every catalog code must be raised by some probe.
func TestCatalogAndChecksAgree(t *testing.T) {
	raised := map[string]string{}
	for _, c := range All() {
		for _, code := range c.Codes {
			e, ok := catalog.Lookup(code)
			if !ok {
				t.Errorf("check %s raises %s, which is not in the catalog", c.ID, code)
				continue
			}
			if e.Check != c.ID {
				t.Errorf("%s is catalogued under %s but raised by %s", code, e.Check, c.ID)
			}
			raised[code] = c.ID
		}
	}
	for _, c := range All() {
		for _, code := range c.Borrows {
			e, ok := catalog.Lookup(code)
			switch {
			case !ok:
				t.Errorf("check %s borrows %s, which is not in the catalog", c.ID, code)
			case e.Check == c.ID:
				t.Errorf("check %s borrows its own code %s; list it in Codes", c.ID, code)
			case raised[code] != e.Check:
				t.Errorf("check %s borrows %s, which its own check %s does not list", c.ID, code, e.Check)
			}
		}
	}
	for _, e := range catalog.All() {
		if _, ok := raised[e.Code]; !ok {
			t.Errorf("catalog code %s is raised by no check (list it in its check's Codes)", e.Code)
		}
	}
}
