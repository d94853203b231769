package itest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tlsReport is the part of the JSON report the tls tests read.
type tlsReport struct {
	ExitCode int `json:"exit_code"`
	Checks   []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Error    string `json:"error"`
		Findings []struct {
			Code     string `json:"code"`
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
		} `json:"findings"`
		Observed struct {
			Chain []struct {
				Subject  string `json:"subject"`
				Issuer   string `json:"issuer"`
				NotAfter string `json:"not_after"`
			} `json:"chain"`
			Status   int    `json:"status"`
			Location string `json:"location"`
			HSTS     string `json:"hsts"`
		} `json:"observed"`
	} `json:"checks"`
}

// nginxPorts are the listeners of scripts/servers/nginx-tls.conf.
var nginxPorts = []string{"TRUSTED", "SELFSIGNED", "WRONGNAME", "EXPIRED", "NOINTER", "AIA", "REDIRECT", "PLAIN", "BASIC"}

// startNginx makes the certificates with openssl and runs nginx from
// scripts/servers/nginx.sh with the tls configuration; it returns the
// certificate folder and the port of each listener.
func startNginx(t *testing.T) (string, map[string]int) {
	t.Helper()
	prefix, err := os.MkdirTemp("", "exdiag-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(prefix) })
	if err := os.Chmod(prefix, 0o755); err != nil { // nginx drops to nobody
		t.Fatal(err)
	}
	ports := map[string]int{}
	args := []string{"nginx.sh", prefix, Script("nginx-tls.conf")}
	for _, p := range nginxPorts {
		ports[p] = FreePort(t)
		args = append(args, "PORT_"+p+"="+strconv.Itoa(ports[p]))
	}
	certs := filepath.Join(prefix, "certs")
	aia := "http://127.0.0.1:" + strconv.Itoa(ports["PLAIN"]) + "/pki/issuing.der"
	if out, err := exec.Command("bash", Script("tls-certs.sh"), certs, aia).CombinedOutput(); err != nil {
		t.Fatalf("tls-certs.sh: %v\n%s", err, out)
	}
	args = append(args, "CERTS="+certs)
	srv := StartServer(t, "nginx.sh", nil, args[1:]...)
	for _, p := range nginxPorts {
		addr := "127.0.0.1:" + strconv.Itoa(ports[p])
		srv.WaitReady(t, "listener on "+addr, 20*time.Second, func() bool { return Accepts(addr) })
	}
	return certs, ports
}

// TestTLSAndRedirectAgainstNginx runs the tls and redirect probes against
// real nginx listeners, one per certificate fault and plain-http behaviour.
func TestTLSAndRedirectAgainstNginx(t *testing.T) {
	NeedBinaries(t, "nginx", "openssl")
	certs, ports := startNginx(t)
	ca := filepath.Join(certs, "ca.pem")
	uri := func(port int) []string {
		p := strconv.Itoa(port)
		return []string{"--uri", "https://mail.contoso.test:" + p + "/PowerShell", "--resolve", "mail.contoso.test:" + p + ":127.0.0.1"}
	}
	tlsRunCA := func(ca string, port int, extra ...string) []string {
		return append(append(uri(port), "--checks", "tls", "--ca-file", ca, "--format", "json", "--timeout", "20s"), extra...)
	}
	tlsRun := func(port int, extra ...string) []string { return tlsRunCA(ca, port, extra...) }
	root := filepath.Join(certs, "root.pem") // the root alone: the intermediate must come from AIA
	redirectRun := func(httpPort int) []string {
		return append(uri(ports["TRUSTED"]), "--checks", "redirect", "--http-port", strconv.Itoa(httpPort),
			"--resolve", "mail.contoso.test:"+strconv.Itoa(httpPort)+":127.0.0.1", "--format", "json", "--timeout", "20s")
	}
	closedPort := FreePort(t)

	tests := []struct {
		name  string
		args  []string
		exit  int
		codes []string
		sev   []string // severities of codes, in order
	}{
		{"trusted chain", tlsRun(ports["TRUSTED"]), 0, nil, nil},
		{"self-signed", tlsRun(ports["SELFSIGNED"]), 2, []string{"TLS-UNTRUSTED-ROOT"}, []string{"fail"}},
		{"self-signed accepted with --skip-ca-check", tlsRun(ports["SELFSIGNED"], "--skip-ca-check"), 0, []string{"TLS-UNTRUSTED-ROOT"}, []string{"info"}},
		{"wrong name", tlsRun(ports["WRONGNAME"]), 2, []string{"TLS-NAME-MISMATCH"}, []string{"fail"}},
		{"expired", tlsRun(ports["EXPIRED"]), 2, []string{"TLS-EXPIRED"}, []string{"fail"}},
		{"leaf without its intermediate", tlsRun(ports["NOINTER"]), 1, []string{"TLS-INCOMPLETE-CHAIN"}, []string{"warn"}},
		{"intermediate only from AIA, not fetched", tlsRunCA(root, ports["AIA"]), 2, []string{"TLS-UNTRUSTED-ROOT"}, []string{"fail"}},
		{"intermediate fetched with --fetch-aia", tlsRunCA(root, ports["AIA"], "--fetch-aia"), 1, []string{"TLS-INCOMPLETE-CHAIN"}, []string{"warn"}},
		{"nothing listens on 443", tlsRun(closedPort), 2, []string{"TLS-CONNECT-FAILED"}, []string{"fail"}},
		{"http redirects to https", redirectRun(ports["REDIRECT"]), 0, nil, nil},
		{"http serves a page", redirectRun(ports["PLAIN"]), 2, []string{"HTTP-NOT-REDIRECTED"}, []string{"fail"}},
		{"http offers basic", redirectRun(ports["BASIC"]), 2, []string{"HTTP-NOT-REDIRECTED", "HTTP-BASIC-OVER-HTTP"}, []string{"fail", "fail"}},
		{"nothing listens on http", redirectRun(closedPort), 0, []string{"HTTP-PORT-CLOSED"}, []string{"info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Exdiag(t, nil, append([]string{"run"}, tt.args...)...)
			if r.Code != tt.exit {
				t.Errorf("exit %d, want %d", r.Code, tt.exit)
			}
			var rep tlsReport
			if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
				t.Fatalf("stdout is not a JSON report: %v\n%s", err, r.Stdout)
			}
			if len(rep.Checks) != 1 {
				t.Fatalf("want one check in %s", r.Stdout)
			}
			c := rep.Checks[0]
			var codes, sevs []string
			for _, f := range c.Findings {
				codes, sevs = append(codes, f.Code), append(sevs, f.Severity)
			}
			if !slices.Equal(codes, tt.codes) || !slices.Equal(sevs, tt.sev) {
				t.Errorf("findings %v %v, want %v %v\n%s", codes, sevs, tt.codes, tt.sev, r.Stdout)
			}
			if rep.ExitCode != tt.exit {
				t.Errorf("report exit_code %d, want %d", rep.ExitCode, tt.exit)
			}
			switch {
			case c.ID == "tls" && tt.exit != 2 || tt.name == "expired":
				ch := c.Observed.Chain
				if len(ch) == 0 || !strings.Contains(ch[0].Subject, "mail.contoso.test") || ch[0].Issuer == "" || ch[0].NotAfter == "" {
					t.Errorf("observed.chain lacks subject, issuer, not_after: %+v", ch)
				}
			case tt.name == "http redirects to https":
				if c.Observed.Status != 301 || !strings.HasPrefix(c.Observed.Location, "https://mail.contoso.test:") || c.Observed.HSTS == "" {
					t.Errorf("observed %+v", c.Observed)
				}
			}
		})
	}
}
