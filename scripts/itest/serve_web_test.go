package itest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exdiag serve test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestServeWebConfigAndReload: --web.config.file puts TLS and basic auth
// in front of every endpoint (exporter-toolkit), and SIGHUP rereads the
// profile, keeping the old one when the new one does not validate.
func TestServeWebConfigAndReload(t *testing.T) {
	work := serverDir(t, "exdiag-serve-web-")
	fleet := filepath.Join(work, "fleet.yaml")
	lab := StartExdiag(t, nil, "lab", "serve", "healthy", "--config-out", fleet)
	lab.WaitReady(t, "the profile file", 60*time.Second, func() bool {
		_, err := os.Stat(fleet)
		return err == nil && strings.Contains(lab.Output(), "EXDIAG_LAB_PASSWORD")
	})
	good, err := os.ReadFile(fleet)
	if err != nil {
		t.Fatal(err)
	}

	certFile, keyFile, pool := selfSigned(t, work)
	hash, err := bcrypt.GenerateFromPassword([]byte("scrape-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(work, "web.yml")
	if err := os.WriteFile(webConfig, []byte("tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+
		"\nbasic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	srv := StartExdiag(t, []string{"EXDIAG_LAB_PASSWORD=" + labAdminPassword},
		"serve", "--config", fleet, "--listen", addr, "--web.config.file", webConfig)
	srv.WaitReady(t, "a listener on "+addr, 30*time.Second, func() bool { return Accepts(addr) })

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path string, auth bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
		if auth {
			req.SetBasicAuth("prometheus", "scrape-secret")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, _ := get("/metrics", false); code != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", code)
	}
	if code, _ := get("/probe?target=healthy", false); code != http.StatusUnauthorized {
		t.Errorf("/probe without credentials: %d, want 401", code)
	}
	if code, body := get("/probe?target=healthy", true); code != http.StatusOK || !strings.Contains(body, "probe_success 1") {
		t.Errorf("/probe with credentials: %d\n%s", code, body)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain http is served next to TLS")
		}
	}

	reload := func() {
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	reloadOK := func() string {
		_, body := get("/metrics", true)
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "exdiag_config_last_reload_successful ") {
				return strings.TrimPrefix(l, "exdiag_config_last_reload_successful ")
			}
		}
		return ""
	}
	waitFor := func(want string) {
		deadline := time.Now().Add(10 * time.Second)
		for reloadOK() != want {
			if time.Now().After(deadline) {
				t.Fatalf("exdiag_config_last_reload_successful is %q, want %s\n%s", reloadOK(), want, srv.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := os.WriteFile(fleet, append(good, []byte("  - name: broken\n    ur: https://x.example.com/PowerShell\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	reload()
	waitFor("0")
	if !strings.Contains(srv.Output(), `unknown key \"ur\"`) && !strings.Contains(srv.Output(), `unknown key "ur"`) {
		t.Errorf("the failed reload is not logged:\n%s", srv.Output())
	}
	if code, _ := get("/probe?target=healthy", true); code != http.StatusOK {
		t.Errorf("the old configuration is gone after a failed reload: %d", code)
	}
	if err := os.WriteFile(fleet, good, 0o644); err != nil {
		t.Fatal(err)
	}
	reload()
	waitFor("1")
}
