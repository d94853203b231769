package kerb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// realError parses a KRB-ERROR captured from MIT krb5kdc (see capture_test.go).
func realError(t *testing.T, name string) messages.KRBError {
	t.Helper()
	var ke messages.KRBError
	if err := ke.Unmarshal(mustRead(t, name)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ke
}

func TestClassify(t *testing.T) {
	type tc struct {
		name string
		err  error
		want Class
		code int32
	}
	var cases []tc
	for _, c := range []struct {
		file string
		want Class
		code int32
	}{
		{"s_principal_unknown.der", ClassPrincipalUnknown, 7},
		{"preauth_failed.der", ClassBadCredentials, 24},
		{"c_principal_unknown.der", ClassBadCredentials, 6},
		{"preauth_required.der", ClassOther, 25},
	} {
		ke := realError(t, c.file)
		cases = append(cases,
			tc{c.file + " as *KDCError", &KDCError{Code: ke.ErrorCode, EText: ke.EText}, c.want, c.code},
			tc{c.file + " as gokrb5 value", ke, c.want, c.code},
			tc{c.file + " wrapped with %w", fmt.Errorf("tgs: %w", ke), c.want, c.code},
			// gokrb5's client flattens the KRBError into Krberror's text,
			// which is why errors.As alone is not enough.
			tc{c.file + " flattened by krberror", krberror.Errorf(ke, krberror.KDCError, "TGS Exchange Error"), c.want, c.code},
		)
	}
	// AD's answer for a duplicated SPN; MIT cannot produce it, so it is
	// built with gokrb5's own encoder.
	nu := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "HTTP/mail.contoso.test"), "CONTOSO.TEST", errorcode.KDC_ERR_PRINCIPAL_NOT_UNIQUE, "")
	nb, err := nu.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var nu2 messages.KRBError
	if err := nu2.Unmarshal(nb); err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		tc{"principal not unique", nu2, ClassNotUnique, 8},
		tc{"principal not unique flattened", krberror.Errorf(nu2, krberror.KDCError, "TGS Exchange Error"), ClassNotUnique, 8},
		tc{"bad password found by decryption", ErrBadPassword, ClassBadCredentials, 0},
		tc{"wrapped bad password", fmt.Errorf("login: %w", ErrBadPassword), ClassBadCredentials, 0},
		tc{"unreachable", &UnreachableError{Attempts: []string{"tcp x: refused"}}, ClassUnreachable, 0},
		tc{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ClassUnreachable, 0},
		tc{"other text", errors.New("KRB Error without a code"), ClassOther, 0},
		tc{"nil", nil, ClassOther, 0},
	)
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: Classify = %d, want %d (err %v)", c.name, got, c.want, c.err)
		}
		if c.code != 0 {
			if got, ok := Code(c.err); !ok || got != c.code {
				t.Errorf("%s: Code = %d %v, want %d", c.name, got, ok, c.code)
			}
		}
	}
}

// fakeKDC answers every framed TCP request with the next reply from
// replies (nil = never answer, a []byte of length 4 = raw header only).
type fakeKDC struct {
	ln      net.Listener
	replies chan []byte
	reqs    chan []byte
}

func newFakeKDC(t *testing.T, replies ...[]byte) *fakeKDC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeKDC{ln: ln, replies: make(chan []byte, len(replies)), reqs: make(chan []byte, 16)}
	for _, r := range replies {
		f.replies <- r
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeKDC) serve(c net.Conn) {
	defer c.Close()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	req := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, req); err != nil {
		return
	}
	f.reqs <- req
	var r []byte
	select {
	case r = <-f.replies:
	default:
	}
	if r == nil {
		io.Copy(io.Discard, c) // hang until the client gives up
		return
	}
	if len(r) == 4 {
		c.Write(r)
		return
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(r)))
	c.Write(append(out, r...))
}

func (f *fakeKDC) addr() string { return f.ln.Addr().String() }

const secretPassword = "Sentinel-Password-7781"

func opts(kdc string) Options {
	return Options{Realm: "CONTOSO.TEST", User: "administrator", Password: secretPassword, KDCs: []string{kdc}}
}

