package wsman

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/checks/winauth"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// xorContext is a one-leg mechanism with a toy seal, enough for the
// session to run over a connection-authenticated, sealed transport.
type xorContext struct{}

func (xorContext) Scheme() string { return "Negotiate" }
func (xorContext) Mech() string   { return winauth.NTLM }
func (xorContext) Step(in []byte) ([]byte, bool, error) {
	return []byte("hello"), true, nil
}
func (xorContext) Wrap(msg []byte) ([]byte, []byte, error) {
	return []byte("sig!"), xor(msg), nil
}
func (xorContext) Unwrap(h, sealed []byte) ([]byte, error) { return xor(sealed), nil }

func xor(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c ^ 0x33
	}
	return out
}

type connAuth struct{ authed atomic.Bool }

type connKey struct{}

// windowsFront authenticates each connection once, as IIS's Windows
// authentication does, and (sealed) unwraps requests and wraps answers.
func windowsFront(t *testing.T, srv *psrpserver.Server, sealed bool, auths *atomic.Int32) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := r.Context().Value(connKey{}).(*connAuth)
		if !st.authed.Load() {
			if r.Header.Get("Authorization") != "Negotiate "+base64.StdEncoding.EncodeToString([]byte("hello")) {
				w.Header().Set("WWW-Authenticate", "Negotiate")
				w.WriteHeader(401)
				return
			}
			auths.Add(1)
			st.authed.Store(true)
			if sealed {
				return // the handshake's empty POST
			}
		} else if r.Header.Get("Authorization") != "" {
			t.Errorf("credentials on an authenticated connection")
		}
		if !sealed {
			srv.ServeHTTP(w, r.WithContext(psrpserver.WithUser(r.Context(), "u")))
			return
		}
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		if bytes.Contains(body.Bytes(), []byte("Envelope")) {
			t.Errorf("a session request travelled in clear")
		}
		msg, _, err := winauth.UnsealBody(xorContext{}, winauth.ProtocolSPNEGO, r.Header.Get("Content-Type"), body.Bytes())
		if err != nil {
			t.Errorf("unseal: %v", err)
			w.WriteHeader(400)
			return
		}
		rec := httptest.NewRecorder()
		in := r.Clone(psrpserver.WithUser(r.Context(), "u"))
		in.Body = nopCloser{bytes.NewReader(msg)}
		in.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		srv.ServeHTTP(rec, in)
		out, _ := winauth.SealBody(xorContext{}, winauth.ProtocolSPNEGO, rec.Body.Bytes())
		w.Header().Set("Content-Type", winauth.SealedContentType(winauth.ProtocolSPNEGO))
		w.WriteHeader(rec.Code)
		w.Write(out)
	})
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &connAuth{})
	}
	if sealed {
		ts.Start()
	} else {
		ts.StartTLS()
	}
	t.Cleanup(ts.Close)
	return ts
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func TestSessionOverAWindowsLogon(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		name := map[bool]string{false: "https", true: "sealed http"}[sealed]
		t.Run(name, func(t *testing.T) {
			srv := psrpserver.New(psrpserver.Config{Commands: map[string][]string{"u": names(40)}, FragmentsPerReceive: 3})
			var auths atomic.Int32
			ts := windowsFront(t, srv, sealed, &auths)
			tr := &winauth.Transport{Seal: sealed, NewContext: func(*winauth.ChannelBindings) (winauth.Context, error) { return xorContext{}, nil }}
			if !sealed {
				tr.TLS = ts.Client().Transport.(*http.Transport).TLSClientConfig
			}
			defer tr.Close()
			u, _ := url.Parse(ts.URL + "/PowerShell")
			c, err := NewWindowsClient(NewSessionClient(tr), u, ExchangeResourceURI, "u", sealed, testBudgets)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Names) != 40 || !res.ShellDeleted || srv.OpenShells() != 0 {
				t.Fatalf("%d names, deleted %v, open %d", len(res.Names), res.ShellDeleted, srv.OpenShells())
			}
			if auths.Load() != 1 {
				t.Fatalf("%d logons for one session, want 1", auths.Load())
			}
		})
	}
}

func TestWindowsClientOverHTTPMustBeSealed(t *testing.T) {
	u, _ := url.Parse("http://mail.contoso.test/PowerShell")
	if _, err := NewWindowsClient(http.DefaultClient, u, ExchangeResourceURI, "u", false, testBudgets); err == nil || !strings.Contains(err.Error(), "https uri") {
		t.Fatalf("an unsealed http session was accepted: %v", err)
	}
	if _, err := NewWindowsClient(http.DefaultClient, u, ExchangeResourceURI, "u", true, testBudgets); err != nil {
		t.Fatal(err)
	}
}
