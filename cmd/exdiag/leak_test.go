package main

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/report"
)

// secretForms are the ways a password could show up in output: plain,
// user:password, the Basic token (standard and URL base64, padded or
// not), base64 of the password, URL-encoded (either hex case) and
// UTF-16LE with its base64. Written out here, apart from the scrubber's
// own list, so the test does not grade itself.
func secretForms(user, pw string) []string {
	var le []byte
	for _, u := range utf16.Encode([]rune(pw)) {
		le = append(le, byte(u), byte(u>>8))
	}
	forms := []string{pw, string(le), base64.StdEncoding.EncodeToString(le)}
	for _, s := range []string{pw, user + ":" + pw} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			forms = append(forms, enc.EncodeToString([]byte(s)))
		}
		q := url.QueryEscape(s)
		forms = append(forms, s, q, regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(q, strings.ToLower))
	}
	return forms
}

type leakRun struct {
	name, user, password string
	args                 []string
}

// TestNoSecretInAnyOutput runs every lab scenario and every hostile
// deployment with -v, in every format the report registry offers (the
// table with and without colour), and looks for every form of the run's
// password on stdout and stderr.
func TestNoSecretInAnyOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario and hostile case")
	}
	var runs []leakRun
	for _, s := range fixtures.Scenarios() {
		user, pw := s.User, s.Password
		if user == "" {
			user, pw = fixtures.AdminUser, fixtures.AdminPassword
		}
		runs = append(runs, leakRun{name: "lab/" + s.Name, user: user, password: pw, args: []string{"--lab=" + s.Name}})
	}
	const canary = "Hostile-Canary-9d2f71"
	for _, c := range hostile.Cases() {
		runs = append(runs, leakRun{name: "hostile/" + c.Name, user: hostile.User, password: canary, args: c.Start(t)})
	}
	type variant struct {
		format report.Format
		colour bool
	}
	var variants []variant
	for _, f := range report.Formats() {
		variants = append(variants, variant{f, false})
		var plain, coloured bytes.Buffer
		_ = f.Render(&plain, report.Doc{}, report.Options{})
		_ = f.Render(&coloured, report.Doc{}, report.Options{Colour: true})
		if !bytes.Equal(plain.Bytes(), coloured.Bytes()) {
			variants = append(variants, variant{f, true}) // a format that colours
		}
	}
	// most runs wait on a deadline or a lab's timers, not the CPU
	slots := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, r := range runs {
		for _, v := range variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				var out, errb bytes.Buffer
				streams := &report.IO{In: strings.NewReader(""), Out: &out, Err: &errb}
				env := map[string]string{"EXDIAG_PASSWORD": r.password}
				colour := "never"
				if v.colour {
					colour = "always"
				}
				args := append(append([]string{"run"}, r.args...), "--format", v.format.Name, "--color", colour, "-v", "--timeout", "3s")
				Main(args, streams, func(k string) string { return env[k] })
				for stream, text := range map[string]string{"stdout": out.String(), "stderr": errb.String()} {
					for _, f := range secretForms(r.user, r.password) {
						if strings.Contains(text, f) {
							t.Errorf("%s, %s (colour %v): %s carries the password as %q:\n%s", r.name, v.format.Name, v.colour, stream, f, text)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
}
