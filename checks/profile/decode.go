package profile

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is one problem of a profile file, at the line and column of the
// key or value it concerns. Msg is one lowercase line that ends with what
// to do; Source is that line of the file (empty when it may hold a secret).
type Error struct {
	File      string
	Line, Col int
	Msg       string
	Source    string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a file, in file order.
type Errors []error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxErrors stops a badly broken file from printing pages.
const maxErrors = 20

// sorted orders positioned errors by line and drops repeats at one
// position (a bad default is seen by every run that inherits it).
func (es Errors) sorted() Errors {
	type key struct{ line, col int }
	seen := map[key]bool{}
	var out Errors
	for _, e := range es {
		var pe *Error
		if errors.As(e, &pe) && pe.Line > 0 {
			k := key{pe.Line, pe.Col}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, e)
	}
	line := func(e error) int {
		var pe *Error
		if errors.As(e, &pe) {
			return pe.Line
		}
		return math.MaxInt
	}
	sort.SliceStable(out, func(i, j int) bool { return line(out[i]) < line(out[j]) })
	if len(out) > maxErrors {
		out = append(out[:maxErrors], fmt.Errorf("and %d more problems; fix these first", len(out)-maxErrors))
	}
	return out
}

// pos is where a value stands in the file; a list keeps its elements'
// places so an error about one element points at it.
type pos struct {
	line, col int
	elems     []elem
}

type elem struct {
	text      string
	line, col int
}

// element finds the list element msg quotes.
func (p pos) element(msg string) (pos, bool) {
	for _, e := range p.elems {
		if strings.Contains(msg, fmt.Sprintf("%q", e.text)) {
			return pos{line: e.line, col: e.col}, true
		}
	}
	return pos{}, false
}

func posOf(n ast.Node) pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return posOf(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return posOf(v.Key)
	}
	if n == nil {
		return pos{}
	}
	t := n.GetToken()
	if t == nil || t.Position == nil {
		return pos{}
	}
	return pos{line: t.Position.Line, col: t.Position.Column}
}

// inlineSecret matches a line that sets a password inline, whose text
// must not be echoed in an error excerpt.
var inlineSecret = regexp.MustCompile(`(?i)\bpassword\s*:`)

func (f *File) errorAt(p pos, msg string) *Error {
	e := &Error{File: f.Path, Line: p.line, Col: p.col, Msg: msg}
	if p.line > 0 && p.line <= len(f.lines) {
		if src := strings.TrimRight(f.lines[p.line-1], "\r"); !inlineSecret.MatchString(src) {
			e.Source = src
		}
	}
	return e
}

// layer is one mapping of settings: defaults, a deployment, a vantage.
type layer struct {
	spec   checks.Spec
	pw     PasswordSource
	ignore []string
	warn   int
	crit   int
	labels map[string]string
	set    map[string]pos // the keys this layer gives, at their values

	// exdiag serve's protections of the deployment
	rbacInterval, backoff time.Duration
}

// applyTo lays this layer's keys over r.
func (l layer) applyTo(r *Run) {
	for key, p := range l.set {
		switch key {
		case "password_file", "password_env":
			// a source replaces the other: a deployment's password_env
			// wins over the defaults' password_file
			r.Password = l.pw
			delete(r.origins, "password_file")
			delete(r.origins, "password_env")
		case "ignore":
			r.Ignore = l.ignore
		case "warn_days":
			r.WarnDays = l.warn
		case "crit_days":
			r.CritDays = l.crit
		case "rbac_interval":
			r.RBACInterval = l.rbacInterval
		case "bad_password_backoff":
			r.BadPasswordBackoff = l.backoff
		case "labels":
			for k, v := range l.labels {
				r.Labels[k] = v
			}
		case "name":
			// only its place: errors about a key nobody gave point here
		default:
			fld, _ := fieldOfKey(key)
			fld.Copy(&r.Spec, &l.spec)
		}
		r.origins[key] = p
	}
}

// extraKeys are the settings that are not run flags.
var extraKeys = []string{"password_file", "password_env", "ignore", "warn_days", "crit_days", "labels", "rbac_interval", "bad_password_backoff"}

