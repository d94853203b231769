// Package xpress decodes the compressed stream data of a WinRM remote
// shell. A client that sends the CompressionType header "xpress" in its
// Create (MS-WSMV 3.1.4.1.31.6, 3.2.4.1.19) gets every ReceiveResponse
// stream compressed with LZ77+Huffman (MS-XCA 2.2), framed as MS-WSMV's
// product note <134> says: the stream is cut into blocks of at most 64 KiB,
// each preceded by two little-endian uint16, its original size − 1 and its
// compressed size − 1; equal sizes mark a block stored as it is (data under
// 266 bytes, or data that compression would not shrink).
//
// The server is not trusted: every size is checked before anything is
// allocated for it, output never passes the limit the caller gives, and
// malformed input is an error, never a panic.
package xpress

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits of the format.
const (
	// BlockSize is the most one block decodes to: the header's 16-bit
	// original size − 1 (MS-WSMV <134>), and MS-XCA's Huffman block
	// (2.2.4: a new table every 65536 bytes of output).
	BlockSize = 1 << 16
	// HeaderSize is the size of a block header.
	HeaderSize = 4

	tableBytes = 256     // 512 symbols' 4-bit code lengths (MS-XCA 2.1.4.3)
	symbols    = 512     // 256 literals and 256 match symbols
	maxBits    = 15      // the longest code (MS-XCA 2.1.4.2)
	tableSize  = 1 << 15 // decoding table entries: 2^maxBits (MS-XCA 2.2.4)
	// slack is how many bytes past its end a buffer may be read as
	// zeros. An encoder that follows MS-XCA 2.1.4.3 writes every word the
	// decoder loads, but a decoder that pads the last two words with zeros,
	// as others do, costs nothing: the output stays bounded by its size.
	slack = 4
)

// ErrCorrupt is wrapped by every error of data that is not valid.
var ErrCorrupt = errors.New("the compressed data is not valid")

// ErrTooLarge is wrapped by the error of stream data that would decode to
// more than the caller's limit.
var ErrTooLarge = errors.New("the compressed data expands past its budget")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Decoder decodes LZ77+Huffman data. It keeps its decoding table between
// calls, so one Decoder per session avoids 64 KiB of garbage per block;
// it is not safe for concurrent use. The zero value is ready.
type Decoder struct {
	table []uint16 // symbol for each 15-bit prefix of the input
	lens  [symbols]uint8
}

