package checks

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/kdcserver"
	"github.com/exdiag/exdiag/fixtures/ldapserver"
)

const spnTestPassword = "Sentinel-Spn-Pass-4242"

func spnConfig(mut func(*Config)) *Config {
	u, _ := url.Parse("https://mail.contoso.test/PowerShell")
	c := &Config{URI: u, Host: "mail.contoso.test", Port: 443, Authentication: "basic",
		User: `CONTOSO\administrator`, Password: NewSecret(spnTestPassword), Timeout: 5 * time.Second}
	if mut != nil {
		mut(c)
	}
	return c
}

func TestSPNInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string // substring of the skip reason; "" means it runs
	}{
		{"basic over https, nothing kerberos: runs to say not needed", nil, ""},
		{"basic over http, nothing kerberos", func(c *Config) { c.URI.Scheme = "http" }, "no kerberos input"},
		{"ldap given", func(c *Config) { c.LDAPURL = "ldap://127.0.0.1:1" }, ""},
		{"no credentials", func(c *Config) { c.LDAPURL = "ldap://127.0.0.1:1"; c.Password = Secret{} }, "needs --user"},
		{"negotiate with DOMAIN\\user and no realm", func(c *Config) { c.Authentication = "negotiate" }, "names no kerberos realm"},
		{"negotiate with user@realm", func(c *Config) { c.Authentication = "negotiate"; c.User = "a@contoso.test" }, ""},
		{"realm given", func(c *Config) { c.Realm = "CONTOSO.TEST" }, ""},
		{"no name at all", func(c *Config) { c.Realm = "X"; c.URI = nil; c.Host = "" }, "no name to check"},
	} {
		got := spnInputs(spnConfig(tc.mut))
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: Inputs = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSplitPrincipal(t *testing.T) {
	for _, tc := range []struct{ user, realm, wantName, wantRealm string }{
		{"administrator@contoso.test", "", "administrator", "CONTOSO.TEST"},
		{"administrator@contoso.test", "CORP.CONTOSO.TEST", "administrator", "CORP.CONTOSO.TEST"},
		{`CONTOSO\administrator`, "", "administrator", ""},
		{`CONTOSO\administrator`, "contoso.test", "administrator", "CONTOSO.TEST"},
		{"administrator", "contoso.test", "administrator", "CONTOSO.TEST"},
	} {
		n, r := splitPrincipal(&Config{User: tc.user, Realm: tc.realm})
		if n != tc.wantName || r != tc.wantRealm {
			t.Errorf("%s / %s: got %s %s", tc.user, tc.realm, n, r)
		}
	}
}

// fakeDNS answers mail.contoso.test as a CNAME to lb.contoso.test, and
// _kerberos SRV records pointing at kdc1.contoso.test:kdcPort, which is
// 127.0.0.1 in this view.
func fakeDNS(t *testing.T, kdcPort uint16) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		switch {
		case name == "mail.contoso.test.":
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: "lb.contoso.test."})
			if q.Question[0].Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "lb.contoso.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(10, 0, 0, 5)})
			}
		case strings.HasPrefix(name, "_kerberos._tcp.contoso.test") && q.Question[0].Qtype == dns.TypeSRV:
			m.Answer = append(m.Answer, &dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60}, Priority: 0, Weight: 100, Port: kdcPort, Target: "kdc1.contoso.test."})
		case name == "kdc1.contoso.test." && q.Question[0].Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
		case name == "kdc1.contoso.test.":
		case strings.HasPrefix(name, "_kerberos._udp.contoso.test"):
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestSPNNames(t *testing.T) {
	resolver := fakeDNS(t, 88)
	c := spnConfig(func(c *Config) {
		c.InternalDNS = []string{resolver}
		b1, _ := url.Parse("https://cas1.contoso.test:444/PowerShell")
		b2, _ := url.Parse("https://10.0.0.7/PowerShell")
		c.Backends = []*url.URL{b1, b2}
		c.ExtraSPNs = []string{"HTTP/Mail.contoso.test", "autodiscover.contoso.test", "WSMAN/cas2.contoso.test"}
	})
	names, ignored := spnNames(context.Background(), NewEnv(c))
	var got []string
	for _, n := range names {
		got = append(got, n.spn+"<"+n.from)
	}
	want := []string{"HTTP/mail.contoso.test<uri", "HTTP/lb.contoso.test<cname", "HTTP/cas1.contoso.test<backend",
		"HTTP/autodiscover.contoso.test<--spn", "WSMAN/cas2.contoso.test<--spn"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %v\nwant  %v", got, want)
	}
	if !reflect.DeepEqual(ignored, []string{"10.0.0.7"}) {
		t.Errorf("ignored %v", ignored)
	}
}

