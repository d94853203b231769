package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// The JUnit elements exdiag writes, as the Jenkins xUnit schema
// (report/testdata/junit-10.xsd) has them.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Errors    []junitMessage
	Failures  []junitMessage
	SystemOut string `xml:"system-out,omitempty"`
}

type junitMessage struct {
	XMLName xml.Name
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// renderJUnit writes one testsuite per run and one testcase per check, plus
// one per backend target a check reported on, so CI shows "auth
// cas2.contoso.com" failing rather than "auth". Every fail finding is a
// <failure> with its remediation; a skipped check is <skipped> with the
// reason; an errored one is <error>. Warnings and info stay in system-out:
// a CI run should not go red on them.
func renderJUnit(w io.Writer, d Doc, _ Options) error {
	suite := junitSuite{
		Name:      "exdiag " + d.Target.URI,
		Time:      seconds(d.DurationMS),
		Timestamp: d.StartedAt.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  d.Vantage.Host,
		Properties: []junitProperty{
			{"exdiag.version", d.Version},
			{"exdiag.uri", d.Target.URI},
			{"exdiag.status", d.Status},
			{"exdiag.exit_code", fmt.Sprint(d.ExitCode)},
		},
	}
	for _, c := range d.Checks {
		// one case for the check itself, then one per backend it checked
		byTarget := map[string][]int{}
		var targets []string
		var per struct {
			Backends []json.RawMessage `json:"backends"`
		}
		if c.Status != "skip" && observed(&c, &per) && len(per.Backends) > 0 {
			for _, h := range d.Path {
				if h.Hop == "backend" && h.Target != "" {
					targets = append(targets, h.Target)
					byTarget[h.Target] = nil
				}
			}
		}
		for i, f := range c.Findings {
			t := backendTarget(d, f.Target)
			if _, ok := byTarget[t]; !ok && t != "" {
				targets = append(targets, t)
			}
			byTarget[t] = append(byTarget[t], i)
		}
		for _, t := range append([]string{""}, targets...) {
			tc := junitCase{Name: c.ID, Classname: "exdiag." + c.ID, Time: seconds(c.DurationMS)}
			if t != "" {
				tc.Name = c.ID + " " + t
				tc.Time = "0"
			}
			var out []string
			if t == "" {
				out = append(out, checkLine(c))
				switch c.Status {
				case "skip":
					tc.Skipped = &junitMessage{XMLName: xml.Name{Local: "skipped"}, Message: c.SkipReason}
				case "error":
					tc.Errors = append(tc.Errors, junitMessage{XMLName: xml.Name{Local: "error"}, Type: "error", Message: c.Error})
				}
			}
			for _, i := range byTarget[t] {
				f := c.Findings[i]
				line := fmt.Sprintf("%s %s: %s", f.Severity, f.Code, f.Summary)
				if f.Severity != "fail" {
					out = append(out, line)
					continue
				}
				var body strings.Builder
				fmt.Fprintf(&body, "%s\ntarget: %s\n", f.Summary, f.Target)
				for n, r := range f.Remediation {
					fmt.Fprintf(&body, "fix %d: %s\n", n+1, r)
				}
				for _, r := range f.References {
					fmt.Fprintf(&body, "see: %s\n", r)
				}
				fmt.Fprintf(&body, "exdiag explain %s\n", f.Code)
				tc.Failures = append(tc.Failures, junitMessage{XMLName: xml.Name{Local: "failure"}, Type: f.Code,
					Message: f.Code + ": " + f.Summary, Body: body.String()})
			}
			tc.SystemOut = strings.Join(out, "\n")
			suite.Tests++
			if len(tc.Failures) > 0 {
				suite.Failures++
			}
			if len(tc.Errors) > 0 {
				suite.Errors++
			}
			if tc.Skipped != nil {
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, tc)
		}
	}
	doc := junitSuites{Name: "exdiag", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// backendTarget is the backend on the path a finding's target names,
// which gets its own testcase, or "".
func backendTarget(d Doc, target string) string {
	if target == "" {
		return ""
	}
	for _, h := range d.Path {
		if h.Hop == "backend" && h.Target != "" && (target == h.Target || strings.Contains(target, hostOf(h.Target))) {
			return h.Target
		}
	}
	return ""
}

func seconds(ms int64) string { return fmt.Sprintf("%d.%03d", ms/1000, ms%1000) }
