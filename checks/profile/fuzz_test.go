package profile

import (
	"errors"
	"strings"
	"testing"
)

// Parse takes a file that may come from anyone: whatever the bytes, it
// returns a File or errors that start with the file's name, and never
// echoes an inline password.
func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("deployments:\n  - name: a\n    uri: https://x.test\n    password: hunter2\n"))
	f.Add([]byte("deployments:\n  - name: a\n    uri: https://x.test\n    vantages: {v: {timeout: 3s}, w: {}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("deployments: [{name: a, uri: 'https://x.test', labels: {k: v}}]\n---\nb: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		file, err := Parse("fuzz.yaml", data)
		if err == nil {
			if _, err := file.Runs(); err != nil {
				t.Fatalf("a parsed file has no runs: %v", err)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("%T %v", err, err)
		}
		for _, e := range es {
			if !strings.HasPrefix(e.Error(), "fuzz.yaml") && !strings.HasPrefix(e.Error(), "and ") {
				t.Fatalf("error without the file name: %q", e)
			}
		}
		if strings.Contains(string(data), "password: hunter2") && strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("the password is echoed: %v", err)
		}
	})
}

// A hostile file of the largest size Load reads is refused quickly, not
// by exhausting the stack or the clock.
func TestDeepNestingIsBounded(t *testing.T) {
	for _, body := range []string{
		"deployments: " + strings.Repeat("[", 200000) + "\n",
		"deployments:\n" + strings.Repeat("  ", 1) + strings.Repeat("- ", 100000) + "x\n",
	} {
		_, err := Parse("deep.yaml", []byte(body))
		if err == nil || !strings.Contains(err.Error(), "nesting deeper than") {
			t.Fatalf("got %v", err)
		}
	}
}