// startTestDirectory serves the accounts on loopback; when data is not ""
// its DC refuses the administrator with that AD sub-code ("775" …).
func startTestDirectory(t *testing.T, data string, accounts ...ldapserver.Account) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &ldapserver.Server{Accounts: append([]ldapserver.Account{
		{DN: "CN=Administrator,CN=Users,DC=contoso,DC=test", Attributes: map[string][]string{"sAMAccountName": {"Administrator"}}},
	}, accounts...), Credentials: []ldapserver.Credential{{Names: []string{`CONTOSO\administrator`}, Password: spnTestPassword}}}
	if data != "" {
		s.Refused = map[string]string{`CONTOSO\administrator`: data}
	}
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return "ldap://" + ln.Addr().String()
}

func computer(name string, spns ...string) ldapserver.Account {
	return ldapserver.Account{DN: "CN=" + strings.TrimSuffix(name, "$") + ",CN=Computers,DC=contoso,DC=test",
		Attributes: map[string][]string{"sAMAccountName": {name}, "servicePrincipalName": spns}}
}

func runSPNCheck(t *testing.T, c *Config) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	rs := Run(ctx, NewEnv(c), []Check{SPNCheck})
	b, _ := json.Marshal(rs)
	if strings.Contains(string(b), spnTestPassword) {
		t.Fatalf("the password appears in the result: %s", b)
	}
	return rs[0]
}

func findingCodes(r Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	sort.Strings(out)
	return out
}

func TestSPNViaDirectory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts []ldapserver.Account
		password string
		want     []string
		inSumm   []string
		refused  string // the AD sub-code the directory refuses the user with
	}{
		{name: "registered once", accounts: []ldapserver.Account{computer("EXCH-ASA$", "HTTP/mail.contoso.test", "HTTP/mail")}},
		{name: "missing", accounts: []ldapserver.Account{computer("CAS1$", "HTTP/cas1.contoso.test")}, want: []string{"SPN-MISSING"}},
		{name: "duplicate", accounts: []ldapserver.Account{computer("EXCH-ASA$", "HTTP/mail.contoso.test"), computer("CAS1$", "http/MAIL.contoso.test")},
			want: []string{"SPN-DUPLICATE"}, inSumm: []string{"CAS1$", "EXCH-ASA$"}},
		{name: "duplicate short form", accounts: []ldapserver.Account{computer("EXCH-ASA$", "HTTP/mail.contoso.test", "HTTP/mail"), computer("CAS1$", "HTTP/mail")},
			want: []string{"SPN-DUPLICATE"}, inSumm: []string{"HTTP/mail is registered on 2"}},
		{name: "bind refused", password: "wrong-one", want: []string{"SPN-PREAUTH-FAILED"}, inSumm: []string{"data 52e"}},
		{name: "bind refused, account locked (775)", refused: "775", want: []string{"SPN-ACCOUNT-LOCKED"}, inSumm: []string{"data 775, the account is locked out"}},
		{name: "bind refused, password must change (773)", refused: "773", want: []string{"SPN-PASSWORD-EXPIRED"}},
		{name: "bind refused, logon hours (530)", refused: "530", want: []string{"SPN-LOGON-RESTRICTED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startTestDirectory(t, tc.refused, tc.accounts...)
			c := spnConfig(func(c *Config) { c.LDAPURL = addr; c.LDAPBase = "DC=contoso,DC=test" })
			if tc.password != "" {
				c.Password = NewSecret(tc.password)
			}
			r := runSPNCheck(t, c)
			if r.Status == StatusError {
				t.Fatalf("error: %s", r.Error)
			}
			if got := findingCodes(r); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("codes %v, want %v", got, tc.want)
			}
			for _, s := range tc.inSumm {
				if !strings.Contains(r.Findings[0].Summary, s) {
					t.Errorf("summary %q lacks %q", r.Findings[0].Summary, s)
				}
			}
			obs := r.Observed.(SPNObserved)
			if len(obs.SPNs) == 0 || obs.SPNs[0].Source != "ldap" || obs.SPNs[0].SPN != "HTTP/mail.contoso.test" {
				t.Errorf("observed %+v", obs.SPNs)
			}
		})
	}
}

