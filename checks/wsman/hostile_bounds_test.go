package wsman

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

func runHostile(t *testing.T, wrap func(http.Handler) http.Handler, cfg psrpserver.Config) (*Commands, error) {
	t.Helper()
	if cfg.Commands == nil {
		cfg.Commands = map[string][]string{"u": {"Get-Mailbox"}}
	}
	// the hostile answers are plain stream data, so the pool's must be too
	cfg.IgnoreCompression = true
	cl, srv := labClient(t, cfg, "u", wrap)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := ListCommands(ctx, cl, []string{"*"}, psrp.ImportTypes)
	if !res.ShellDeleted || srv.OpenShells() != 0 {
		t.Errorf("shell deleted %v, %d left open", res.ShellDeleted, srv.OpenShells())
	}
	return res, err
}

// Fragments that start messages and never end them: the pending bytes
// of all incomplete messages are capped, not only their count.
func TestNeverEndingFragmentsAreBounded(t *testing.T) {
	chunk := make([]byte, 1<<20-100)
	_, err := runHostile(t, hostile.OnCommandReceive(func(n int) (int, string) {
		return 200, hostile.ReceiveStream(psrp.Fragment{ObjectID: uint64(1000 + n), Start: true, Data: chunk}.Append(nil))
	}), psrpserver.Config{})
	if err == nil || !strings.Contains(err.Error(), "incomplete messages hold more than") {
		t.Fatalf("err %v, want the pending-bytes cap", err)
	}
}

// A "command name" of 990 KB is not one.
func TestGiantCommandNameIsRefused(t *testing.T) {
	_, err := runHostile(t, nil, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox", strings.Repeat("N", 990_000)}}})
	if err == nil || !strings.Contains(err.Error(), "command name of 990000 bytes") {
		t.Fatalf("err %v, want the name refused", err)
	}
}

// Names each under the length cap, but more of them than any role has:
// the total is capped.
func TestCommandNameBytesAreCapped(t *testing.T) {
	_, err := runHostile(t, hostile.OnCommandReceive(func(n int) (int, string) {
		var frags [][]byte
		for i := 0; i < 40; i++ {
			name := fmt.Sprintf("Get-%06d-%05d%s", n, i, strings.Repeat("x", 230))
			frags = append(frags, hostile.Message(uint64(n*100+i), psrp.PipelineOutput, hostile.CommandObject(name)))
		}
		return 200, hostile.ReceiveStream(frags...)
	}), psrpserver.Config{})
	if err == nil || !strings.Contains(err.Error(), "bytes of command names") {
		t.Fatalf("err %v, want the total cap", err)
	}
}

// Error records are kept clipped, twenty at most.
func TestErrorRecordsAreClipped(t *testing.T) {
	res, _ := runHostile(t, hostile.OnCommandReceive(func(n int) (int, string) {
		if n > 30 {
			return 200, hostile.ReceiveStream(hostile.Message(uint64(n), psrp.PipelineStateMsg, hostile.PipelineCompleted))
		}
		rec := `<Obj RefId="0"><MS><S N="Message">` + strings.Repeat("e", 200_000) + `</S></MS></Obj>`
		return 200, hostile.ReceiveStream(hostile.Message(uint64(n), psrp.ErrorRecord, rec))
	}), psrpserver.Config{})
	if len(res.Errors) != maxErrors {
		t.Fatalf("%d error records kept", len(res.Errors))
	}
	for _, e := range res.Errors {
		if len(e) > maxErrorLen+len("…") {
			t.Fatalf("an error record of %d bytes was kept", len(e))
		}
	}
}

// "No data yet" answered at once is polled with a growing pause, reset
// when data comes.
func TestNoDataYetBacksOff(t *testing.T) {
	wrap := hostile.OnCommandReceive(func(int) (int, string) { return 500, hostile.NoDataYet })
	cl, srv := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}}, "u", wrap)
	var waits []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == 10 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	res, err := ListCommands(ctx, cl, []string{"*"}, psrp.ImportTypes)
	if err == nil || !res.ShellDeleted || srv.OpenShells() != 0 {
		t.Fatalf("err %v deleted %v open %d", err, res.ShellDeleted, srv.OpenShells())
	}
	want := []time.Duration{0, 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
}

// Thousands of cookies per answer: the jar keeps 50 per host.
func TestCookieJarIsBounded(t *testing.T) {
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 2000; i++ {
				w.Header().Add("Set-Cookie", fmt.Sprintf("c%d=v", i))
			}
			w.Header().Add("Set-Cookie", "big="+strings.Repeat("b", 5000))
			h.ServeHTTP(w, r)
		})
	}
	cl, _ := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}}, "u", wrap)
	if _, err := ListCommands(context.Background(), cl, []string{"*"}, psrp.ImportTypes); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cl.URL)
	if n := len(cl.HTTP.Jar.Cookies(u)); n > maxCookiesPerHost {
		t.Fatalf("the jar holds %d cookies", n)
	}
	for _, c := range cl.HTTP.Jar.Cookies(u) {
		if c.Name == "big" {
			t.Fatal("a 5000-byte cookie was kept")
		}
	}
}

// Response headers of megabytes are refused by the transport.
func TestResponseHeadersAreBounded(t *testing.T) {
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 300; i++ {
				w.Header().Add("X-Pad", strings.Repeat("p", 1000))
			}
			h.ServeHTTP(w, r)
		})
	}
	cl, _ := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}}, "u", wrap)
	_, err := ListCommands(context.Background(), cl, []string{"*"}, psrp.ImportTypes)
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("err %v, want the header limit", err)
	}
}
