package catalog

import (
	"regexp"
	"strings"
	"testing"
)

// forEachStep visits every template of every entry: defaults and variants.
func forEachStep(f func(e Entry, where, step string)) {
	for _, e := range entries {
		for _, s := range e.Remediation {
			f(e, "default", s)
		}
		for _, v := range e.Variants {
			for _, s := range v.Remediation {
				f(e, "when "+v.When, s)
			}
		}
	}
}

// bracePlaceholder is what the templates' own syntax looks like; IIS's
// server variables ({HTTP_HOST}, {R:1}) are upper case and stay literal.
var bracePlaceholder = regexp.MustCompile(`\{[a-z][a-z0-9_]*\}`)

func TestStepsUseTheVocabulary(t *testing.T) {
	forEachStep(func(e Entry, where, step string) {
		for _, name := range Placeholders(step) {
			if !Known(name) {
				t.Errorf("%s (%s): {%s} is not in the vocabulary: %q", e.Code, where, name, step)
			}
			if name == ParamVariant {
				t.Errorf("%s (%s): {variant} is for conditions, not for text: %q", e.Code, where, step)
			}
		}
		if strings.Count(step, "{") != strings.Count(step, "}") {
			t.Errorf("%s (%s): unbalanced braces: %q", e.Code, where, step)
		}
	})
}

// exampleLiterals are the example deployment's names the old steps used
// as stand-ins; a step must name the deployment under test instead.
var exampleLiterals = regexp.MustCompile(`(?i:contoso|fabrikam)|\bEXCH[0-9]\b|\b(NAME|THUMBPRINT|ACCOUNT|WRONGACCOUNT|RESOLVER|NS-SERVER|ROLE|GROUP|DC1)\b`)

func TestNoExampleDeployment(t *testing.T) {
	forEachStep(func(e Entry, where, step string) {
		if m := exampleLiterals.FindString(step); m != "" {
			t.Errorf("%s (%s): step names %q, an example rather than the deployment under test: %q", e.Code, where, m, step)
		}
	})
}

func TestVariantsAreValid(t *testing.T) {
	for _, e := range entries {
		for i, v := range e.Variants {
			if _, err := parseCondition(v.When); err != nil {
				t.Errorf("%s variant %d: %v", e.Code, i, err)
			}
			if len(v.Remediation) == 0 {
				t.Errorf("%s variant %d (%s) has no steps", e.Code, i, v.When)
			}
		}
	}
}

// References are sources a user can open: an https URL or a document's
// title, never a note addressed to the authors.
func TestReferencesArePublic(t *testing.T) {
	note := regexp.MustCompile(`^(SEED|TODO|NOTE|EMTBLOG|WSMERR|WINHTTP)\b`)
	for _, e := range entries {
		for _, r := range e.References {
			if note.MatchString(r) || strings.Contains(strings.ToLower(r), "shared") {
				t.Errorf("%s: reference %q is a design note, not a public source", e.Code, r)
			}
		}
	}
}

func TestConditions(t *testing.T) {
	p := map[string]string{ParamFailureCategory: "AuthZ-CmdletAccessDeniedException", ParamSANs: "a.example"}
	for _, tc := range []struct {
		when string
		want bool
	}{
		{"failure_category", true},
		{"!failure_category", false},
		{"!server", true},
		{"server", false},
		{"failure_category=authz-cmdletaccessdeniedexception", true},
		{"failure_category=AuthZ-*", true},
		{"failure_category=AuthZ-Rps*", false},
		{"failure_category=AuthZ", false},
		{"sans=a.example", true},
	} {
		c, err := parseCondition(tc.when)
		if err != nil {
			t.Fatalf("%s: %v", tc.when, err)
		}
		if got := c.holds(p); got != tc.want {
			t.Errorf("%s holds = %v, want %v", tc.when, got, tc.want)
		}
	}
	for _, bad := range []string{"", "Server", "server=", "nosuch", "!server=x", "server=a*b", "server==x"} {
		if _, err := parseCondition(bad); err == nil {
			t.Errorf("condition %q accepted", bad)
		}
	}
}

func TestRender(t *testing.T) {
	// the evidence picks the variant, and its values fill it
	steps, refs := Render("AUTH-FORBIDDEN", map[string]string{ParamUser: `FABRIKAM\ops`, ParamFailureCategory: "AuthZ-CmdletAccessDeniedException"})
	if !strings.Contains(steps[0], "RemotePowerShellEnabled") || !strings.Contains(steps[0], `Get-User FABRIKAM\ops`) {
		t.Errorf("AuthZ first step = %q, want the RemotePowerShellEnabled fix for the user", steps[0])
	}
	if len(refs) == 0 {
		t.Error("no references")
	}
	// without the category the default order stands
	steps, _ = Render("AUTH-FORBIDDEN", map[string]string{ParamUser: "u"})
	if !strings.Contains(steps[0], "SSL Settings") {
		t.Errorf("default first step = %q", steps[0])
	}
	// an unobserved value is said in words
	steps, _ = Render("AUTH-PROXY-BACKEND-DOWN", map[string]string{ParamServer: "cas7", ParamPort: "443"})
	if !strings.Contains(steps[0], "Test-NetConnection cas7 -Port 443") || !strings.Contains(steps[0], vocabulary[ParamBackendURL].Unknown) {
		t.Errorf("step = %q, want cas7 and the words for the unobserved backend URL", steps[0])
	}
	for _, s := range steps {
		if bracePlaceholder.MatchString(s) {
			t.Errorf("unfilled placeholder in %q", s)
		}
	}
	// a name mismatch lists the names instead of sending the user to openssl
	steps, _ = Render("TLS-NAME-MISMATCH", map[string]string{ParamHost: "mail.fabrikam.example", ParamSANs: "owa.fabrikam.example"})
	if strings.Contains(strings.Join(steps, " "), "openssl") || !strings.Contains(steps[0], "owa.fabrikam.example") {
		t.Errorf("name mismatch with SANs known: %q", steps)
	}
	if steps, refs := Render("NO-SUCH-CODE", nil); len(steps) != 1 || !strings.Contains(steps[0], "not in the catalog") || refs == nil {
		t.Errorf("unknown code: %q, %q", steps, refs)
	}
}

func TestVocabularyDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Vocabulary {
		if seen[p.Name] {
			t.Errorf("%s listed twice", p.Name)
		}
		seen[p.Name] = true
		if !strings.HasPrefix(p.Placeholder, "<") || !strings.HasSuffix(p.Placeholder, ">") {
			t.Errorf("%s: placeholder %q is not <words>", p.Name, p.Placeholder)
		}
		if p.Doc == "" {
			t.Errorf("%s has no description", p.Name)
		}
		if p.Unknown == "" || strings.ContainsAny(p.Unknown, "{}<>") {
			t.Errorf("%s: unknown text %q must be plain words", p.Name, p.Unknown)
		}
	}
}
