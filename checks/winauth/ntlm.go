package winauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/exdiag/exdiag/checks/httpauth"
	//lint:ignore SA1019 NTOWF is MD4 by definition (MS-NLMP 3.3.1); there is no other NTLM
	"golang.org/x/crypto/md4"
)

// We write the NTLM messages ourselves rather than use go-ntlmssp: it
// cannot carry MsvAvChannelBindings, a MIC, key exchange or sealing, and
// without the channel binding every Exchange with Extended Protection on
// refuses the logon, which is the very case exdiag must tell apart.

// Budgets of the NTLM decoder: what one server token may cost us. A
// Windows CHALLENGE_MESSAGE is 200-400 bytes with 6-8 AV pairs; a DNS
// name is at most 255 characters, so even a forest with long names fits
// well inside these.
const (
	maxNTLMToken = 8 << 10 // one CHALLENGE, raw or inside SPNEGO
	maxAVPairs   = 32      // AV pairs in the server's TargetInfo
	maxNameBytes = 1024    // a user, domain or workstation name we send, UTF-16
)

// NEGOTIATE flags (MS-NLMP 2.2.2.5).
const (
	flagUnicode      = 0x00000001
	flagRequestTgt   = 0x00000004
	flagSign         = 0x00000010
	flagSeal         = 0x00000020
	flagLMKey        = 0x00000080
	flagNTLM         = 0x00000200
	flagAlwaysSign   = 0x00008000
	flagESS          = 0x00080000 // extended session security
	flagTargetInfo   = 0x00800000
	flagVersion      = 0x02000000
	flag128          = 0x20000000
	flagKeyExch      = 0x40000000
	flag56           = 0x80000000
	ntlmClientFlags  = flagUnicode | flagRequestTgt | flagSign | flagSeal | flagNTLM | flagAlwaysSign | flagESS | flagTargetInfo | flagVersion | flag128 | flagKeyExch | flag56
	ntlmMessageFixed = 88 // AUTHENTICATE up to and with the MIC
	micOffset        = 72
)

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avTimestamp       = 7
	avFlags           = 6
	avTargetName      = 9
	avChannelBindings = 10

	avFlagMIC = 0x00000002 // MsvAvFlags: the AUTHENTICATE carries a MIC
)

var ntlmSig = []byte("NTLMSSP\x00")

// clientVersion is the VERSION structure we send: Windows 10 (19041),
// NTLM revision 15, so servers treat us as a current client.
var clientVersion = [8]byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15}

// NTLMOptions is who logs on with NTLM.
type NTLMOptions struct {
	User, Domain, Password string // DOMAIN\user or user@domain split by the caller or by SplitUser
	Workstation            string
	// TargetName is the SPN the logon is meant for ("HTTP/host"), sent
	// as MsvAvTargetName: what Extended Protection's service binding
	// compares. Empty sends none.
	TargetName string
	// Scheme is the HTTP scheme the tokens travel in: "Negotiate" (what
	// Windows' Negotiate sends when it falls back) unless "NTLM".
	Scheme string
	Now    func() time.Time
	Rand   io.Reader // nil: crypto/rand
}

// String leaves the password out of any %v of the options.
func (o NTLMOptions) String() string {
	return fmt.Sprintf("ntlm logon of %q in domain %q", o.User, o.Domain)
}

// GoString is String for %#v.
func (o NTLMOptions) GoString() string { return o.String() }

// NewNTLM is one connection's NTLMv2 context: NEGOTIATE, then the
// AUTHENTICATE answering the server's CHALLENGE with the channel binding
// (cb.Hash(), zeros for nil) and a MIC over the three messages.
//
// As gss_init_sec_context does, Step(CHALLENGE) returns the AUTHENTICATE
// with done: NTLM has nothing of the server's left to verify, so the
// caller sends that last token and the HTTP status says whether the
// server accepted it. A later Step takes the server's final token, if it
// sent one: SPNEGO's accept-completed, or reject as an error. The
// context implements Sealer from the AUTHENTICATE on.
func NewNTLM(o NTLMOptions, cb *ChannelBindings) Context {
	c := &ntlmContext{o: o, cbHash: cb.Hash()}
	if c.o.Now == nil {
		c.o.Now = time.Now
	}
	if c.o.Rand == nil {
		c.o.Rand = rand.Reader
	}
	if c.o.Scheme == "" {
		c.o.Scheme = "Negotiate"
	}
	return c
}

