package tlsinspect

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// New-PSSessionOption's -SkipCACheck and -SkipCNCheck each waive one
// verification and keep the other.
func TestClientConfig(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	ts.StartTLS()
	defer ts.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(ts.Certificate())
	empty := x509.NewCertPool()
	cases := []struct {
		name           string
		host           string
		roots          *x509.CertPool
		skipCA, skipCN bool
		ok             bool
	}{
		{"trusted", "example.com", trusted, false, false, true},
		{"untrusted", "example.com", empty, false, false, false},
		{"wrong name", "mail.contoso.test", trusted, false, false, false},
		{"skip ca keeps the name check", "mail.contoso.test", empty, true, false, false},
		{"skip ca", "example.com", empty, true, false, true},
		{"skip cn keeps the chain check", "mail.contoso.test", empty, false, true, false},
		{"skip cn", "mail.contoso.test", trusted, false, true, true},
		{"skip both", "mail.contoso.test", empty, true, true, true},
	}
	addr := ts.Listener.Addr().String()
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	for _, c := range cases {
		hc := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: ClientConfig(c.roots, nil, c.skipCA, c.skipCN)}}
		req, _ := http.NewRequest(http.MethodGet, "https://"+c.host+"/", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.name, err)
		}
		hc.CloseIdleConnections()
	}
}

// An IP-SAN certificate verifies for the IP the URL names (httptest's
// certificate carries 127.0.0.1), and not for another IP.
func TestDialTLSVerifiesTheDialledIP(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(ts.Certificate())
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, ts.Listener.Addr().String())
	}
	for host, ok := range map[string]bool{"127.0.0.1": true, "[::1]": true, "127.0.0.2": false, "example.com": true, "mail.contoso.test": false} {
		hc := &http.Client{Transport: &http.Transport{DialTLSContext: DialTLS(dial, ClientConfig(trusted, nil, false, false), 0)}}
		resp, err := hc.Get("https://" + net.JoinHostPort(strings.Trim(host, "[]"), port) + "/")
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != ok {
			t.Errorf("%s: err %v", host, err)
		}
		hc.CloseIdleConnections()
	}
}

// A FIFO or a device as --ca-file is refused at once: opening a FIFO
// would wait for a writer, and /dev/zero never ends.
func TestLoadTrustRefusesFIFOAndDevices(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no fifo here:", err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() { _, _, err := LoadTrust([]string{path}); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("LoadTrust(%s) blocked", path)
		}
	}
}
