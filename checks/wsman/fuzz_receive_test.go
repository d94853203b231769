package wsman

import (
	"bytes"
	"testing"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/xpressenc"
)

// FuzzReceive drives a Receive answer through everything the session does
// with one: the SOAP parse, the judgement of compression and the decoding
// of compressed streams under their budget, the fragment split, reassembly under the
// session's caps, the message decode and the command-metadata parse. No
// input may panic or get past the caps.
//
//	go test ./checks/wsman -run XXX -fuzz FuzzReceive -fuzztime 30s
func FuzzReceive(f *testing.F) {
	f.Add([]byte(hostile.ReceiveStream(hostile.Message(1, psrp.PipelineOutput, hostile.CommandObject("Get-Mailbox")))))
	f.Add([]byte(hostile.ReceiveStream(hostile.Message(2, psrp.PipelineStateMsg, hostile.PipelineCompleted))))
	f.Add([]byte(hostile.ReceiveStream(psrp.Fragment{ObjectID: 3, Start: true, Data: []byte("<Obj")}.Append(nil),
		psrp.Fragment{ObjectID: 3, FragmentID: 1, End: true, Data: []byte(">")}.Append(nil))))
	f.Add([]byte(hostile.NoDataYet))
	f.Add([]byte(streamsBody(xpressenc.EncodeStream(nil, bytes.Repeat(hostile.Message(4, psrp.PipelineOutput, hostile.CommandObject("Get-Mailbox")), 30)))))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseReceive(body)
		if err != nil {
			return
		}
		asm := &psrp.Assembler{MaxMessage: maxMessage, MaxPending: maxPending, MaxPendingBytes: maxPendingB}
		var s streams
		budget := maxExpanded
		for _, chunk := range r.Chunks {
			data, err := s.data(chunk, min(budget, maxChunk))
			if err != nil {
				return
			}
			if budget -= len(data); s.mode == CompressionXpress && budget < 0 {
				t.Fatalf("%d bytes past the answer's budget", -budget)
			}
			frs, err := psrp.ParseFragments(data, maxFragment)
			if err != nil {
				return
			}
			for _, fr := range frs {
				data, complete, err := asm.Add(fr)
				if err != nil {
					return
				}
				if asm.Pending() > maxPending {
					t.Fatalf("%d messages pending", asm.Pending())
				}
				if !complete {
					continue
				}
				if len(data) > maxMessage {
					t.Fatalf("a message of %d bytes", len(data))
				}
				m, err := psrp.DecodeMessage(data)
				if err != nil {
					continue
				}
				psrp.ParseCommandMetadataOutput(m.Data)
				psrp.ParseErrorRecord(m.Data)
			}
		}
	})
}
