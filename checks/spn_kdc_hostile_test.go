package checks

import (
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/kdcserver"
)

func hostileKDC(t *testing.T, hints types.ETypeInfo2) (*kdcserver.Server, string) {
	return hostile.KDC(t, map[string]string{"administrator": spnTestPassword}, hints)
}

// The spn probe says why it did not log on when the KDC chooses a weak
// or unbounded key derivation, and sent no timestamp with it.
func TestSPNReportsAHostileKeyDerivation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hints  types.ETypeInfo2
		legacy bool
		want   string
	}{
		{"rc4 only", types.ETypeInfo2{{EType: etypeID.RC4_HMAC}}, false, "SPN-KDC-WEAK-ETYPE"},
		{"2^32-1 iterations", types.ETypeInfo2{{EType: etypeID.AES256_CTS_HMAC_SHA1_96, S2KParams: []byte{0xff, 0xff, 0xff, 0xff}}}, false, "SPN-KDC-S2K-COST"},
		// opted in: the rc4 timestamp goes out (the lab KDC holds an AES
		// key, so it refuses it as a wrong password)
		{"rc4 allowed", types.ETypeInfo2{{EType: etypeID.RC4_HMAC}}, true, "SPN-PREAUTH-FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := hostileKDC(t, tc.hints)
			r := runSPNCheck(t, spnConfig(func(c *Config) {
				c.Realm, c.KDCs, c.AllowLegacyKerberos = "CONTOSO.TEST", []string{addr}, tc.legacy
			}))
			if got := findingCodes(r); len(got) != 1 || got[0] != tc.want || r.Status == StatusError {
				t.Fatalf("codes %v status %s (%s), want %s", got, r.Status, r.Error, tc.want)
			}
			if sent := srv.Timestamps.Load(); (sent > 0) != tc.legacy {
				t.Fatalf("%d timestamps sent", sent)
			}
		})
	}
}
