package winauth

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// established is a context after a logon to the test acceptor, and the
// acceptor that holds the other side's keys.
func established(t *testing.T) (*kerberosContext, *acceptor) {
	t.Helper()
	l := startLab(t)
	c := l.ticket(t, l.options()).NewContext(nil)
	out, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &acceptor{kt: l.kdc.Keytab(labSPN)}
	if _, done, err := c.Step(a.accept(t, out)); !done || err != nil {
		t.Fatalf("logon: done %v, %v", done, err)
	}
	return c.(*kerberosContext), a
}

// acceptorUnwrap is the service side of RFC 4121 4.2.6.2, written from the
// RFC for the test: join WinRM's two parts, undo the rotation, decrypt
// with the initiator's sealing usage, split off the header copy.
func acceptorUnwrap(t testing.TB, key types.EncryptionKey, header, sealed []byte) (msg []byte, hdr []byte) {
	t.Helper()
	tok := append(append([]byte(nil), header...), sealed...)
	rrc := int(binary.BigEndian.Uint16(tok[6:8]))
	body := tok[16:]
	body = append(append([]byte(nil), body[rrc:]...), body[:rrc]...)
	plain, err := crypto.DecryptMessage(body, key, keyusage.GSSAPI_INITIATOR_SEAL)
	if err != nil {
		t.Fatalf("the acceptor cannot decrypt the client's token: %v", err)
	}
	return plain[:len(plain)-16], plain[len(plain)-16:]
}

// acceptorWrap is the service's wrap token, as header and sealed parts:
// ec filler bytes before the header copy, rotated by rrc+ec as Windows
// does (windows) or by rrc as RFC 4121 says.
func acceptorWrap(t *testing.T, key types.EncryptionKey, seq uint64, msg []byte, ec int, windows bool) ([]byte, []byte) {
	t.Helper()
	hdr := []byte{0x05, 0x04, flagSentByAcceptor | flagSealed | flagAcceptorSubkey, 0xff, 0, byte(ec), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[8:], seq)
	plain := append(append(append([]byte(nil), msg...), bytes.Repeat([]byte{0xff}, ec)...), hdr...)
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	_, ct, err := et.EncryptMessage(key.KeyValue, plain, keyusage.GSSAPI_ACCEPTOR_SEAL)
	if err != nil {
		t.Fatal(err)
	}
	rrc := 28
	binary.BigEndian.PutUint16(hdr[6:], uint16(rrc))
	r := rrc
	if windows {
		r += ec
	}
	r %= len(ct)
	ct = append(append([]byte(nil), ct[len(ct)-r:]...), ct[:len(ct)-r]...)
	return hdr, ct // a header of 16 bytes, the rest as "sealed": Unwrap joins them
}

func TestKerberosWrapIsWindowsWinRMLayout(t *testing.T) {
	c, a := established(t)
	seq := uint64(a.apreq.Authenticator.SeqNumber)
	for i, msg := range [][]byte{[]byte(`<s:Envelope>create a shell</s:Envelope>`), {}, bytes.Repeat([]byte("x"), 70000)} {
		header, sealed, err := c.Wrap(msg)
		if err != nil {
			t.Fatal(err)
		}
		// 16 token header + 16 encrypted header copy + 12 checksum + 16
		// encrypted confounder: the 60-byte signature WinRM frames
		if len(header) != 60 || len(sealed) != len(msg) {
			t.Fatalf("header %d bytes, sealed %d for %d: want 60 and the message's length", len(header), len(sealed), len(msg))
		}
		if !bytes.Equal(header[:4], []byte{0x05, 0x04, flagSealed | flagAcceptorSubkey, 0xff}) {
			t.Fatalf("token starts %x, want 0504 sealed|acceptor-subkey ff", header[:4])
		}
		if ec, rrc := binary.BigEndian.Uint16(header[4:6]), binary.BigEndian.Uint16(header[6:8]); ec != 0 || rrc != 28 {
			t.Fatalf("EC %d RRC %d, want 0 and 28", ec, rrc)
		}
		if got := binary.BigEndian.Uint64(header[8:16]); got != seq+uint64(i) {
			t.Fatalf("sequence number %d, want %d (the authenticator's, counting up)", got, seq+uint64(i))
		}
		if len(msg) > 0 && bytes.Contains(append(header, sealed...), msg[:min(len(msg), 20)]) {
			t.Fatal("the message travels in clear")
		}
		got, inner := acceptorUnwrap(t, a.subkey, header, sealed)
		if !bytes.Equal(got, msg) {
			t.Fatalf("the acceptor read %q", got[:min(len(got), 40)])
		}
		want := append([]byte(nil), header[:16]...)
		want[6], want[7] = 0, 0
		if !bytes.Equal(inner, want) {
			t.Fatalf("encrypted header copy %x, want %x (RRC 0)", inner, want)
		}
	}
}

