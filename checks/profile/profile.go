// Package profile reads deployment profile files: YAML that names each
// deployment a runbook checks, with the `run` flags as keys (`_` for `-`),
// per-vantage overrides, and the safe ways to the password. A file yields
// one checks.Spec per deployment and vantage; the CLI's fleet run and the
// serve endpoint both run them.
//
//	defaults:
//	  timeout: 30s
//	deployments:
//	  - name: contoso
//	    uri: https://mail.contoso.com/PowerShell
//	    user: CONTOSO\helpdesk
//	    password_env: CONTOSO_PW
//	    vantages:
//	      external: {external_dns: [8.8.8.8]}
package profile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/tlsinspect"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// File is a loaded, validated profile file.
type File struct {
	Path        string
	Deployments []Deployment

	defaults layer
	lines    []string // the source, for error excerpts
}

// Deployment is one entry of deployments.
type Deployment struct {
	Name     string
	Labels   map[string]string
	Vantages []string // names, in file order; none means one run

	layer    layer
	vantages []layer // same order as Vantages
}

// Run is one deployment seen from one vantage, with the file's layers
// merged: defaults < deployment < vantage (< flags, see Override).
type Run struct {
	Deployment, Vantage string // Vantage "" when the deployment has none
	Labels              map[string]string
	Spec                checks.Spec // merged, not yet validated
	Password            PasswordSource
	Ignore              []string
	WarnDays, CritDays  int
	// RBACInterval and BadPasswordBackoff protect the deployment from
	// exdiag serve's scrapes (zero: serve's defaults, 15m and 1h).
	RBACInterval, BadPasswordBackoff time.Duration

	file    *File
	origins map[string]pos  // profile key → where its value came from
	flags   map[string]bool // keys the command line overrode
}

// Name is "DEPLOYMENT" or "DEPLOYMENT/VANTAGE", as a selector spells it.
func (r Run) Name() string {
	if r.Vantage == "" {
		return r.Deployment
	}
	return r.Deployment + "/" + r.Vantage
}

// PasswordSource says where a run's password is: a file whose first line
// it is, or an environment variable. A profile never holds the password.
type PasswordSource struct {
	File, Env string
}

// IsZero is true when the profile names no password source.
func (p PasswordSource) IsZero() bool { return p.File == "" && p.Env == "" }

// maxPasswordFile bounds what is read of a password file.
const maxPasswordFile = 64 << 10

// ReadPasswordFile reads the first line of file; what names it in errors
// (password_file, --password-file). Windows tools write text with a
// byte-order mark: Notepad a UTF-8 one, Windows PowerShell 5.1's Out-File
// (and >) UTF-16LE. x/text's BOMOverride strips a UTF-8 mark and decodes
// UTF-16 of either byte order, so the password is the one the user typed,
// not one with "\ufeff" or NUL bytes in it.
func ReadPasswordFile(file, what string) (checks.Secret, error) {
	fh, err := os.Open(file)
	if err != nil {
		return checks.Secret{}, fmt.Errorf("cannot read %s %s: %v; give a readable file", what, file, checks.BarePathErr(err))
	}
	defer fh.Close()
	// the first line only; a password is short, so read a bounded prefix
	head, err := io.ReadAll(io.LimitReader(fh, maxPasswordFile))
	if err != nil {
		return checks.Secret{}, fmt.Errorf("cannot read %s %s: %v; give a readable file", what, file, err)
	}
	text, _, err := transform.Bytes(unicode.BOMOverride(unicode.UTF8.NewDecoder()), head)
	if err != nil {
		return checks.Secret{}, fmt.Errorf("cannot decode %s %s: %v; save it as utf-8", what, file, err)
	}
	line, _, _ := strings.Cut(string(text), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return checks.Secret{}, fmt.Errorf("%s %s is empty; put the password on its first line", what, file)
	}
	if strings.ContainsRune(line, utf8.RuneError) || strings.ContainsRune(line, 0) {
		return checks.Secret{}, fmt.Errorf("%s %s is neither utf-8 nor utf-16 with a byte-order mark; save it as utf-8", what, file)
	}
	return checks.NewSecret(line), nil
}

