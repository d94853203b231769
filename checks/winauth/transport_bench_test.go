package winauth

import (
	"net/http"
	"testing"
)

// BenchmarkTransportLogon is one connection's NTLM-shaped logon (two
// legs) and one request on it: what each Windows-authenticated session
// pays before its first answer. BenchmarkTransportAuthenticated is a
// request on a connection that already logged on.
func BenchmarkTransportLogon(b *testing.B) {
	srv := newWinServer(b, nil, ntlmLike)
	b.ReportAllocs()
	for b.Loop() {
		tr := &Transport{NewContext: newFake(NTLM)}
		if resp, _, err := post(b, tr, srv.url("http"), ""); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
		tr.Close()
	}
}

func BenchmarkTransportSealedRequest(b *testing.B) {
	key := &fakeSealer{}
	srv := newWinServer(b, nil, func(c *serverConn, r *http.Request, body []byte) (int, http.Header, []byte) {
		if !c.authed {
			return ntlmLike(c, r, body)
		}
		msg, _, _ := UnsealBody(key, ProtocolSPNEGO, r.Header.Get("Content-Type"), body)
		out, _ := SealBody(key, ProtocolSPNEGO, msg)
		return 200, http.Header{"Content-Type": {SealedContentType(ProtocolSPNEGO)}}, out
	})
	tr := &Transport{Seal: true, NewContext: func(*ChannelBindings) (Context, error) { return &fakeSealer{fakeContext{mech: NTLM}}, nil }}
	defer tr.Close()
	body := string(make([]byte, 16<<10))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if resp, _, err := post(b, tr, srv.url("http"), body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
	}
}
