package tlsinspect_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/tlsinspect"
	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/hostile"
)

var dialer = &net.Dialer{}

// server starts a TLS server on loopback presenting cert.
func server(t *testing.T, cert tls.Certificate, minVersion uint16) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:   http.NotFoundHandler(),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: minVersion},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func newPKI(t *testing.T) *fixtures.PKI {
	t.Helper()
	p, err := fixtures.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func inspect(t *testing.T, addr string, o tlsinspect.Options) *tlsinspect.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.Dial, o.Addr = dialer.DialContext, addr
	if o.ServerName == "" {
		o.ServerName = fixtures.Namespace
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return tlsinspect.Inspect(ctx, o)
}

func codes(r *tlsinspect.Report, host string) []string {
	var out []string
	for _, is := range tlsinspect.Classify(r, tlsinspect.Policy{Host: host, Now: time.Now()}) {
		out = append(out, is.Code)
	}
	return out
}

func TestInspectTrustedChain(t *testing.T) {
	p := newPKI(t)
	leaf, err := p.Leaf(fixtures.LeafOpts{Names: []string{fixtures.Namespace}})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, leaf, tls.VersionTLS12)
	r := inspect(t, addr, tlsinspect.Options{Roots: p.RootPool(), Legacy: true})
	if r.ConnErr != nil {
		t.Fatal(r.ConnReason)
	}
	if r.Trust != tlsinspect.Trusted || len(r.Chain) != 2 || len(r.Verified) != 3 {
		t.Fatalf("trust %v, chain %d, verified %d; want trusted 2/3", r.Trust, len(r.Chain), len(r.Verified))
	}
	if r.Version != tls.VersionTLS13 || r.ALPN != "h2" || r.Legacy != 0 || r.Address != addr {
		t.Errorf("version %x alpn %q legacy %x address %q", r.Version, r.ALPN, r.Legacy, r.Address)
	}
	if c := codes(r, fixtures.Namespace); len(c) != 0 {
		t.Errorf("healthy chain raised %v", c)
	}
	d := tlsinspect.Describe(r.Chain)
	if d[0].Subject != "CN=mail.contoso.test,O=Contoso Lab" || d[0].Key != "ECDSA P-256" || d[1].Issuer != "CN=exdiag lab root CA,O=Contoso Lab" || len(d[0].SHA256) != 64 {
		t.Errorf("described chain = %+v", d)
	}
}

func TestInspectMissingIntermediate(t *testing.T) {
	p := newPKI(t)
	leaf, err := p.Leaf(fixtures.LeafOpts{Names: []string{fixtures.Namespace}, NoInter: true, AIA: "http://pki.contoso.test/issuing.crt"})
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, leaf, tls.VersionTLS12)

	r := inspect(t, addr, tlsinspect.Options{Roots: p.RootPool()})
	if r.Trust != tlsinspect.Untrusted || !strings.Contains(r.TrustReason, "exdiag lab issuing CA") {
		t.Errorf("without the intermediate: trust %v, reason %q", r.Trust, r.TrustReason)
	}

	r = inspect(t, addr, tlsinspect.Options{Roots: p.RootPool(), Extra: []*x509.Certificate{p.Inter}})
	if r.Trust != tlsinspect.TrustedWithExtra || len(r.Missing) != 1 || !r.Missing[0].Equal(p.Inter) || r.MissingFrom != "--ca-file" {
		t.Errorf("with --ca-file intermediate: trust %v missing %v from %q", r.Trust, r.Missing, r.MissingFrom)
	}
	if c := codes(r, fixtures.Namespace); len(c) != 1 || c[0] != tlsinspect.CodeIncompleteChain {
		t.Errorf("codes %v", c)
	}

	var fetched []string
	aia := func(ctx context.Context, url string) ([]*x509.Certificate, error) {
		fetched = append(fetched, url)
		return []*x509.Certificate{p.Inter}, nil
	}
	r = inspect(t, addr, tlsinspect.Options{Roots: p.RootPool(), FetchAIA: aia})
	if r.Trust != tlsinspect.TrustedWithExtra || r.MissingFrom != "the AIA URL" || len(fetched) != 1 || fetched[0] != "http://pki.contoso.test/issuing.crt" {
		t.Errorf("with AIA: trust %v from %q, fetched %v", r.Trust, r.MissingFrom, fetched)
	}
}

func TestInspectAIAFetcherOverHTTP(t *testing.T) {
	p := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(p.Inter.Raw) })}
	go srv.Serve(ln)
	defer srv.Close()
	got, err := tlsinspect.AIAFetcher(dialer.DialContext, 5*time.Second)(context.Background(), "http://"+ln.Addr().String()+"/ca.crt")
	if err != nil || len(got) != 1 || !got[0].Equal(p.Inter) {
		t.Fatalf("AIA fetch = %v, %v", got, err)
	}
	if _, err := tlsinspect.AIAFetcher(dialer.DialContext, 5*time.Second)(context.Background(), "ldap://dc/ca"); err == nil {
		t.Error("an ldap AIA URL was fetched")
	}
}

