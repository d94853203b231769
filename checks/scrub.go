package checks

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// The runner passes every result and every log line through one scrubber,
// so a probe that forgets its own redaction (or a server that echoes the
// password in a place nobody thought of) still cannot put the password in
// a report, whichever renderer writes it. Probes keep redacting what they
// copy from the wire; this is the net under them.

const redactedMark = "[redacted]"

// scrubDepth bounds the walk of an observed value; evidence is a few
// levels deep, so anything deeper is dropped rather than walked.
const scrubDepth = 64

// minCoreLen is the shortest base64 run that is searched for on its own
// (a secret embedded at any offset of a longer base64 blob): shorter runs
// would match unrelated text.
const minCoreLen = 8

type scrubber struct {
	forms []string // longest first
}

// newScrubber lists every form the run's secrets could be echoed in.
func newScrubber(cfg *Config) *scrubber {
	s := &scrubber{}
	if cfg == nil || cfg.Password.Empty() {
		return s
	}
	p := cfg.Password.Reveal()
	set := map[string]bool{}
	add := func(f string) {
		if f != "" {
			set[f] = true
		}
	}
	secrets := []string{p}
	if cfg.User != "" {
		secrets = append(secrets, cfg.User+":"+p)
		// a Basic header built from the bare name, as some clients send it
		if _, name, ok := strings.Cut(cfg.User, `\`); ok {
			secrets = append(secrets, name+":"+p)
		}
	}
	for _, x := range secrets {
		for _, v := range []string{x, utf16le(x), utf16be(x)} {
			add(v)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				add(enc.EncodeToString([]byte(v)))
			}
			for _, c := range base64Cores(v) {
				add(c)
			}
		}
		for _, v := range []string{url.QueryEscape(x), url.PathEscape(x), html.EscapeString(x), xmlEscape(x), strings.Trim(strconv.Quote(x), `"`)} {
			add(v)
			add(lowerHex.ReplaceAllStringFunc(v, strings.ToLower))
		}
	}
	for f := range set {
		s.forms = append(s.forms, f)
	}
	// longest first, so a short form never cuts a longer one in half
	slices.SortFunc(s.forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return s
}

var lowerHex = regexp.MustCompile(`%[0-9A-F]{2}`)

func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func utf16be(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// base64Cores are the characters of v's base64 that do not depend on what
// surrounds v, for each of the three alignments v can start at inside a
// longer encoded blob (an NTLM or Negotiate token, a SOAP attachment).
func base64Cores(v string) []string {
	var out []string
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), v...))
		// the first k bytes and the last partial group mix with neighbours
		start := (k*8 + 5) / 6
		end := (k + len(v)) * 8 / 6
		if end-start >= minCoreLen && end <= len(enc) {
			core := enc[start:end]
			out = append(out, core, strings.NewReplacer("+", "-", "/", "_").Replace(core))
		}
	}
	return out
}

// str removes every form of every secret from s.
func (s *scrubber) str(x string) string {
	if len(s.forms) == 0 || x == "" {
		return x
	}
	for _, f := range s.forms {
		if strings.Contains(x, f) {
			x = strings.ReplaceAll(x, f, redactedMark)
		}
	}
	return x
}

// logf wraps a log function so every line it writes is scrubbed, one
// line at a time: probes log from their own goroutines, and the writer
// behind next (a terminal, serve's per-request buffer) need not be safe
// for concurrent use.
func (s *scrubber) logf(next func(string, ...any)) func(string, ...any) {
	if next == nil {
		return func(string, ...any) {}
	}
	var mu sync.Mutex
	return func(format string, args ...any) {
		line := s.str(fmt.Sprintf(format, args...))
		mu.Lock()
		defer mu.Unlock()
		next("%s", line)
	}
}

// results scrubs every string of every result: summaries, findings,
// errors and the observed evidence at any depth. The observed value keeps
// its Go type, so renderers keep typed access to it.
func (s *scrubber) results(rs []Result) []Result {
	if len(s.forms) == 0 {
		return rs
	}
	out := make([]Result, len(rs))
	for i, r := range rs {
		out[i] = s.result(r)
	}
	return out
}

