package winauth

import (
	"bytes"
	"testing"
)

// The framing of MS-WSMV 2.2.9.1, byte for byte as Windows and pywinrm
// send it: two parts, tab-indented part headers, the 4-byte little-endian
// signature length, then the closing boundary right after the payload.
func TestSealFramingIsWinRMs(t *testing.T) {
	s := &fakeSealer{}
	msg := []byte("<s:Envelope/>")
	got, err := SealBody(s, ProtocolKerberos, msg)
	if err != nil {
		t.Fatal(err)
	}
	h, sealed, _ := s.Wrap(msg)
	want := "--Encrypted Boundary\r\n" +
		"\tContent-Type: application/HTTP-Kerberos-session-encrypted\r\n" +
		"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=13\r\n" +
		"--Encrypted Boundary\r\n" +
		"\tContent-Type: application/octet-stream\r\n" +
		"\x10\x00\x00\x00" + string(h) + string(sealed) +
		"--Encrypted Boundary--\r\n"
	if string(got) != want {
		t.Fatalf("framing\n%q\nwant\n%q", got, want)
	}
	if ct := SealedContentType(ProtocolKerberos); ct != `multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"` {
		t.Fatalf("content type %s", ct)
	}
	// Kerberos inside Negotiate seals as SPNEGO, as Windows and pywinrm frame it
	if SealProtocol("Negotiate") != ProtocolSPNEGO || SealProtocol("NTLM") != ProtocolSPNEGO || SealProtocol("Kerberos") != ProtocolKerberos {
		t.Fatal("protocol per scheme")
	}
}

func TestUnsealAcceptsBothClosingForms(t *testing.T) {
	s := &fakeSealer{}
	// a payload that contains the boundary's bytes must not cut the part
	msg := []byte("<x>--Encrypted Boundary\r\n</x>")
	body, _ := SealBody(s, ProtocolSPNEGO, msg)
	ct := SealedContentType(ProtocolSPNEGO)
	older := append(bytes.Clone(bytes.TrimSuffix(body, []byte("--\r\n"))), "\r\n"...)
	for _, b := range [][]byte{body, older} {
		got, typ, err := UnsealBody(s, ProtocolSPNEGO, ct, b)
		if err != nil || string(got) != string(msg) || typ != soapType {
			t.Fatalf("%q %q %v", got, typ, err)
		}
	}
}

func TestUnsealRefusesWhatWasAltered(t *testing.T) {
	s := &fakeSealer{}
	body, _ := SealBody(s, ProtocolSPNEGO, []byte("<s:Envelope/>"))
	ct := SealedContentType(ProtocolSPNEGO)
	cases := map[string]struct {
		ct   string
		body []byte
	}{
		"length":      {ct, bytes.Replace(body, []byte("Length=13"), []byte("Length=12"), 1)},
		"protocol":    {SealedContentType(ProtocolKerberos), body},
		"header size": {ct, bytes.Replace(body, []byte("\x10\x00\x00\x00"), []byte("\xff\xff\xff\x7f"), 1)},
		"truncated":   {ct, body[:len(body)-30]},
		"no boundary": {`multipart/encrypted;protocol="` + ProtocolSPNEGO + `"`, body},
		"signature":   {ct, bytes.Replace(body, []byte("\x0d\x0d\x0d\x0d"), []byte("\x0d\x0d\x0d\x0e"), 1)},
		"empty":       {ct, nil},
	}
	for name, c := range cases {
		if got, _, err := UnsealBody(s, ProtocolSPNEGO, c.ct, c.body); err == nil {
			t.Errorf("%s: accepted %q", name, got)
		}
	}
	if _, _, err := UnsealBody(s, ProtocolSPNEGO, "application/soap+xml", body); err != ErrNotSealed {
		t.Fatalf("clear answer: %v", err)
	}
}

func FuzzUnseal(f *testing.F) {
	s := &fakeSealer{}
	body, _ := SealBody(s, ProtocolSPNEGO, []byte("<s:Envelope/>"))
	f.Add(body)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, _, err := UnsealBody(s, ProtocolSPNEGO, SealedContentType(ProtocolSPNEGO), b)
		// whatever the bytes, an answer or an error, and never more
		// plaintext than was sealed
		if err == nil && len(msg) > len(b) {
			t.Fatal("unsealed more than was sent")
		}
	})
}