func fieldOfKey(key string) (checks.SpecField, bool) {
	if strings.Contains(key, "-") {
		return checks.SpecField{}, false
	}
	return checks.LookupSpecField(strings.ReplaceAll(key, "_", "-"))
}

// settingKeys is every key a layer takes, for suggestions.
func settingKeys() []string {
	var out []string
	for _, f := range checks.SpecFields() {
		out = append(out, keyOf(f.Flag))
	}
	return append(out, extraKeys...)
}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	labelRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// decoder walks the YAML tree of one file; the schema is fixed, so the
// walk is as deep as the schema and no deeper.
type decoder struct {
	f    *File
	dir  string
	errs Errors
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	d.errs = append(d.errs, d.f.errorAt(posOf(n), fmt.Sprintf(format, args...)))
}

func parse(name string, data []byte) (*File, Errors) {
	f := &File{Path: name, lines: strings.Split(string(data), "\n")}
	d := &decoder{f: f, dir: filepath.Dir(name)}
	if p, deep := tooDeep(data); deep {
		return nil, Errors{f.errorAt(p, fmt.Sprintf("nesting deeper than %d levels; a profile needs no more than six, so flatten it", maxDepth))}
	}
	tree, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			p := ye.GetToken().Position
			return nil, Errors{f.errorAt(pos{line: p.Line, col: p.Column}, "not valid YAML: "+ye.GetMessage()+"; fix the syntax at this place")}
		}
		return nil, Errors{&Error{File: name, Msg: "not valid YAML; fix the syntax"}}
	}
	var docs []*ast.DocumentNode
	for _, doc := range tree.Docs {
		if doc != nil && doc.Body != nil {
			if _, comment := doc.Body.(*ast.CommentGroupNode); !comment {
				docs = append(docs, doc)
			}
		}
	}
	if len(docs) == 0 {
		return nil, Errors{&Error{File: name, Msg: "the file is empty; add a deployments list (see Profile files in the README)"}}
	}
	if len(docs) > 1 {
		d.errorf(docs[1].Body, "a second YAML document; keep one document per profile file")
		return nil, d.errs
	}
	top, ok := d.mapping(docs[0].Body, "the top level")
	if !ok {
		return nil, d.errs
	}
	var sawDeployments bool
	for _, mv := range top {
		key, ok := d.key(mv)
		if !ok {
			continue
		}
		switch key {
		case "defaults":
			if m, ok := d.mapping(mv.Value, "defaults"); ok {
				f.defaults = d.layer(m, "defaults", nil)
			}
		case "deployments":
			sawDeployments = true
			d.deployments(mv.Value)
		default:
			d.errorf(mv.Key, "unknown key %q at the top level; use defaults and deployments", key)
		}
	}
	if !sawDeployments && len(d.errs) == 0 {
		return nil, Errors{&Error{File: name, Msg: "no deployments key; list the deployments under deployments:"}}
	}
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	return f, nil
}

// maxDepth bounds the nesting the YAML parser is given: its time grows
// faster than the depth, so a small hostile file could stall it, and the
// schema is six levels deep.
const maxDepth = 16

// tooDeep finds where the flow brackets or the sequence dashes that open
// one line nest deeper than maxDepth. Quotes and comments are skipped; a
// bracket inside a plain scalar may count, which only errs on the safe side.
func tooDeep(data []byte) (pos, bool) {
	line, col, flow := 1, 0, 0
	var quote byte
	dashes, lineStart, comment := 0, true, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		if c == '\n' {
			// a quoted scalar may go on over lines; the rest ends here
			line, col, dashes, lineStart, comment = line+1, 0, 0, true, false
			continue
		}
		switch {
		case comment:
			continue
		case quote != 0:
			if c == quote && (quote == '\'' || data[i-1] != '\\') {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			quote = c
		case '#':
			if i == 0 || data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n' {
				comment = true
			}
		case '[', '{':
			flow++
		case ']', '}':
			flow = max(flow-1, 0)
		case '-':
			if lineStart && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n') {
				dashes++
			}
		}
		if c != ' ' && c != '-' && c != '\t' {
			lineStart = false
		}
		if flow+dashes > maxDepth {
			return pos{line: line, col: col}, true
		}
	}
	return pos{}, false
}

