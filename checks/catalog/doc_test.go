package catalog

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite CATALOG.md from the entries")

// docPath is the generated catalog, next to the code it comes from.
const docPath = "CATALOG.md"

// TestCatalogDoc keeps CATALOG.md what the code says, as gopls does for
// its generated docs: a stale file fails, -update rewrites it.
func TestCatalogDoc(t *testing.T) {
	got := catalogDoc()
	if *update {
		if err := os.WriteFile(docPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("cannot read %s (regenerate it: go test ./checks/catalog -run TestCatalogDoc -update): %v", docPath, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is not current; regenerate it: go test ./checks/catalog -run TestCatalogDoc -update", docPath)
	}
}

// catalogDoc renders every entry: a table per check, then each code's
// cause, steps (placeholders readable) and references.
func catalogDoc() []byte {
	var b bytes.Buffer
	b.WriteString("# exdiag finding codes\n\n")
	b.WriteString("Generated from `checks/catalog` by `go test ./checks/catalog -run TestCatalogDoc -update`; do not edit.\n")
	b.WriteString("Codes are a stable contract: tickets and monitors key on them. `exdiag explain CODE` prints one entry.\n\n")
	b.WriteString("Remediation steps name the deployment under test: `<…>` stands for a value exdiag fills in from what it observed.\n\n")
	b.WriteString("| placeholder | filled with |\n|---|---|\n")
	for _, p := range Vocabulary {
		if p.Name == ParamVariant {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", p.Placeholder, p.Doc)
	}
	all := All()
	check := ""
	for _, e := range all {
		if e.Check != check {
			check = e.Check
			fmt.Fprintf(&b, "\n## %s\n\n| code | severity | title |\n|---|---|---|\n", check)
			for _, f := range all {
				if f.Check == check {
					fmt.Fprintf(&b, "| [%s](#%s) | %s | %s |\n", f.Code, strings.ToLower(f.Code), f.Severity, f.Title)
				}
			}
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s (%s). %s\n\n", e.Code, e.Title, e.Severity, e.Cause)
		for i, s := range e.Remediation {
			fmt.Fprintf(&b, "%d. %s\n", i+1, mdEscape(Template(s)))
		}
		for _, v := range e.Variants {
			fmt.Fprintf(&b, "\nWhen %s:\n\n", mdEscape(v.Describe()))
			for i, s := range v.Remediation {
				fmt.Fprintf(&b, "%d. %s\n", i+1, mdEscape(Template(s)))
			}
		}
		b.WriteString("\nReferences:\n\n")
		for _, r := range e.References {
			fmt.Fprintf(&b, "- %s\n", r)
		}
	}
	return b.Bytes()
}

// mdEscape keeps placeholders, cmdlets' $ and backslashes as written.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "<", `\<`, ">", `\>`, "*", `\*`, "_", `\_`, "|", `\|`)
	return r.Replace(s)
}
