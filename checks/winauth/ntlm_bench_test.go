package winauth

import (
	"bytes"
	"testing"
)

// BenchmarkNTLMLogon is one connection's client work: NEGOTIATE, the
// CHALLENGE parsed and the AUTHENTICATE built with binding and MIC.
func BenchmarkNTLMLogon(b *testing.B) {
	info := avBytes(append(specTargetInfo(), avPair{avTimestamp, make([]byte, 8)})...)
	ch := challengeMsg(specFlags, unhex(b, specServerChal), info)
	cb := &ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	b.ReportAllocs()
	for b.Loop() {
		c := NewNTLM(NTLMOptions{User: "User", Domain: "Domain", Password: "Password", TargetName: "HTTP/mail.example.test"}, cb)
		c.Step(nil)
		if _, _, err := c.Step(ch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNTLMWrap seals a 16 KiB WS-Management body and unseals the
// answer, as MS-WSMV over http does per request.
func BenchmarkNTLMWrap(b *testing.B) {
	c, s := sealedPair(b, bytes.Repeat([]byte{0x55}, 16), specFlags)
	body := bytes.Repeat([]byte("<s:Envelope/>"), 16<<10/13)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		h, sealed, _ := c.Wrap(body)
		if _, err := s.Unwrap(h, sealed); err != nil {
			b.Fatal(err)
		}
	}
}
