package main

import (
	"errors"
	"io"
	"os"

	"github.com/exdiag/exdiag/checks"
	"github.com/spf13/pflag"
)

// labDefault is --lab's value when no scenario follows it with "=":
// the scenario may then come as the next argument, else the default one.
const labDefault = "default"

// runFlags holds the raw values of `exdiag run`: the run's inputs go
// straight into a checks.Spec, which judges them; the rest say how to
// report.
type runFlags struct {
	spec              checks.Spec
	passwordFile      string
	format, output    string
	noColour, verbose bool
	lab               string
	password          string // only to refuse it
	fleet             fleetFlags
}

func newRunFlagSet(f *runFlags) *pflag.FlagSet {
	s := &f.spec
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, as one line, by Main
	fs.SortFlags = false
	fs.StringVar(&s.URI, "uri", "", "the ConnectionUri, e.g. https://mail.contoso.com/PowerShell")
	fs.StringSliceVar(&s.Checks, "checks", nil, "subset of dns,tls,redirect,auth,spn,rbac (default all that have their inputs)")
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
	fs.StringVar(&s.Authentication, "authentication", "basic", "basic or negotiate, as New-PSSession -Authentication")
	fs.StringArrayVar(&s.CAFiles, "ca-file", nil, "extra trust anchors, PEM (repeatable)")
	fs.BoolVar(&s.SkipCACheck, "skip-ca-check", false, "accept an untrusted root, as New-PSSessionOption -SkipCACheck")
	fs.BoolVar(&s.SkipCNCheck, "skip-cn-check", false, "accept a name mismatch, as New-PSSessionOption -SkipCNCheck")
	fs.BoolVar(&s.FetchAIA, "fetch-aia", false, "fetch a missing intermediate from the certificate's AIA URL")
	fs.IntVar(&s.HTTPPort, "http-port", 80, "port of the plain-http listener for the redirect check")
	fs.StringVar(&s.Realm, "realm", "", "Kerberos realm (default from --user)")
	fs.StringArrayVar(&s.KDCs, "kdc", nil, "KDC HOST[:PORT] (default from DNS SRV _kerberos._tcp on the internal resolver)")
	fs.StringVar(&s.LDAPURL, "ldap", "", "directory to search for servicePrincipalName: ldaps://host, or ldap://host/?starttls")
	fs.StringVar(&s.LDAPBase, "ldap-base", "", "search base DN, e.g. DC=contoso,DC=com")
	fs.StringArrayVar(&s.SPNs, "spn", nil, "an extra name to check as HTTP/<name> (repeatable)")
	fs.StringVar(&s.ConfigName, "configuration-name", "Microsoft.Exchange", "PowerShell session configuration, as New-PSSession -ConfigurationName")
	fs.IntVar(&s.MinCmdlets, "min-cmdlets", 0, "warn when the session exposes fewer commands")
	fs.StringArrayVar(&s.RequireCmdlets, "require-cmdlet", nil, "a cmdlet the session must expose (repeatable)")
	fs.StringVar(&f.format, "format", "table", "table or json")
	fs.StringVarP(&f.output, "output", "o", "", "write the report to FILE instead of stdout")
	fs.DurationVar(&s.Timeout, "timeout", checks.DefaultTimeout, "the whole run's budget")
	fs.BoolVar(&f.noColour, "no-color", false, "no colour even on a terminal (NO_COLOR is honoured too)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "progress on stderr")
	fs.StringVar(&f.lab, "lab", "", "run against the built-in simulated deployment `SCENARIO` (exdiag lab list)")
	fs.Lookup("lab").NoOptDefVal = labDefault
	addFleetFlags(fs, &f.fleet)
	return fs
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
	f.spec.Verbose = f.verbose
	return f.spec.Config()
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
