package winauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

// The values of MS-NLMP 4.2.1 and 4.2.4 (NTLMv2 authentication).
const (
	specFlags      = 0xe28a8233 // KEY_EXCH 56 128 VERSION TARGET_INFO ESS TARGET_TYPE_SERVER ALWAYS_SIGN NTLM SEAL SIGN OEM UNICODE
	specServerChal = "0123456789abcdef"
	specNTOWFv2    = "0c868a403bfd7a93a3001ef22ef02e3f"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func avBytes(pairs ...avPair) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint16(b, p.id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.val)))
		b = append(b, p.val...)
	}
	return append(b, 0, 0, 0, 0)
}

// specTargetInfo is the 4.2.4 server's: MsvAvNbDomainName "Domain",
// MsvAvNbComputerName "Server".
func specTargetInfo() []avPair {
	return []avPair{{2, utf16le("Domain")}, {1, utf16le("Server")}}
}

// challengeMsg builds a CHALLENGE_MESSAGE as a server lays it out:
// header with Version, the target name, then the target information.
func challengeMsg(flags uint32, server []byte, info []byte) []byte {
	name := utf16le("Domain")
	m := make([]byte, 56)
	copy(m, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(m[8:], 2)
	binary.LittleEndian.PutUint16(m[12:], uint16(len(name)))
	binary.LittleEndian.PutUint16(m[14:], uint16(len(name)))
	binary.LittleEndian.PutUint32(m[16:], 56)
	binary.LittleEndian.PutUint32(m[20:], flags)
	copy(m[24:], server)
	binary.LittleEndian.PutUint16(m[40:], uint16(len(info)))
	binary.LittleEndian.PutUint16(m[42:], uint16(len(info)))
	binary.LittleEndian.PutUint32(m[44:], uint32(56+len(name)))
	copy(m[48:], []byte{6, 1, 0xb1, 0x1d, 0, 0, 0, 15})
	m = append(m, name...)
	return append(m, info...)
}

func TestNTLMv2SpecVectors(t *testing.T) {
	key := ntowfv2("Password", "User", "Domain")
	if hex.EncodeToString(key) != specNTOWFv2 {
		t.Fatalf("NTOWFv2 %x, want %s", key, specNTOWFv2)
	}
	server, client := unhex(t, specServerChal), bytes.Repeat([]byte{0xaa}, 8)
	proof, temp := ntlmv2Response(key, server, client, make([]byte, 8), avBytes(specTargetInfo()...))
	wantTemp := "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000" +
		"02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000 00000000"
	if !bytes.Equal(temp, unhex(t, wantTemp)) {
		t.Fatalf("temp %x, want %s", temp, wantTemp)
	}
	for _, v := range []struct{ name, got, want string }{
		{"NTProofStr (4.2.4.2.2)", hex.EncodeToString(proof), "68cd0ab851e51c96aabc927bebef6a1c"},
		{"SessionBaseKey (4.2.4.1.2)", hex.EncodeToString(hmacMD5(key, proof)), "8de40ccadbc14a82f15cb0ad0de95ca3"},
		{"EncryptedRandomSessionKey (4.2.4.2.3)", hex.EncodeToString(rc4Once(hmacMD5(key, proof), bytes.Repeat([]byte{0x55}, 16))), "c5dad2544fc9799094ce1ce90bc9d03e"},
		{"LMv2 (4.2.4.2.1)", hex.EncodeToString(hmacMD5(key, server, client)) + hex.EncodeToString(client), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"},
	} {
		if v.got != v.want {
			t.Errorf("%s: %s, want %s", v.name, v.got, v.want)
		}
	}
}

// The CHALLENGE_MESSAGE of MS-NLMP 4.2.4.3 as the spec prints it, not as
// our test builder lays one out: parsed, its target information yields
// the spec's NTProofStr with the spec's time, FILETIME 0.
func TestParseSpecChallenge(t *testing.T) {
	b := unhex(t, "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"+
		"00000000000000002400240044000000060070170000000f5300650072007600"+
		"6500720002000c0044006f006d00610069006e0001000c005300650072007600"+
		"6500720000000000")
	ch, err := parseChallenge(b)
	if err != nil {
		t.Fatal(err)
	}
	if ch.flags != specFlags || hex.EncodeToString(ch.server[:]) != specServerChal || ch.timestamp != nil || len(ch.targetInfo) != 2 {
		t.Fatalf("parsed %08x %x %x %d pairs", ch.flags, ch.server, ch.timestamp, len(ch.targetInfo))
	}
	stamp := fileTime(time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC))
	proof, _ := ntlmv2Response(ntowfv2("Password", "User", "Domain"), ch.server[:], bytes.Repeat([]byte{0xaa}, 8), stamp, avBytes(ch.targetInfo...))
	if hex.EncodeToString(proof) != "68cd0ab851e51c96aabc927bebef6a1c" {
		t.Fatalf("NTProofStr %x from the spec's challenge", proof)
	}
}

// authFields reads the AUTHENTICATE as a server would, independently of
// how authenticate wrote it; payload is where the payload may start (88
// with Version and MIC, 64 without).
func authFields(t *testing.T, m []byte, payload int) map[string][]byte {
	t.Helper()
	if len(m) < payload || string(m[:8]) != "NTLMSSP\x00" || binary.LittleEndian.Uint32(m[8:]) != 3 {
		t.Fatalf("not an AUTHENTICATE_MESSAGE: %x", m)
	}
	out := map[string][]byte{"flags": m[60:64]}
	if payload == 88 {
		out["version"], out["mic"] = m[64:72], m[72:88]
	}
	for _, f := range []struct {
		name string
		at   int
	}{{"lm", 12}, {"nt", 20}, {"domain", 28}, {"user", 36}, {"workstation", 44}, {"key", 52}} {
		n, at := int(binary.LittleEndian.Uint16(m[f.at:])), int(binary.LittleEndian.Uint32(m[f.at+4:]))
		if n > 0 && (at < payload || at+n > len(m)) {
			t.Fatalf("field %s at %d+%d is outside the message", f.name, at, n)
		}
		if n > 0 {
			out[f.name] = m[at : at+n]
		}
	}
	return out
}

// avList reads the AV pairs of an NTLMv2 temp.
func avList(t *testing.T, temp []byte) map[uint16][]byte {
	t.Helper()
	got := map[uint16][]byte{}
	b := temp[28:]
	for len(b) >= 4 {
		id, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if id == 0 {
			if !bytes.Equal(b[4:], []byte{0, 0, 0, 0}) {
				t.Fatalf("temp does not end MsvAvEOL then Z(4): %x", b)
			}
			return got
		}
		got[id] = b[4 : 4+n]
		b = b[4+n:]
	}
	t.Fatalf("no MsvAvEOL in %x", temp)
	return nil
}

func TestNTLMLogonCarriesBindingAndMIC(t *testing.T) {
	stamp := unhex(t, "0090d336b734c301")
	ch := challengeMsg(specFlags, unhex(t, specServerChal), avBytes(append(specTargetInfo(), avPair{avTimestamp, stamp})...))
	cb := &ChannelBindings{ApplicationData: []byte("tls-server-end-point:0123456789abcdef0123456789abcdef")}
	exported := bytes.Repeat([]byte{0x55}, 16)
	c := NewNTLM(NTLMOptions{
		User: "User", Domain: "Domain", Password: "Password", Workstation: "COMPUTER",
		TargetName: "HTTP/mail.example.test",
		Rand:       bytes.NewReader(append(bytes.Repeat([]byte{0xaa}, 8), exported...)),
	}, cb)
	if c.Scheme() != "Negotiate" || c.Mech() != NTLM {
		t.Fatalf("scheme %q mech %q", c.Scheme(), c.Mech())
	}
	neg, done, err := c.Step(nil)
	if err != nil || done {
		t.Fatalf("first step: done %v, %v", done, err)
	}
	if h := base64.StdEncoding.EncodeToString(neg); !strings.HasPrefix(h, "TlRMTVNTUAAB") {
		t.Fatalf("negotiate %s is not what Windows sends", h)
	}
	nf := binary.LittleEndian.Uint32(neg[12:])
	for _, f := range []uint32{flagUnicode, flagNTLM, flagAlwaysSign, flagESS, flagTargetInfo, flagVersion, flag128, flagKeyExch, flag56, flagSign, flagSeal} {
		if nf&f == 0 {
			t.Errorf("negotiate flags %08x lack %08x", nf, f)
		}
	}
	if nf&flagLMKey != 0 {
		t.Errorf("negotiate flags %08x ask for LM session security", nf)
	}

	auth, done, err := c.Step(ch)
	if err != nil || !done {
		t.Fatalf("second step: done %v, %v", done, err)
	}
	f := authFields(t, auth, 88)
	if !bytes.Equal(f["user"], utf16le("User")) || !bytes.Equal(f["domain"], utf16le("Domain")) || !bytes.Equal(f["workstation"], utf16le("COMPUTER")) {
		t.Fatalf("names %x %x %x", f["user"], f["domain"], f["workstation"])
	}
	if !bytes.Equal(f["lm"], make([]byte, 24)) {
		t.Errorf("LM response %x with a server timestamp, want Z(24)", f["lm"])
	}
	nt := f["nt"]
	proof, temp := nt[:16], nt[16:]
	if !bytes.Equal(temp[8:16], stamp) || !bytes.Equal(temp[16:24], bytes.Repeat([]byte{0xaa}, 8)) {
		t.Fatalf("temp does not carry the server's time and the client challenge: %x", temp)
	}
	// NTProofStr, recomputed from the spec's NTOWFv2 rather than ours
	ntowf := unhex(t, specNTOWFv2)
	if want := hmacMD5(ntowf, unhex(t, specServerChal), temp); !bytes.Equal(proof, want) {
		t.Fatalf("NTProofStr %x, want %x", proof, want)
	}
	av := avList(t, temp)
	hash := cb.Hash()
	if !bytes.Equal(av[avChannelBindings], hash[:]) {
		t.Errorf("MsvAvChannelBindings %x, want %x", av[avChannelBindings], hash)
	}
	if !bytes.Equal(av[avTargetName], utf16le("HTTP/mail.example.test")) {
		t.Errorf("MsvAvTargetName %x", av[avTargetName])
	}
	if fl := av[avFlags]; len(fl) != 4 || binary.LittleEndian.Uint32(fl)&avFlagMIC == 0 {
		t.Errorf("MsvAvFlags %x lacks the MIC bit", fl)
	}
	if !bytes.Equal(av[2], utf16le("Domain")) || !bytes.Equal(av[1], utf16le("Server")) || !bytes.Equal(av[avTimestamp], stamp) {
		t.Errorf("the server's AV pairs were not kept: %x", temp)
	}
	// the exported session key, through the key exchange
	base := hmacMD5(ntowf, proof)
	c4, _ := rc4.NewCipher(base)
	got := make([]byte, 16)
	c4.XORKeyStream(got, f["key"])
	if !bytes.Equal(got, exported) {
		t.Fatalf("EncryptedRandomSessionKey decrypts to %x, want %x", got, exported)
	}
	// MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE | CHALLENGE | AUTHENTICATE with MIC zeroed)
	zeroed := bytes.Clone(auth)
	copy(zeroed[72:88], make([]byte, 16))
	mac := hmac.New(md5.New, exported)
	mac.Write(neg)
	mac.Write(ch)
	mac.Write(zeroed)
	if !bytes.Equal(f["mic"], mac.Sum(nil)) {
		t.Fatalf("MIC %x, want %x", f["mic"], mac.Sum(nil))
	}
	if fl := binary.LittleEndian.Uint32(f["flags"]); fl&(flagKeyExch|flagSeal|flagESS|flag128) != flagKeyExch|flagSeal|flagESS|flag128 {
		t.Errorf("authenticate flags %08x dropped what the server agreed to", fl)
	}

	// the exported key is the spec's, so sealing gives 4.2.4.4's bytes
	hdr, sealed, err := c.(Sealer).Wrap(utf16le("Plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(hdr) != "010000007fb38ec5c55d497600000000" || hex.EncodeToString(sealed) != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Fatalf("wrap after logon: %x %x", hdr, sealed)
	}
	// the server's answer carries no token: nothing changes
	if out, done, err := c.Step(nil); out != nil || !done || err != nil {
		t.Fatalf("a step after the logon: %x %v %v", out, done, err)
	}
}

func TestNTLMWithoutBindingSendsZeros(t *testing.T) {
	ch := challengeMsg(specFlags, unhex(t, specServerChal), avBytes(specTargetInfo()...))
	c := NewNTLM(NTLMOptions{User: "User", Domain: "Domain", Password: "Password", Now: func() time.Time { return time.Unix(0, 0) }}, nil)
	c.Step(nil)
	auth, _, err := c.Step(ch)
	if err != nil {
		t.Fatal(err)
	}
	f := authFields(t, auth, 88)
	temp := f["nt"][16:]
	av := avList(t, temp)
	if !bytes.Equal(av[avChannelBindings], make([]byte, 16)) {
		t.Errorf("no binding should send Z(16), sent %x", av[avChannelBindings])
	}
	if _, ok := av[avTargetName]; ok {
		t.Error("no target name was given, yet MsvAvTargetName was sent")
	}
	// no server timestamp: the client's own time (1970 as FILETIME) and LMv2
	if got := binary.LittleEndian.Uint64(temp[8:16]); got != 116444736000000000 {
		t.Errorf("timestamp %d, want the unix epoch as FILETIME", got)
	}
	cc := temp[16:24]
	if want := append(hmacMD5(unhex(t, specNTOWFv2), unhex(t, specServerChal), cc), cc...); !bytes.Equal(f["lm"], want) {
		t.Errorf("LMv2 %x, want %x", f["lm"], want)
	}
}

// TestNTProofStrAgreesWithGoNTLMSSP checks our NTLMv2 response against
// go-ntlmssp, written by others, on a message it can make (no key
// exchange, no binding): given its client challenge and time, ours must
// come out byte for byte the same.
func TestNTProofStrAgreesWithGoNTLMSSP(t *testing.T) {
	stamp := unhex(t, "0090d336b734c301")
	info := avBytes(append(specTargetInfo(), avPair{avTimestamp, stamp})...)
	server := unhex(t, "f00dfeedcafe0123")
	ch := challengeMsg(specFlags&^flagKeyExch, server, info)
	theirs, err := ntlmssp.NewAuthenticateMessage(ch, `Domain\User`, "Password", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := authFields(t, theirs, 64)
	nt := f["nt"]
	if len(nt) < 48 {
		t.Fatalf("go-ntlmssp's NT response is %d bytes", len(nt))
	}
	cc, ts := nt[16+16:16+24], nt[16+8:16+16]
	proof, temp := ntlmv2Response(ntowfv2("Password", "User", "Domain"), server, cc, ts, info)
	if ours := append(proof, temp...); !bytes.Equal(ours, nt) {
		t.Fatalf("NT response\n ours   %x\n theirs %x", ours, nt)
	}
}

func TestParseChallengeRefusesWhatItCannotUse(t *testing.T) {
	good := avBytes(specTargetInfo()...)
	srv := unhex(t, specServerChal)
	withInfo := func(info []byte) []byte { return challengeMsg(specFlags, srv, info) }
	var many []avPair
	for i := 0; i <= maxAVPairs; i++ {
		many = append(many, avPair{1, utf16le("S")})
	}
	cases := map[string][]byte{
		"not ntlm":            []byte("HTTP/1.1 200 OK\r\n\r\n"),
		"authenticate":        append([]byte("NTLMSSP\x00"), 3, 0, 0, 0),
		"v1 without info":     challengeMsg(specFlags, srv, nil)[:32],
		"oem only":            challengeMsg(specFlags&^flagUnicode, srv, good),
		"lm session security": challengeMsg((specFlags|flagLMKey)&^flagESS, srv, good),
		"no target info flag": challengeMsg(specFlags&^flagTargetInfo, srv, good),
		"empty target info":   withInfo(nil),
		"info past the end":   withInfo(good)[:len(withInfo(good))-3],
		"pair past the end":   withInfo([]byte{2, 0, 0xff, 0x7f, 'D', 0}),
		"half a pair header":  withInfo([]byte{2, 0, 0}),
		"no end marker":       withInfo(good[:len(good)-4]),
		"too many pairs":      withInfo(avBytes(many...)),
		"short timestamp":     withInfo(avBytes(avPair{avTimestamp, []byte{1, 2, 3}})),
	}
	// an offset near 2^32 must not wrap around the bound check
	huge := withInfo(good)
	binary.LittleEndian.PutUint32(huge[44:], 0xfffffff0)
	cases["offset near 2^32"] = huge
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseChallenge(b)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if r := []rune(msg)[0]; !unicode.IsLower(r) || !strings.Contains(msg, ";") {
				t.Errorf("message %q: want lowercase, then what to do", msg)
			}
			c := NewNTLM(NTLMOptions{User: "u", Password: "s3cret-pw"}, nil)
			c.Step(nil)
			if out, done, err := c.Step(b); err == nil || done || out != nil {
				t.Fatalf("context accepted it: %x %v %v", out, done, err)
			} else if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatal("the password is in the error")
			}
		})
	}
	if _, err := parseChallenge(withInfo(good)); err != nil {
		t.Fatalf("the spec's challenge: %v", err)
	}
}

