package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/report"
	"github.com/spf13/pflag"
)

// labDefault is --lab's value when no scenario follows it with "=":
// the scenario may then come as the next argument, else the default one.
const labDefault = "default"

// runFlags holds the raw values of `exdiag run`: the run's inputs go
// straight into a checks.Spec, which judges them; the rest say how to
// report.
type runFlags struct {
	spec           checks.Spec
	passwordFile   string
	format         string
	outputs        []string
	colour         string
	noColour       bool
	ascii, verbose bool
	lab            string
	password       string // only to refuse it
	fleet          fleetFlags
}

// flagGroups orders run --help; every flag of the set is in one group
// (TestRunHelpListsEveryFlag).
var flagGroups = []struct {
	title string
	names []string
}{
	{"target", []string{"uri", "checks", "backend", "lab", "timeout"}},
	{"DNS", []string{"external-dns", "internal-dns", "expect-external", "expect-internal", "resolve"}},
	{"TLS", []string{"ca-file", "skip-ca-check", "skip-cn-check", "fetch-aia", "http-port"}},
	{"credentials", []string{"user", "password-file", "authentication"}},
	{"Kerberos/LDAP", []string{"realm", "kdc", "ldap", "ldap-base", "spn", "allow-legacy-kerberos"}},
	{"RBAC", []string{"configuration-name", "min-cmdlets", "require-cmdlet"}},
	{"output", []string{"format", "output", "color", "no-color", "ascii", "verbose"}},
	{"profile files", []string{"config", "parallel", "sessions-per-user", "save-config"}},
}

func newRunFlagSet(f *runFlags) *pflag.FlagSet {
	s := &f.spec
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, as one line, by Main
	fs.SortFlags = false
	fs.StringVar(&s.URI, "uri", "", "the ConnectionUri, e.g. https://mail.contoso.com/PowerShell")
	fs.StringSliceVar(&s.Checks, "checks", nil, "subset of "+strings.Join(checkIDs(), ",")+" (default all that have their inputs)")
	fs.StringArrayVar(&s.ExternalDNS, "external-dns", nil, "resolver an internet client uses, ADDR[:PORT] (repeatable)")
	fs.StringArrayVar(&s.InternalDNS, "internal-dns", nil, "resolver the proxy/CAS side uses, ADDR[:PORT] (repeatable)")
	fs.StringSliceVar(&s.ExpectExternal, "expect-external", nil, "the proxy's public addresses, IP,…")
	fs.StringSliceVar(&s.ExpectInternal, "expect-internal", nil, "the CAS or internal load-balancer addresses, IP,…")
	fs.StringArrayVar(&s.Resolve, "resolve", nil, "HOST:PORT:ADDR, connect to ADDR for HOST:PORT (like curl)")
	fs.StringArrayVar(&s.Backends, "backend", nil, "a CAS /PowerShell URL behind the proxy, checked individually (repeatable)")
	fs.StringVar(&s.User, "user", "", `DOMAIN\user or user@domain; password from EXDIAG_PASSWORD, --password-file or a prompt`)
	fs.StringVar(&f.passwordFile, "password-file", "", "file whose first line is the password")
	fs.StringVar(&f.password, "password", "", "refused: passwords never come from a flag value")
	_ = fs.MarkHidden("password")
	fs.StringVar(&s.Authentication, "authentication", "basic", "basic, negotiate, kerberos or ntlm, as New-PSSession -Authentication (negotiate: Kerberos, falling back to NTLM as Windows does)")
	fs.StringArrayVar(&s.CAFiles, "ca-file", nil, "extra trust anchors, PEM (repeatable)")
	fs.BoolVar(&s.SkipCACheck, "skip-ca-check", false, "accept an untrusted root, as New-PSSessionOption -SkipCACheck")
	fs.BoolVar(&s.SkipCNCheck, "skip-cn-check", false, "accept a name mismatch, as New-PSSessionOption -SkipCNCheck")
	fs.BoolVar(&s.FetchAIA, "fetch-aia", false, "fetch a missing intermediate from the certificate's AIA URL")
	fs.IntVar(&s.HTTPPort, "http-port", 80, "port of the plain-http listener for the redirect check")
	fs.StringVar(&s.Realm, "realm", "", "Kerberos realm (default from --user)")
	fs.StringArrayVar(&s.KDCs, "kdc", nil, "KDC HOST[:PORT] (default from DNS SRV _kerberos._tcp on the internal resolver)")
	fs.BoolVar(&s.AllowLegacyKerberos, "allow-legacy-kerberos", false, "let the spn check derive an RC4/DES key when the KDC offers no AES key (crackable offline by whoever answers as the KDC)")
	fs.StringVar(&s.LDAPURL, "ldap", "", "directory to search for servicePrincipalName: ldaps://host, or ldap://host/?starttls")
	fs.StringVar(&s.LDAPBase, "ldap-base", "", "search base DN, e.g. DC=contoso,DC=com")
	fs.StringArrayVar(&s.SPNs, "spn", nil, "an extra NAME to check as HTTP/NAME, or HTTP/HOST[:PORT]: the SPN the Windows logon asks for instead of HTTP/<uri host> (repeatable)")
	fs.StringVar(&s.ConfigName, "configuration-name", "Microsoft.Exchange", "PowerShell session configuration, as New-PSSession -ConfigurationName")
	fs.IntVar(&s.MinCmdlets, "min-cmdlets", 0, "warn when the session exposes fewer commands")
	fs.StringArrayVar(&s.RequireCmdlets, "require-cmdlet", nil, "a cmdlet the session must expose (repeatable)")
	fs.StringVarP(&f.format, "format", "f", "table", "the screen's format: "+strings.Join(report.Names(), ", ")+" (see formats below)")
	fs.StringArrayVarP(&f.outputs, "output", "o", nil, "also write [FORMAT=]FILE, whole or not at all (repeatable); a bare FILE takes --format when given, else the format of its extension")
	fs.StringVar(&f.colour, "color", report.ColourAuto, "auto, always or never (auto: on a terminal, unless NO_COLOR is set)")
	fs.BoolVar(&f.noColour, "no-color", false, "same as --color never")
	fs.BoolVar(&f.ascii, "ascii", false, "no box drawing or arrows, for ticket systems that mangle them")
	s.Timeout = checks.DefaultTimeout
	fs.Var((*seconds)(&s.Timeout), "timeout", "the whole run's budget, e.g. 30s or 2m (a bare number is seconds)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "progress on stderr")
	fs.StringVar(&f.lab, "lab", "", "run against the built-in simulated deployment `SCENARIO` (exdiag lab list)")
	fs.Lookup("lab").NoOptDefVal = labDefault
	addFleetFlags(fs, &f.fleet)
	return fs
}

func checkIDs() []string {
	var ids []string
	for _, c := range checks.All() {
		ids = append(ids, c.ID)
	}
	return ids
}

// seconds is a duration flag that also reads a bare number as seconds:
// --timeout 5 means five seconds, as a person typing it means.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }
func (s *seconds) Type() string   { return "duration" }
func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s = seconds(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration; give e.g. 30s, 2m or a number of seconds", v)
	}
	*s = seconds(d)
	return nil
}

