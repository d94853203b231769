package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/exdiag/exdiag/report"
)

// TestBadPasswordOneFailedLogon: one run with a wrong password, two
// backends and Kerberos inputs (KDC and directory) costs the account one
// failed logon, as the lab's domain counts them, and the probes that did
// not send the password say why.
func TestBadPasswordOneFailedLogon(t *testing.T) {
	bin := buildBinary(t)
	code, out, stderr := runBinary(t, bin, "run", "--lab=bad-password", "--format", "json")
	var doc report.Doc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("exit %d, stdout is not the JSON report: %v\n%s\nstderr: %s", code, err, out, stderr)
	}
	m := regexp.MustCompile(`the domain counted (\d+) failed logon`).FindStringSubmatch(stderr)
	if m == nil || m[1] != "1" {
		t.Fatalf("want exactly one failed logon, stderr says: %s", stderr)
	}
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	var refusedBy []string
	for _, c := range doc.Checks {
		for _, f := range c.Findings {
			if f.Code == "AUTH-BAD-CREDENTIALS" || f.Code == "SPN-PREAUTH-FAILED" {
				refusedBy = append(refusedBy, f.Code)
			}
		}
	}
	if len(refusedBy) != 1 || refusedBy[0] != "AUTH-BAD-CREDENTIALS" {
		t.Errorf("the refusal must be reported once, by the lead logon (auth on the uri); got %v", refusedBy)
	}
	// both backends, the kdc and the directory say why they did not try
	const why = "not tried: the password was refused by the server at https://mail.contoso.test"
	var auth struct {
		Backends []struct {
			Target string
			Basic  struct{ Refused string }
		}
	}
	var spn struct {
		SPNs []struct{ SPN, Source, Error string }
	}
	for _, c := range doc.Checks {
		b, _ := json.Marshal(c.Observed)
		switch c.ID {
		case "auth":
			json.Unmarshal(b, &auth)
		case "spn":
			json.Unmarshal(b, &spn)
		}
	}
	if len(auth.Backends) != 2 {
		t.Fatalf("want the lab's two backends checked, got %d", len(auth.Backends))
	}
	for _, b := range auth.Backends {
		if !strings.HasPrefix(b.Basic.Refused, why) {
			t.Errorf("backend %s: basic %q, want %q…", b.Target, b.Basic.Refused, why)
		}
	}
	sources := map[string]bool{}
	for _, o := range spn.SPNs {
		if !strings.HasPrefix(o.Error, why) {
			t.Errorf("%s via %s: %q, want %q…", o.SPN, o.Source, o.Error, why)
		}
		sources[o.Source] = true
	}
	if !sources["kdc"] || !sources["ldap"] {
		t.Errorf("want the kdc and the directory among the spn sources, got %v", sources)
	}

	// a locked account is refused whatever the password: no bad password
	// is counted, the lead reports the lock and nobody else tries
	code, out, stderr = runBinary(t, bin, "run", "--lab=account-locked", "--format", "json")
	var locked report.Doc
	if err := json.Unmarshal(out, &locked); err != nil {
		t.Fatalf("exit %d, stdout is not the JSON report: %v\n%s", code, err, out)
	}
	if strings.Contains(stderr, "failed logon") {
		t.Errorf("a locked account must cost no failed logon: %s", stderr)
	}
	var codes []string
	for _, c := range locked.Checks {
		for _, f := range c.Findings {
			codes = append(codes, f.Code)
		}
	}
	if strings.Join(codes, ",") != "AUTH-ACCOUNT-LOCKED" || !strings.Contains(string(out), "not tried: the password was refused by the server at") {
		t.Errorf("account-locked: exit %d, codes %v", code, codes)
	}
}

// TestHTTPURISendsNoPassword: `exdiag run --uri http://HOST:PORT/PowerShell
// --user …` gives the seed's "Basic over http://" finding, checks that
// port for plain http, and never sends the password.
func TestHTTPURISendsNoPassword(t *testing.T) {
	var mu sync.Mutex
	var authz []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authz = append(authz, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", `Basic realm="cas1"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("EXDIAG_PASSWORD", "Http-Uri-Canary-7")
	bin := buildBinary(t)
	code, out, stderr := runBinary(t, bin, "run", "--format", "json", "--checks", "auth,redirect",
		"--uri", "http://cas1.fabrikam.example:"+port+"/PowerShell", "--resolve", "cas1.fabrikam.example:"+port+":127.0.0.1",
		"--user", `FABRIKAM\helpdesk`)
	var doc report.Doc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("exit %d, not the JSON report: %v\n%s\nstderr: %s", code, err, out, stderr)
	}
	var codes []string
	for _, c := range doc.Checks {
		for _, f := range c.Findings {
			codes = append(codes, f.Code)
		}
	}
	if !slices.Contains(codes, "AUTH-BASIC-HTTP") || code != 2 {
		t.Fatalf("exit %d, codes %v", code, codes)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authz) < 2 {
		t.Fatalf("the probes asked %d times; want the redirect probe and auth on the uri's own port", len(authz))
	}
	for _, a := range authz {
		if strings.HasPrefix(a, "Basic") {
			t.Fatal("a password went over the http uri")
		}
	}
	if strings.Contains(string(out)+stderr, "Http-Uri-Canary-7") {
		t.Fatal("the password appears in the output")
	}
}
