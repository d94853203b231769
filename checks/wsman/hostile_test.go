package wsman

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// A server that answers Receive with garbage yields an error, never a
// hang or an unbounded allocation, and the shell is still deleted.
func TestHostileReceive(t *testing.T) {
	stream := func(raw []byte) string {
		return `<s:Envelope xmlns:s="` + NsSOAP + `" xmlns:rsp="` + NsShell + `"><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout">` +
			base64.StdEncoding.EncodeToString(raw) + `</rsp:Stream></rsp:ReceiveResponse></s:Body></s:Envelope>`
	}
	huge := psrp.Fragment{ObjectID: 1, Start: true, Data: make([]byte, 10)}.Append(nil)
	huge[17], huge[18] = 0x7f, 0xff // claims a 2 GB fragment
	cases := []struct {
		name, body, want string
	}{
		{"oversized body", strings.Repeat("x", 5<<20), "exceeds"},
		{"not soap", "hello", "not a SOAP envelope"},
		{"not a receive", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body/></s:Envelope>`, "not a ReceiveResponse"},
		{"bad base64", strings.Replace(stream([]byte("abc")), "YWJj", "!!!!", 1), "not base64"},
		{"giant fragment", stream(huge), "larger than allowed"},
		{"short message", stream(psrp.Fragment{ObjectID: 1, Start: true, End: true, Data: []byte("tiny")}.Append(nil)), "shorter than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hostile := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					if strings.Contains(string(body), "/Receive<") {
						io.WriteString(w, c.body)
						return
					}
					r.Body = io.NopCloser(strings.NewReader(string(body)))
					h.ServeHTTP(w, r)
				})
			}
			cl, srv := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": {"Get-Mailbox"}}}, "u", hostile)
			res, err := ListCommands(context.Background(), cl, []string{"*"}, psrp.ImportTypes)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if !res.ShellDeleted || srv.OpenShells() != 0 {
				t.Fatalf("deleted %v open %d", res.ShellDeleted, srv.OpenShells())
			}
		})
	}
}