func TestLoginReplaysRealErrors(t *testing.T) {
	for _, c := range []struct {
		file string
		want Class
	}{
		{"c_principal_unknown.der", ClassBadCredentials},
	} {
		f := newFakeKDC(t, mustRead(t, c.file))
		_, err := Login(context.Background(), opts(f.addr()))
		if got := Classify(err); got != c.want {
			t.Errorf("%s: got class %d (%v), want %d", c.file, got, err, c.want)
		}
	}
	// PREAUTH_REQUIRED makes the client answer with an encrypted
	// timestamp; the real PREAUTH_FAILED then ends the login.
	f := newFakeKDC(t, mustRead(t, "preauth_required.der"), mustRead(t, "preauth_failed.der"))
	_, err := Login(context.Background(), opts(f.addr()))
	if Classify(err) != ClassBadCredentials {
		t.Fatalf("got %v, want the pre-authentication failure", err)
	}
	<-f.reqs
	second := <-f.reqs
	var req messages.ASReq
	if err := req.Unmarshal(second); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pa := range req.PAData {
		found = found || pa.PADataType == 2 // PA-ENC-TIMESTAMP
	}
	if !found {
		t.Error("the second AS-REQ carries no PA-ENC-TIMESTAMP")
	}
	if strings.Contains(string(second), secretPassword) {
		t.Error("the password appears in the request")
	}
}

func TestSilentKDCHonoursDeadline(t *testing.T) {
	f := newFakeKDC(t) // accepts, never answers
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := Login(ctx, opts(f.addr())); done <- err }()
	select {
	case err := <-done:
		if Classify(err) != ClassUnreachable {
			t.Fatalf("got %v, want unreachable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("login ignored its context")
	}
}

func TestHugeLengthRefused(t *testing.T) {
	f := newFakeKDC(t, []byte{0x7f, 0xff, 0xff, 0xff})
	o := opts(f.addr())
	o.KDCs = []string{f.addr()}
	_, err := Login(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("got %v, want the reply length refused", err)
	}
}

func TestDialerIsUsed(t *testing.T) {
	f := newFakeKDC(t, mustRead(t, "c_principal_unknown.der"))
	o := opts("kdc.contoso.test:88")
	var dialled []string
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, network+" "+addr)
		return (&net.Dialer{}).DialContext(ctx, network, f.addr())
	}
	_, err := Login(context.Background(), o)
	if Classify(err) != ClassBadCredentials || len(dialled) == 0 || dialled[0] != "tcp kdc.contoso.test:88" {
		t.Fatalf("err %v, dialled %v", err, dialled)
	}
}

func TestCodeName(t *testing.T) {
	if got := CodeName(7); got != "KDC_ERR_S_PRINCIPAL_UNKNOWN (7)" {
		t.Errorf("CodeName(7) = %q", got)
	}
	if got := CodeName(9999); got != "error code 9999" {
		t.Errorf("CodeName(9999) = %q", got)
	}
}

// TestHugeStringToKeyRefused: a KDC that asks for billions of PBKDF2
// iterations (0 means 2^32) is refused before the derivation, which no
// context could stop once started.
func TestHugeStringToKeyRefused(t *testing.T) {
	ke := realError(t, "preauth_required.der")
	var pas types.PADataSequence
	if err := pas.Unmarshal(ke.EData); err != nil {
		t.Fatal(err)
	}
	for _, iters := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0}} {
		hostile := make(types.PADataSequence, 0, len(pas))
		patched := false
		for _, pa := range pas {
			if pa.PADataType == 19 { // PA-ETYPE-INFO2
				var info types.ETypeInfo2
				if err := info.Unmarshal(pa.PADataValue); err != nil {
					t.Fatal(err)
				}
				for i := range info {
					info[i].S2KParams = iters
				}
				b, err := asn1.Marshal(info)
				if err != nil {
					t.Fatal(err)
				}
				pa.PADataValue, patched = b, true
			}
			hostile = append(hostile, pa)
		}
		if !patched {
			t.Fatal("the recorded error carries no ETYPE-INFO2")
		}
		edata, err := asn1.Marshal(hostile)
		if err != nil {
			t.Fatal(err)
		}
		o := opts("kdc.contoso.test:88")
		cfg, _ := Config(o.Realm, o.KDCs, false)
		req, _ := messages.NewASReqForTGT(o.Realm, cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, o.User))
		if _, err := addEncTimestamp(&req, edata, o); err == nil || !strings.Contains(err.Error(), "string-to-key iterations") {
			t.Errorf("s2kparams %x: %v, want the derivation refused", iters, err)
		}
	}
}

// TestUnroutableKDCIsLocal: when no attempt could leave this machine, the
// error says so, so the spn probe can blame the vantage point instead.
func TestUnroutableKDCIsLocal(t *testing.T) {
	o := opts("kdc.contoso.test:88")
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	}
	_, err := Login(context.Background(), o)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !ue.Local {
		t.Fatalf("got %#v, want a local UnreachableError", err)
	}
	silent := newFakeKDC(t)
	o = opts(silent.addr())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Login(ctx, o); errors.As(err, &ue) && ue.Local {
		t.Fatalf("a silent kdc is not the vantage point's fault: %v", err)
	}
}
