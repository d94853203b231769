package checks

import (
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/checks/catalog"
)

// Validate reports the first defect of a check set: an empty id or doc, a
// missing Run, a duplicate id, a prerequisite that is not in the set, a
// cycle among prerequisites, or a code the catalog does not know. Run
// checks a list against itself and All (so a caller may pass a subset of
// All), and a test calls it on All, so a typo in Requires fails the tests
// instead of silently not gating.
func Validate(list []Check) error { return validate(list, nil) }

func validID(id string) bool {
	for i, r := range id {
		if !(r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return id != ""
}

// validate is Validate with extra checks a prerequisite may also name
// (they are not validated themselves).
func validate(list []Check, also []Check) error {
	byID := make(map[string]*Check, len(list))
	for i := range list {
		c := &list[i]
		switch {
		case c.ID == "":
			return fmt.Errorf("check %d has no id", i)
		case !validID(c.ID):
			return fmt.Errorf("check id %q is not lowercase letters, digits and dashes (it is typed in --checks)", c.ID)
		case byID[c.ID] != nil:
			return fmt.Errorf("check %s is listed twice", c.ID)
		case strings.TrimSpace(c.Doc) == "":
			return fmt.Errorf("check %s has no doc", c.ID)
		case c.Run == nil:
			return fmt.Errorf("check %s has no Run", c.ID)
		}
		byID[c.ID] = c
		for _, code := range append(append([]string(nil), c.Codes...), c.Borrows...) {
			if _, ok := catalog.Lookup(code); !ok {
				return fmt.Errorf("check %s lists code %s, which is not in the catalog", c.ID, code)
			}
		}
	}
	known := make(map[string]bool, len(also))
	for _, c := range also {
		known[c.ID] = true
	}
	for _, c := range list {
		if l := c.LogonFor; l != "" {
			if lc := byID[l]; lc == nil && !known[l] || lc != nil && !lc.LeadsLogon || l == c.ID {
				return fmt.Errorf("check %s carries the logon of %q, which is not another check that leads the logon", c.ID, l)
			}
		}
		for _, r := range c.Requires {
			if byID[r] == nil && !known[r] {
				return fmt.Errorf("check %s requires %q, which is not a check", c.ID, r)
			}
			if r == c.ID {
				return fmt.Errorf("check %s requires itself", c.ID)
			}
		}
	}
	// depth-first search with colours: grey on the stack, black done
	const (
		white = iota
		grey
		black
	)
	colour := make(map[string]int, len(list))
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch colour[id] {
		case grey:
			return fmt.Errorf("prerequisites form a cycle: %s", strings.Join(append(path, id), " -> "))
		case black:
			return nil
		}
		c := byID[id]
		if c == nil {
			return nil // outside the list: it cannot close a cycle inside it
		}
		colour[id] = grey
		for _, r := range c.Requires {
			if err := visit(r, append(path, id)); err != nil {
				return err
			}
		}
		colour[id] = black
		return nil
	}
	for _, c := range list {
		if err := visit(c.ID, nil); err != nil {
			return err
		}
	}
	return nil
}
