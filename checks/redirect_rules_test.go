package checks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestClassifyPlain(t *testing.T) {
	asked, _ := url.Parse("http://mail.contoso.test/PowerShell")
	want, _ := url.Parse("https://mail.contoso.test/PowerShell")
	custom, _ := url.Parse("https://mail.contoso.test:8443/PowerShell")
	tests := []struct {
		name  string
		a     plainAnswer
		want  *url.URL
		codes []string
		say   string
	}{
		{"301 to the https uri", plainAnswer{status: 301, location: "https://mail.contoso.test/PowerShell"}, want, nil, ""},
		{"302 host and path compare case-insensitively", plainAnswer{status: 302, location: "https://MAIL.contoso.test/powershell/"}, want, nil, ""},
		{"307 to the https uri", plainAnswer{status: 307, location: "https://mail.contoso.test:443/PowerShell"}, want, nil, ""},
		{"308 to a custom port", plainAnswer{status: 308, location: "https://mail.contoso.test:8443/PowerShell"}, custom, nil, ""},
		{"303 to the default port when 8443 is published", plainAnswer{status: 303, location: "https://mail.contoso.test/PowerShell"}, custom,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "another port than 8443"},
		{"to another host", plainAnswer{status: 301, location: "https://owa.contoso.test/PowerShell"}, want,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "another host"},
		{"to another path", plainAnswer{status: 302, location: "https://mail.contoso.test/owa"}, want,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "another path"},
		{"drops the path", plainAnswer{status: 302, location: "/"}, want,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "not https"},
		{"to http", plainAnswer{status: 301, location: "http://mail.contoso.test/PowerShell"}, want,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "not https"},
		{"redirect without location", plainAnswer{status: 301}, want,
			[]string{"HTTP-REDIRECT-ELSEWHERE"}, "unusable Location"},
		{"200 page", plainAnswer{status: 200}, want, []string{"HTTP-NOT-REDIRECTED"}, "answers 200"},
		{"300 is not a redirect", plainAnswer{status: 300, location: "https://mail.contoso.test/PowerShell"}, want, []string{"HTTP-NOT-REDIRECTED"}, ""},
		{"404", plainAnswer{status: 404}, want, []string{"HTTP-NOT-REDIRECTED"}, ""},
		{"401 basic", plainAnswer{status: 401, challenges: []string{`Basic realm="mail.contoso.test"`}}, want,
			[]string{"HTTP-NOT-REDIRECTED", "HTTP-BASIC-OVER-HTTP"}, ""},
		{"401 negotiate then basic in one header", plainAnswer{status: 401, challenges: []string{`Negotiate, BASIC realm="x"`}}, want,
			[]string{"HTTP-NOT-REDIRECTED", "HTTP-BASIC-OVER-HTTP"}, ""},
		{"401 negotiate only", plainAnswer{status: 401, challenges: []string{"Negotiate", "NTLM"}}, want,
			[]string{"HTTP-NOT-REDIRECTED"}, ""},
		{"refused", plainAnswer{err: syscall.ECONNREFUSED}, want, []string{"HTTP-PORT-CLOSED"}, "connection refused"},
		{"filtered", plainAnswer{err: errors.New("i/o timeout")}, want, []string{"HTTP-PORT-CLOSED"}, "no connection"},
		{"connected but no answer", plainAnswer{connected: true, err: errors.New("EOF")}, want, []string{"HTTP-NOT-REDIRECTED"}, "no complete answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := classifyPlain(tt.a, asked, tt.want, "mail.contoso.test:80")
			var got []string
			for _, f := range fs {
				got = append(got, f.Code)
				if f.Target != "mail.contoso.test:80" {
					t.Errorf("target %q", f.Target)
				}
			}
			if !slices.Equal(got, tt.codes) {
				t.Fatalf("codes %v, want %v (%+v)", got, tt.codes, fs)
			}
			if tt.say != "" && !strings.Contains(fs[0].Summary, tt.say) {
				t.Errorf("summary %q lacks %q", fs[0].Summary, tt.say)
			}
		})
	}
}

// TestRedirectChecksTheHTTPURIsPort: with an http:// uri the plain-http
// endpoint in question is that uri's host and port, not port 80; with
// negotiate (Kerberos over http, the internal default) its not
// redirecting is recorded, not failed.
func TestRedirectChecksTheHTTPURIsPort(t *testing.T) {
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Host+r.URL.Path)
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, tc := range []struct {
		auth string
		sev  Severity
	}{{"basic", SevFail}, {"negotiate", SevInfo}} {
		u, _ := url.Parse("http://cas1.contoso.test:" + port + "/PowerShell")
		p, _ := strconv.Atoi(port)
		cfg := &Config{URI: u, Host: "cas1.contoso.test", Port: p, Authentication: tc.auth, Checks: []string{"redirect"},
			Resolve: []ResolveEntry{{Host: "cas1.contoso.test", Port: p, Addr: "127.0.0.1"}}}
		asked = nil
		r := Run(context.Background(), NewEnv(cfg), []Check{RedirectCheck})[0]
		if len(asked) != 1 || asked[0] != "cas1.contoso.test:"+port+"/PowerShell" {
			t.Fatalf("%s: the probe asked %v, want the uri's own port %s", tc.auth, asked, port)
		}
		if len(r.Findings) == 0 || r.Findings[0].Code != "HTTP-NOT-REDIRECTED" || r.Findings[0].Severity != tc.sev {
			t.Fatalf("%s: findings %+v, want HTTP-NOT-REDIRECTED at %s", tc.auth, r.Findings, tc.sev)
		}
	}
}
