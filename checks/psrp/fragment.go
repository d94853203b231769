// Package psrp encodes and decodes the PowerShell Remoting Protocol
// (MS-PSRP): fragments, messages and the CLIXML they carry. It knows
// nothing of the WS-Management transport that moves the bytes.
package psrp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// FragmentHeaderLen is the fixed size of a fragment header (MS-PSRP 2.2.4):
// object id (8), fragment id (8), flags (1), blob length (4), big-endian.
const FragmentHeaderLen = 21

const (
	flagStart = 0x1
	flagEnd   = 0x2
)

// Fragment is one piece of a PSRP message.
type Fragment struct {
	ObjectID   uint64
	FragmentID uint64
	Start, End bool
	Data       []byte
}

// Append writes f's wire form to b.
func (f Fragment) Append(b []byte) []byte {
	var h [FragmentHeaderLen]byte
	binary.BigEndian.PutUint64(h[0:], f.ObjectID)
	binary.BigEndian.PutUint64(h[8:], f.FragmentID)
	if f.Start {
		h[16] |= flagStart
	}
	if f.End {
		h[16] |= flagEnd
	}
	binary.BigEndian.PutUint32(h[17:], uint32(len(f.Data)))
	b = append(b, h[:]...)
	return append(b, f.Data...)
}

// ErrTooLarge is returned when a fragment or a reassembled message exceeds
// its cap; a hostile server must not make the client allocate without bound.
var ErrTooLarge = errors.New("psrp: fragment or message larger than allowed")

// ParseFragments splits b, the payload of one stream chunk, into fragments.
// A fragment whose declared length exceeds maxData (or the bytes present)
// is an error. The returned Data slices alias b.
func ParseFragments(b []byte, maxData int) ([]Fragment, error) {
	var out []Fragment
	for len(b) > 0 {
		if len(b) < FragmentHeaderLen {
			return out, fmt.Errorf("psrp: truncated fragment header (%d bytes)", len(b))
		}
		n := binary.BigEndian.Uint32(b[17:21])
		if maxData > 0 && uint64(n) > uint64(maxData) {
			return out, fmt.Errorf("%w: fragment of %d bytes, cap %d", ErrTooLarge, n, maxData)
		}
		if uint64(n) > uint64(len(b)-FragmentHeaderLen) {
			return out, fmt.Errorf("psrp: fragment declares %d bytes, %d present", n, len(b)-FragmentHeaderLen)
		}
		fl := b[16]
		out = append(out, Fragment{
			ObjectID:   binary.BigEndian.Uint64(b[0:8]),
			FragmentID: binary.BigEndian.Uint64(b[8:16]),
			Start:      fl&flagStart != 0,
			End:        fl&flagEnd != 0,
			Data:       b[FragmentHeaderLen : FragmentHeaderLen+int(n)],
		})
		b = b[FragmentHeaderLen+int(n):]
	}
	return out, nil
}

// Split cuts a message into fragments of at most maxData bytes each.
func Split(objectID uint64, msg []byte, maxData int) []Fragment {
	if maxData <= 0 {
		maxData = len(msg)
	}
	var out []Fragment
	for id := uint64(0); ; id++ {
		n := min(maxData, len(msg))
		out = append(out, Fragment{ObjectID: objectID, FragmentID: id, Start: id == 0, End: n == len(msg), Data: msg[:n]})
		msg = msg[n:]
		if len(msg) == 0 {
			return out
		}
	}
}

// Assembler rebuilds messages from fragments that may arrive across
// several stream chunks and several Receive responses.
type Assembler struct {
	// MaxMessage caps a reassembled message (0: 16 MiB).
	MaxMessage int
	// MaxPending caps how many messages may be incomplete at once (0: 64).
	MaxPending int
	// MaxPendingBytes caps the bytes held for all incomplete messages
	// together (0: MaxMessage): without it, fragments that never end cost
	// MaxPending times MaxMessage.
	MaxPendingBytes int

	pending      map[uint64]*partial
	pendingBytes int
}

type partial struct {
	next uint64
	data []byte
}

// Add takes one fragment and returns the complete message when f ends one.
func (a *Assembler) Add(f Fragment) ([]byte, bool, error) {
	maxMsg := a.MaxMessage
	if maxMsg <= 0 {
		maxMsg = 16 << 20
	}
	maxPend := a.MaxPending
	if maxPend <= 0 {
		maxPend = 64
	}
	maxBytes := a.MaxPendingBytes
	if maxBytes <= 0 {
		maxBytes = maxMsg
	}
	if a.pending == nil {
		a.pending = map[uint64]*partial{}
	}
	if !f.End && a.pendingBytes+len(f.Data) > maxBytes {
		return nil, false, fmt.Errorf("%w: incomplete messages hold more than %d bytes", ErrTooLarge, maxBytes)
	}
	if f.Start {
		if f.FragmentID != 0 {
			return nil, false, fmt.Errorf("psrp: object %d starts with fragment id %d, want 0", f.ObjectID, f.FragmentID)
		}
		if _, dup := a.pending[f.ObjectID]; dup {
			return nil, false, fmt.Errorf("psrp: object %d started twice", f.ObjectID)
		}
		if len(f.Data) > maxMsg {
			return nil, false, fmt.Errorf("%w: message of object %d", ErrTooLarge, f.ObjectID)
		}
		if f.End {
			return append([]byte(nil), f.Data...), true, nil
		}
		if len(a.pending) >= maxPend {
			return nil, false, fmt.Errorf("psrp: more than %d messages incomplete at once", maxPend)
		}
		a.pending[f.ObjectID] = &partial{next: 1, data: append([]byte(nil), f.Data...)}
		a.pendingBytes += len(f.Data)
		return nil, false, nil
	}
	p := a.pending[f.ObjectID]
	if p == nil {
		return nil, false, fmt.Errorf("psrp: fragment %d of object %d without a start fragment", f.FragmentID, f.ObjectID)
	}
	if f.FragmentID != p.next {
		return nil, false, fmt.Errorf("psrp: object %d fragment %d out of order, want %d", f.ObjectID, f.FragmentID, p.next)
	}
	if len(p.data)+len(f.Data) > maxMsg {
		a.drop(f.ObjectID)
		return nil, false, fmt.Errorf("%w: message of object %d exceeds %d bytes", ErrTooLarge, f.ObjectID, maxMsg)
	}
	p.data = append(p.data, f.Data...)
	a.pendingBytes += len(f.Data)
	p.next++
	if !f.End {
		return nil, false, nil
	}
	a.drop(f.ObjectID)
	return p.data, true, nil
}

func (a *Assembler) drop(id uint64) {
	if p := a.pending[id]; p != nil {
		a.pendingBytes -= len(p.data)
		delete(a.pending, id)
	}
}

// Pending reports how many messages are incomplete.
func (a *Assembler) Pending() int { return len(a.pending) }