// mapping returns the pairs of a mapping node, or reports what it is.
func (d *decoder) mapping(n ast.Node, what string) ([]*ast.MappingValueNode, bool) {
	if !d.plain(n) {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	case *ast.NullNode:
		return nil, true
	}
	d.errorf(n, "%s must be a mapping of keys to values; write key: value lines", what)
	return nil, false
}

// plain refuses the YAML features a profile does without: anchors and
// aliases would let a small file expand without bound, and tags would
// override the schema's types.
func (d *decoder) plain(n ast.Node) bool {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		d.errorf(n, "anchors and aliases are not supported; write the value out, or put what deployments share under defaults")
		return false
	case *ast.TagNode:
		d.errorf(n, "YAML tags are not supported; drop the tag (quote the value to make it text)")
		return false
	}
	return true
}

func (d *decoder) key(mv *ast.MappingValueNode) (string, bool) {
	if s, ok := mv.Key.(*ast.StringNode); ok {
		return s.Value, true
	}
	if mv.Key.IsMergeKey() {
		d.errorf(mv.Key, "merge keys (<<) are not supported; put what deployments share under defaults")
		return "", false
	}
	d.errorf(mv.Key, "key %s is not a name; keys are words such as uri or external_dns", mv.Key.String())
	return "", false
}

func (d *decoder) deployments(n ast.Node) {
	if !d.plain(n) {
		return
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errorf(n, "deployments must be a list; start each deployment with - name: NAME")
		return
	}
	names := map[string]pos{}
	for _, item := range seq.Values {
		m, ok := d.mapping(item, "a deployment")
		if !ok {
			continue
		}
		dep := Deployment{Labels: map[string]string{}}
		var nameNode, vantagesNode ast.Node
		dep.layer = d.layer(m, "a deployment", func(key string, mv *ast.MappingValueNode) bool {
			switch key {
			case "name":
				nameNode = mv.Value
				dep.Name, _ = d.text(mv.Value, "name", "name: contoso")
			case "vantages":
				vantagesNode = mv.Value
			default:
				return false
			}
			return true
		})
		where := "a deployment"
		switch {
		case nameNode == nil:
			d.errorf(item, "a deployment has no name; add name: NAME")
			continue
		case dep.Name == "":
			continue // d.text reported it
		case !nameRE.MatchString(dep.Name):
			d.errorf(nameNode, "deployment name %q has characters other than letters, digits, '.', '_' and '-'; rename it", dep.Name)
			continue
		}
		if p, dup := names[dep.Name]; dup {
			d.errorf(nameNode, "deployment name %q is used already at line %d; give each deployment its own name", dep.Name, p.line)
			continue
		}
		names[dep.Name] = posOf(nameNode)
		dep.layer.set["name"] = posOf(nameNode)
		where = fmt.Sprintf("deployment %q", dep.Name)
		d.retitle(where)
		for k, v := range dep.layer.labels {
			dep.Labels[k] = v
		}
		if vantagesNode != nil {
			d.vantages(&dep, vantagesNode)
		}
		d.f.Deployments = append(d.f.Deployments, dep)
	}
}

// retitle names the deployment in the errors reported before its name
// was known ("a deployment" → `deployment "contoso"`).
func (d *decoder) retitle(where string) {
	for _, e := range d.errs {
		var pe *Error
		if errors.As(e, &pe) {
			pe.Msg = strings.Replace(pe.Msg, "in a deployment;", "in "+where+";", 1)
		}
	}
}

func (d *decoder) vantages(dep *Deployment, n ast.Node) {
	m, ok := d.mapping(n, "vantages")
	if !ok {
		return
	}
	for _, mv := range m {
		name, ok := d.key(mv)
		if !ok {
			continue
		}
		if !nameRE.MatchString(name) {
			d.errorf(mv.Key, "vantage name %q has characters other than letters, digits, '.', '_' and '-'; rename it", name)
			continue
		}
		where := fmt.Sprintf("vantage %s/%s", dep.Name, name)
		vm, ok := d.mapping(mv.Value, where)
		if !ok {
			continue
		}
		dep.Vantages = append(dep.Vantages, name)
		dep.vantages = append(dep.vantages, d.layer(vm, where, nil))
	}
}

