package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
	"github.com/exdiag/exdiag/fixtures/xpressenc"
)

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
