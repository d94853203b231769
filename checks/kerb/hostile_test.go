package kerb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/kdcserver"
)

func hostileKDC(t *testing.T, hints types.ETypeInfo2) (*kdcserver.Server, string) {
	return hostile.KDC(t, map[string]string{"administrator": secretPassword}, hints)
}

// login runs Login with a guard: before the cap, 2^32-1 iterations ran
// for hours, so the test gives up rather than hang.
func login(t *testing.T, o Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := Login(ctx, o); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Login did not return: the key derivation ignored the deadline")
		return nil
	}
}

// A KDC that offers only RC4 gets no timestamp at all, unless the user
// opted in; one that lists AES after RC4 gets an AES one.
func TestKDCChoosesNoWeakKey(t *testing.T) {
	rc4 := types.ETypeInfo2{{EType: etypeID.RC4_HMAC}}
	srv, addr := hostileKDC(t, rc4)
	err := login(t, opts(addr))
	var we *WeakETypeError
	if !errors.As(err, &we) || srv.Timestamps.Load() != 0 {
		t.Fatalf("err %v, %d timestamps sent, want a refusal before any", err, srv.Timestamps.Load())
	}
	legacy := opts(addr)
	legacy.AllowLegacy = true
	if err := login(t, legacy); errors.As(err, &we) || srv.Timestamps.Load() != 1 {
		t.Fatalf("with --allow-legacy-kerberos: err %v, %d timestamps", err, srv.Timestamps.Load())
	}

	// the real key is AES256; listing RC4 first must not make it the one used
	srv2, addr2 := hostileKDC(t, types.ETypeInfo2{{EType: etypeID.RC4_HMAC}, {EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "CONTOSO.TESTadministrator"}})
	if err := login(t, opts(addr2)); err != nil || srv2.Timestamps.Load() != 1 {
		t.Fatalf("rc4 then aes: err %v, %d timestamps", err, srv2.Timestamps.Load())
	}
}

// s2kparams of 2^32-1 iterations (and 0, which RFC 3962 reads as 2^32)
// are refused before any derivation.
func TestKDCIterationCountIsCapped(t *testing.T) {
	for _, p := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 0, 0, 0}, {0, 2, 0, 0}} {
		srv, addr := hostileKDC(t, types.ETypeInfo2{{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "CONTOSO.TESTadministrator", S2KParams: p}})
		err := login(t, opts(addr))
		var se *S2KParamsError
		if !errors.As(err, &se) || srv.Timestamps.Load() != 0 {
			t.Fatalf("s2kparams %x: err %v", p, err)
		}
	}
	// AD's own 4096 passes
	srv, addr := hostileKDC(t, types.ETypeInfo2{{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "CONTOSO.TESTadministrator", S2KParams: []byte{0, 0, 0x10, 0}}})
	if err := login(t, opts(addr)); err != nil || srv.Timestamps.Load() != 1 {
		t.Fatalf("4096 iterations: %v", err)
	}
}
