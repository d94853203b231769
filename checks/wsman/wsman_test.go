package wsman

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/internal/recording"
	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// tlsClient returns a client for ts under the name example.com (which the
// httptest certificate carries), dialling ts's listener.
// testBudgets are checks' budgets (checks/budgets.go), which this leaf
// package cannot import.
var testBudgets = Budgets{Request: 25 * time.Second, ReceiveWait: 20 * time.Second, Delete: 5 * time.Second, LateDelete: 1500 * time.Millisecond}

func tlsClient(t testing.TB, ts *httptest.Server, user, password string) *Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	addr := ts.Listener.Addr().String()
	var d net.Dialer
	hc := NewHTTPClient(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}, &tls.Config{RootCAs: roots})
	t.Cleanup(hc.CloseIdleConnections)
	u, _ := url.Parse("https://example.com:" + strings.Split(addr, ":")[1] + "/PowerShell")
	c, err := NewClient(hc, u, ExchangeResourceURI, user, password, testBudgets)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// replay answers the client's requests with a recording's responses in
// order: each request gets the next recorded response for the same action,
// after checking the client echoed the ShellId and CommandId the earlier
// responses gave it.
type replay struct {
	t      *testing.T
	ex     []recording.Exchange
	mu     sync.Mutex
	next   int
	served []string
}

var commandIDAttr = regexp.MustCompile(`<rsp:DesiredStream CommandId="([^"]+)"`)

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	env := string(body)
	action := recording.Action(env)
	if req.URL.Query().Get("PSVersion") != "5.1" || req.Header.Get("Content-Type") != "application/soap+xml;charset=UTF-8" {
		r.t.Errorf("request %s?%s with content type %q", req.URL.Path, req.URL.RawQuery, req.Header.Get("Content-Type"))
	}
	if u, p, ok := req.BasicAuth(); !ok || u != "user" || p != "pass" {
		r.t.Errorf("no basic credentials on %s", action)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	short := action[strings.LastIndex(action, "/")+1:]
	r.served = append(r.served, short)
	for j := r.next; j < len(r.ex); j++ {
		rec := r.ex[j]
		if recording.Action(rec.Request) != action {
			continue
		}
		r.next = j + 1
		if want := recording.ShellID(rec.Request); want != recording.ShellID(env) {
			r.t.Errorf("%s: ShellId %q, the recording's %q", short, recording.ShellID(env), want)
		}
		if m := commandIDAttr.FindStringSubmatch(rec.Request); m != nil {
			if got := commandIDAttr.FindStringSubmatch(env); got == nil || !strings.EqualFold(got[1], m[1]) {
				r.t.Errorf("%s: CommandId %v, the recording's %q", short, got, m[1])
			}
		}
		status := rec.Status
		if strings.Contains(rec.Response, ":Fault>") {
			status = 500
		}
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		w.WriteHeader(status)
		io.WriteString(w, rec.Response)
		return
	}
	// operations the recording's client did not make: a Command (pypsrp's
	// fault recording skipped it) or a clean-up Signal
	switch short {
	case "Command":
		for _, rec := range r.ex[r.next:] {
			if m := commandIDAttr.FindStringSubmatch(rec.Request); m != nil {
				io.WriteString(w, `<s:Envelope xmlns:s="`+NsSOAP+`" xmlns:rsp="`+NsShell+`"><s:Body><rsp:CommandResponse><rsp:CommandId>`+m[1]+`</rsp:CommandId></rsp:CommandResponse></s:Body></s:Envelope>`)
				return
			}
		}
	case "Signal":
		io.WriteString(w, `<s:Envelope xmlns:s="`+NsSOAP+`"><s:Body/></s:Envelope>`)
		return
	}
	r.t.Errorf("the recording has no further %s", short)
	http.Error(w, "no such recorded request", 500)
}