func TestNTLMStepOrder(t *testing.T) {
	c := NewNTLM(NTLMOptions{User: "u", Password: "p"}, nil)
	if _, _, err := c.Step([]byte("NTLMSSP\x00\x02\x00\x00\x00")); err == nil {
		t.Fatal("a server token before the client's first was accepted")
	}
	c = NewNTLM(NTLMOptions{User: "u", Password: "p"}, nil)
	c.Step(nil)
	if _, _, err := c.Step(make([]byte, maxNTLMToken+1)); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("an oversized token: %v", err)
	}
	if _, _, err := c.(Sealer).Wrap([]byte("x")); err != errNTLMNotEstablished {
		t.Fatalf("wrap before the logon: %v", err)
	}
	if _, _, err := c.Step(nil); err == nil || !strings.Contains(err.Error(), "no challenge") {
		t.Fatalf("a 401 with no challenge: %v", err)
	}
	long := NewNTLM(NTLMOptions{User: strings.Repeat("u", 40000), Password: "p"}, nil)
	long.Step(nil)
	if _, _, err := long.Step(challengeMsg(specFlags, unhex(t, specServerChal), avBytes(specTargetInfo()...))); err == nil {
		t.Fatal("a user name past a 16-bit field length was sent")
	}
	if c := NewNTLM(NTLMOptions{Scheme: "NTLM"}, nil); c.Scheme() != "NTLM" {
		t.Fatalf("scheme %q", c.Scheme())
	}
}

func TestNTLMOptionsHidePassword(t *testing.T) {
	o := NTLMOptions{User: "alice", Domain: "CORP", Password: "hunter2-secret"}
	// a context, before and after its AUTHENTICATE, holds the options
	// and then the session keys
	c := NewNTLM(o, nil)
	established := NewNTLM(NTLMOptions{User: "User", Domain: "Domain", Password: "hunter2-secret"}, nil)
	established.Step(nil)
	if _, _, err := established.Step(challengeMsg(specFlags, unhex(t, specServerChal), avBytes(specTargetInfo()...))); err != nil {
		t.Fatal(err)
	}
	sess := established.(*ntlmContext).sess
	for _, v := range []any{o, c, established, sess} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, "hunter2") || (sess != nil && strings.Contains(s, fmt.Sprint(sess.clientSign))) {
				t.Errorf("%s of %T prints %q", verb, v, s)
			}
		}
	}
	if s := fmt.Sprint(o); !strings.Contains(s, "alice") {
		t.Errorf("the options print %q, want the user", s)
	}
}
