package winauth

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// sealedPair is an established client context and the server's half of
// the same session, made by swapping directions: what the server would
// hold after the logon.
func sealedPair(t testing.TB, exported []byte, flags uint32) (client *ntlmContext, server *ntlmContext) {
	t.Helper()
	s := newNTLMSession(exported, flags)
	mirror := newNTLMSession(exported, flags)
	mirror.clientSign, mirror.serverSign = mirror.serverSign, mirror.clientSign
	mirror.clientSeal, mirror.serverSeal = mirror.serverSeal, mirror.clientSeal
	return &ntlmContext{state: 2, flags: flags, sess: s}, &ntlmContext{state: 2, flags: flags, sess: mirror}
}

// MS-NLMP 4.2.4.4: GSS_WrapEx of "Plaintext" at sequence 0 with the
// 4.2.4 flags and exported session key 0x55…, both directions.
func TestNTLMSealSpecVector(t *testing.T) {
	exported := bytes.Repeat([]byte{0x55}, 16)
	c, _ := sealedPair(t, exported, specFlags)
	if got := hex.EncodeToString(c.sess.clientSign); got != "4788dc861b4782f35d43fd98fe1a2d39" {
		t.Fatalf("client signing key %s (4.2.4.1.4)", got)
	}
	hdr, sealed, err := c.Wrap(utf16le("Plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(sealed); got != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Errorf("sealed %s", got)
	}
	if got := hex.EncodeToString(hdr); got != "010000007fb38ec5c55d497600000000" {
		t.Errorf("signature %s", got)
	}
	// the server's message of the same example, to the client
	msg, err := c.Unwrap(unhex(t, "01000000b298b847ce7c580700000000"), unhex(t, "160871b730ba74e946c453d7465b54278dd0"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg, utf16le("Plaintext")) {
		t.Fatalf("unwrapped %x", msg)
	}
}

// MS-NLMP 4.2.3.4: the same message sealed with extended session
// security, a 56-bit key and no key exchange (so the checksum is not
// encrypted), from the 4.2.3 key exchange key.
func TestNTLMSeal56BitNoKeyExchangeSpecVector(t *testing.T) {
	flags := uint32(flagESS | flag56 | flagSeal | flagSign | flagUnicode | flagNTLM)
	c, _ := sealedPair(t, unhex(t, "eb93429a8bd952f8b89c55b87f475edc"), flags)
	if got := hex.EncodeToString(c.sess.clientSign); got != "60e799be5c72fc92922ae8ebe961fb8d" {
		t.Fatalf("client signing key %s", got)
	}
	hdr, sealed, err := c.Wrap(utf16le("Plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sealed) != "a02372f6530273f3aa1eb90190ce5200c99d" || hex.EncodeToString(hdr) != "01000000ff2aeb52f681793a00000000" {
		t.Fatalf("sealed %x, signature %x", sealed, hdr)
	}
}

func TestNTLMSealRoundTripsAndRefusesTampering(t *testing.T) {
	c, s := sealedPair(t, []byte("0123456789abcdef"), specFlags)
	for i, m := range []string{"<s:Envelope>one</s:Envelope>", "", "three: a longer body that runs past one RC4 block of nothing in particular"} {
		h, sealed, err := c.Wrap([]byte(m))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 4 && bytes.Contains(sealed, []byte(m[:4])) {
			t.Fatalf("message %d is not encrypted: %q", i, sealed)
		}
		got, err := s.Unwrap(h, sealed)
		if err != nil || string(got) != m {
			t.Fatalf("message %d: %q %v", i, got, err)
		}
		h2, sealed2, _ := s.Wrap([]byte(m))
		if got, err := c.Unwrap(h2, sealed2); err != nil || string(got) != m {
			t.Fatalf("answer %d: %q %v", i, got, err)
		}
	}

	h, sealed, _ := s.Wrap([]byte("body"))
	bad := bytes.Clone(sealed)
	bad[0] ^= 1
	if _, err := c.Unwrap(h, bad); err != errBadSeal {
		t.Fatalf("a flipped bit: %v", err)
	}
	// the failed unwrap used up the client's key stream, as a real
	// stream cipher does: the session is over, nothing later verifies
	if _, err := c.Unwrap(h, sealed); err == nil {
		t.Fatal("a message verified after a failed one")
	}
	if _, err := c.Unwrap(h[:15], sealed); err == nil {
		t.Fatal("a short signature was accepted")
	}

	// a replayed message: its sequence number is behind the receiver's
	c, s = sealedPair(t, []byte("0123456789abcdef"), specFlags)
	h, sealed, _ = c.Wrap([]byte("once"))
	if _, err := s.Unwrap(h, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unwrap(h, sealed); err != errBadSeal {
		t.Fatalf("a replay: %v", err)
	}
}

func TestNTLMSealNeedsTheServersAgreement(t *testing.T) {
	for _, flags := range []uint32{specFlags &^ flagSeal, specFlags &^ flagESS} {
		c, _ := sealedPair(t, make([]byte, 16), flags)
		if _, _, err := c.Wrap([]byte("x")); err != errNoSealing {
			t.Errorf("flags %08x: %v", flags, err)
		}
		if _, err := c.Unwrap(make([]byte, 16), []byte("x")); err != errNoSealing {
			t.Errorf("flags %08x: %v", flags, err)
		}
	}
	// 56- and 40-bit sealing keys differ from the 128-bit one
	k := []byte("0123456789abcdef")
	var seen [][]byte
	for _, flags := range []uint32{specFlags, specFlags &^ flag128, specFlags &^ (flag128 | flag56)} {
		c, _ := sealedPair(t, k, flags)
		_, sealed, _ := c.Wrap([]byte("same message"))
		for _, o := range seen {
			if bytes.Equal(o, sealed) {
				t.Fatalf("flags %08x seal like a stronger key", flags)
			}
		}
		seen = append(seen, sealed)
	}
}
