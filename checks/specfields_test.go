package checks

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// Every Spec field but Verbose has exactly one entry in the table, with
// the kind its Go type says, so a field added to Spec without a flag name
// fails here rather than vanishing from profile files and lab flags.
func TestSpecFieldsCoverSpec(t *testing.T) {
	var s Spec
	base := reflect.ValueOf(&s).Elem()
	byAddr := map[uintptr]string{}
	for i := 0; i < base.NumField(); i++ {
		byAddr[base.Field(i).Addr().Pointer()] = base.Type().Field(i).Name
	}
	seen := map[string]bool{}
	for _, f := range SpecFields() {
		p := reflect.ValueOf(f.Ptr(&s))
		name, ok := byAddr[p.Pointer()]
		if !ok {
			t.Errorf("%s points outside the Spec", f.Flag)
			continue
		}
		if seen[name] {
			t.Errorf("field %s is listed twice", name)
		}
		seen[name] = true
		want := map[FieldKind]reflect.Type{
			KindString: reflect.TypeFor[string](), KindList: reflect.TypeFor[[]string](), KindBool: reflect.TypeFor[bool](),
			KindInt: reflect.TypeFor[int](), KindDuration: reflect.TypeFor[time.Duration](),
		}[f.Kind]
		if p.Elem().Type() != want {
			t.Errorf("%s: kind does not match the field's type %s", f.Flag, p.Elem().Type())
		}
	}
	for n := range byAddr {
		if name := byAddr[n]; !seen[name] && name != "Verbose" {
			t.Errorf("Spec.%s has no flag in the table", name)
		}
	}
}

func TestSpecArgsRoundTrip(t *testing.T) {
	in := Spec{
		URI: "https://mail.contoso.test:8443/PowerShell", ExternalDNS: []string{"127.0.0.1:53", "127.0.0.2:53"},
		ExpectExternal: []string{"203.0.113.10"}, SkipCACheck: true, HTTPPort: 8080, MinCmdlets: 5,
		Timeout: 45 * time.Second, User: `CONTOSO\admin`,
	}
	args := in.Args()
	want := []string{"--uri", "https://mail.contoso.test:8443/PowerShell", "--external-dns", "127.0.0.1:53",
		"--external-dns", "127.0.0.2:53", "--expect-external", "203.0.113.10", "--user", `CONTOSO\admin`,
		"--skip-ca-check", "--http-port", "8080", "--min-cmdlets", "5", "--timeout", "45s"}
	if !slices.Equal(args, want) {
		t.Fatalf("args %q", args)
	}
	var out Spec
	if err := out.ParseArgs(append(args, "--expect-internal=10.0.0.1,10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	in.ExpectInternal = []string{"10.0.0.1", "10.0.0.2"}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if err := out.ParseArgs([]string{"--no-such-flag", "x"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
	if err := out.ParseArgs([]string{"--min-cmdlets", "many"}); err == nil {
		t.Error("a bad number was accepted")
	}
}
