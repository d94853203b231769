package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/checks"
)

// Clean returns a copy of d in which every string, evidence included, has
// its control characters written out as visible escapes. Server text is
// hostile: a certificate CN of "\x1b]0;pwned\x07" must not retitle the
// terminal that shows the table, nor forge a line in a ticket.
func Clean(d Doc) Doc {
	c := d
	c.Version = Sanitize(d.Version)
	c.Target = Target{URI: Sanitize(d.Target.URI), Host: Sanitize(d.Target.Host), Port: d.Target.Port}
	c.Vantage = Vantage{Name: Sanitize(d.Vantage.Name), Host: Sanitize(d.Vantage.Host), Resolvers: cleanList(d.Vantage.Resolvers)}
	if d.Inputs != nil {
		c.Inputs = map[string]any{}
		for k, v := range d.Inputs {
			c.Inputs[Sanitize(k)] = cleanValue(generic(v))
		}
	}
	c.Path = make([]Hop, len(d.Path))
	for i, h := range d.Path {
		c.Path[i] = Hop{Hop: Sanitize(h.Hop), Label: Sanitize(h.Label), Target: Sanitize(h.Target),
			Status: Sanitize(h.Status), Check: Sanitize(h.Check), Codes: cleanList(h.Codes)}
	}
	c.Certificates = make([]Certificate, len(d.Certificates))
	for i, x := range d.Certificates {
		x.Target, x.Subject, x.NotAfter = Sanitize(x.Target), Sanitize(x.Subject), Sanitize(x.NotAfter)
		c.Certificates[i] = x
	}
	c.Checks = make([]CheckJSON, len(d.Checks))
	for i, k := range d.Checks {
		k.ID, k.Title, k.Status = Sanitize(k.ID), Sanitize(k.Title), Sanitize(k.Status)
		k.SkipReason, k.Error, k.Summary = Sanitize(k.SkipReason), Sanitize(k.Error), Sanitize(k.Summary)
		k.Observed = cleanValue(generic(k.Observed))
		fs := make([]checks.Finding, len(k.Findings))
		for j, f := range k.Findings {
			f.Code, f.Target, f.Summary = Sanitize(f.Code), Sanitize(f.Target), Sanitize(f.Summary)
			f.Severity = checks.Severity(Sanitize(string(f.Severity)))
			f.Remediation, f.References = cleanList(f.Remediation), cleanList(f.References)
			fs[j] = f
		}
		k.Findings = fs
		c.Checks[i] = k
	}
	return c
}

// Sanitize writes C0 and C1 control characters, DEL and the Unicode
// bidirectional overrides as \xNN or \uNNNN, so the text shows what the
// server sent without acting on the terminal or reordering a line.
func Sanitize(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\uFFFD' || !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

func cleanList(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Sanitize(s)
	}
	return out
}

// generic turns evidence of any Go type into maps, slices and scalars
// through its JSON form, so it can be walked (and rendered) uniformly.
func generic(v any) any {
	switch v.(type) {
	case nil, string, float64, bool, map[string]any, []any:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unrenderable evidence: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("unrenderable evidence: %v", err)
	}
	return out
}

func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return Sanitize(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = cleanValue(generic(x[i]))
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Sanitize(k)] = cleanValue(generic(e))
		}
		return out
	}
	return v
}
