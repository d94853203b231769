package kerb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestCaptureRealKRBErrors refreshes testdata/*.der from a real MIT KDC
// (scripts/servers/kdc.sh): KRB_CAPTURE_KDC=127.0.0.1:PORT go test -run Capture.
// The classifier tests then run on those bytes without a KDC.
func TestCaptureRealKRBErrors(t *testing.T) {
	kdc := os.Getenv("KRB_CAPTURE_KDC")
	if kdc == "" {
		t.Skip("set KRB_CAPTURE_KDC to a kdc started by scripts/servers/kdc.sh to refresh testdata")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := Options{Realm: "CONTOSO.TEST", User: "administrator", Password: "Lab-Admin-Pass1", KDCs: []string{kdc}}
	save := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	asReq := func(user string) []byte {
		cfg, _ := Config(o.Realm, o.KDCs, false)
		req, err := messages.NewASReqForTGT(o.Realm, cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := req.Marshal()
		return b
	}
	os.MkdirAll("testdata", 0o755)
	r, err := exchange(ctx, o, "tcp", kdc, asReq("administrator"))
	if err != nil {
		t.Fatal(err)
	}
	save("preauth_required.der", r)
	if r, err = exchange(ctx, o, "tcp", kdc, asReq("no-such-user")); err != nil {
		t.Fatal(err)
	}
	save("c_principal_unknown.der", r)

	// wrong password: the real AS-REQ with a timestamp in the wrong key
	var ke messages.KRBError
	ke.Unmarshal(mustRead(t, "preauth_required.der"))
	cfg, _ := Config(o.Realm, o.KDCs, false)
	req, _ := messages.NewASReqForTGT(o.Realm, cfg, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "administrator"))
	bad := o
	bad.Password = "not-the-password"
	if _, err := addEncTimestamp(&req, ke.EData, bad); err != nil {
		t.Fatal(err)
	}
	b, _ := req.Marshal()
	if r, err = exchange(ctx, o, "tcp", kdc, b); err != nil {
		t.Fatal(err)
	}
	save("preauth_failed.der", r)

	s, err := Login(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	treq, _ := messages.NewTGSReq(s.cname, o.Realm, s.cfg, s.tgt, s.key, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "HTTP/mail.contoso.test"), false)
	b, _ = treq.Marshal()
	if r, err = exchange(ctx, o, "tcp", kdc, b); err != nil {
		t.Fatal(err)
	}
	save("s_principal_unknown.der", r)
	var e2 *KDCError
	if err := s.Ticket(ctx, "HTTP/mail.contoso.test"); !errors.As(err, &e2) {
		t.Fatalf("want a KDC error, got %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
