package httpauth

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
)

// NTLM NEGOTIATE flags ([MS-NLMP] 2.2.2.5) a Windows client sets in its
// first message.
const (
	ntlmNegotiateUnicode    = 0x00000001
	ntlmNegotiateOEM        = 0x00000002
	ntlmRequestTarget       = 0x00000004
	ntlmNegotiateNTLM       = 0x00000200
	ntlmAlwaysSign          = 0x00008000
	ntlmExtendedSessionSec  = 0x00080000
	ntlmNegotiateVersion    = 0x02000000
	ntlmNegotiate128        = 0x20000000
	ntlmNegotiateKeyExch    = 0x40000000
	ntlmNegotiate56         = 0x80000000
	ntlmNegotiateFlagsUsual = ntlmNegotiateUnicode | ntlmNegotiateOEM | ntlmRequestTarget | ntlmNegotiateNTLM |
		ntlmAlwaysSign | ntlmExtendedSessionSec | ntlmNegotiateVersion | ntlmNegotiate128 | ntlmNegotiateKeyExch | ntlmNegotiate56
)

var ntlmSignature = []byte("NTLMSSP\x00")

// NTLMNegotiate builds the 40-byte NEGOTIATE_MESSAGE (type 1) with no
// domain or workstation, as a Windows client's first Negotiate leg. It
// carries no credentials: sending it only asks whether the server does
// Windows authentication at all.
func NTLMNegotiate() []byte { return NTLMNegotiateWith(ntlmNegotiateFlagsUsual) }

// NTLMNegotiateWith is that NEGOTIATE_MESSAGE with the given flags, for
// a client that goes on to log on (checks/winauth).
func NTLMNegotiateWith(flags uint32) []byte {
	m := make([]byte, 40)
	copy(m, ntlmSignature)
	binary.LittleEndian.PutUint32(m[8:], 1)
	binary.LittleEndian.PutUint32(m[12:], flags)
	// DomainNameFields and WorkstationFields: empty, offset at the end
	binary.LittleEndian.PutUint32(m[20:], 40)
	binary.LittleEndian.PutUint32(m[28:], 40)
	// Version: 10.0 build 19041, NTLM revision 15
	m[32], m[33] = 10, 0
	binary.LittleEndian.PutUint16(m[34:], 19041)
	m[39] = 15
	return m
}

// NegotiateHeader is the Authorization value of the Negotiate probe.
func NegotiateHeader() string {
	return "Negotiate " + base64.StdEncoding.EncodeToString(NTLMNegotiate())
}

// NTLMMessageType returns the message type of an NTLM token (1, 2, 3), or
// 0 when b is not one.
func NTLMMessageType(b []byte) int {
	if len(b) < 12 || !bytes.Equal(b[:8], ntlmSignature) {
		return 0
	}
	t := binary.LittleEndian.Uint32(b[8:12])
	if t < 1 || t > 3 {
		return 0
	}
	return int(t)
}

// ChallengeIsNTLM reports whether a Negotiate or NTLM challenge carries an
// NTLM CHALLENGE_MESSAGE: proof that Windows authentication answered.
func ChallengeIsNTLM(c Challenge) bool {
	if !c.Is("Negotiate") && !c.Is("NTLM") || c.Token68 == "" {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(c.Token68)
	return err == nil && NTLMMessageType(b) == 2
}
