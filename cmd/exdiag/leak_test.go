package main

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
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
// deployment with -v, in every format the report registry offers, and
// looks for every form of the run's password in each report, on stdout
// (the coloured table) and on stderr.
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
	// one run per case: the coloured table on the screen, and every
	// format of the registry written to a file by --output FORMAT=FILE
	slots := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			dir := t.TempDir()
			args := append(append([]string{"run"}, r.args...), "-v", "--color", "always", "--timeout", "3s")
			for _, f := range report.Formats() {
				args = append(args, "--output", f.Name+"="+filepath.Join(dir, f.Name))
			}
			var out, errb bytes.Buffer
			streams := &report.IO{In: strings.NewReader(""), Out: &out, Err: &errb}
			env := map[string]string{"EXDIAG_PASSWORD": r.password}
			Main(args, streams, func(k string) string { return env[k] })
			texts := map[string]string{"stdout (coloured table)": out.String(), "stderr (-v)": errb.String()}
			for _, f := range report.Formats() {
				b, err := os.ReadFile(filepath.Join(dir, f.Name))
				if err != nil {
					t.Errorf("%s: no %s report: %v\nstderr: %s", r.name, f.Name, err, errb.String())
				}
				texts[f.Name] = string(b)
			}
			for where, text := range texts {
				for _, f := range secretForms(r.user, r.password) {
					if strings.Contains(text, f) {
						t.Errorf("%s: %s carries the password as %q:\n%s", r.name, where, f, text)
					}
				}
			}
		}()
	}
	wg.Wait()
}
