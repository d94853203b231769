package httpauth

import (
	"fmt"
	"net/http"

	"github.com/exdiag/exdiag/checks/adlogon"
)

// PasswordVerdict is what one answer to Basic credentials says about the
// password itself.
type PasswordVerdict int

const (
	PasswordUnknown  PasswordVerdict = iota // nothing definite: a proxy's page, a bare 401
	PasswordAccepted                        // the server authenticated the user
	PasswordRefused                         // IIS's logon failed (401.1) or AD's sub-code
)

// basicRefusal decodes a 401 after Basic: IIS answers 401.1 "logon failed"
// (its remote page: "Access is denied due to invalid credentials") and the
// detailed page carries LogonUser's error as an HRESULT (0x8007052e wrong
// password, 0x80070775 locked out …). A 401 without either may come from a
// proxy or a module that never asked the directory.
func basicRefusal(unauth, b *Response) (adlogon.Failure, bool) {
	if b.Status != http.StatusUnauthorized || !Offers(unauth.Challenges, "Basic") {
		return adlogon.Failure{}, false
	}
	if f, ok := adlogon.FromHResult(b.Page.HResult); ok {
		return f, true
	}
	if sub(b, 1) || b.Page.Sub() < 0 && textHas(b, "due to invalid credentials", "because of invalid credentials") {
		f, _ := adlogon.FromWin32(0x52e)
		f.Win32 = 0 // IIS said logon failed, not which AD state
		f.What = "the logon failed (IIS 401.1): a wrong password, or a locked, expired or disabled account"
		return f, true
	}
	return adlogon.Failure{}, false
}

// BasicVerdict tells the run's credential guard whether the password was
// accepted, definitely refused, or neither, and why, in a few words.
func BasicVerdict(unauth, b Response) (PasswordVerdict, string) {
	if b.Err != "" {
		return PasswordUnknown, ""
	}
	if f, ok := basicRefusal(&unauth, &b); ok {
		s := statusLine(&b)
		if b.Page.HResult != "" {
			s += ", " + b.Page.HResult
		}
		return PasswordRefused, s + ": " + f.What
	}
	switch {
	case b.SOAP, b.Status >= 200 && b.Status < 300:
		return PasswordAccepted, fmt.Sprint(b.Status)
	case (b.Status == 403 || b.Status == 500 || b.Status == 400) && b.Page.FailureCategory != "":
		// Exchange's own module answered: IIS had authenticated the user
		return PasswordAccepted, fmt.Sprint(b.Status)
	}
	return PasswordUnknown, ""
}