func (s *scrubber) result(r Result) (out Result) {
	defer func() {
		if p := recover(); p != nil {
			// a value the walk cannot copy: keep nothing of it but what
			// its JSON says, scrubbed
			out = r
			out.Observed = s.generic(r.Observed)
			out.Summary, out.Error, out.SkipReason = s.str(r.Summary), s.str(r.Error), s.str(r.SkipReason)
			out.Findings = nil
			for _, f := range r.Findings {
				out.Findings = append(out.Findings, s.walk(reflect.ValueOf(f), 0).Interface().(Finding))
			}
		}
	}()
	out = s.walk(reflect.ValueOf(r), 0).Interface().(Result)
	// A type may marshal text the walk cannot see (a MarshalJSON of a
	// byte field, an unexported field): judge by what the JSON renderer
	// would write, and when that still carries a secret, report the
	// scrubbed JSON form instead of the typed value.
	if out.Observed != nil {
		if b, err := json.Marshal(out.Observed); err != nil || s.leaks(b) {
			out.Observed = s.retyped(out.Observed)
		}
	}
	return out
}

// retyped decodes v's scrubbed JSON back into a copy of v, so the value
// keeps its type (and the fields JSON skips, already walked); when the
// type cannot take its own JSON back, the scrubbed generic form is used.
func (s *scrubber) retyped(v any) any {
	g := s.generic(v)
	b, err := json.Marshal(g)
	if err != nil {
		return g
	}
	rv := reflect.ValueOf(v)
	n := reflect.New(rv.Type())
	n.Elem().Set(rv)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		// decode into a fresh copy, never into the probe's own value
		c := reflect.New(rv.Type().Elem())
		c.Elem().Set(rv.Elem())
		n.Elem().Set(c)
	}
	if json.Unmarshal(b, n.Interface()) != nil {
		return g
	}
	if b, err := json.Marshal(n.Elem().Interface()); err != nil || s.leaks(b) {
		return g
	}
	return n.Elem().Interface()
}

// leaks reports whether a JSON document still holds a secret in one of
// its strings.
func (s *scrubber) leaks(b []byte) bool {
	var g any
	if json.Unmarshal(b, &g) != nil {
		return true
	}
	return !reflect.DeepEqual(g, s.walk(reflect.ValueOf(g), 0).Interface())
}

// generic is v's JSON form, decoded to maps and slices and scrubbed.
func (s *scrubber) generic(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]string{"error": "the evidence could not be encoded: " + s.str(err.Error())}
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		return nil
	}
	if g == nil {
		return nil
	}
	return s.walk(reflect.ValueOf(g), 0).Interface()
}

// walk returns a deep copy of v with every string scrubbed. Unexported
// fields are copied as they are: no renderer outside this package can
// read them, and the JSON check in result catches what marshals them.
func (s *scrubber) walk(v reflect.Value, depth int) reflect.Value {
	if !v.IsValid() {
		return v
	}
	if depth > scrubDepth {
		return reflect.Zero(v.Type())
	}
	t := v.Type()
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(s.str(v.String())).Convert(t)
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(t.Elem())
		n.Elem().Set(s.walk(v.Elem(), depth+1))
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(t).Elem()
		n.Set(s.walk(v.Elem(), depth+1))
		return n
	case reflect.Struct:
		n := reflect.New(t).Elem()
		n.Set(v)
		for i := 0; i < t.NumField(); i++ {
			if f := n.Field(i); f.CanSet() {
				f.Set(s.walk(v.Field(i), depth+1))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return reflect.ValueOf([]byte(s.str(string(v.Bytes())))).Convert(t)
		}
		n := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(s.walk(v.Index(i), depth+1))
		}
		return n
	case reflect.Array:
		n := reflect.New(t).Elem()
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(s.walk(v.Index(i), depth+1))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(t, v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(s.walk(it.Key(), depth+1), s.walk(it.Value(), depth+1))
		}
		return n
	}
	return v
}

// protect installs the run's scrubber on env's log function (once per
// Env) and returns the function the runner passes its results through.
func protect(env *Env) func([]Result) []Result {
	env.scrubOnce.Do(func() {
		env.scrub = newScrubber(env.Config)
		env.Logf = env.scrub.logf(env.Logf)
	})
	return env.scrub.results
}
