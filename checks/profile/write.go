package profile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/exdiag/exdiag/checks"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Entry is a deployment to write into a profile file. It has no password
// field: only where the password is.
type Entry struct {
	Name     string
	Labels   map[string]string
	Spec     checks.Spec
	Password PasswordSource
	Ignore   []string
	WarnDays int
	CritDays int
}

// yamlValue is e as an ordered mapping, keys in the flag table's order.
func (e Entry) yamlValue() yaml.MapSlice {
	m := yaml.MapSlice{{Key: "name", Value: e.Name}}
	if len(e.Labels) > 0 {
		var l yaml.MapSlice
		keys := make([]string, 0, len(e.Labels))
		for k := range e.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			l = append(l, yaml.MapItem{Key: k, Value: e.Labels[k]})
		}
		m = append(m, yaml.MapItem{Key: "labels", Value: l})
	}
	for _, f := range checks.SpecFields() {
		if f.IsZero(&e.Spec) {
			continue
		}
		var v any
		switch p := f.Ptr(&e.Spec).(type) {
		case *string:
			v = *p
		case *[]string:
			v = *p
		case *bool:
			v = *p
		case *int:
			v = *p
		default:
			v = f.Values(&e.Spec)[0] // a duration, as its text
		}
		m = append(m, yaml.MapItem{Key: keyOf(f.Flag), Value: v})
	}
	if e.Password.File != "" {
		m = append(m, yaml.MapItem{Key: "password_file", Value: e.Password.File})
	}
	if e.Password.Env != "" {
		m = append(m, yaml.MapItem{Key: "password_env", Value: e.Password.Env})
	}
	if len(e.Ignore) > 0 {
		m = append(m, yaml.MapItem{Key: "ignore", Value: e.Ignore})
	}
	if e.WarnDays > 0 {
		m = append(m, yaml.MapItem{Key: "warn_days", Value: e.WarnDays})
	}
	if e.CritDays > 0 {
		m = append(m, yaml.MapItem{Key: "crit_days", Value: e.CritDays})
	}
	return m
}

// Marshal renders a whole profile file: the header comment, then the
// deployments. The result is checked by parsing it back (paths are
// resolved as if the file were at path).
func Marshal(path, header string, entries []Entry) ([]byte, error) {
	list := make([]yaml.MapSlice, 0, len(entries))
	for _, e := range entries {
		list = append(list, e.yamlValue())
	}
	b, err := yaml.MarshalWithOptions(yaml.MapSlice{{Key: "deployments", Value: list}}, yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("cannot render the profile: %v; please report it", err)
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		if line != "" {
			out.WriteString("# " + line + "\n")
		}
	}
	out.Write(b)
	if _, err := Parse(path, []byte(out.String())); err != nil {
		return nil, err
	}
	return []byte(out.String()), nil
}

// Append adds e as a new deployment at the end of the deployments list
// of the profile at path, keeping the rest of the file as it is (comments
// included), or creates the file. A name already in the file is refused.
// The file is replaced whole or not at all.
func Append(path string, e Entry) error {
	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		b, err := Marshal(path, "", []Entry{e})
		if err != nil {
			return err
		}
		return writeAtomic(path, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("cannot read profile %s: %v; give a writable file", path, checks.BarePathErr(err))
	}
	if len(old) > maxFileSize {
		return fmt.Errorf("profile %s is larger than %d MiB; split it into several files", path, maxFileSize>>20)
	}
	f, err := Parse(path, old)
	if err != nil {
		return err
	}
	if f.deployment(e.Name) != nil {
		return fmt.Errorf("deployment %q is in %s already; pick another name, or edit the file", e.Name, path)
	}
	at, indent, err := appendPoint(old)
	if err != nil {
		return fmt.Errorf("cannot append to %s: %v", path, err)
	}
	item, err := yaml.MarshalWithOptions([]yaml.MapSlice{e.yamlValue()}, yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("cannot render the deployment: %v; please report it", err)
	}
	// the encoder indents a list by two; the file's list may sit elsewhere
	var ins strings.Builder
	for _, line := range strings.SplitAfter(string(item), "\n") {
		if line != "" {
			ins.WriteString(strings.Repeat(" ", indent) + strings.TrimPrefix(line, "  "))
		}
	}
	head := string(old[:at])
	if head != "" && !strings.HasSuffix(head, "\n") {
		head += "\n"
	}
	out := head + ins.String() + string(old[at:])
	if _, err := Parse(path, []byte(out)); err != nil {
		return fmt.Errorf("appending to %s would break it (%v); add the deployment by hand", path, err)
	}
	mode := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	return writeAtomic(path, []byte(out), mode)
}

// appendPoint finds the byte offset after the last deployment (before the
// next top-level key, or the end) and the indentation of the list's dashes.
func appendPoint(data []byte) (int, int, error) {
	tree, err := parser.ParseBytes(data, 0)
	if err != nil || len(tree.Docs) == 0 {
		return 0, 0, fmt.Errorf("not valid YAML")
	}
	var top []*ast.MappingValueNode
	switch v := tree.Docs[0].Body.(type) {
	case *ast.MappingNode:
		top = v.Values
	case *ast.MappingValueNode:
		top = []*ast.MappingValueNode{v}
	}
	for i, mv := range top {
		if k, ok := mv.Key.(*ast.StringNode); !ok || k.Value != "deployments" {
			continue
		}
		seq, ok := mv.Value.(*ast.SequenceNode)
		if !ok || seq.IsFlowStyle {
			return 0, 0, fmt.Errorf("deployments is not a block list; write it as lines that start with -")
		}
		indent := seq.Start.Position.Column - 1
		if i+1 == len(top) {
			return len(data), indent, nil
		}
		next := posOf(top[i+1].Key).line
		return lineOffset(data, next), indent, nil
	}
	return 0, 0, fmt.Errorf("no deployments list")
}

func lineOffset(data []byte, line int) int {
	off := 0
	for l := 1; l < line && off < len(data); l++ {
		i := strings.IndexByte(string(data[off:]), '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}

// writeAtomic writes through a temporary file in the same folder and a
// rename, so a reader never sees half a profile.
func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v; pick a writable folder", path, checks.BarePathErr(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, checks.BarePathErr(err))
	}
	return nil
}

// WriteFile writes b to path whole or not at all, readable by its owner
// only (a profile names where passwords are).
func WriteFile(path string, b []byte) error { return writeAtomic(path, b, 0o600) }
