package winauth

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

type fakeKerberos struct{ Context }

func (fakeKerberos) Mech() string { return Kerberos }

func TestNewNegotiatePicksKerberosThenFallsBack(t *testing.T) {
	ntlm := func() Context { return NewNTLM(NTLMOptions{User: "u", Password: "p"}, nil) }
	c, fb := NewNegotiate(func() (Context, error) { return fakeKerberos{}, nil }, ntlm)
	if fb != nil || c.Mech() != Kerberos {
		t.Fatalf("with a ticket: %v %v", c, fb)
	}

	noSPN := errors.New("KDC_ERR_S_PRINCIPAL_UNKNOWN for HTTP/mail.example.test")
	c, fb = NewNegotiate(func() (Context, error) { return nil, noSPN }, ntlm)
	if c == nil || c.Mech() != NTLM || c.Scheme() != "Negotiate" {
		t.Fatalf("without a ticket: %v", c)
	}
	if !errors.Is(fb, noSPN) {
		t.Fatalf("the fallback %v does not carry kerberos' error", fb)
	}
	if out, _, _ := c.Step(nil); !bytes.HasPrefix(out, []byte("NTLMSSP\x00\x01")) {
		t.Fatalf("the fallback does not start raw NTLMSSP: %x", out)
	}

	for name, krb := range map[string]func() (Context, error){
		"no kerberos":   nil,
		"no context":    func() (Context, error) { return nil, nil },
		"kerberos fail": func() (Context, error) { return nil, noSPN },
	} {
		c, fb := NewNegotiate(krb, ntlm)
		if c == nil || c.Mech() != NTLM || fb == nil {
			t.Errorf("%s: %v %v", name, c, fb)
		}
		// checks/winlogon.go cuts this prefix to say it once in its summary
		if fb != nil && !strings.HasPrefix(fb.Error(), "negotiate fell back to ntlm because ") {
			t.Errorf("%s: reason %q", name, fb)
		}
		if c, fb := NewNegotiate(krb, nil); c != nil || fb == nil {
			t.Errorf("%s without ntlm: %v %v", name, c, fb)
		}
	}
}

func TestSplitUser(t *testing.T) {
	for in, want := range map[string][2]string{
		`CORP\alice`:                {"alice", "CORP"},
		"alice@corp.example.test":   {"alice", "corp.example.test"},
		"alice":                     {"alice", ""},
		`CORP\odd@name`:             {"odd@name", "CORP"},
		"first.last@x@corp.example": {"first.last@x", "corp.example"},
		"":                          {"", ""},
	} {
		if n, d := SplitUser(in); n != want[0] || d != want[1] {
			t.Errorf("SplitUser(%q) = %q, %q; want %q", in, n, d, want)
		}
	}
}

func negResp(t *testing.T, state spnego.NegState, mech asn1.ObjectIdentifier, tok []byte) []byte {
	t.Helper()
	r := spnego.NegTokenResp{NegState: asn1.Enumerated(state), SupportedMech: mech, ResponseToken: tok}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// IIS answers in SPNEGO when it was spoken to in SPNEGO: the CHALLENGE
// arrives in a NegTokenResp, and the AUTHENTICATE goes back in one.
func TestNTLMInsideSPNEGO(t *testing.T) {
	ch := challengeMsg(specFlags, unhex(t, specServerChal), avBytes(specTargetInfo()...))
	start := func() Context {
		c := NewNTLM(NTLMOptions{User: "User", Domain: "Domain", Password: "Password"}, nil)
		c.Step(nil)
		return c
	}
	c := start()
	out, done, err := c.Step(negResp(t, spnego.NegStateAcceptIncomplete, oidNTLMSSP, ch))
	if err != nil || !done {
		t.Fatalf("%v %v", done, err)
	}
	var r spnego.NegTokenResp
	if err := r.Unmarshal(out); err != nil {
		t.Fatalf("the answer is not a NegTokenResp: %v", err)
	}
	authFields(t, r.ResponseToken, 88)
	if _, done, err := c.Step(negResp(t, spnego.NegStateAcceptCompleted, nil, nil)); err != nil || !done {
		t.Fatalf("accept-completed: %v %v", done, err)
	}

	c = start()
	c.Step(negResp(t, spnego.NegStateAcceptIncomplete, nil, ch))
	if _, _, err := c.Step(negResp(t, spnego.NegStateReject, nil, nil)); err == nil {
		t.Fatal("a final reject was taken for a logon")
	}
	c = start()
	c.Step(ch)
	if _, _, err := c.Step([]byte("NTLMSSP\x00\x02\x00\x00\x00")); err == nil {
		t.Fatal("a raw token after the logon was accepted")
	}

	krb5 := asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	for name, tok := range map[string][]byte{
		"reject":         negResp(t, spnego.NegStateReject, oidNTLMSSP, nil),
		"other mech":     negResp(t, spnego.NegStateAcceptIncomplete, krb5, ch),
		"no token":       negResp(t, spnego.NegStateAcceptIncomplete, oidNTLMSSP, nil),
		"not asn.1":      {0xa1, 0x84, 0xff, 0xff, 0xff, 0xff},
		"neg token init": {0xa0, 0x03, 0x30, 0x01, 0x00},
	} {
		if _, _, err := start().Step(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
