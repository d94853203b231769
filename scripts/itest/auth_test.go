package itest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// authCA is a throw-away CA for the nginx test: nginx trusts it for its
// backends, exdiag trusts it for the front.
type authCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newAuthCA(t *testing.T) *authCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exdiag itest auth CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &authCA{cert: cert, key: key}
}

// leaf issues a server certificate for name (and the other names given),
// from the CA or self-signed.
func (ca *authCA) leaf(t *testing.T, name string, selfSigned bool, other ...string) (certPEM, keyPEM []byte, tc tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: append([]string{name}, other...),
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	parent, signer := ca.cert, ca.key
	if selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	tc, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, tc
}

// casBackend is a stand-in for the Exchange /PowerShell vdir behind
// nginx: IIS's 401 with Negotiate and Basic challenges, a SOAP answer for
// the right Basic credentials.
func casBackend(t *testing.T, cert tls.Certificate, name, user, password string) string {
	return casBackendDelay(t, cert, name, user, password, nil)
}

// casBackendDelay answers only once release is closed (nil: at once),
// for a backend that hangs.
func casBackendDelay(t *testing.T, cert tls.Certificate, name, user, password string, release chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	srv := &http.Server{
		ErrorLog:  log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			if release != nil {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
			w.Header().Set("Server", "Microsoft-IIS/10.0")
			w.Header().Set("X-FEServer", strings.ToUpper(strings.SplitN(name, ".", 2)[0]))
			if r.Header.Get("Authorization") == want {
				w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
				io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`)
				return
			}
			w.Header().Add("WWW-Authenticate", "Negotiate")
			w.Header().Add("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", name))
			w.WriteHeader(http.StatusUnauthorized)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startAuthNginx runs scripts/servers/nginx-auth-proxy.sh and waits for every
// listener; nginx is killed as a process group when the test ends.
func startAuthNginx(t *testing.T, dir string, ports []int) {
	t.Helper()
	srv := StartServer(t, "nginx-auth-proxy.sh", nil, dir)
	for _, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		srv.WaitReady(t, "listener on "+addr, 15*time.Second, func() bool { return Accepts(addr) })
	}
}

// authReport is the part of the JSON report the auth tests read.
type authReport struct {
	ExitCode int `json:"exit_code"`
	Checks   []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Error    string `json:"error"`
		Findings []struct {
			Code    string `json:"code"`
			Target  string `json:"target"`
			Summary string `json:"summary"`
		} `json:"findings"`
		Observed struct {
			Status      int    `json:"status"`
			BodyExcerpt string `json:"body_excerpt"`
			Challenges  []struct {
				Scheme string `json:"scheme"`
			} `json:"challenges"`
			AnsweredBy struct {
				Role    string `json:"role"`
				Product string `json:"product"`
			} `json:"answered_by"`
			Basic *struct {
				Status int `json:"status"`
			} `json:"basic"`
		} `json:"observed"`
	} `json:"checks"`
}

// TestAuthAgainstNginx puts real nginx (proxy_ssl_verify on) in front of
// a trusted backend, an untrusted one and a stopped one, and runs the
// exdiag binary's auth probe through each.
func TestAuthAgainstNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil && os.Geteuid() == 0 {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Fatal("nginx is not installed; run scripts/install-nginx.sh (scripts/test.sh does)")
		}
	}
	NeedBinaries(t, "nginx")
	const user, password, canary = `CONTOSO\administrator`, "Itest-Right-Pass1", "Itest-Canary-9b2e41"

	dir := t.TempDir()
	ca := newAuthCA(t)
	frontCert, frontKey, _ := ca.leaf(t, "mail.contoso.test", false)
	_, _, cas1 := ca.leaf(t, "cas1.contoso.test", false)
	_, _, cas2 := ca.leaf(t, "cas2.contoso.test", true) // nginx does not trust it
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	for name, b := range map[string][]byte{"front.crt": frontCert, "front.key": frontKey, "ca.pem": caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	trusted := casBackend(t, cas1, "cas1.contoso.test", user, password)
	untrusted := casBackend(t, cas2, "cas2.contoso.test", user, password)
	stopped := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	release := make(chan struct{})
	defer close(release)
	_, _, cas4 := ca.leaf(t, "cas4.contoso.test", false)
	hung := casBackendDelay(t, cas4, "cas4.contoso.test", user, password, release)
	ports := []int{FreePort(t), FreePort(t), FreePort(t), FreePort(t)}
	routes := fmt.Sprintf("%d %s cas1.contoso.test\n%d %s cas2.contoso.test\n%d %s cas3.contoso.test\n%d %s cas4.contoso.test 1s\n",
		ports[0], trusted, ports[1], untrusted, ports[2], stopped, ports[3], hung)
	if err := os.WriteFile(filepath.Join(dir, "routes"), []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	startAuthNginx(t, dir, ports)

	run := func(t *testing.T, port int, pw, format string, extra ...string) (Run, authReport) {
		t.Helper()
		args := []string{"run", "--checks", "auth", "--format", format,
			"--uri", fmt.Sprintf("https://mail.contoso.test:%d/PowerShell", port),
			"--resolve", fmt.Sprintf("mail.contoso.test:%d:127.0.0.1", port),
			"--ca-file", filepath.Join(dir, "ca.pem"), "--user", user, "--timeout", "20s"}
		r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + pw}, append(args, extra...)...)
		var rep authReport
		if format == "json" {
			if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Checks) != 1 {
				t.Fatalf("not the JSON report (%v): %s", err, r.Stdout)
			}
		}
		return r, rep
	}
	codesOf := func(rep authReport) []string {
		var out []string
		for _, f := range rep.Checks[0].Findings {
			out = append(out, f.Code)
		}
		return out
	}
	backendFlag := func(name, addr string) []string {
		_, port, _ := net.SplitHostPort(addr)
		return []string{"--backend", fmt.Sprintf("https://%s:%s/PowerShell", name, port),
			"--resolve", fmt.Sprintf("%s:%s:127.0.0.1", name, port)}
	}

	t.Run("trusted backend passes its 401 through", func(t *testing.T) {
		r, rep := run(t, ports[0], password, "json")
		o := rep.Checks[0].Observed
		var schemes []string
		for _, c := range o.Challenges {
			schemes = append(schemes, c.Scheme)
		}
		if r.Code != 0 || o.Status != 401 || !slices.Contains(schemes, "Basic") || !slices.Contains(schemes, "Negotiate") ||
			o.Basic == nil || o.Basic.Status != 200 || o.AnsweredBy.Role != "exchange" {
			t.Fatalf("exit %d, observed %+v, findings %v", r.Code, o, codesOf(rep))
		}
	})
	t.Run("wrong password, never echoed", func(t *testing.T) {
		r, rep := run(t, ports[0], canary, "json")
		if got := codesOf(rep); !slices.Equal(got, []string{"AUTH-BAD-CREDENTIALS"}) || r.Code != 2 {
			t.Fatalf("exit %d, findings %v", r.Code, got)
		}
		rt, _ := run(t, ports[0], canary, "table", "-v")
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + canary))
		for _, out := range []string{r.Stdout, r.Stderr, rt.Stdout, rt.Stderr} {
			if strings.Contains(out, canary) || strings.Contains(out, basic) {
				t.Fatalf("the password leaked:\n%s", out)
			}
		}
	})
	t.Run("untrusted backend: nginx's own 502", func(t *testing.T) {
		r, rep := run(t, ports[1], password, "json", backendFlag("cas2.contoso.test", untrusted)...)
		o := rep.Checks[0].Observed
		got := codesOf(rep)
		if o.Status != 502 || o.AnsweredBy.Role != "proxy" || !strings.HasPrefix(o.AnsweredBy.Product, "nginx") ||
			!slices.Contains(got, "AUTH-PROXY-502") || !slices.Contains(got, "AUTH-PROXY-BACKEND-CERT") || r.Code != 2 {
			t.Fatalf("exit %d, observed %+v, findings %v", r.Code, o, got)
		}
	})
	t.Run("stopped backend: nginx's 502", func(t *testing.T) {
		r, rep := run(t, ports[2], password, "json", backendFlag("cas3.contoso.test", stopped)...)
		o := rep.Checks[0].Observed
		got := codesOf(rep)
		if (o.Status != 502 && o.Status != 504) || !slices.Contains(got, "AUTH-PROXY-BACKEND-DOWN") || r.Code != 2 {
			t.Fatalf("exit %d, observed %+v, findings %v", r.Code, o, got)
		}
	})
	t.Run("hung backend: nginx's 504", func(t *testing.T) {
		r, rep := run(t, ports[3], password, "json")
		o := rep.Checks[0].Observed
		if got := codesOf(rep); o.Status != 504 || !slices.Equal(got, []string{"AUTH-PROXY-BACKEND-DOWN"}) || r.Code != 2 {
			t.Fatalf("exit %d, observed %+v, findings %v", r.Code, o, got)
		}
	})
}