// Read returns the password from its source: the variable's value, or
// the file's first line.
func (p PasswordSource) Read(getenv func(string) string) (checks.Secret, error) {
	switch {
	case p.Env != "":
		v := getenv(p.Env)
		if v == "" {
			return checks.Secret{}, fmt.Errorf("password_env %s is not set; export it before the run", p.Env)
		}
		return checks.NewSecret(v), nil
	case p.File != "":
		return ReadPasswordFile(p.File, "password_file")
	}
	return checks.Secret{}, errors.New("no password source; give password_file or password_env")
}

// maxFileSize bounds a profile file: 200 deployments take about 100 KiB.
const maxFileSize = 1 << 20

// Load reads and validates the profile file at path; it makes no network
// call. Every problem found is reported, each as FILE:LINE:COL.
func Load(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %v; give a readable file", path, checks.BarePathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read profile %s: not a regular file; give a YAML file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %v; give a readable file", path, checks.BarePathErr(err))
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read profile %s: %v; give a readable file", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("profile %s is larger than %d MiB; split it into several files", path, maxFileSize>>20)
	}
	return Parse(path, data)
}

// Parse reads a profile from data; name is its path, for error messages
// and to resolve relative paths (ca_file, password_file) against its
// folder. It validates every run's Spec as Load does.
func Parse(name string, data []byte) (*File, error) {
	f, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errs
	}
	for _, r := range f.all() {
		if _, err := r.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return f, nil
}