func TestKerberosUnwrapsTheAcceptorsTokens(t *testing.T) {
	c, a := established(t)
	seq := uint64(7077) // the AP-REP's
	for _, tc := range []struct {
		name    string
		ec      int
		windows bool
	}{{"ec 0", 0, false}, {"windows rotation with ec", 7, true}, {"rfc rotation with ec", 7, false}} {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte(`<s:Envelope>the shell's output</s:Envelope>`)
			h, s := acceptorWrap(t, a.subkey, seq, msg, tc.ec, tc.windows)
			got, err := c.Unwrap(h, s)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%q, %v", got, err)
			}
			seq++
		})
	}

	msg := []byte("next")
	h, s := acceptorWrap(t, a.subkey, seq, msg, 0, true)
	// an earlier token's sequence number, validly sealed: a replay
	rh, rs := acceptorWrap(t, a.subkey, seq-1, msg, 0, true)
	for _, tc := range []struct {
		name   string
		header []byte
		sealed []byte
		want   string
	}{
		{"tampered", h, append(append([]byte(nil), s[:len(s)-1]...), s[len(s)-1]^1), "does not decrypt"},
		{"replayed", rh, rs, "sequence number"},
		{"not from the acceptor", append([]byte{0x05, 0x04, flagSealed | flagAcceptorSubkey}, h[3:]...), s, "client sent it"},
		{"signed only", append([]byte{0x05, 0x04, flagSentByAcceptor | flagAcceptorSubkey}, h[3:]...), s, "not encrypted"},
		{"not a wrap token", append([]byte{0x04, 0x04}, h[2:]...), s, "not an RFC 4121 wrap token"},
		{"short", h[:10], nil, "header"},
		{"empty body", h, nil, "shorter than an empty one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Unwrap(tc.header, tc.sealed); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error saying %q", err, tc.want)
			}
		})
	}
	if got, err := c.Unwrap(h, s); err != nil || string(got) != "next" {
		t.Fatalf("after the refusals the due token gave %q, %v", got, err)
	}
}

func TestKerberosSealerNeedsAnEstablishedContext(t *testing.T) {
	c := offlineTicket(labSPN).NewContext(nil).(Sealer)
	if _, _, err := c.Wrap([]byte("x")); err == nil {
		t.Error("wrapped before the logon")
	}
	if _, err := c.Unwrap(make([]byte, 60), []byte("x")); err == nil {
		t.Error("unwrapped before the logon")
	}
}

// FuzzKerberosUnwrap: whatever a server seals, Unwrap returns; it never
// panics, and garbage never decrypts.
func FuzzKerberosUnwrap(f *testing.F) {
	key := types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
	f.Add([]byte{0x05, 0x04, 0x07, 0xff, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 60))
	f.Add([]byte{0x05, 0x04, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{1})
	f.Fuzz(func(t *testing.T, header, sealed []byte) {
		c := &kerberosContext{t: offlineTicket(labSPN), state: stateEstablished, acceptorSubkey: key}
		if msg, err := c.Unwrap(header, sealed); err == nil {
			t.Fatalf("unwrapped %x from %x %x", msg, header, sealed)
		}
	})
}

// BenchmarkKerberosWrap seals and opens a 500 KB envelope (WinRM's
// default MaxEnvelopeSize), the largest body an rbac session sends.
func BenchmarkKerberosWrap(b *testing.B) {
	key := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	msg := bytes.Repeat([]byte("<rsp:Stream>AAAA</rsp:Stream>"), 500<<10/29)
	c := &kerberosContext{t: offlineTicket(labSPN), state: stateEstablished, auth: types.Authenticator{SubKey: key}}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		h, s, err := c.Wrap(msg)
		if err != nil {
			b.Fatal(err)
		}
		// open it as the acceptor would: the test's RFC-side code
		if _, inner := acceptorUnwrap(b, key, h, s); inner[0] != 0x05 {
			b.Fatal("no header copy")
		}
	}
}
