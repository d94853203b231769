package adlogon

import "testing"

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  func() (Failure, bool)
		want Reason
		ok   bool
	}{
		{"ldap 52e", func() (Failure, bool) {
			return FromLDAPDiag("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563")
		}, BadPassword, true},
		{"ldap 775", func() (Failure, bool) {
			return FromLDAPDiag("80090308: LdapErr: DSID-0C09030B, comment: AcceptSecurityContext error, data 775, v893")
		}, Locked, true},
		{"ldap 773", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 773, v4563") }, PasswordExpired, true},
		{"ldap 532", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 532, v4563") }, PasswordExpired, true},
		{"ldap 701", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 701, v4563") }, AccountExpired, true},
		{"ldap 530", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 530, v4563") }, Restricted, true},
		{"ldap 531", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 531, v4563") }, Restricted, true},
		{"ldap 533", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 533, v4563") }, Disabled, true},
		{"openldap 49 has no sub-code", func() (Failure, bool) { return FromLDAPDiag("Invalid credentials") }, 0, false},
		{"unknown sub-code", func() (Failure, bool) { return FromLDAPDiag("AcceptSecurityContext error, data 525, v4563") }, 0, false},
		{"iis hresult", func() (Failure, bool) { return FromHResult("0x80070775") }, Locked, true},
		{"iis hresult upper case", func() (Failure, bool) { return FromHResult("0x8007052E") }, BadPassword, true},
		{"other hresult", func() (Failure, bool) { return FromHResult("0x80070005") }, 0, false},
		{"kdc ntstatus locked", func() (Failure, bool) { return FromNTStatus(0xC0000234) }, Locked, true},
		{"kdc ntstatus must change", func() (Failure, bool) { return FromNTStatus(0xC0000224) }, PasswordExpired, true},
		{"kdc ntstatus logon hours", func() (Failure, bool) { return FromNTStatus(0xC000006F) }, Restricted, true},
	} {
		f, ok := tc.got()
		if ok != tc.ok || ok && (f.Reason != tc.want || f.What == "") {
			t.Errorf("%s: got %+v %v, want %v %v", tc.name, f, ok, tc.want, tc.ok)
		}
	}
}

func TestCodes(t *testing.T) {
	if Code("AUTH", BadPassword) != "AUTH-BAD-CREDENTIALS" || Code("SPN", BadPassword) != "SPN-PREAUTH-FAILED" ||
		Code("SPN", Locked) != "SPN-ACCOUNT-LOCKED" || Code("AUTH", Restricted) != "AUTH-LOGON-RESTRICTED" {
		t.Fatal("codes changed: they are a contract with tickets")
	}
	seen := map[string]bool{}
	for _, c := range append(Codes("AUTH"), Codes("SPN")...) {
		if seen[c] {
			t.Errorf("%s twice", c)
		}
		seen[c] = true
	}
	if len(seen) != 12 {
		t.Errorf("%d codes, want 6 per check", len(seen))
	}
}
