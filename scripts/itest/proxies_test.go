package itest

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// backendLeaf is a backend certificate for name and localhost: Apache
// checks the peer name against the ProxyPass host (and matches no IP
// address SAN), which is localhost here since no DNS knows
// cas*.contoso.test; HAProxy checks name (verifyhost).
func (ca *authCA) backendLeaf(t *testing.T, name string, selfSigned bool) tls.Certificate {
	_, _, c := ca.leaf(t, name, selfSigned, "localhost")
	return c
}

// garbageBackend completes TLS and answers bytes that are not HTTP.
func garbageBackend(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return hostile.Serve(t, func(raw net.Conn) {
		c := tls.Server(raw, cfg)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n")
	})
}

// proxyFixture is the deployment every proxy test puts its proxy in
// front of: a good backend, an untrusted one, a closed port, a silent
// one and one that answers garbage.
type proxyFixture struct {
	dir                                   string
	good, untrusted, closed, silent, junk string
	user, password                        string
}

func newProxyFixture(t *testing.T) *proxyFixture {
	t.Helper()
	fx := &proxyFixture{dir: t.TempDir(), user: `CONTOSO\administrator`, password: "Itest-Right-Pass1"}
	ca := newAuthCA(t)
	frontCert, frontKey, _ := ca.leaf(t, "mail.contoso.test", false)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	for name, b := range map[string][]byte{"front.crt": frontCert, "front.key": frontKey, "ca.pem": caPEM} {
		if err := os.WriteFile(filepath.Join(fx.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fx.good = casBackend(t, ca.backendLeaf(t, "cas1.contoso.test", false), "cas1.contoso.test", fx.user, fx.password)
	fx.untrusted = casBackend(t, ca.backendLeaf(t, "cas2.contoso.test", true), "cas2.contoso.test", fx.user, fx.password)
	fx.closed = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	fx.silent = casBackendDelay(t, ca.backendLeaf(t, "cas4.contoso.test", false), "cas4.contoso.test", fx.user, fx.password, release)
	fx.junk = garbageBackend(t, ca.backendLeaf(t, "cas5.contoso.test", false))
	return fx
}

func (fx *proxyFixture) run(t *testing.T, port int) authReport {
	t.Helper()
	r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + fx.password}, "run", "--checks", "auth", "--format", "json",
		"--uri", fmt.Sprintf("https://mail.contoso.test:%d/PowerShell", port),
		"--resolve", fmt.Sprintf("mail.contoso.test:%d:127.0.0.1", port),
		"--ca-file", filepath.Join(fx.dir, "ca.pem"), "--user", fx.user, "--timeout", "20s")
	var rep authReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Checks) != 1 {
		t.Fatalf("not the JSON report (%v): %s", err, r.Stdout)
	}
	if rep.Checks[0].Status == "error" {
		t.Fatalf("the auth check errored: %s", rep.Checks[0].Error)
	}
	return rep
}

// proxyCase is what a proxy must answer for one broken backend, and the
// one code exdiag must give it.
type proxyCase struct {
	name          string
	status        int
	code, product string
}

// expectAll checks the good route (ports[0]) and then each case in order
// on the following ports.
func (fx *proxyFixture) expectAll(t *testing.T, ports []int, cases []proxyCase) {
	t.Helper()
	t.Run("good backend passes Exchange's 401 through", func(t *testing.T) { fx.expectHealthy(t, ports[0]) })
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { expect(t, fx.run(t, ports[i+1]), c.status, c.code, c.product) })
	}
}

// expectHealthy: through the proxy the good backend's 401 and its SOAP
// answer to the right credentials come back, and nothing is wrong.
func (fx *proxyFixture) expectHealthy(t *testing.T, port int) {
	t.Helper()
	rep := fx.run(t, port)
	c := rep.Checks[0]
	if rep.ExitCode != 0 || c.Observed.Status != 401 || c.Observed.Basic == nil || c.Observed.Basic.Status != 200 {
		t.Fatalf("exit %d, observed %+v, findings %+v", rep.ExitCode, c.Observed, c.Findings)
	}
}