func TestSPNPlainBindToRemoteDirectoryIsRefused(t *testing.T) {
	c := spnConfig(func(c *Config) { c.LDAPURL = "ldap://dc1.contoso.test"; c.LDAPBase = "DC=contoso,DC=test" })
	env := NewEnv(c)
	env.Dial = func(ctx context.Context, n, a string) (net.Conn, error) {
		t.Errorf("dialled %s %s", n, a)
		return nil, io.EOF
	}
	rs := Run(context.Background(), env, []Check{SPNCheck})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "ldaps://") {
		t.Fatalf("status %s error %q, want an error asking for ldaps://", rs[0].Status, rs[0].Error)
	}
}

func TestSPNNotNeeded(t *testing.T) {
	r := runSPNCheck(t, spnConfig(nil))
	if got := findingCodes(r); len(got) != 1 || got[0] != "SPN-NOT-NEEDED" {
		t.Fatalf("codes %v", got)
	}
	if obs := r.Observed.(SPNObserved); obs.SkippedReason == "" {
		t.Error("no skipped_reason in observed")
	}
	if r.Status != StatusSkip || r.SkipReason == "" || r.Findings[0].Severity != SevInfo {
		t.Errorf("status %s (%q), severity %s: want skip with the info finding", r.Status, r.SkipReason, r.Findings[0].Severity)
	}
}

// NTLM alone asks for no ticket, over https or http: the spn check says
// so instead of asking for Kerberos inputs.
func TestSPNNotNeededForNTLM(t *testing.T) {
	for _, uri := range []string{"https://mail.contoso.test/PowerShell", "http://mail.contoso.test/PowerShell"} {
		c := spnConfig(func(c *Config) { c.Authentication = AuthNTLM; c.URI, _ = url.Parse(uri) })
		r := runSPNCheck(t, c)
		if got := findingCodes(r); len(got) != 1 || got[0] != "SPN-NOT-NEEDED" || !strings.Contains(r.Findings[0].Summary, "ntlm needs no SPN") {
			t.Errorf("%s: codes %v %+v", uri, got, r.Findings)
		}
	}
	// with a kerberos input the user asked for the check
	c := spnConfig(func(c *Config) { c.Authentication = AuthNTLM; c.Realm = "CONTOSO.TEST" })
	if spnNotNeeded(c) {
		t.Error("--realm given, yet the spn check is not needed")
	}
}

// replayKDC answers framed TCP requests with captured KRB-ERROR bytes from
// a real MIT KDC (checks/kerb/testdata).
func replayKDC(t *testing.T, file string) string {
	t.Helper()
	reply, err := os.ReadFile("kerb/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return hostile.Serve(t, func(c net.Conn) {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:])))
		c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(reply))), reply...))
	})
}

func TestSPNViaKDC(t *testing.T) {
	closed := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}
	for _, tc := range []struct {
		name string
		kdc  string
		want string
	}{
		{"unknown client", replayKDC(t, "c_principal_unknown.der"), "SPN-PREAUTH-FAILED"},
		{"nothing listens", closed(), "SPN-KDC-UNREACHABLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runSPNCheck(t, spnConfig(func(c *Config) { c.Realm = "CONTOSO.TEST"; c.KDCs = []string{tc.kdc} }))
			if got := findingCodes(r); len(got) != 1 || got[0] != tc.want || r.Status == StatusError {
				t.Fatalf("codes %v status %s (%s), want %s", got, r.Status, r.Error, tc.want)
			}
		})
	}
}

// Without --kdc the KDC comes from SRV on the internal resolver, and its
// name is resolved in that same view, as a domain member would.
func TestSPNFindsKDCBySRV(t *testing.T) {
	kdc := replayKDC(t, "c_principal_unknown.der")
	_, port, _ := net.SplitHostPort(kdc)
	p, _ := strconv.Atoi(port)
	resolver := fakeDNS(t, uint16(p))
	c := spnConfig(func(c *Config) {
		c.User = "administrator@contoso.test"
		c.Authentication = "negotiate"
		c.InternalDNS = []string{resolver}
	})
	env := NewEnv(c)
	var (
		mu      sync.Mutex
		dialled []string
	)
	real := env.Dial
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, network+" "+addr)
		mu.Unlock()
		return real(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := Run(ctx, env, []Check{SPNCheck})[0]
	obs := r.Observed.(SPNObserved)
	want := "kdc1.contoso.test:" + port
	if !reflect.DeepEqual(obs.KDCs, []string{want}) || !strings.Contains(obs.KDCSource, "srv") || !slices.Contains(dialled, "tcp "+kdc) {
		t.Fatalf("kdcs %v from %q, dialled %v", obs.KDCs, obs.KDCSource, dialled)
	}
	if got := findingCodes(r); len(got) != 1 || got[0] != "SPN-PREAUTH-FAILED" {
		t.Fatalf("codes %v", got)
	}
}

