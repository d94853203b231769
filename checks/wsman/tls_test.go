package wsman

import (
	"context"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// New-PSSessionOption's -SkipCACheck and -SkipCNCheck each waive one
// verification and keep the other.
func TestTLSOptions(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	ts.StartTLS()
	defer ts.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(ts.Certificate())
	empty := x509.NewCertPool()
	cases := []struct {
		name string
		o    TLSOptions
		ok   bool
	}{
		{"trusted", TLSOptions{ServerName: "example.com", Roots: trusted}, true},
		{"untrusted", TLSOptions{ServerName: "example.com", Roots: empty}, false},
		{"wrong name", TLSOptions{ServerName: "mail.contoso.test", Roots: trusted}, false},
		{"skip ca keeps the name check", TLSOptions{ServerName: "mail.contoso.test", Roots: empty, SkipCACheck: true}, false},
		{"skip ca", TLSOptions{ServerName: "example.com", Roots: empty, SkipCACheck: true}, true},
		{"skip cn keeps the chain check", TLSOptions{ServerName: "mail.contoso.test", Roots: empty, SkipCNCheck: true}, false},
		{"skip cn", TLSOptions{ServerName: "mail.contoso.test", Roots: trusted, SkipCNCheck: true}, true},
		{"skip both", TLSOptions{ServerName: "mail.contoso.test", Roots: empty, SkipCACheck: true, SkipCNCheck: true}, true},
	}
	addr := ts.Listener.Addr().String()
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	for _, c := range cases {
		hc := NewHTTPClient(dial, c.o)
		req, _ := http.NewRequest(http.MethodGet, "https://"+c.o.ServerName+"/", nil)
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
