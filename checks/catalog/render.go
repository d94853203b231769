package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

// Variant is a remediation list for one kind of evidence: when its
// condition holds for a finding's params, its steps replace the entry's
// default ones, so the first step shown is the one the evidence points to.
type Variant struct {
	// When is one condition on a param: "name" (observed), "!name" (not
	// observed), "name=value" (equal, ignoring case) or "name=prefix*".
	When        string
	Remediation []string
}

// condition is a parsed Variant.When.
type condition struct {
	name, value    string
	negate, prefix bool
	hasValue       bool
}

var condRE = regexp.MustCompile(`^(!?)([a-z_]+)(?:=([^*=]+)(\*?))?$`)

func parseCondition(s string) (condition, error) {
	m := condRE.FindStringSubmatch(s)
	if m == nil {
		return condition{}, fmt.Errorf("condition %q is not name, !name, name=value or name=prefix*", s)
	}
	c := condition{negate: m[1] == "!", name: m[2], value: m[3], prefix: m[4] == "*", hasValue: m[3] != ""}
	if c.negate && c.hasValue {
		return condition{}, fmt.Errorf("condition %q negates a comparison; use !name only", s)
	}
	if !Known(c.name) {
		return condition{}, fmt.Errorf("condition %q names %q, which is not in the vocabulary", s, c.name)
	}
	return c, nil
}

func (c condition) holds(params map[string]string) bool {
	v := params[c.name]
	switch {
	case c.negate:
		return v == ""
	case !c.hasValue:
		return v != ""
	case c.prefix:
		return len(v) >= len(c.value) && strings.EqualFold(v[:len(c.value)], c.value)
	}
	return strings.EqualFold(v, c.value)
}

// describe says the condition in words, for explain.
func (c condition) describe() string {
	p := vocabulary[c.name].Placeholder
	switch {
	case c.negate:
		return p + " was not observed"
	case !c.hasValue:
		return p + " was observed"
	case c.prefix:
		return p + " starts with " + c.value
	}
	return p + " is " + c.value
}

// Describe says when the variant applies, in words.
func (v Variant) Describe() string {
	c, err := parseCondition(v.When)
	if err != nil {
		return v.When
	}
	return c.describe()
}

// Steps returns the remediation templates that apply to a finding of code
// with params: the first variant whose condition holds, else the defaults.
func Steps(code string, params map[string]string) []string {
	e, ok := byCode[code]
	if !ok {
		return nil
	}
	for _, v := range e.Variants {
		if c, err := parseCondition(v.When); err == nil && c.holds(params) {
			return v.Remediation
		}
	}
	return e.Remediation
}

// notInCatalog is the one step of a code the catalog does not know: a
// probe bug, kept visible rather than dropped.
const notInCatalog = "this finding code is not in the catalog; please report it"

// Render returns the remediation of a finding of code, its steps filled
// with params, and the entry's references. A value params lacks is said in
// words (Param.Unknown), so no step carries a placeholder.
func Render(code string, params map[string]string) (remediation, references []string) {
	e, ok := byCode[code]
	if !ok {
		return []string{notInCatalog}, []string{}
	}
	steps := Steps(code, params)
	remediation = make([]string, 0, len(steps))
	for _, s := range steps {
		remediation = append(remediation, Fill(s, func(name string) string {
			if v := params[name]; v != "" {
				return v
			}
			return vocabulary[name].Unknown
		}))
	}
	return remediation, append([]string{}, e.References...)
}

// Template returns a step with every placeholder in its readable form
// (<published host>), for `exdiag explain` without a run.
func Template(step string) string {
	return Fill(step, func(name string) string { return vocabulary[name].Placeholder })
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// Fill replaces every {name} in step with value(name). A name outside the
// vocabulary is left as it is, which the catalog tests refuse.
func Fill(step string, value func(name string) string) string {
	return placeholderRE.ReplaceAllStringFunc(step, func(m string) string {
		name := m[1 : len(m)-1]
		if !Known(name) {
			return m
		}
		return value(name)
	})
}

// Placeholders lists the names a step uses, in order.
func Placeholders(step string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(step, -1) {
		out = append(out, m[1])
	}
	return out
}