// startRefusingKDC is the lab's KDC refusing the administrator with code
// and, when status is not 0, the NTSTATUS a domain controller attaches.
func startRefusingKDC(t *testing.T, code int32, status uint32) string {
	t.Helper()
	kdc, err := kdcserver.New("CONTOSO.TEST", map[string]string{"administrator": spnTestPassword}, []string{"HTTP/mail.contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	kdc.Refused = map[string]kdcserver.Refusal{"administrator": {Code: code, NTStatus: status}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kdc.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return ln.Addr().String()
}

// TestSPNAccountStates: the KDC's refusals of the account are distinct
// findings, each a definite verdict: the run's password is not sent again.
func TestSPNAccountStates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int32
		status uint32
		want   string
	}{
		{"locked out (CLIENT_REVOKED, STATUS_ACCOUNT_LOCKED_OUT)", 18, 0xC0000234, "SPN-ACCOUNT-LOCKED"},
		{"expired account (CLIENT_REVOKED, STATUS_ACCOUNT_EXPIRED)", 18, 0xC0000193, "SPN-ACCOUNT-EXPIRED"},
		{"revoked, no status (MIT)", 18, 0, "SPN-ACCOUNT-DISABLED"},
		{"password expired (KEY_EXPIRED)", 23, 0, "SPN-PASSWORD-EXPIRED"},
		{"logon hours (POLICY, STATUS_INVALID_LOGON_HOURS)", 12, 0xC000006F, "SPN-LOGON-RESTRICTED"},
		{"wrong password (PREAUTH_FAILED)", 24, 0, "SPN-PREAUTH-FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := spnConfig(func(c *Config) { c.Realm = "CONTOSO.TEST"; c.KDCs = []string{startRefusingKDC(t, tc.code, tc.status)} })
			env := NewEnv(c)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := Run(ctx, env, []Check{SPNCheck})[0]
			if got := findingCodes(r); len(got) != 1 || got[0] != tc.want || r.Status == StatusError {
				t.Fatalf("codes %v status %s (%s), want %s", got, r.Status, r.Error, tc.want)
			}
			_, err := env.Credential(ctx, false)
			var refused *CredentialRefused
			if !errors.As(err, &refused) || !strings.Contains(refused.By, "the kdc 127.0.0.1:") {
				t.Fatalf("after the kdc's refusal the guard says %v", err)
			}
		})
	}
}

func TestShownURLDropsUserinfo(t *testing.T) {
	if got := shownURL("ldaps://admin:Secret-1@dc1.contoso.test:636/?starttls"); strings.Contains(got, "Secret-1") || !strings.Contains(got, "dc1.contoso.test:636") {
		t.Errorf("shownURL = %q", got)
	}
}

// TestKDCSRVLookupGoesThroughEnv: without --kdc or --internal-dns, the
// realm's KDCs come from the Env's SRV seam, so a test (or a service with
// its own resolver) decides the answer, not the machine's resolver.
func TestKDCSRVLookupGoesThroughEnv(t *testing.T) {
	env := NewEnv(&Config{Realm: "CONTOSO.TEST"})
	var asked string
	env.LookupSRV = func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
		asked = service + "/" + proto + "/" + name
		return "", []*net.SRV{{Target: "dc1.contoso.test.", Port: 88}}, nil
	}
	kdcs, source, err := findKDCs(context.Background(), env, "CONTOSO.TEST")
	if err != nil || len(kdcs) != 1 || kdcs[0] != "dc1.contoso.test:88" || asked != "kerberos/tcp/contoso.test" {
		t.Fatalf("kdcs %v from %q (asked %q): %v", kdcs, source, asked, err)
	}
}

// TestSPNUnroutableKDCIsAnError: a --kdc this machine has no route to is
// the probe host's side (error, exit 3), not SPN-KDC-UNREACHABLE.
func TestSPNUnroutableKDCIsAnError(t *testing.T) {
	c := spnConfig(func(c *Config) { c.Realm = "CONTOSO.TEST"; c.KDCs = []string{"192.0.2.88"} })
	env := NewEnv(c)
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
	}
	rs := Run(context.Background(), env, []Check{SPNCheck})
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "probe host's network") || ExitCode(rs) != 3 {
		t.Fatalf("unroutable --kdc: %+v", rs[0])
	}
}