// layer reads the settings of one mapping; extra handles the keys only
// this kind of mapping takes (a deployment's name and vantages).
func (d *decoder) layer(m []*ast.MappingValueNode, where string, extra func(string, *ast.MappingValueNode) bool) layer {
	l := layer{set: map[string]pos{}}
	for _, mv := range m {
		key, ok := d.key(mv)
		if !ok {
			continue
		}
		if key == "password" {
			d.errorf(mv.Key, "an inline password is refused; put it in a file and give password_file: PATH, or in an environment variable and give password_env: NAME")
			continue
		}
		if extra != nil && extra(key, mv) {
			continue
		}
		if !d.plain(mv.Value) {
			continue
		}
		if _, isNull := mv.Value.(*ast.NullNode); isNull {
			d.errorf(mv.Value, "%s has no value; give one or remove the key", key)
			continue
		}
		p := posOf(mv.Value)
		if fld, ok := fieldOfKey(key); ok {
			if d.field(&l, fld, key, mv.Value, &p) {
				l.set[key] = p
			}
			continue
		}
		ok = true
		switch key {
		case "password_file":
			var s string
			if s, ok = d.text(mv.Value, key, "password_file: /etc/exdiag/contoso.pw"); ok {
				l.pw.File = d.path(s)
			}
		case "password_env":
			var s string
			if s, ok = d.text(mv.Value, key, "password_env: CONTOSO_PW"); ok {
				if ok = envRE.MatchString(s); !ok {
					d.errorf(mv.Value, "password_env %q is not a variable name; give e.g. password_env: CONTOSO_PW", s)
				}
				l.pw.Env = s
			}
		case "ignore":
			l.ignore, ok = d.codes(mv.Value)
		case "warn_days":
			l.warn, ok = d.days(mv.Value, key)
		case "crit_days":
			l.crit, ok = d.days(mv.Value, key)
		case "rbac_interval":
			l.rbacInterval, ok = d.interval(mv.Value, key)
		case "bad_password_backoff":
			l.backoff, ok = d.interval(mv.Value, key)
		case "labels":
			l.labels, ok = d.labels(mv.Value)
		default:
			d.errorf(mv.Key, "unknown key %q in %s; %s", key, where, suggest(key, extra != nil))
			continue
		}
		if ok {
			l.set[key] = p
		}
	}
	_, hasFile := l.set["password_file"]
	_, hasEnv := l.set["password_env"]
	if hasFile && hasEnv {
		d.errs = append(d.errs, d.f.errorAt(l.set["password_env"], "both password_file and password_env are given; keep one"))
	}
	return l
}

// suggest names the key the user probably meant.
func suggest(key string, deployment bool) string {
	if f, ok := checks.LookupSpecField(key); ok && strings.Contains(key, "-") {
		return fmt.Sprintf("write it as %s (keys spell the flags' - as _)", keyOf(f.Flag))
	}
	keys := settingKeys()
	if deployment {
		keys = append(keys, "name", "vantages")
	}
	best, bestD := "", 3
	for _, k := range keys {
		if dist := editDistance(key, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s? (keys are the run flags with _ for -)", best)
	}
	return "the keys are the run flags with _ for - (exdiag run --help), or name, labels, vantages, password_file, password_env, ignore, warn_days, crit_days, rbac_interval, bad_password_backoff"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// field decodes one run-flag key into the layer's Spec.
func (d *decoder) field(l *layer, fld checks.SpecField, key string, n ast.Node, p *pos) bool {
	switch ptr := fld.Ptr(&l.spec).(type) {
	case *string:
		s, ok := d.text(n, key, key+": VALUE")
		*ptr = s
		return ok
	case *[]string:
		list, elems, ok := d.list(n, key)
		if key == "ca_file" {
			for i := range list {
				list[i] = d.path(list[i])
			}
		}
		*ptr, p.elems = list, elems
		return ok
	case *bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.errorf(n, "%s must be true or false; write %s: true", key, key)
			return false
		}
		*ptr = b.Value
		return true
	case *int:
		v, ok := d.integer(n, key)
		*ptr = v
		return ok
	case *time.Duration:
		v, ok := d.duration(n, key)
		*ptr = v
		return ok
	}
	return false
}

func (d *decoder) duration(n ast.Node, key string) (time.Duration, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		d.errorf(n, "%s must be a duration with a unit; write e.g. %s: 30s", key, key)
		return 0, false
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		d.errorf(n, "%s %q is not a duration; write e.g. %s: 30s", key, s.Value, key)
		return 0, false
	}
	return v, true
}

