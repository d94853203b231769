package wsman

import (
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/checks/internal/xpress"
	"github.com/exdiag/exdiag/checks/psrp"
)

// CompressionXpress is the one CompressionType Windows clients send
// (MS-WSMV 3.2.4.1.19, note <134>): LZ77+Huffman in 64 KiB blocks.
// PowerShell asks for it unless PSSessionOption.NoCompression is set, and
// CLIXML compresses about tenfold, so the command metadata of a session
// takes one or two Receives instead of seven.
const CompressionXpress = "xpress"

// Compression modes of a shell, as observed.
const (
	compressionUnknown = ""     // no stream data yet, and the server said nothing
	compressionNone    = "none" // the server answers plain stream data
)

// streams turns the stream data of a shell's ReceiveResponses into PSRP
// fragments. A shell's first stream chunk says whether the server
// compresses: plain stream data is a chain of PSRP fragments, compressed
// data a chain of blocks (xpress.Framed); when a chunk could be read as
// both, the blocks are decoded and must hold fragments. The mode then
// holds for the shell, since a server compresses all of a shell's output
// or none of it. Windows also states it in the CreateResponse
// (CompressionMode, MS-WSMV 2.2.4.37); only its NoCompression is taken at
// its word, since a server that ignores the header may say anything else.
type streams struct {
	mode string
	dec  xpress.Decoder
}

// reset starts a new shell whose CreateResponse stated mode ("" when it
// did not).
func (s *streams) reset(mode string) {
	s.mode = compressionUnknown
	if strings.EqualFold(mode, "NoCompression") {
		s.mode = compressionNone
	}
}

// data decodes one chunk (one rsp:Stream element's bytes) to at most
// limit bytes of PSRP fragments.
func (s *streams) data(chunk []byte, limit int) ([]byte, error) {
	if s.mode == compressionUnknown {
		var out []byte
		if s.mode, out = s.judge(chunk, limit); out != nil {
			return out, nil
		}
	}
	if s.mode == compressionNone {
		return chunk, nil
	}
	out, err := s.dec.DecodeStream(nil, chunk, limit)
	if err != nil {
		return nil, fmt.Errorf("decoding the shell's compressed output: %v", err)
	}
	return out, nil
}

// judge says how the shell's first chunk is framed, and gives its
// decoded fragments when judging took decoding them.
func (s *streams) judge(chunk []byte, limit int) (string, []byte) {
	if !xpress.Framed(chunk) {
		return compressionNone, nil
	}
	if _, err := psrp.ParseFragments(chunk, 0); err != nil {
		return CompressionXpress, nil
	}
	out, err := s.dec.DecodeStream(nil, chunk, limit)
	if err != nil {
		return compressionNone, nil
	}
	if _, err := psrp.ParseFragments(out, 0); err != nil {
		return compressionNone, nil
	}
	return CompressionXpress, out
}
