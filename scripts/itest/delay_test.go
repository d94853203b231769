package itest

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// wsmanBackend is a CAS behind nginx that authenticates Basic as IIS does
// and serves the lab's WS-Management/PSRP endpoint (the real protocol, the
// lab's user set).
func wsmanBackend(t *testing.T, cert tls.Certificate, srv *psrpserver.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	users := fixtures.RBACUsers()
	hs := &http.Server{
		ErrorLog:  log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", "Microsoft-IIS/10.0")
			u, p, ok := r.BasicAuth()
			if !ok || users[u] != p {
				w.Header().Add("WWW-Authenticate", "Negotiate")
				w.Header().Add("WWW-Authenticate", `Basic realm="cas1.contoso.test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			srv.ServeHTTP(w, r.WithContext(psrpserver.WithUser(r.Context(), u)))
		}),
	}
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// TestRunThroughDelayLine runs dns, tls, auth and rbac against real BIND 9
// and real nginx (in front of a CAS serving the lab's WS-Management
// endpoint), each behind the lab's delay line at ITEST_RTT (default
// 20ms), and logs every check's duration in round trips. It asserts the
// verdicts and the rbac session's request count, never a time.
func TestRunThroughDelayLine(t *testing.T) {
	NeedBinaries(t, "named", "nginx")
	rtt := 20 * time.Millisecond
	if v := os.Getenv("ITEST_RTT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("ITEST_RTT=%q is not a duration; give e.g. ITEST_RTT=50ms", v)
		}
		rtt = d
	}

	bindDir := serverDir(t, "exdiag-bind-")
	if err := os.Chmod(bindDir, 0o755); err != nil { // named drops to nobody
		t.Fatal(err)
	}
	ext := startBIND(t, bindDir, "external")

	dir := t.TempDir()
	ca := newAuthCA(t)
	frontCert, frontKey, _ := ca.leaf(t, "mail.contoso.test", false)
	_, _, casCert := ca.leaf(t, "cas1.contoso.test", false)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	for name, b := range map[string][]byte{"front.crt": frontCert, "front.key": frontKey, "ca.pem": caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := psrpserver.New(psrpserver.Config{Commands: map[string][]string{fixtures.AdminUser: fixtures.AdminCommands()}})
	cas := wsmanBackend(t, casCert, ws)
	port := FreePort(t)
	if err := os.WriteFile(filepath.Join(dir, "routes"), fmt.Appendf(nil, "%d %s cas1.contoso.test\n", port, cas), 0o600); err != nil {
		t.Fatal(err)
	}
	startAuthNginx(t, dir, []int{port})

	dnsLine, err := fixtures.NewDelayLine("bind", rtt, ext, ext)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dnsLine.Close)
	front, err := fixtures.NewDelayLine("nginx", rtt, fmt.Sprintf("127.0.0.1:%d", port), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(front.Close)
	_, fp, _ := net.SplitHostPort(front.Addr())

	started := time.Now()
	r := Exdiag(t, []string{"EXDIAG_PASSWORD=" + fixtures.AdminPassword}, "run", "--checks", "dns,tls,auth,rbac", "--format", "json",
		"--uri", "https://mail.contoso.test:"+fp+"/PowerShell", "--resolve", "mail.contoso.test:"+fp+":127.0.0.1",
		"--external-dns", dnsLine.Addr(), "--expect-external", "203.0.113.10",
		"--ca-file", filepath.Join(dir, "ca.pem"), "--user", fixtures.AdminUser, "--timeout", "60s")
	wall := time.Since(started)
	var rep struct {
		DurationMS int64 `json:"duration_ms"`
		Checks     []struct {
			ID         string          `json:"id"`
			Status     string          `json:"status"`
			DurationMS int64           `json:"duration_ms"`
			Observed   json.RawMessage `json:"observed"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("not the JSON report (%v): %s", err, r.Stdout)
	}
	t.Logf("through real BIND and nginx at %v RTT: run %d ms = %.1f round trips (process %v)", rtt, rep.DurationMS, float64(rep.DurationMS)/float64(rtt.Milliseconds()), wall.Round(time.Millisecond))
	for _, c := range rep.Checks {
		t.Logf("  %-5s %-4s %5d ms = %4.1f round trips", c.ID, c.Status, c.DurationMS, float64(c.DurationMS)/float64(rtt.Milliseconds()))
		// nginx's default protocols still take TLS 1.0/1.1 (a TLS-WEAK warning)
		if c.Status != "pass" && (c.ID != "tls" || c.Status != "warn") {
			t.Errorf("%s: %s; observed %s", c.ID, c.Status, c.Observed)
		}
		if c.ID == "rbac" {
			var o struct {
				RoundTrips   int  `json:"round_trips"`
				ShellDeleted bool `json:"shell_deleted"`
			}
			json.Unmarshal(c.Observed, &o)
			got := ws.Requests()
			// compressed, the metadata takes one Receive instead of seven
			if o.RoundTrips != 5 || !o.ShellDeleted || got["Create"] != 1 || got["Delete"] != 1 || got["Signal"] != 0 {
				t.Errorf("rbac: %d round trips, shell deleted %v, server saw %v; want 5 (Create, Receive, Command, Receive, Delete)", o.RoundTrips, o.ShellDeleted, got)
			}
		}
	}
	for _, l := range []*fixtures.DelayLine{dnsLine, front} {
		t.Log("  " + l.Stats().String())
	}
	if ws.OpenShells() != 0 {
		t.Errorf("%d shells left open", ws.OpenShells())
	}
}