// parseErr turns a flag parse error into one line that says what to do:
// PowerShell-style parameters get exdiag's flag names, a misspelt flag
// gets the closest one.
func parseErr(fs *pflag.FlagSet, args []string, cmd string, err error) error {
	names := flagNames(fs)
	if msg := powershellStyle(args, names); msg != "" {
		return usageError{msg}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		return usagef("unknown flag --%s%s; run `exdiag %s --help` for the flags", name, dashed(closest(name, names)), cmd)
	}
	return usagef("%v; run `exdiag %s --help` for the flags", msg, cmd)
}

func flagNames(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	return names
}

func dashed(name string) string {
	if name == "" {
		return ""
	}
	return " (did you mean --" + name + "?)"
}

// toConfig refuses a password flag and values that only a flag can spell
// (an explicit zero), then lets the Spec judge the rest.
func (f *runFlags) toConfig() (*checks.Config, error) {
	if f.password != "" {
		return nil, usagef("passwords are never taken from a flag value; set EXDIAG_PASSWORD, use --password-file, or answer the prompt")
	}
	if f.spec.Timeout <= 0 {
		return nil, usagef("--timeout must be positive, e.g. --timeout 30s")
	}
	if f.spec.HTTPPort <= 0 {
		return nil, usagef("--http-port %d is out of range; give 1-65535", f.spec.HTTPPort)
	}
	for _, id := range f.spec.Checks {
		if id = strings.TrimSpace(id); id != "" && !contains(checkIDs(), id) {
			return nil, usagef("unknown check %q in --checks%s; pick from %s", id, didYouMean(id, checkIDs()), strings.Join(checkIDs(), ","))
		}
	}
	f.spec.Verbose = f.verbose
	return f.spec.Config()
}