func TestInspectSelfSignedAndExpired(t *testing.T) {
	p := newPKI(t)
	self, _ := p.Leaf(fixtures.LeafOpts{Names: []string{fixtures.Namespace}, SelfSigned: true})
	r := inspect(t, server(t, self, tls.VersionTLS12), tlsinspect.Options{Roots: p.RootPool()})
	if r.Trust != tlsinspect.Untrusted || !strings.Contains(r.TrustReason, "self-signed") {
		t.Errorf("self-signed: trust %v reason %q", r.Trust, r.TrustReason)
	}

	old, _ := p.Leaf(fixtures.LeafOpts{Names: []string{fixtures.Namespace}, NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	r = inspect(t, server(t, old, tls.VersionTLS12), tlsinspect.Options{Roots: p.RootPool()})
	// Expiry must not hide that the chain is otherwise trusted.
	if r.Trust != tlsinspect.Trusted {
		t.Errorf("expired: trust %v (%s), want trusted", r.Trust, r.TrustReason)
	}
	if c := codes(r, fixtures.Namespace); len(c) != 1 || c[0] != tlsinspect.CodeExpired {
		t.Errorf("expired codes %v", c)
	}
}

func TestInspectLegacyVersionAccepted(t *testing.T) {
	p := newPKI(t)
	leaf, _ := p.Leaf(fixtures.LeafOpts{Names: []string{fixtures.Namespace}})
	r := inspect(t, server(t, leaf, tls.VersionTLS10), tlsinspect.Options{Roots: p.RootPool(), Legacy: true})
	if r.Legacy != tls.VersionTLS11 || r.Version != tls.VersionTLS13 {
		t.Fatalf("legacy %x version %x; want TLS 1.1 accepted next to TLS 1.3", r.Legacy, r.Version)
	}
	if c := codes(r, fixtures.Namespace); len(c) != 1 || c[0] != tlsinspect.CodeWeak {
		t.Errorf("codes %v", c)
	}
}

func TestInspectConnectFailures(t *testing.T) {
	// A port that was free a moment ago: connection refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	// A plain http server on the https port.
	plain, _ := net.Listen("tcp", "127.0.0.1:0")
	psrv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go psrv.Serve(plain)
	defer psrv.Close()

	// A TLS server that refuses every handshake with an alert.
	alert, _ := net.Listen("tcp", "127.0.0.1:0")
	asrv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0), TLSConfig: &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("no binding") },
	}}
	go asrv.ServeTLS(alert, "", "")
	defer asrv.Close()

	for _, tc := range []struct{ name, addr, want string }{
		{"refused", closed, "connection refused"},
		{"plain http", plain.Addr().String(), "does not answer with TLS"},
		{"alert", alert.Addr().String(), "TLS alert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := inspect(t, tc.addr, tlsinspect.Options{Legacy: true})
			if r.ConnErr == nil || !strings.Contains(r.ConnReason, tc.want) {
				t.Fatalf("reason %q, want it to say %q", r.ConnReason, tc.want)
			}
			if c := codes(r, fixtures.Namespace); len(c) != 1 || c[0] != tlsinspect.CodeConnectFailed {
				t.Errorf("codes %v", c)
			}
		})
	}
}

// A hostile server accepts and never answers the ClientHello: the probe
// must end with a finding when its deadline passes.
func TestInspectStalledHandshake(t *testing.T) {
	addr := hostile.Silent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := tlsinspect.Inspect(ctx, tlsinspect.Options{Dial: dialer.DialContext, Addr: addr, ServerName: "x", Legacy: true, Now: time.Now()})
	if !strings.Contains(r.ConnReason, "did not complete the TLS handshake within the deadline") {
		t.Fatalf("reason %q", r.ConnReason)
	}
}

func TestLoadTrust(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	if err := p.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	der := filepath.Join(dir, "root.cer")
	os.WriteFile(der, p.Root.Raw, 0o644)
	roots, extra, err := tlsinspect.LoadTrust([]string{bundle, der})
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) != 1 || !extra[0].Equal(p.Inter) {
		t.Errorf("extra = %d certificates, want the intermediate only", len(extra))
	}
	if _, err := p.Inter.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("the root from --ca-file is not a trust anchor: %v", err)
	}

	bad := filepath.Join(dir, "bad.pem")
	// a PEM file with no certificate in it (a key block of junk bytes)
	os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0, 0, 0}}), 0o644)
	for _, f := range []string{bad, filepath.Join(dir, "missing.pem")} {
		if _, _, err := tlsinspect.LoadTrust([]string{f}); err == nil || !strings.Contains(err.Error(), "--ca-file "+f) {
			t.Errorf("LoadTrust(%s) error = %v, want one naming the file", f, err)
		}
	}
}
