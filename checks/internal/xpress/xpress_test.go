package xpress_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/checks/internal/xpress"
	"github.com/exdiag/exdiag/fixtures/xpressenc"
)

func zeros(n int) string { return strings.Repeat("00", n) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The published examples of MS-XCA 3.2 (LZ77+Huffman).
var specVectors = []struct {
	name, compressed, plain string
}{
	{"literals", zeros(48) + "5055555555555555555555454404" + zeros(66) + "04" + zeros(127) + "d8523ed794115be9195ff9d67cdf8d0400000000",
		"abcdefghijklmnopqrstuvwxyz"},
	{"long match", zeros(48) + "3023" + zeros(78) + "02" + zeros(14) + "20" + zeros(112) + "a8dc0000ff2601",
		strings.Repeat("abc", 100)},
}

func TestSpecVectors(t *testing.T) {
	var d xpress.Decoder
	for _, v := range specVectors {
		got, err := d.Decompress(nil, unhex(t, v.compressed), len(v.plain))
		if err != nil || string(got) != v.plain {
			t.Errorf("%s: %q, %v", v.name, got, err)
		}
		// one byte short of what it says: the match runs past the output
		if _, err := d.Decompress(nil, unhex(t, v.compressed), len(v.plain)-1); v.name == "long match" && !errors.Is(err, xpress.ErrCorrupt) {
			t.Errorf("%s: a match past the output: %v", v.name, err)
		}
	}
}

// What the lab's compressor writes, the decoder reads back, over data
// that compresses well, badly and not at all, in every block size.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	clixml := []byte(strings.Repeat(`<Obj RefId="0"><TN RefId="0"><T>Selected.System.Management.Automation.CmdletInfo</T></TN><MS><S N="Name">Get-Mailbox</S></MS></Obj>`, 700))
	noise := make([]byte, 200_000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	runs := bytes.Repeat([]byte{'a'}, 70_000)
	var d xpress.Decoder
	for name, data := range map[string][]byte{"clixml": clixml, "noise": noise, "runs": runs, "tiny": []byte("x"), "short": []byte("abc abc abc")} {
		for _, n := range []int{1, 265, 266, 4096, 65535, 65536, len(data)} {
			in := data[:min(n, len(data))]
			framed := xpressenc.EncodeStream(nil, in)
			got, err := d.DecodeStream(nil, framed, len(in))
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("%s[:%d]: %d bytes back, %v", name, len(in), len(got), err)
			}
			if len(in) <= xpress.BlockSize && len(in) >= 266 {
				c := xpressenc.Compress(in)
				if got, err := d.Decompress(nil, c, len(in)); err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%s[:%d] unframed: %v", name, len(in), err)
				}
			}
		}
	}
	if framed := xpressenc.EncodeStream(nil, clixml); len(framed)*8 > len(clixml) {
		t.Errorf("clixml compressed only to %d of %d bytes", len(framed), len(clixml))
	}
}

func header(orig, comp int) []byte {
	return binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, uint16(orig-1)), uint16(comp-1))
}

