package checks

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// FieldKind is the type of a Spec field, as a flag or a profile key spells it.
type FieldKind int

const (
	KindString   FieldKind = iota
	KindList               // repeatable flag; a profile key takes a list or one value
	KindBool               // a flag without a value
	KindInt                // a whole number
	KindDuration           // Go duration text, e.g. 30s
)

// SpecField is one `run` input by its flag name. The table of them is the
// one place that pairs a flag with its Spec field, so the lab's flags, a
// profile file's keys and `--save-config` cannot drift from the flag set.
type SpecField struct {
	Flag  string // the run flag without dashes: "external-dns"
	Kind  FieldKind
	Comma bool // a list flag that also splits on commas (pflag StringSlice)
	ptr   func(*Spec) any
}

// Ptr returns the address of this field in s: *string, *[]string, *bool,
// *int or *time.Duration, as Kind says.
func (f SpecField) Ptr(s *Spec) any { return f.ptr(s) }

// Copy sets this field of dst to its value in src.
func (f SpecField) Copy(dst, src *Spec) {
	reflect.ValueOf(f.ptr(dst)).Elem().Set(reflect.ValueOf(f.ptr(src)).Elem())
}

// IsZero reports whether this field of s is unset.
func (f SpecField) IsZero(s *Spec) bool { return reflect.ValueOf(f.ptr(s)).Elem().IsZero() }

// Set parses one flag value into s as the command line would: a list
// appends (splitting on commas where the flag does), the rest replace.
func (f SpecField) Set(s *Spec, v string) error {
	switch p := f.ptr(s).(type) {
	case *string:
		*p = v
	case *[]string:
		if f.Comma {
			*p = append(*p, strings.Split(v, ",")...)
		} else {
			*p = append(*p, v)
		}
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return inputErr(f.Flag, "--%s %q is not true or false", f.Flag, v)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return inputErr(f.Flag, "--%s %q is not a whole number", f.Flag, v)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return inputErr(f.Flag, "--%s %q is not a duration; give e.g. --%s 30s", f.Flag, v, f.Flag)
		}
		*p = d
	}
	return nil
}

// Values renders this field of s as flag values: none when unset, one
// per list element.
func (f SpecField) Values(s *Spec) []string {
	if f.IsZero(s) {
		return nil
	}
	switch p := f.ptr(s).(type) {
	case *string:
		return []string{*p}
	case *[]string:
		return append([]string(nil), *p...)
	case *bool:
		return []string{strconv.FormatBool(*p)}
	case *int:
		return []string{strconv.Itoa(*p)}
	case *time.Duration:
		return []string{p.String()}
	}
	panic(fmt.Sprintf("spec field %s has an unknown type", f.Flag))
}

// specFields lists every Spec field but Verbose (how much to print is not
// an input of the run), in the order of the flags' help.
var specFields = []SpecField{
	{"uri", KindString, false, func(s *Spec) any { return &s.URI }},
	{"checks", KindList, true, func(s *Spec) any { return &s.Checks }},
	{"external-dns", KindList, false, func(s *Spec) any { return &s.ExternalDNS }},
	{"internal-dns", KindList, false, func(s *Spec) any { return &s.InternalDNS }},
	{"expect-external", KindList, true, func(s *Spec) any { return &s.ExpectExternal }},
	{"expect-internal", KindList, true, func(s *Spec) any { return &s.ExpectInternal }},
	{"resolve", KindList, false, func(s *Spec) any { return &s.Resolve }},
	{"backend", KindList, false, func(s *Spec) any { return &s.Backends }},
	{"user", KindString, false, func(s *Spec) any { return &s.User }},
	{"authentication", KindString, false, func(s *Spec) any { return &s.Authentication }},
	{"ca-file", KindList, false, func(s *Spec) any { return &s.CAFiles }},
	{"skip-ca-check", KindBool, false, func(s *Spec) any { return &s.SkipCACheck }},
	{"skip-cn-check", KindBool, false, func(s *Spec) any { return &s.SkipCNCheck }},
	{"fetch-aia", KindBool, false, func(s *Spec) any { return &s.FetchAIA }},
	{"http-port", KindInt, false, func(s *Spec) any { return &s.HTTPPort }},
	{"realm", KindString, false, func(s *Spec) any { return &s.Realm }},
	{"kdc", KindList, false, func(s *Spec) any { return &s.KDCs }},
	{"allow-legacy-kerberos", KindBool, false, func(s *Spec) any { return &s.AllowLegacyKerberos }},
	{"ldap", KindString, false, func(s *Spec) any { return &s.LDAPURL }},
	{"ldap-base", KindString, false, func(s *Spec) any { return &s.LDAPBase }},
	{"spn", KindList, false, func(s *Spec) any { return &s.SPNs }},
	{"configuration-name", KindString, false, func(s *Spec) any { return &s.ConfigName }},
	{"min-cmdlets", KindInt, false, func(s *Spec) any { return &s.MinCmdlets }},
	{"require-cmdlet", KindList, false, func(s *Spec) any { return &s.RequireCmdlets }},
	{"timeout", KindDuration, false, func(s *Spec) any { return &s.Timeout }},
}

// SpecFields returns the table of Spec fields by flag.
func SpecFields() []SpecField { return append([]SpecField(nil), specFields...) }

// LookupSpecField returns the field of the flag named flag (no dashes).
func LookupSpecField(flag string) (SpecField, bool) {
	for _, f := range specFields {
		if f.Flag == flag {
			return f, true
		}
	}
	return SpecField{}, false
}

// Args renders s as `exdiag run` flags, in the table's order; unset
// fields are left out, so the flags' defaults apply.
func (s Spec) Args() []string {
	var out []string
	for _, f := range specFields {
		for _, v := range f.Values(&s) {
			if f.Kind == KindBool {
				if v == "true" {
					out = append(out, "--"+f.Flag)
				}
				continue
			}
			out = append(out, "--"+f.Flag, v)
		}
	}
	return out
}

// ParseArgs is the inverse of Args for flags with values ("--uri", "URL")
// and bare boolean flags, adding them to s.
func (s *Spec) ParseArgs(args []string) error {
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimPrefix(args[i], "--"), "=")
		f, ok := LookupSpecField(name)
		if !ok || !strings.HasPrefix(args[i], "--") {
			return fmt.Errorf("%q is not a run flag of the spec", args[i])
		}
		if !hasVal {
			if f.Kind == KindBool {
				val = "true"
			} else if i+1 < len(args) {
				i++
				val = args[i]
			} else {
				return fmt.Errorf("--%s needs a value", name)
			}
		}
		if err := f.Set(s, val); err != nil {
			return err
		}
	}
	return nil
}