type ntlmContext struct {
	o      NTLMOptions
	cbHash [16]byte

	state     int // 0 nothing sent, 1 NEGOTIATE sent, 2 AUTHENTICATE made
	negotiate []byte
	flags     uint32
	sess      *ntlmSession // nil until established
}

// String leaves the password and the session keys out of any %v of a
// context: fmt does not call the options' own String on a field.
func (c *ntlmContext) String() string { return "ntlm context for " + c.o.String() }

// GoString is String for %#v.
func (c *ntlmContext) GoString() string { return c.String() }

func (c *ntlmContext) Scheme() string { return c.o.Scheme }
func (c *ntlmContext) Mech() string   { return NTLM }

func (c *ntlmContext) Step(in []byte) ([]byte, bool, error) {
	if len(in) > maxNTLMToken {
		return nil, false, fmt.Errorf("the server's ntlm token is %d bytes, more than the %d a challenge needs; check what answers in front of the server", len(in), maxNTLMToken)
	}
	switch c.state {
	case 0:
		if len(in) != 0 {
			return nil, false, errors.New("the server sent an ntlm token before the client's first; check the proxy in front of the server")
		}
		c.negotiate = ntlmNegotiateMessage()
		c.state = 1
		return bytes.Clone(c.negotiate), false, nil
	case 1:
		if len(in) == 0 {
			return nil, false, errors.New("the server answered the ntlm negotiate message with no challenge; check that windows authentication on the server offers ntlm")
		}
		tok, wrapped, err := unwrapSPNEGO(in)
		if err != nil {
			return nil, false, err
		}
		ch, err := parseChallenge(tok)
		if err != nil {
			return nil, false, err
		}
		auth, sess, flags, err := c.authenticate(ch, tok)
		if err != nil {
			return nil, false, err
		}
		if wrapped {
			if auth, err = wrapSPNEGO(auth); err != nil {
				return nil, false, err
			}
		}
		c.state, c.sess, c.flags = 2, sess, flags
		return auth, true, nil
	default:
		// Only the HTTP status tells an empty answer's acceptance from a
		// refusal; a token can only be SPNEGO's last word.
		if len(in) != 0 {
			if err := finalSPNEGO(in); err != nil {
				return nil, false, err
			}
		}
		return nil, true, nil
	}
}

// ntlmNegotiateMessage is the NEGOTIATE_MESSAGE (2.2.1.1) with the flags
// a Windows client sets when it may seal, no domain or workstation.
func ntlmNegotiateMessage() []byte { return httpauth.NTLMNegotiateWith(ntlmClientFlags) }

// challenge is what we use of a CHALLENGE_MESSAGE (2.2.1.2).
type challenge struct {
	flags      uint32
	server     [8]byte
	targetInfo []avPair // without the MsvAvEOL
	timestamp  []byte   // MsvAvTimestamp, nil when absent
}

type avPair struct {
	id  uint16
	val []byte
}

