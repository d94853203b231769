package winauth

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// FuzzNTLMChallenge feeds arbitrary server tokens to the NTLM context
// after its NEGOTIATE: it must answer or refuse, never panic, and what it
// answers stays within the token budget.
func FuzzNTLMChallenge(f *testing.F) {
	srv := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	info := avBytes(append(specTargetInfo(), avPair{avTimestamp, make([]byte, 8)}, avPair{avFlags, []byte{1, 0, 0, 0}})...)
	good := challengeMsg(specFlags, srv, info)
	f.Add(good)
	f.Add(challengeMsg(specFlags&^flagKeyExch, srv, avBytes(specTargetInfo()...)))
	r := spnego.NegTokenResp{NegState: asn1.Enumerated(spnego.NegStateAcceptIncomplete), SupportedMech: oidNTLMSSP, ResponseToken: good}
	if b, err := r.Marshal(); err == nil {
		f.Add(b)
	}
	f.Add(good[:47])
	f.Fuzz(func(t *testing.T, b []byte) {
		parseChallenge(b)
		c := NewNTLM(NTLMOptions{User: "u", Domain: "d", Password: "p", TargetName: "HTTP/h"}, &ChannelBindings{ApplicationData: []byte("x")})
		c.Step(nil)
		out, done, err := c.Step(b)
		if err != nil {
			return
		}
		if !done || len(out) > 2*maxNTLMToken+1024 {
			t.Fatalf("done %v, %d bytes out", done, len(out))
		}
		if !bytes.HasPrefix(out, []byte("NTLMSSP\x00\x03")) && out[0] != 0xa1 {
			t.Fatalf("answer %x is no AUTHENTICATE", out)
		}
		if bytes.HasPrefix(out, []byte("NTLMSSP\x00")) && binary.LittleEndian.Uint32(out[60:])&^ntlmClientFlags != 0 {
			t.Fatal("the answer claims flags the client never offered")
		}
		c.Step(b) // the final-token path
	})
}