// expect checks the status the proxy really answered and the one code
// exdiag gave it.
func expect(t *testing.T, rep authReport, status int, code, product string) {
	t.Helper()
	c := rep.Checks[0]
	var codes []string
	for _, f := range c.Findings {
		codes = append(codes, f.Code)
	}
	t.Logf("status %d from %s %q: %v %+v", c.Observed.Status, c.Observed.AnsweredBy.Role, c.Observed.AnsweredBy.Product, codes, c.Findings)
	if dir := os.Getenv("EXDIAG_ITEST_CAPTURE"); dir != "" {
		// refresh checks/httpauth/testdata/real from the real servers
		name := strings.NewReplacer("/", "-", " ", "-", ":", "", ",", "").Replace(t.Name()) + ".html"
		os.WriteFile(filepath.Join(dir, name), []byte(c.Observed.BodyExcerpt), 0o644)
	}
	if c.Observed.Status != status || !slices.Equal(codes, []string{code}) {
		t.Fatalf("got %d with %v, want %d with %s; body: %s", c.Observed.Status, codes, status, code, c.Observed.BodyExcerpt)
	}
	if product != "" && !strings.Contains(strings.ToLower(c.Observed.AnsweredBy.Product), product) {
		t.Fatalf("answered by %+v, want %s", c.Observed.AnsweredBy, product)
	}
	if rep.ExitCode != 2 {
		t.Fatalf("exit code %d, want 2", rep.ExitCode)
	}
}

// writeRoutes writes DIR/routes and returns the listen ports in order.
func writeRoutes(t *testing.T, dir string, lines ...string) []int {
	t.Helper()
	var b strings.Builder
	var ports []int
	for _, l := range lines {
		p := FreePort(t)
		ports = append(ports, p)
		fmt.Fprintf(&b, "%d %s\n", p, l)
	}
	if err := os.WriteFile(filepath.Join(dir, "routes"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return ports
}

func waitListeners(t *testing.T, srv *Server, ports []int) {
	t.Helper()
	for _, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		srv.WaitReady(t, "listener on "+addr, 15*time.Second, func() bool { return Accepts(addr) })
	}
}

// TestProxiesHAProxy puts real HAProxy (verify required against the
// internal CA) in front of each backend and runs exdiag through it.
func TestProxiesHAProxy(t *testing.T) {
	NeedBinaries(t, "haproxy")
	fx := newProxyFixture(t)
	ports := writeRoutes(t, fx.dir,
		fx.good+" cas1.contoso.test",
		fx.untrusted+" cas2.contoso.test",
		fx.closed+" cas3.contoso.test",
		fx.silent+" cas4.contoso.test 2",
		fx.junk+" cas5.contoso.test")
	srv := StartServer(t, "haproxy.sh", nil, fx.dir)
	waitListeners(t, srv, ports)

	fx.expectAll(t, ports, []proxyCase{
		{"untrusted backend: no server available", 503, "AUTH-PROXY-NO-BACKEND", "haproxy"},
		{"closed backend: no server available", 503, "AUTH-PROXY-NO-BACKEND", "haproxy"},
		{"silent backend: gateway timeout", 504, "AUTH-PROXY-BACKEND-DOWN", "haproxy"},
		{"garbage backend: bad gateway", 502, "AUTH-PROXY-502", "haproxy"},
	})
}

// TestProxiesApache puts real Apache httpd (mod_proxy_http, mod_ssl with
// SSLProxyVerify require) in front of each backend and runs exdiag
// through it.
func TestProxiesApache(t *testing.T) {
	NeedBinaries(t, "apache2")
	fx := newProxyFixture(t)
	// Apache connects to localhost:PORT, the name its peer check needs
	local := func(addr string) string { return strings.Replace(addr, "127.0.0.1:", "localhost:", 1) }
	ports := writeRoutes(t, fx.dir, local(fx.good), local(fx.untrusted), local(fx.closed), local(fx.silent)+" 2", local(fx.junk))
	srv := StartServer(t, "apache.sh", []string{"EXDIAG_APACHE_LOGLEVEL=" + os.Getenv("EXDIAG_APACHE_LOGLEVEL")}, fx.dir)
	waitListeners(t, srv, ports)

	fx.expectAll(t, ports, []proxyCase{
		{"untrusted backend: 500 proxy error, ssl handshake", 500, "AUTH-PROXY-SSL-HANDSHAKE", "apache"},
		{"closed backend: service unavailable from the proxy", 503, "AUTH-PROXY-NO-BACKEND", "apache"},
		{"silent backend: 502 error reading from remote server", 502, "AUTH-PROXY-BACKEND-DOWN", "apache"},
		// mod_proxy_http takes bytes without a status line for an
		// HTTP/0.9 answer and relays them as 200
		{"garbage backend: passed on as a 200 that is not ws-management", 200, "AUTH-NOT-WSMAN", "apache"},
	})
}