// parseChallenge decodes a CHALLENGE_MESSAGE, checking every offset and
// length against the message and the AV pairs against maxAVPairs.
func parseChallenge(b []byte) (*challenge, error) {
	if len(b) < 12 || !bytes.Equal(b[:8], ntlmSig) {
		return nil, errors.New("the server's token is not an ntlm message; check that the server offers ntlm")
	}
	if t := binary.LittleEndian.Uint32(b[8:]); t != 2 {
		return nil, fmt.Errorf("the server sent ntlm message type %d where a challenge (2) belongs; check the proxy in front of the server", t)
	}
	if len(b) < 48 {
		return nil, fmt.Errorf("the server's ntlm challenge is %d bytes, too short to carry target information: the server speaks only ntlmv1, which exdiag refuses; use kerberos, or have the server allow ntlmv2", len(b))
	}
	ch := &challenge{flags: binary.LittleEndian.Uint32(b[20:])}
	copy(ch.server[:], b[24:32])
	if ch.flags&flagUnicode == 0 {
		return nil, errors.New("the server's ntlm challenge does not offer unicode, which every windows server does; check what answers in front of the server, or use kerberos")
	}
	if ch.flags&flagLMKey != 0 && ch.flags&flagESS == 0 {
		return nil, errors.New("the server asks for lm session security (ntlmv1), which exdiag refuses; use kerberos, or set LmCompatibilityLevel 3 or more on the server")
	}
	info, err := field(b, 40)
	if err != nil {
		return nil, err
	}
	if ch.flags&flagTargetInfo == 0 || len(info) == 0 {
		return nil, errors.New("the server's ntlm challenge carries no target information: the server speaks only ntlmv1, which exdiag refuses; use kerberos, or have the server allow ntlmv2")
	}
	for len(info) > 0 {
		if len(info) < 4 {
			return nil, errors.New("the server's ntlm target information is cut short; check the proxy in front of the server")
		}
		id, n := binary.LittleEndian.Uint16(info), int(binary.LittleEndian.Uint16(info[2:]))
		if len(info) < 4+n {
			return nil, errors.New("an ntlm target information entry runs past its end; check the proxy in front of the server")
		}
		if id == avEOL {
			return ch, nil
		}
		if len(ch.targetInfo) == maxAVPairs {
			return nil, fmt.Errorf("the server's ntlm target information has more than %d entries; check the proxy in front of the server", maxAVPairs)
		}
		v := info[4 : 4+n]
		if id == avTimestamp {
			if n != 8 {
				return nil, errors.New("the server's ntlm timestamp is not 8 bytes; check the proxy in front of the server")
			}
			ch.timestamp = v
		}
		ch.targetInfo = append(ch.targetInfo, avPair{id, v})
		info = info[4+n:]
	}
	return nil, errors.New("the server's ntlm target information has no end marker; check the proxy in front of the server")
}

// field returns the payload a len/maxlen/offset triple at off points to.
func field(b []byte, off int) ([]byte, error) {
	n := uint64(binary.LittleEndian.Uint16(b[off:]))
	at := uint64(binary.LittleEndian.Uint32(b[off+4:]))
	if at+n > uint64(len(b)) { // in 64 bits: no wrap-around, on any platform
		return nil, errors.New("an ntlm field points past the end of the server's message; check the proxy in front of the server")
	}
	return b[at : at+n], nil
}