// DecodeStream appends to dst what src, the stream data of one
// ReceiveResponse rsp:Stream element, decodes to. Every block header is
// read before its data, and a block whose original size would take the
// output past limit bytes (appended to dst, dst's own length not counted)
// is an ErrTooLarge error before it is decoded.
func (d *Decoder) DecodeStream(dst, src []byte, limit int) ([]byte, error) {
	total := 0
	for off := 0; off < len(src); {
		orig, data, err := block(src, off)
		if err != nil {
			return dst, err
		}
		if total += orig; total > limit {
			return dst, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if len(data) == orig {
			dst = append(dst, data...)
		} else if dst, err = d.Decompress(dst, data, orig); err != nil {
			return dst, err
		}
		off += HeaderSize + len(data)
	}
	return dst, nil
}

// Framed says whether src is a whole chain of block headers and their
// data, as compressed stream data is; it decodes nothing.
func Framed(src []byte) bool {
	for off := 0; off < len(src); {
		_, data, err := block(src, off)
		if err != nil {
			return false
		}
		off += HeaderSize + len(data)
	}
	return len(src) > 0
}

// block reads the header at src[off:]: the block's original size and its
// data (stored when as long as the original).
func block(src []byte, off int) (orig int, data []byte, err error) {
	if len(src)-off < HeaderSize {
		return 0, nil, corrupt("a block header of %d bytes at offset %d; a header has %d", len(src)-off, off, HeaderSize)
	}
	orig = int(binary.LittleEndian.Uint16(src[off:])) + 1
	comp := int(binary.LittleEndian.Uint16(src[off+2:])) + 1
	off += HeaderSize
	if comp > orig {
		return 0, nil, corrupt("a block of %d bytes claims to compress %d; a block that would grow is stored", comp, orig)
	}
	if comp > len(src)-off {
		return 0, nil, corrupt("a block of %d bytes with %d left at offset %d", comp, len(src)-off, off)
	}
	return orig, src[off : off+comp], nil
}

// Decompress appends to dst the n bytes (at most BlockSize) that src, one
// LZ77+Huffman buffer (MS-XCA 2.2), decodes to. A match that reaches before
// the start of this output or past its n bytes is an error.
func (d *Decoder) Decompress(dst, src []byte, n int) ([]byte, error) {
	if n < 0 || n > BlockSize {
		return dst, fmt.Errorf("xpress: a block of %d bytes; a block decodes to at most %d", n, BlockSize)
	}
	if n == 0 {
		return dst, nil
	}
	if len(src) < tableBytes+4 {
		return dst, corrupt("%d bytes; the huffman table and the first bits take %d", len(src), tableBytes+4)
	}
	if err := d.buildTable(src[:tableBytes]); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = growBy(dst, n)
	out := dst[start : start+n]

	pos := tableBytes
	next := uint32(binary.LittleEndian.Uint16(src[pos:]))<<16 | uint32(binary.LittleEndian.Uint16(src[pos+2:]))
	pos += 4
	extra := 16 // bits held below the 16 that are always there
	read16 := func() uint32 {
		switch {
		case pos+2 <= len(src):
			v := uint32(binary.LittleEndian.Uint16(src[pos:]))
			pos += 2
			return v
		case pos+1 == len(src):
			v := uint32(src[pos])
			pos += 2
			return v
		}
		pos += 2
		return 0
	}
	refill := func() error {
		if extra < 0 {
			next |= read16() << uint(-extra)
			extra += 16
			if pos > len(src)+slack {
				return corrupt("the bit stream ends early")
			}
		}
		return nil
	}
	table, lens := d.table, &d.lens
	w := 0
	for w < n {
		sym := table[next>>(32-maxBits)]
		bl := int(lens[sym])
		next <<= uint(bl)
		extra -= bl
		if err := refill(); err != nil {
			return dst[:start], err
		}
		if sym < 256 {
			out[w] = byte(sym)
			w++
			continue
		}
		sym -= 256
		length, obits := int(sym&15), uint(sym>>4)
		if length == 15 {
			if pos >= len(src) {
				return dst[:start], corrupt("a match length byte past the end")
			}
			length = int(src[pos])
			pos++
			if length == 255 {
				if pos+2 > len(src) {
					return dst[:start], corrupt("a match length past the end")
				}
				length = int(binary.LittleEndian.Uint16(src[pos:]))
				pos += 2
				if length == 0 {
					// the 32-bit form of MS-XCA 2.1.4.3 (WriteUint32)
					if pos+4 > len(src) {
						return dst[:start], corrupt("a match length past the end")
					}
					length = int(binary.LittleEndian.Uint32(src[pos:]))
					pos += 4
				}
				if length < 15 {
					return dst[:start], corrupt("a long match length of %d", length)
				}
				length -= 15
			}
			length += 15
		}
		length += 3
		// obits 0: a uint32 shifted by 32 is 0 in Go, so the offset is 1
		offset := int(next>>(32-obits)) + 1<<obits
		next <<= obits
		extra -= int(obits)
		if err := refill(); err != nil {
			return dst[:start], err
		}
		if offset > w {
			return dst[:start], corrupt("a match %d bytes back after %d bytes of output", offset, w)
		}
		if length > n-w {
			return dst[:start], corrupt("a match of %d bytes with %d bytes left to decode", length, n-w)
		}
		// byte by byte where it overlaps: "aaaa" is [a][match 1 back, 3 long]
		from := w - offset
		if offset >= length {
			copy(out[w:w+length], out[from:from+length])
		} else {
			for i := range length {
				out[w+i] = out[from+i]
			}
		}
		w += length
	}
	return dst, nil
}

// buildTable reads the 4-bit code lengths and fills the decoding table the
// way MS-XCA 2.2.4 gives it: by length, then by symbol, 2^(15−length)
// entries each, exactly 2^15 in all (a code that is not complete, or
// oversubscribed, is not valid data).
func (d *Decoder) buildTable(b []byte) error {
	if d.table == nil {
		d.table = make([]uint16, tableSize)
	}
	var count [maxBits + 1]int
	for i, v := range b {
		d.lens[2*i], d.lens[2*i+1] = v&15, v>>4
		count[v&15]++
		count[v>>4]++
	}
	// first entry of each length, checking the Kraft sum on the way
	var at [maxBits + 1]int
	sum := 0
	for bl := 1; bl <= maxBits; bl++ {
		at[bl] = sum
		sum += count[bl] << (maxBits - bl)
		if sum > tableSize {
			return corrupt("the huffman code lengths oversubscribe the code")
		}
	}
	if sum != tableSize {
		return corrupt("the huffman code lengths leave the code incomplete")
	}
	for sym := range symbols {
		bl := int(d.lens[sym])
		if bl == 0 {
			continue
		}
		span := 1 << (maxBits - bl)
		s := d.table[at[bl] : at[bl]+span]
		for i := range s {
			s[i] = uint16(sym)
		}
		at[bl] += span
	}
	return nil
}

// growBy extends b by n bytes, reallocating at most once.
func growBy(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n+len(b)/4)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