func TestStreamFraming(t *testing.T) {
	var d xpress.Decoder
	stored := append(header(5, 5), "hello"...)
	if got, err := d.DecodeStream([]byte("> "), stored, 5); err != nil || string(got) != "> hello" {
		t.Fatalf("stored block: %q %v", got, err)
	}
	if got, err := d.DecodeStream(nil, nil, 0); err != nil || len(got) != 0 {
		t.Fatalf("empty stream: %q %v", got, err)
	}
	block := xpressenc.EncodeStream(nil, []byte(strings.Repeat("abc", 100)))
	cases := []struct {
		name  string
		data  []byte
		limit int
		want  error
	}{
		{"truncated header", []byte{0xff, 0x7f, 0x2e}, 1 << 20, xpress.ErrCorrupt},
		{"header after a block", append(append([]byte{}, stored...), 0x01), 1 << 20, xpress.ErrCorrupt},
		{"truncated block", block[:len(block)-1], 1 << 20, xpress.ErrCorrupt},
		{"compressed larger than original", append(header(4, 5), "hello"...), 1 << 20, xpress.ErrCorrupt},
		{"past the limit", block, 299, xpress.ErrTooLarge},
		{"stored past the limit", stored, 4, xpress.ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := d.DecodeStream(nil, c.data, c.limit); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// A compression bomb is refused at its headers, before it is decoded: a
// 4 MiB answer of 15,000 blocks that each claim 64 KiB is a gigabyte.
func TestBombRefusedAtTheHeaders(t *testing.T) {
	one := xpressenc.EncodeStream(nil, make([]byte, xpress.BlockSize))
	bomb := bytes.Repeat(one, (4<<20)/len(one))
	var d xpress.Decoder
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := d.DecodeStream(nil, bomb, 8<<20); !errors.Is(err, xpress.ErrTooLarge) {
			t.Fatalf("err %v", err)
		}
	})
	if allocs > 300 {
		t.Fatalf("%v allocations before the refusal", allocs)
	}
}

// A match that claims 4 GiB through MS-XCA's 32-bit length form is an
// error, not an allocation or a copy.
func TestFourGigabyteMatch(t *testing.T) {
	var d xpress.Decoder
	// the same buffer with an honest length is valid: 'a', then 303 more
	if got, err := d.Decompress(nil, xpressenc.LongMatch(300), 304); err != nil || string(got) != strings.Repeat("a", 304) {
		t.Fatalf("a 303-byte match: %q %v", got, err)
	}
	stream := xpressenc.LongMatch(0xffffffff)
	if _, err := d.Decompress(nil, stream, 1000); !errors.Is(err, xpress.ErrCorrupt) || !strings.Contains(err.Error(), "left to decode") {
		t.Fatalf("err %v", err)
	}
}

func TestMalformedBuffers(t *testing.T) {
	var d xpress.Decoder
	lit := unhex(t, specVectors[0].compressed)
	incomplete := append([]byte{}, lit...)
	incomplete[48] = 0x60 // 'a' a bit longer: the code no longer fills the table
	over := append([]byte{}, lit...)
	over[48] = 0x51 // one more symbol of 1 bit: more codes than the table holds
	cases := map[string]struct {
		data []byte
		n    int
	}{
		"empty table":         {make([]byte, 300), 10},
		"incomplete code":     {incomplete, 26},
		"oversubscribed code": {over, 26},
		"short":               {lit[:259], 26},
		"bits run out":        {lit[:262], 26},
		"too large a block":   {lit, xpress.BlockSize + 1},
		"negative size":       {lit, -1},
	}
	for name, c := range cases {
		if _, err := d.Decompress(nil, c.data, c.n); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// a match before the output starts: 'a' and symbol 256 (3 bytes, 1
	// back) of 1 bit each, and the match first
	table := make([]byte, 256)
	table['a'/2] = 1 << 4
	table[256/2] = 1
	if _, err := d.Decompress(nil, append(table, 0x00, 0x80, 0, 0), 10); err == nil || !strings.Contains(err.Error(), "back after 0 bytes") {
		t.Errorf("a match before the start: %v", err)
	}
}

// FuzzDecodeStream feeds arbitrary stream data to the decoder: no input
// may panic, pass the limit, or decode to other than it says.
//
//	go test ./checks/internal/xpress -run XXX -fuzz FuzzDecodeStream -fuzztime 60s
func FuzzDecodeStream(f *testing.F) {
	for _, v := range specVectors {
		c := unhex(f, v.compressed)
		f.Add(append(header(len(v.plain), len(c)), c...))
	}
	f.Add(xpressenc.EncodeStream(nil, []byte(strings.Repeat(`<S N="Name">Get-Mailbox</S>`, 40))))
	f.Add(append(header(5, 5), "hello"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1 << 18
		var d xpress.Decoder
		out, err := d.DecodeStream(nil, b, limit)
		if len(out) > limit {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
		if err == nil {
			// every block said how much it decodes to
			want := 0
			for off := 0; off < len(b); {
				o, c := int(binary.LittleEndian.Uint16(b[off:]))+1, int(binary.LittleEndian.Uint16(b[off+2:]))+1
				want += o
				off += 4 + c
			}
			if len(out) != want {
				t.Fatalf("%d bytes out, the headers say %d", len(out), want)
			}
		}
	})
}

// FuzzDecompress feeds arbitrary LZ77+Huffman buffers to the decoder.
func FuzzDecompress(f *testing.F) {
	for _, v := range specVectors {
		f.Add(unhex(f, v.compressed), uint16(len(v.plain)))
	}
	f.Add(xpressenc.Compress([]byte(strings.Repeat("abcdefgh", 100))), uint16(800))
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		var d xpress.Decoder
		out, err := d.Decompress([]byte("keep"), b, int(n))
		if string(out[:4]) != "keep" {
			t.Fatal("dst's bytes were overwritten")
		}
		if err == nil && len(out) != 4+int(n) {
			t.Fatalf("%d bytes out, want %d", len(out)-4, n)
		}
	})
}

func BenchmarkDecodeCLIXML(b *testing.B) {
	data := []byte(strings.Repeat(`<Obj RefId="0"><TN RefId="0"><T>Selected.System.Management.Automation.CmdletInfo</T></TN><MS><S N="Name">Get-Mailbox</S><S N="Namespace">Microsoft.Exchange.Management.PowerShell.E2010</S></MS></Obj>`, 10000))
	framed := xpressenc.EncodeStream(nil, data)
	var d xpress.Decoder
	out := make([]byte, 0, len(data))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if out, err = d.DecodeStream(out[:0], framed, len(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data))/float64(len(framed)), "ratio")
}