// authenticate builds the AUTHENTICATE_MESSAGE (2.2.1.3) and the session
// it establishes; chBytes is the CHALLENGE as received, for the MIC.
func (c *ntlmContext) authenticate(ch *challenge, chBytes []byte) ([]byte, *ntlmSession, uint32, error) {
	var clientChal [8]byte
	if _, err := io.ReadFull(c.o.Rand, clientChal[:]); err != nil {
		return nil, nil, 0, fmt.Errorf("cannot draw the ntlm client challenge: %w", err)
	}
	flags := ch.flags & ntlmClientFlags
	var random [16]byte
	if flags&flagKeyExch != 0 {
		if _, err := io.ReadFull(c.o.Rand, random[:]); err != nil {
			return nil, nil, 0, fmt.Errorf("cannot draw the ntlm session key: %w", err)
		}
	}
	stamp := ch.timestamp
	if stamp == nil {
		stamp = fileTime(c.o.Now())
	}

	key := ntowfv2(c.o.Password, c.o.User, c.o.Domain)
	proof, temp := ntlmv2Response(key, ch.server[:], clientChal[:], stamp, c.targetInfo(ch))
	base := hmacMD5(key, proof)
	nt := append(proof, temp...)
	// With a server timestamp the MIC protects the exchange and the LM
	// response is zeros (3.1.5.1.2); without one, LMv2 as older servers expect.
	lm := make([]byte, 24)
	if ch.timestamp == nil {
		copy(lm, hmacMD5(key, ch.server[:], clientChal[:]))
		copy(lm[16:], clientChal[:])
	}

	exported := base
	var encKey []byte
	if flags&flagKeyExch != 0 {
		exported = random[:]
		encKey = rc4Once(base, exported)
	}

	domain, user, ws := utf16le(c.o.Domain), utf16le(c.o.User), utf16le(c.o.Workstation)
	// Windows allows 256-character names; far past that a 16-bit field
	// length would wrap and the server would read another message.
	if len(domain) > maxNameBytes || len(user) > maxNameBytes || len(ws) > maxNameBytes {
		return nil, nil, 0, errors.New("the user, domain or workstation name is longer than windows allows; check the user name")
	}
	m := make([]byte, ntlmMessageFixed, ntlmMessageFixed+len(lm)+len(nt)+len(domain)+len(user)+len(ws)+len(encKey))
	copy(m, ntlmSig)
	binary.LittleEndian.PutUint32(m[8:], 3)
	for _, f := range []struct {
		at int
		b  []byte
	}{{12, lm}, {20, nt}, {28, domain}, {36, user}, {44, ws}, {52, encKey}} {
		binary.LittleEndian.PutUint16(m[f.at:], uint16(len(f.b)))
		binary.LittleEndian.PutUint16(m[f.at+2:], uint16(len(f.b)))
		binary.LittleEndian.PutUint32(m[f.at+4:], uint32(len(m)))
		m = append(m, f.b...)
	}
	binary.LittleEndian.PutUint32(m[60:], flags)
	copy(m[64:], clientVersion[:])
	copy(m[micOffset:], hmacMD5(exported, c.negotiate, chBytes, m))

	return m, newNTLMSession(exported, flags), flags, nil
}

// targetInfo is the server's AV pairs with ours added (3.1.5.1.2):
// MsvAvFlags saying a MIC is present, the channel binding hash and the
// SPN, then MsvAvEOL.
func (c *ntlmContext) targetInfo(ch *challenge) []byte {
	var b []byte
	put := func(id uint16, v []byte) {
		b = binary.LittleEndian.AppendUint16(b, id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	sawFlags := false
	for _, p := range ch.targetInfo {
		switch p.id {
		case avFlags:
			var f uint32
			if len(p.val) == 4 {
				f = binary.LittleEndian.Uint32(p.val)
			}
			put(avFlags, binary.LittleEndian.AppendUint32(nil, f|avFlagMIC))
			sawFlags = true
		case avChannelBindings, avTargetName:
			// the client's to fill in, whatever the server sent
		default:
			put(p.id, p.val)
		}
	}
	if !sawFlags {
		put(avFlags, binary.LittleEndian.AppendUint32(nil, avFlagMIC))
	}
	put(avChannelBindings, c.cbHash[:])
	if c.o.TargetName != "" {
		put(avTargetName, utf16le(c.o.TargetName))
	}
	put(avEOL, nil)
	return b
}

// ntowfv2 is NTOWFv2 (3.3.2): the user name upper-cased, the domain as given.
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	return hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)+domain))
}

// ntlmv2Response is NTProofStr and temp of 3.3.2; the NtChallengeResponse
// is the two joined.
func ntlmv2Response(key, server, client, stamp, targetInfo []byte) (proof, temp []byte) {
	temp = make([]byte, 0, 28+len(targetInfo)+4)
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0) // Responserversion, HiResponserversion, Z(6)
	temp = append(temp, stamp...)
	temp = append(temp, client...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, targetInfo...)
	temp = append(temp, 0, 0, 0, 0)
	return hmacMD5(key, server, temp), temp
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// rc4Once is RC4K: a fresh key stream over one message.
func rc4Once(key, msg []byte) []byte {
	c, _ := rc4.NewCipher(key) // the key is 16 bytes: never an error
	out := make([]byte, len(msg))
	c.XORKeyStream(out, msg)
	return out
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return b
}

// fileTime is t as a Windows FILETIME, little-endian: 100 ns since 1601.
func fileTime(t time.Time) []byte {
	ft := uint64(t.Unix()+11644473600)*10_000_000 + uint64(t.Nanosecond()/100)
	return binary.LittleEndian.AppendUint64(nil, ft)
}
