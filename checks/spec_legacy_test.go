package checks

import "testing"

func TestSpecCarriesAllowLegacyKerberos(t *testing.T) {
	for _, allow := range []bool{false, true} {
		c, err := Spec{URI: "https://mail.contoso.test/PowerShell", AllowLegacyKerberos: allow}.Config()
		if err != nil || c.AllowLegacyKerberos != allow {
			t.Fatalf("allow %v: %+v, %v", allow, c, err)
		}
	}
}
