package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
	"github.com/exdiag/exdiag/fixtures/xpressenc"
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

// streamsBody is a ReceiveResponse with one rsp:Stream per chunk.
func streamsBody(chunks ...[]byte) string {
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="` + NsSOAP + `" xmlns:rsp="` + NsShell + `"><s:Body><rsp:ReceiveResponse>`)
	for _, c := range chunks {
		b.WriteString(`<rsp:Stream Name="stdout">` + base64.StdEncoding.EncodeToString(c) + `</rsp:Stream>`)
	}
	b.WriteString(`</rsp:ReceiveResponse></s:Body></s:Envelope>`)
	return b.String()
}

// records is n bytes or a little more of whole progress-record messages,
// compressed: what decodes to n bytes a session would read through.
func records(n int) []byte {
	one := hostile.Message(7, psrp.ProgressRecord, `<Obj RefId="0"><MS><I32 N="PercentComplete">1</I32></MS></Obj>`)
	return xpressenc.EncodeStream(nil, bytes.Repeat(one, n/len(one)+1))
}

// A server that compresses (the pool opened compressed, for real) and then
// sends stream data that is a bomb or broken: an error at the block
// headers or in the block, never an allocation of what the data claims,
// and the shell is still deleted.
func TestHostileCompressedReceive(t *testing.T) {
	// a block whose match claims 4 GiB by MS-XCA's 32-bit length form
	fourGB := xpressenc.LongMatch(0xffffffff)
	fourGB = append(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 999), uint16(len(fourGB)-1)), fourGB...)

	nine := make([][]byte, 9) // 37 MB together, each under the stream's budget
	for i := range nine {
		nine[i] = records(maxChunk - 70_000)
	}
	cases := []struct {
		name, body, want string
	}{
		{"a stream past its budget", streamsBody(records(maxChunk + 1)), "expands past its budget: more than 4194304 bytes"},
		{"an answer past its budget", streamsBody(nine...), "expands past its budget"},
		{"a 4 GiB match", streamsBody(fourGB), "a match of 4294967298 bytes"},
		{"a truncated header", streamsBody([]byte{0xff, 0x7f, 0x2e}), "a block header of 3 bytes"},
		{"a truncated block", streamsBody(records(100_000)[:4+100]), "with 100 left at offset 4"},
		{"plain data after compressed", streamsBody(hostile.Message(9, psrp.PipelineStateMsg, hostile.PipelineCompleted)), "not valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, srv := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}}, "u",
				hostile.OnCommandReceive(func(int) (int, string) { return 200, c.body }))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := ListCommands(ctx, cl, []string{"*"}, psrp.ImportTypes)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if res.Compression != CompressionXpress || !res.ShellDeleted || srv.OpenShells() != 0 {
				t.Fatalf("compression %q deleted %v open %d", res.Compression, res.ShellDeleted, srv.OpenShells())
			}
		})
	}
}

// A stream chunk whose framing could be read either way is judged by what
// its blocks decode to.
func TestCompressionJudgedByFraming(t *testing.T) {
	msg := hostile.Message(1, psrp.PipelineOutput, hostile.CommandObject("Get-Mailbox"))
	var s streams
	s.reset("")
	if out, err := s.data(msg, maxChunk); err != nil || !bytes.Equal(out, msg) || s.mode != compressionNone {
		t.Fatalf("plain fragments: mode %q err %v", s.mode, err)
	}
	s.reset("")
	framed := xpressenc.EncodeStream(nil, bytes.Repeat(msg, 20))
	if out, err := s.data(framed, maxChunk); err != nil || !bytes.Equal(out, bytes.Repeat(msg, 20)) || s.mode != CompressionXpress {
		t.Fatalf("compressed: mode %q err %v", s.mode, err)
	}
	// a first chunk under 266 bytes is stored in its block, as it is
	small := hostile.Message(2, psrp.PipelineStateMsg, hostile.PipelineCompleted)
	s.reset("")
	if out, err := s.data(xpressenc.EncodeStream(nil, small), maxChunk); err != nil || !bytes.Equal(out, small) || s.mode != CompressionXpress {
		t.Fatalf("stored: mode %q err %v", s.mode, err)
	}
	// Windows' word for a shell created without compression is kept
	s.reset("NoCompression")
	if _, err := s.data(framed, maxChunk); err != nil || s.mode != compressionNone {
		t.Fatalf("NoCompression: mode %q err %v", s.mode, err)
	}
}