// Runs returns the runs the selectors name, in file order: "NAME" is
// every vantage of a deployment, "NAME/VANTAGE" one; none selects all.
func (f *File) Runs(selectors ...string) ([]Run, error) {
	all := f.all()
	if len(selectors) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, sel := range selectors {
		dep, van, hasVan := strings.Cut(sel, "/")
		d := f.deployment(dep)
		if d == nil {
			return nil, fmt.Errorf("no deployment %q in %s; pick one of: %s", dep, f.Path, strings.Join(f.names(), ", "))
		}
		if hasVan {
			if !contains(d.Vantages, van) {
				if len(d.Vantages) == 0 {
					return nil, fmt.Errorf("deployment %q in %s has no vantages; select it as %s", dep, f.Path, dep)
				}
				return nil, fmt.Errorf("deployment %q in %s has no vantage %q; pick one of: %s", dep, f.Path, van, strings.Join(d.Vantages, ", "))
			}
			want[sel] = true
			continue
		}
		want[dep] = true
	}
	var out []Run
	for _, r := range all {
		if want[r.Name()] || want[r.Deployment] {
			out = append(out, r)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (f *File) deployment(name string) *Deployment {
	for i := range f.Deployments {
		if f.Deployments[i].Name == name {
			return &f.Deployments[i]
		}
	}
	return nil
}

func (f *File) names() []string {
	var n []string
	for _, d := range f.Deployments {
		n = append(n, d.Name)
	}
	return n
}

// all is every run of the file, merged, in file order.
func (f *File) all() []Run {
	var out []Run
	for _, d := range f.Deployments {
		if len(d.Vantages) == 0 {
			out = append(out, f.merge(d, "", f.defaults, d.layer))
			continue
		}
		for i, v := range d.Vantages {
			out = append(out, f.merge(d, v, f.defaults, d.layer, d.vantages[i]))
		}
	}
	return out
}

func (f *File) merge(d Deployment, vantage string, layers ...layer) Run {
	r := Run{Deployment: d.Name, Vantage: vantage, Labels: map[string]string{}, file: f, origins: map[string]pos{}}
	for _, l := range layers {
		l.applyTo(&r)
	}
	for k, v := range d.Labels {
		r.Labels[k] = v
	}
	return r
}

// Override replaces the fields of the run that flags names (flag names
// without dashes) by their values in s: flags given on the command line
// win over the file, and their errors no longer point into it.
func (r *Run) Override(s checks.Spec, flags []string) {
	for _, name := range flags {
		fld, ok := checks.LookupSpecField(name)
		if !ok {
			continue
		}
		fld.Copy(&r.Spec, &s)
		delete(r.origins, keyOf(name))
		if r.flags == nil {
			r.flags = map[string]bool{}
		}
		r.flags[keyOf(name)] = true
	}
}

// Config validates the run's Spec and completes the configuration: the
// password from its source (left empty when the profile names none, so
// the caller may fall back to EXDIAG_PASSWORD or a prompt), the accepted
// codes and the expiry thresholds. A bad value of the file is a *Error
// that points at its line.
func (r Run) Config(getenv func(string) string) (*checks.Config, error) {
	cfg, err := r.validate()
	if err != nil {
		return nil, err
	}
	if !r.Password.IsZero() {
		pw, err := r.Password.Read(getenv)
		if err != nil {
			key := "password_env"
			if r.Password.Env == "" {
				key = "password_file"
			}
			return nil, r.errAt(key, err.Error())
		}
		cfg.Password = pw
	}
	return cfg, nil
}

// validate is Config without the password: what Load checks of every run.
func (r Run) validate() (*checks.Config, error) {
	cfg, err := r.Spec.Config()
	if err != nil {
		var ie *checks.InputError
		if errors.As(err, &ie) {
			return nil, r.inputErrAt(ie)
		}
		return nil, err
	}
	cfg.Accept = append([]string(nil), r.Ignore...)
	warn := r.WarnDays
	if warn == 0 {
		warn = defaultWarnDays
	}
	if r.CritDays > 0 && r.CritDays >= warn {
		return nil, r.errAt("crit_days", fmt.Sprintf("crit_days %d is not below warn_days %d; give a smaller crit_days, or a larger warn_days", r.CritDays, warn))
	}
	cfg.ExpiryWarn = time.Duration(r.WarnDays) * 24 * time.Hour
	cfg.ExpiryCrit = time.Duration(r.CritDays) * 24 * time.Hour
	return cfg, nil
}

// defaultWarnDays is the tls probe's warning threshold in days, when the
// profile gives no warn_days.
const defaultWarnDays = int(tlsinspect.ExpiryWarning / (24 * time.Hour))

// errAt is an error about the value of key, at the line that set it
// (no position when a flag set it or nothing did).
func (r Run) errAt(key, msg string) error {
	p, ok := r.origins[key]
	if !ok || r.file == nil {
		return errors.New(msg)
	}
	return r.file.errorAt(p, fmt.Sprintf("%s: %s", r.Name(), msg))
}

// inputErrAt maps a Spec error to the line of its field and speaks of
// keys rather than flags when the value came from the file.
func (r Run) inputErrAt(ie *checks.InputError) error {
	key := keyOf(ie.Field)
	p, ok := r.origins[key]
	if r.file == nil || r.flags[key] {
		return ie
	}
	msg := flagsToKeys(ie.Msg)
	if !ok {
		// a value nobody gave: the deployment lacks it
		if p, ok = r.origins["name"]; !ok {
			return ie
		}
		if key == "uri" {
			msg = "uri is missing; add the ConnectionUri to the deployment, e.g. uri: https://mail.contoso.com/PowerShell"
		}
	}
	if el, ok := p.element(msg); ok {
		p = el
	}
	return r.file.errorAt(p, fmt.Sprintf("%s: %s", r.Name(), msg))
}

// keyOf is a flag's profile key: external-dns → external_dns.
func keyOf(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// flagsToKeys rewrites "--external-dns" in a message as "external_dns".
func flagsToKeys(msg string) string {
	fields := checks.SpecFields()
	// longest first, so --ldap-base is not read as --ldap followed by -base
	sort.Slice(fields, func(i, j int) bool { return len(fields[i].Flag) > len(fields[j].Flag) })
	for _, f := range fields {
		msg = strings.ReplaceAll(msg, "--"+f.Flag, keyOf(f.Flag))
	}
	return msg
}
