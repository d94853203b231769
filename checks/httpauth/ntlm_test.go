package httpauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNTLMNegotiate(t *testing.T) {
	m := NTLMNegotiate()
	if len(m) != 40 || NTLMMessageType(m) != 1 {
		t.Fatalf("bad negotiate message: %x", m)
	}
	h := NegotiateHeader()
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Negotiate "))
	if err != nil || string(b[:8]) != "NTLMSSP\x00" {
		t.Fatalf("header %q does not carry the message", h)
	}
	type2 := append([]byte("NTLMSSP\x00"), 2, 0, 0, 0)
	c := Challenge{Scheme: "Negotiate", Token68: base64.StdEncoding.EncodeToString(type2)}
	if !ChallengeIsNTLM(c) || ChallengeIsNTLM(Challenge{Scheme: "Negotiate"}) || ChallengeIsNTLM(Challenge{Scheme: "Basic", Token68: c.Token68}) {
		t.Fatal("ChallengeIsNTLM misreads challenges")
	}
	if NTLMMessageType([]byte("NTLMSSP\x00\x09\x00\x00\x00")) != 0 || NTLMMessageType(nil) != 0 {
		t.Fatal("bad type accepted")
	}
}