// interval reads one of exdiag serve's protection periods (rbac_interval,
// bad_password_backoff): at least a second, at most a week.
func (d *decoder) interval(n ast.Node, key string) (time.Duration, bool) {
	v, ok := d.duration(n, key)
	if ok && (v < time.Second || v > 7*24*time.Hour) {
		d.errorf(n, "%s %s is out of range; give a duration from 1s to 168h, e.g. %s: 15m", key, v, key)
		return 0, false
	}
	return v, ok
}

// text is a scalar's text; numbers are taken as written.
func (d *decoder) text(n ast.Node, key, example string) (string, bool) {
	if !d.plain(n) {
		return "", false
	}
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return strings.TrimRight(v.Value.Value, "\n"), true
	case *ast.IntegerNode:
		return v.Token.Value, true
	case *ast.FloatNode:
		return v.Token.Value, true
	}
	d.errorf(n, "%s must be text; write e.g. %s", key, example)
	return "", false
}

// list takes a sequence of scalars, or one scalar as a list of one.
func (d *decoder) list(n ast.Node, key string) ([]string, []elem, bool) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		s, ok := d.text(n, key, key+": [VALUE, …]")
		if !ok {
			return nil, nil, false
		}
		p := posOf(n)
		return []string{s}, []elem{{s, p.line, p.col}}, true
	}
	out := make([]string, 0, len(seq.Values))
	var elems []elem
	for _, v := range seq.Values {
		s, ok := d.text(v, key+" entries", key+": [VALUE, …]")
		if !ok {
			return nil, nil, false
		}
		p := posOf(v)
		out = append(out, s)
		elems = append(elems, elem{s, p.line, p.col})
	}
	return out, elems, true
}

func (d *decoder) integer(n ast.Node, key string) (int, bool) {
	in, ok := n.(*ast.IntegerNode)
	if ok {
		switch v := in.Value.(type) {
		case int64:
			if v >= math.MinInt32 && v <= math.MaxInt32 {
				return int(v), true
			}
		case uint64:
			if v <= math.MaxInt32 {
				return int(v), true
			}
		}
	}
	d.errorf(n, "%s must be a whole number; write e.g. %s: 100", key, key)
	return 0, false
}

func (d *decoder) days(n ast.Node, key string) (int, bool) {
	v, ok := d.integer(n, key)
	if ok && (v < 1 || v > 3650) {
		d.errorf(n, "%s %d is out of range; give a number of days from 1 to 3650", key, v)
		return 0, false
	}
	return v, ok
}

// codes reads ignore: finding codes from the catalog.
func (d *decoder) codes(n ast.Node) ([]string, bool) {
	list, elems, ok := d.list(n, "ignore")
	if !ok {
		return nil, false
	}
	for i, c := range list {
		c = strings.ToUpper(strings.TrimSpace(c))
		if _, known := catalog.Lookup(c); !known {
			d.errs = append(d.errs, d.f.errorAt(pos{line: elems[i].line, col: elems[i].col},
				fmt.Sprintf("ignore: unknown finding code %q; run exdiag explain to list the codes", list[i])))
			ok = false
		}
		list[i] = c
	}
	return list, ok
}

func (d *decoder) labels(n ast.Node) (map[string]string, bool) {
	m, ok := d.mapping(n, "labels")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, mv := range m {
		k, ok := d.key(mv)
		if !ok {
			return nil, false
		}
		if !labelRE.MatchString(k) {
			d.errorf(mv.Key, "label name %q is not a letter or _ followed by letters, digits and _; rename it", k)
			return nil, false
		}
		v, ok := d.text(mv.Value, "label "+k, k+": gold")
		if !ok {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// path resolves a relative path against the profile's folder, so a file
// works from any working directory.
func (d *decoder) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

// ValidName says whether name may be a deployment's name: letters,
// digits, '.', '_' and '-' (a selector's '/' separates the vantage).
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("deployment name %q has characters other than letters, digits, '.', '_' and '-'; rename it", name)
	}
	return nil
}
