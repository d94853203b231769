package itest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startBIND runs scripts/servers/bind.sh for one view and waits until
// named answers for contoso.test. The instance and its children are
// killed as a process group when the test ends.
func startBIND(t *testing.T, dir, view string) string {
	t.Helper()
	port := FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := StartServer(t, "bind.sh", nil, dir, view, strconv.Itoa(port))

	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion("contoso.test.", dns.TypeSOA)
	srv.WaitReady(t, "answer for contoso.test on "+addr, 20*time.Second, func() bool {
		m, _, err := c.Exchange(q, addr)
		return err == nil && m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0
	})
	return addr
}

// report is the part of the JSON report these tests read.
type report struct {
	SchemaVersion int    `json:"schema_version"`
	Status        string `json:"status"`
	ExitCode      int    `json:"exit_code"`
	Checks        []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Findings []struct {
			Code     string `json:"code"`
			Severity string `json:"severity"`
			Target   string `json:"target"`
			Summary  string `json:"summary"`
		} `json:"findings"`
		Observed struct {
			Views []struct {
				View      string   `json:"view"`
				Resolver  string   `json:"resolver"`
				Rcode     string   `json:"rcode"`
				Addresses []string `json:"addresses"`
				CNAMEs    []string `json:"cnames"`
			} `json:"views"`
		} `json:"observed"`
	} `json:"checks"`
}

// TestDNSAgainstBIND runs the dns probe against two real BIND 9
// instances serving the external and the internal view of contoso.test.
func TestDNSAgainstBIND(t *testing.T) {
	// root could have installed BIND (scripts/install-dns.sh), so a
	// missing named is a failure there, never a silent skip
	if _, err := exec.LookPath("named"); err != nil && os.Geteuid() == 0 {
		if _, err := os.Stat("/usr/sbin/named"); err != nil {
			t.Fatal("named is not installed; run scripts/install-dns.sh (scripts/test.sh does)")
		}
	}
	NeedBinaries(t, "named")
	dir, err := os.MkdirTemp("", "exdiag-bind-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// named drops to nobody, which must reach the folder
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ext := startBIND(t, dir, "external")
	intl := startBIND(t, dir, "internal")
	silent := fmt.Sprintf("127.0.0.1:%d", FreePort(t)) // nothing listens here

	tests := []struct {
		name, host     string
		intDNS         string
		status         string
		exit           int
		codes          []string
		extAddrs, rcod []string
	}{
		{"correct split view", "mail.contoso.test", intl, "pass", 0, nil, []string{"203.0.113.10"}, []string{"NOERROR", "NOERROR"}},
		{"external view leaks a private address", "leak.contoso.test", intl, "fail", 2,
			[]string{"DNS-EXT-PRIVATE-ADDRESS", "DNS-EXT-UNEXPECTED", "DNS-INT-UNEXPECTED", "DNS-NO-SPLIT"}, []string{"10.0.0.30"}, nil},
		{"missing from the public zone", "gone.contoso.test", intl, "fail", 2, []string{"DNS-EXT-NXDOMAIN"}, []string{}, []string{"NXDOMAIN", "NOERROR"}},
		{"namespace is a cname", "alias.contoso.test", intl, "warn", 1, []string{"DNS-CNAME"}, []string{"203.0.113.10"}, nil},
		{"no split view", "same.contoso.test", intl, "fail", 2, []string{"DNS-INT-UNEXPECTED", "DNS-NO-SPLIT"}, nil, nil},
		{"zone failed to load", "mail.broken.test", intl, "fail", 2, []string{"DNS-RESOLVER-FAILED"}, nil, []string{"SERVFAIL", "REFUSED"}},
		{"zone not served", "mail.fabrikam.test", intl, "fail", 2, []string{"DNS-RESOLVER-FAILED"}, nil, []string{"REFUSED", "REFUSED"}},
		{"internal resolver unreachable", "mail.contoso.test", silent, "fail", 2, []string{"DNS-RESOLVER-TIMEOUT"}, nil, []string{"NOERROR", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Exdiag(t, nil, "run", "--checks", "dns",
				"--uri", "https://"+tc.host+"/PowerShell",
				"--external-dns", ext, "--internal-dns", tc.intDNS,
				"--expect-external", "203.0.113.10", "--expect-internal", "10.0.0.20",
				"--timeout", "20s", "--format", "json")
			var rep report
			if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
				t.Fatalf("stdout is not the json report: %v\n%s", err, r.Stdout)
			}
			if r.Code != tc.exit || rep.ExitCode != tc.exit {
				t.Errorf("exit %d (report says %d), want %d", r.Code, rep.ExitCode, tc.exit)
			}
			if len(rep.Checks) != 1 || rep.Checks[0].ID != "dns" {
				t.Fatalf("checks %+v, want only dns", rep.Checks)
			}
			c := rep.Checks[0]
			if c.Status != tc.status || rep.Status != tc.status {
				t.Errorf("status %s (run %s), want %s", c.Status, rep.Status, tc.status)
			}
			var got []string
			for _, f := range c.Findings {
				if !slices.Contains(got, f.Code) {
					got = append(got, f.Code)
				}
				if f.Severity == "" || f.Target == "" || f.Summary == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.codes) {
				t.Errorf("codes %v, want %v", got, tc.codes)
			}
			if len(c.Observed.Views) != 2 || c.Observed.Views[0].View != "external" || c.Observed.Views[1].View != "internal" {
				t.Fatalf("observed views %+v", c.Observed.Views)
			}
			if tc.extAddrs != nil && !slices.Equal(c.Observed.Views[0].Addresses, tc.extAddrs) {
				t.Errorf("external addresses %v, want %v", c.Observed.Views[0].Addresses, tc.extAddrs)
			}
			if tc.rcod != nil {
				got := []string{c.Observed.Views[0].Rcode, c.Observed.Views[1].Rcode}
				if !slices.Equal(got, tc.rcod) {
					t.Errorf("rcodes %v, want %v", got, tc.rcod)
				}
			}
		})
	}
}