func replayClient(t *testing.T, name string) (*Client, *replay) {
	t.Helper()
	ex, err := recording.Load(name)
	if err != nil {
		t.Fatalf("the recordings must be at %s: %v", recording.Dir(), err)
	}
	r := &replay{t: t, ex: ex}
	ts := httptest.NewTLSServer(r)
	t.Cleanup(ts.Close)
	return tlsClient(t, ts, "user", "pass"), r
}

func TestReplayGetCommandMetadata(t *testing.T) {
	c, r := replayClient(t, "test_psrp_get_command_metadata.yml")
	res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"New-PSSession", "New-PSSessionConfigurationFile", "New-PSSessionOption"}
	if !slices.Equal(res.Names, want) || res.ServerCount != 3 {
		t.Fatalf("names %v count %d", res.Names, res.ServerCount)
	}
	if res.ProtocolVersion != "2.3" || res.PSVersion != "5.1.17134.1" || !res.ShellDeleted {
		t.Fatalf("protocol %q ps %q deleted %v", res.ProtocolVersion, res.PSVersion, res.ShellDeleted)
	}
	// pypsrp asked for no compression, and Windows said NoCompression
	if res.Compression != "none" {
		t.Fatalf("compression %q, want none", res.Compression)
	}
	if got := strings.Join(r.served, " "); got != "Create Receive Receive Command Receive Delete" || c.RoundTrips != 6 {
		t.Fatalf("requests %s (%d round trips)", got, c.RoundTrips)
	}
}

func TestReplayLongRunningNoDataYet(t *testing.T) {
	c, r := replayClient(t, "test_psrp_long_running_cmdlet.yml")
	res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
	if err != nil {
		t.Fatal(err)
	}
	if res.NoDataRetries != 2 || len(res.Names) != 0 || res.Records != 1 || !res.ShellDeleted {
		t.Fatalf("retries %d names %v records %d deleted %v", res.NoDataRetries, res.Names, res.Records, res.ShellDeleted)
	}
	if got := strings.Join(r.served, " "); got != "Create Receive Receive Command Receive Receive Receive Delete" {
		t.Fatalf("requests %s", got)
	}
}

func TestReplayReceiveFailure(t *testing.T) {
	c, r := replayClient(t, "test_psrp_receive_failure.yml")
	res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
	var f *Fault
	if !errors.As(err, &f) || f.Code != 2150858843 || f.Machine != "127.0.0.1" || f.HTTPStatus != 500 || f.Action != "Receive" {
		t.Fatalf("err %#v", err)
	}
	if !strings.Contains(f.Message, "command identifier that does not exist") || !strings.Contains(err.Error(), "shell not found") {
		t.Fatalf("message %q / %v", f.Message, err)
	}
	if !res.ShellDeleted || r.served[len(r.served)-1] != "Delete" {
		t.Fatalf("shell deleted %v after %v", res.ShellDeleted, r.served)
	}
}

func TestParseFaultRecorded(t *testing.T) {
	cases := []struct {
		file    string
		idx     int
		code    uint32
		subcode string
		msg     string
	}{
		{"test_psrp_receive_failure.yml", 3, 2150858843, "w:InvalidSelectors", "command identifier that does not exist"},
		{"test_psrp_long_running_cmdlet.yml", 4, ErrOperationTimedOut, "w:TimedOut", "within the time specified in OperationTimeout"},
		{"test_psrp_is_alive_invalid_selectors.yml", 4, ErrUnexpectedSelector, "w:InvalidSelectors", "request contained invalid selectors"},
	}
	for _, c := range cases {
		ex, err := recording.Load(c.file)
		if err != nil {
			t.Fatal(err)
		}
		f := ParseFault(500, "", []byte(ex[c.idx].Response))
		if f.Code != c.code || f.Subcode != c.subcode || !strings.Contains(f.Message, c.msg) || f.Machine != "127.0.0.1" {
			t.Errorf("%s #%d: %+v", c.file, c.idx, f)
		}
		if (c.code == ErrOperationTimedOut) != IsNoDataYet(f) {
			t.Errorf("%s: no-data-yet %v", c.file, IsNoDataYet(f))
		}
	}
}

