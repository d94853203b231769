package itest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/fixtures"
)

// The lab CAS's Windows acceptors (fixtures/winauth.go, ntlmserver.go)
// against clients nobody here wrote: MIT's GSS-API initiator through
// python3-gssapi (scripts/servers/gss-initiator.py: its own AS and TGS
// exchanges with the lab KDC, its own SPNEGO token and channel-binding
// hash, and its own check of the CAS's AP-REP) and curl's NTLMv2.

// labCAS is one lab and a client view of it.
type labCAS struct {
	lab *fixtures.Lab
	dir string // krb5.conf, the credential cache, curl's body
}

func startLabCAS(t *testing.T, scenario string) *labCAS {
	t.Helper()
	s, err := fixtures.Find(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := fixtures.Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	c := &labCAS{lab: l, dir: t.TempDir()}
	spec := l.Spec()
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	permitted_enctypes = aes256-cts-hmac-sha1-96
[realms]
	%[1]s = {
		kdc = %[2]s
	}
[domain_realm]
	.%[3]s = %[1]s
`, spec.Realm, spec.KDCs[0], l.Names().Domain)
	if err := os.WriteFile(filepath.Join(c.dir, "krb5.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// endpoint is where a client connects: a CAS directly or the front.
type endpoint struct{ url, addr, name string }

func (c *labCAS) cas() endpoint {
	b := c.lab.Backends[0]
	return endpoint{b.URL.String(), b.Addr, b.Name}
}

func (c *labCAS) front(t *testing.T) endpoint {
	u, err := url.Parse(c.lab.Spec().URI)
	if err != nil {
		t.Fatal(err)
	}
	return endpoint{u.String(), "127.0.0.1:" + u.Port(), u.Hostname()}
}

// client keeps one connection to e, as a logon needs.
func (c *labCAS) client(e endpoint) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.lab.PKI.RootPool(), ServerName: e.name},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", e.addr)
		},
		MaxConnsPerHost: 1,
	}}
}

// serverEndPoint is the tls-server-end-point hash of the certificate e
// serves, hex, for MIT to build its channel bindings from.
func (c *labCAS) serverEndPoint(t *testing.T, e endpoint) string {
	conn, err := tls.Dial("tcp", e.addr, &tls.Config{RootCAs: c.lab.PKI.RootPool(), ServerName: e.name})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cb, err := winauth.EndPointOf(conn.ConnectionState().PeerCertificates[0])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(cb.ApplicationData[len("tls-server-end-point:"):])
}

func post(t *testing.T, hc *http.Client, e endpoint, authorization string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(enumerate))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("Authorization", authorization)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// mitLogon logs on at e with MIT's initiator, bound to bound (hex, "-"
// for none). It returns the CAS's status and whether MIT verified the
// CAS's mutual-authentication answer.
func (c *labCAS) mitLogon(t *testing.T, e endpoint, bound string) (int, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", Script("gss-initiator.py"), "HTTP@"+e.name, bound)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+filepath.Join(c.dir, "krb5.conf"),
		"KRB5CCNAME=FILE:"+filepath.Join(c.dir, "ccache"), "KRB5_TRACE=/dev/null")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewScanner(outPipe)
	fmt.Fprintln(in, fixtures.AdminPassword)
	if !out.Scan() {
		cmd.Wait()
		t.Fatalf("gss-initiator.py made no token: %s", stderr.String())
	}
	resp := post(t, c.client(e), e, "Negotiate "+out.Text())
	answer := "-"
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if tok, ok := strings.CutPrefix(v, "Negotiate "); ok {
			answer = tok
		}
	}
	fmt.Fprintln(in, answer)
	in.Close()
	verified := out.Scan() && out.Text() == "complete"
	err := cmd.Wait()
	t.Logf("%s bound to %s: %d, MIT: %v %s", e.url, bound, resp.StatusCode, err, strings.TrimSpace(stderr.String()))
	return resp.StatusCode, verified
}

func needMITInitiator(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-gssapi is not installed; scripts/test.sh installs it")
		}
		t.Skip("python3-gssapi is not installed; run scripts/install-gssapi.sh (as root)")
	}
}

// TestLabCASKerberosWithMIT: MIT logs on at the lab KDC and at the CAS,
// directly and through the front, and verifies the CAS's AP-REP; with
// Extended Protection, MIT's binding to the CAS's certificate passes and
// its binding to the front's does not.
func TestLabCASKerberosWithMIT(t *testing.T) {
	needMITInitiator(t)
	k := startLabCAS(t, "kerberos")
	for _, e := range []endpoint{k.cas(), k.front(t)} {
		if status, verified := k.mitLogon(t, e, "-"); status != 200 || !verified {
			t.Errorf("%s: %d, AP-REP verified by MIT: %v; want 200, true", e.url, status, verified)
		}
	}
	ep := startLabCAS(t, "extended-protection")
	cas, front := ep.cas(), ep.front(t)
	if status, verified := ep.mitLogon(t, cas, ep.serverEndPoint(t, cas)); status != 200 || !verified {
		t.Errorf("bound to the CAS, direct: %d, verified %v; want 200, true", status, verified)
	}
	if status, _ := ep.mitLogon(t, front, ep.serverEndPoint(t, front)); status != 401 {
		t.Errorf("bound to the front, through it: %d, want 401", status)
	}
	if status, _ := ep.mitLogon(t, cas, "-"); status != 401 {
		t.Errorf("unbound, direct to a CAS requiring Extended Protection: %d, want 401", status)
	}
}

// curlNTLM posts to e with curl's own NTLM (NTLMv2 from the CHALLENGE's
// target info) and returns the status. Over HTTP/1.1, as WinRM speaks it
// and as IIS does Windows authentication (it sends HTTP_1_1_REQUIRED to a
// Windows logon over HTTP/2).
func (c *labCAS) curlNTLM(t *testing.T, e endpoint, password string) int {
	t.Helper()
	body := filepath.Join(c.dir, "enumerate.xml")
	if err := os.WriteFile(body, []byte(enumerate), 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", "--http1.1", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--ntlm", "-K", "-",
		"--cacert", c.lab.Spec().CAFiles[0], "--resolve", e.name+":"+port+":127.0.0.1",
		"-H", "Content-Type: application/soap+xml;charset=UTF-8", "--data-binary", "@"+body, e.url)
	// the lab's test credentials, on stdin rather than in the process list
	cmd.Stdin = strings.NewReader(fmt.Sprintf("user = \"%s\\\\%s:%s\"\n", c.lab.Names().NetBIOS, "administrator", password))
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v %s %s", err, out, errb.String())
	}
	var status int
	fmt.Sscan(string(out), &status)
	return status
}

// TestLabCASNTLMWithCurl: curl's NTLMv2 logs on at the CAS and through
// the front; a wrong password is a 401 and one failed logon; without a
// channel binding (curl sends none) a CAS requiring Extended Protection
// refuses it.
func TestLabCASNTLMWithCurl(t *testing.T) {
	NeedBinaries(t, "curl")
	h := startLabCAS(t, "healthy")
	for _, e := range []endpoint{h.cas(), h.front(t)} {
		if got := h.curlNTLM(t, e, fixtures.AdminPassword); got != 200 {
			t.Errorf("%s: curl's NTLM logon got %d, want 200", e.url, got)
		}
		before := h.lab.FailedLogons()
		if got := h.curlNTLM(t, e, "Wrong-Pass-9"); got != 401 {
			t.Errorf("%s: a wrong password got %d, want 401", e.url, got)
		}
		if n := h.lab.FailedLogons() - before; n != 1 {
			t.Errorf("%s: %d failed logons for one wrong password", e.url, n)
		}
	}
	ep := startLabCAS(t, "extended-protection")
	if got := ep.curlNTLM(t, ep.cas(), fixtures.AdminPassword); got != 401 {
		t.Errorf("an unbound NTLM logon at a CAS requiring Extended Protection got %d, want 401", got)
	}
}
