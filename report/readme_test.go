package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// formatsTable is the README's list of formats, made from the registry.
func formatsTable() string {
	var b strings.Builder
	b.WriteString("| format | for | `--output FILE` extension |\n|---|---|---|\n")
	for _, f := range Formats() {
		ext := "—"
		if f.Ext != "" {
			ext = "`" + f.Ext + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Doc, ext)
	}
	return b.String()
}

// TestREADMEFormats keeps the README's format list the registry's.
func TestREADMEFormats(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	open := strings.Index(s, "<!-- formats:")
	end := strings.Index(s, "<!-- /formats -->")
	if open < 0 || end < open {
		t.Fatal("README.md lacks the <!-- formats: … --> <!-- /formats --> markers")
	}
	start := open + strings.Index(s[open:], "-->\n") + len("-->\n")
	if got, want := s[start:end], formatsTable(); got != want {
		if *update {
			os.WriteFile(path, []byte(s[:start]+want+s[end:]), 0o644)
			return
		}
		t.Errorf("README.md's format list is not the registry's; run go test ./report -run TestREADMEFormats -update\n got:\n%s\nwant:\n%s", got, want)
	}
}