func TestParseFaultShapes(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		header   string
		body     string
		code     uint32
		category string
		msg      string
	}{
		{"exchange plain text", 400, "AuthZ-UserNotRemotePSEnabled", "[Server=CAS1,RequestId=1,TimeStamp=1/1/2026] Access is denied.", 0, "AuthZ-UserNotRemotePSEnabled", "Access is denied."},
		{"category in text", 500, "", "[ClientAccessServer=CAS1] [FailureCategory=WSMan-InvalidShellID] The request for the Windows Remote Shell failed", 0, "WSMan-InvalidShellID", "Windows Remote Shell"},
		{"iis html", 503, "", "<html><head><title>x</title></head><body><h1>Service Unavailable</h1></body></html>", 0, "", "Service Unavailable"},
		{"hex code", 500, "", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body><s:Fault><s:Detail><f:WSManFault xmlns:f="` + NsFault + `" Code="0x8033803B" Machine="m"><f:Message>resource URI not found</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`, ErrInvalidResourceURI, "", "resource URI not found"},
		{"garbage", 500, "", "\x00\xff<<<", 0, "", ""},
	}
	for _, c := range cases {
		f := ParseFault(c.status, c.header, []byte(c.body))
		if f.Code != c.code || f.FailureCategory != c.category || !strings.Contains(f.Message, c.msg) || f.HTTPStatus != c.status {
			t.Errorf("%s: %+v", c.name, f)
		}
		_ = f.Error()
	}
}

func FuzzParseFault(f *testing.F) {
	for _, name := range []string{"test_psrp_receive_failure.yml", "test_psrp_long_running_cmdlet.yml", "test_psrp_is_alive_invalid_selectors.yml"} {
		ex, _ := recording.Load(name)
		for _, e := range ex {
			f.Add([]byte(e.Response))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fl := ParseFault(500, "", b)
		if len(fl.Text()) > 410 {
			t.Fatalf("text of %d bytes", len(fl.Text()))
		}
		_ = fl.Error()
		_, _ = ParseReceive(b)
		_, _ = ParseShellID(b)
	})
}

// labClient serves a psrpserver behind an httptest TLS server with a tiny
// Basic-auth wrapper (what IIS does in front of Exchange).
func labClient(t testing.TB, cfg psrpserver.Config, user string, wrap func(http.Handler) http.Handler) (*Client, *psrpserver.Server) {
	t.Helper()
	srv := psrpserver.New(cfg)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, ok := r.BasicAuth()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r.WithContext(psrpserver.WithUser(r.Context(), u)))
	})
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	return tlsClient(t, ts, user, "pw"), srv
}

func names(n int) []string {
	out := []string{"Get-Command", "Get-Help", "Out-Default"}
	for i := len(out); i < n; i++ {
		out = append(out, "Get-Thing"+strings.Repeat("x", i%7)+string(rune('A'+i%26))+strings.Repeat("y", i/26))
	}
	return out
}

func TestLabSessionSplitsAndRetries(t *testing.T) {
	for _, compressed := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "compressed"}[compressed], func(t *testing.T) {
			labSessionSplitsAndRetries(t, compressed)
		})
	}
}

// labSessionSplitsAndRetries spreads 300 commands over a hundred answers:
// plain, five fragments each; compressed, one stream of at most 4 KB of
// fragments each.
func labSessionSplitsAndRetries(t *testing.T, compressed bool) {
	cmds := names(300)
	cfg := psrpserver.Config{Commands: map[string][]string{"u": cmds}, FragmentSize: 700, FragmentsPerReceive: 5, ProgressEvery: 10, NoDataYet: true,
		IgnoreCompression: !compressed}
	if compressed {
		cfg.StreamSize, cfg.FragmentsPerReceive = 4096, 1
	}
	c, srv := labClient(t, cfg, "u", nil)
	res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]string{false: "none", true: CompressionXpress}[compressed]; res.Compression != want {
		t.Fatalf("compression %q, want %q", res.Compression, want)
	}
	want := slices.Clone(cmds)
	slices.Sort(want)
	if !slices.Equal(res.Names, want) || res.ServerCount != 300 {
		t.Fatalf("%d names (count %d)", len(res.Names), res.ServerCount)
	}
	if res.NoDataRetries != 1 || res.Records < 29 || !res.ShellDeleted || srv.OpenShells() != 0 {
		t.Fatalf("retries %d records %d deleted %v open %d", res.NoDataRetries, res.Records, res.ShellDeleted, srv.OpenShells())
	}
	if c.RoundTrips < 100 {
		t.Fatalf("only %d round trips: the output did not span receives", c.RoundTrips)
	}
}

// The client must delete its shell on every path, or a user runs into
// Exchange's shell quota.
func TestShellDeletedOnEveryPath(t *testing.T) {
	cmds := names(50)
	base := psrpserver.Config{Commands: map[string][]string{"u": cmds}, FragmentsPerReceive: 3}

	t.Run("success", func(t *testing.T) {
		c, srv := labClient(t, base, "u", nil)
		if _, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes); err != nil {
			t.Fatal(err)
		}
		if srv.ShellsCreated() != 1 || srv.OpenShells() != 0 {
			t.Fatalf("created %d open %d", srv.ShellsCreated(), srv.OpenShells())
		}
	})
	for _, op := range []string{"Command", "Receive"} {
		t.Run("fault on "+op, func(t *testing.T) {
			cfg := base
			cfg.Faults = []psrpserver.Fault{{Action: op, Code: 2150858815, Message: "quota"}}
			c, srv := labClient(t, cfg, "u", nil)
			res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
			var f *Fault
			if !errors.As(err, &f) || f.Code != 2150858815 {
				t.Fatalf("err %v", err)
			}
			if srv.ShellsCreated() != 1 || srv.OpenShells() != 0 || !res.ShellDeleted {
				t.Fatalf("created %d open %d", srv.ShellsCreated(), srv.OpenShells())
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		// the server stalls every command Receive until the client gives up
		stall := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if strings.Contains(string(body), "/Receive<") && strings.Contains(string(body), "DesiredStream CommandId") {
					<-r.Context().Done()
					return
				}
				r.Body = io.NopCloser(strings.NewReader(string(body)))
				h.ServeHTTP(w, r)
			})
		}
		c, srv := labClient(t, base, "u", stall)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res, err := ListCommands(ctx, c, []string{"*"}, psrp.ImportTypes)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if srv.ShellsCreated() != 1 || srv.OpenShells() != 0 || !res.ShellDeleted {
			t.Fatalf("created %d open %d deleted %v (%v)", srv.ShellsCreated(), srv.OpenShells(), res.ShellDeleted, res.DeleteError)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// the user presses ctrl-c while the command starts
		onCommand := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(strings.NewReader(string(body)))
				h.ServeHTTP(w, r)
				if strings.Contains(string(body), "/Command<") {
					cancel()
				}
			})
		}
		c, srv := labClient(t, base, "u", onCommand)
		res, err := ListCommands(ctx, c, []string{"*"}, psrp.ImportTypes)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if srv.ShellsCreated() != 1 || srv.OpenShells() != 0 || !res.ShellDeleted {
			t.Fatalf("created %d open %d deleted %v", srv.ShellsCreated(), srv.OpenShells(), res.ShellDeleted)
		}
	})
}

func TestHTTPSOnly(t *testing.T) {
	u, _ := url.Parse("http://mail.contoso.test/PowerShell")
	if _, err := NewClient(http.DefaultClient, u, ExchangeResourceURI, "u", "p", testBudgets); err == nil {
		t.Fatal("a plain http uri was accepted for basic credentials")
	}
}

func TestResourceURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                   ExchangeResourceURI,
		"Microsoft.Exchange": ExchangeResourceURI,
		"Custom.Config":      "http://schemas.microsoft.com/powershell/Custom.Config",
		"http://x/y":         "http://x/y",
	} {
		if got := ResourceURI(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

// A compressed shell's answers still keep to the envelope size: the lab
// server counts its compressed streams against MaxEnvelopeSize as WinRM
// does, so the output spans answers when it must.
func TestCompressedAnswersKeepTheEnvelope(t *testing.T) {
	const envelope = 16 << 10
	var mu sync.Mutex
	var sizes []int
	record := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			mu.Lock()
			sizes = append(sizes, rec.Body.Len())
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
	cmds := names(400)
	c, _ := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": cmds}, StreamSize: 4096, MaxEnvelopeSizeKB: envelope >> 10}, "u", record)
	res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
	if err != nil || len(res.Names) != len(cmds) || res.Compression != CompressionXpress {
		t.Fatalf("%d names, compression %q: %v", len(res.Names), res.Compression, err)
	}
	for _, n := range sizes {
		if n > envelope {
			t.Fatalf("an answer of %d bytes, envelope %d", n, envelope)
		}
	}
	if c.RoundTrips < 8 {
		t.Fatalf("%d round trips: the compressed output did not span answers", c.RoundTrips)
	}
}

// FirstAnswer hears the Create's answer once, as the server sent it (a
// refusal too, with its headers), and nothing of the later requests.
func TestFirstAnswerHearsTheCreateOnce(t *testing.T) {
	c, _ := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": names(5)}}, "u", nil)
	var heard []Answer
	c.FirstAnswer = func(a Answer) { heard = append(heard, a) }
	if _, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes); err != nil {
		t.Fatal(err)
	}
	if len(heard) != 1 || heard[0].Status != 200 || heard[0].Err != nil || !strings.Contains(string(heard[0].Body), "ResourceCreated") {
		t.Fatalf("heard %d answers, first %+v", len(heard), heard)
	}

	refused, _ := labClient(t, psrpserver.Config{RemotePSDisabled: []string{"u"}}, "u", nil)
	heard = nil
	refused.FirstAnswer = func(a Answer) { heard = append(heard, a) }
	if _, err := ListCommands(context.Background(), refused, []string{"*"}, psrp.ImportTypes); err == nil {
		t.Fatal("a refused Create succeeded")
	}
	if len(heard) != 1 || heard[0].Status != 400 || heard[0].Header.Get("X-RemotePS-FailureCategory") == "" {
		t.Fatalf("heard %+v, want the refusal's status and failure category", heard)
	}

	gone := httptest.NewTLSServer(http.NotFoundHandler())
	down := tlsClient(t, gone, "u", "pw")
	gone.Close()
	heard = nil
	down.FirstAnswer = func(a Answer) { heard = append(heard, a) }
	if _, err := ListCommands(context.Background(), down, []string{"*"}, psrp.ImportTypes); err == nil {
		t.Fatal("a Create to a closed server succeeded")
	}
	if len(heard) != 1 || heard[0].Status != 0 || heard[0].Err == nil {
		t.Fatalf("heard %+v, want the transport's error", heard)
	}
}

// Windows states the shell's CompressionMode in its CreateResponse.
func TestCreateResponseCompressionMode(t *testing.T) {
	ex, err := recording.Load("test_psrp_get_command_metadata.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex {
		if recording.Action(e.Request) != ActionCreate {
			continue
		}
		id, mode, err := parseCreated([]byte(e.Response))
		if err != nil || id == "" || mode != "NoCompression" {
			t.Fatalf("shell %q mode %q: %v", id, mode, err)
		}
		return
	}
	t.Fatal("the recording has no Create")
}
