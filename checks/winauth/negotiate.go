package winauth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// NewNegotiate picks Kerberos when krb returns a context (the Kerberos
// context wraps itself in SPNEGO) and otherwise falls back to NTLM, sent
// as raw NTLMSSP in the Negotiate scheme as Windows' Negotiate package
// does when it has no ticket (no SPN, no KDC). fallback is nil when
// Kerberos was picked, and otherwise says why not, wrapping krb's error
// (a *kerb.KDCError, *kerb.UnreachableError…) so the caller can classify
// it. With no ntlm factory there is nothing to fall back to: c is nil.
func NewNegotiate(krb func() (Context, error), ntlm func() Context) (c Context, fallback error) {
	var err error
	if krb != nil {
		if c, err = krb(); err == nil && c != nil {
			return c, nil
		}
	}
	switch {
	case krb == nil:
		fallback = errors.New("negotiate fell back to ntlm because no kerberos logon was configured")
	case err == nil:
		fallback = errors.New("negotiate fell back to ntlm because no kerberos context was made")
	default:
		fallback = fmt.Errorf("negotiate fell back to ntlm because kerberos failed: %w", err)
	}
	if ntlm == nil {
		return nil, fallback
	}
	return ntlm(), fallback
}

// SplitUser splits a Windows account name as the logon dialog reads it:
// DOMAIN\user, user@domain.fqdn (the UPN's suffix as the domain), or a
// bare user with no domain.
func SplitUser(user string) (name, domain string) {
	if d, n, ok := strings.Cut(user, `\`); ok {
		return n, d
	}
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		return user[:i], user[i+1:]
	}
	return user, ""
}

// oidNTLMSSP is NTLM's mechanism in SPNEGO (MS-NLMP 1.9).
var oidNTLMSSP = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}

// unwrapSPNEGO returns the NTLM token of a server answer: raw NTLMSSP as
// is, or the responseToken of an SPNEGO NegTokenResp (IIS answers in
// SPNEGO when it was spoken to in SPNEGO). The size is already bounded.
func unwrapSPNEGO(in []byte) (tok []byte, wrapped bool, err error) {
	if bytes.HasPrefix(in, ntlmSig) {
		return in, false, nil
	}
	r, err := negTokenResp(in)
	if err != nil {
		return nil, false, err
	}
	switch {
	case r.State() == spnego.NegStateReject:
		return nil, false, errors.New("the server rejected ntlm in its spnego answer; check that windows authentication offers ntlm (the Negotiate provider) on the virtual directory")
	case len(r.SupportedMech) != 0 && !r.SupportedMech.Equal(oidNTLMSSP):
		return nil, false, fmt.Errorf("the server chose mechanism %s in its spnego answer where ntlm was offered; check the server's windows authentication providers", r.SupportedMech)
	case len(r.ResponseToken) == 0:
		return nil, false, errors.New("the server's spnego answer carries no ntlm challenge; check the server's windows authentication providers")
	}
	return r.ResponseToken, true, nil
}

// finalSPNEGO checks the server's last token after the AUTHENTICATE.
func finalSPNEGO(in []byte) error {
	r, err := negTokenResp(in)
	if err != nil {
		return err
	}
	switch r.State() {
	case spnego.NegStateAcceptCompleted:
		return nil
	case spnego.NegStateReject:
		return errors.New("the server rejected the ntlm logon; check the user name, the domain and the password")
	default:
		return fmt.Errorf("the server's last spnego answer is state %d where the logon should be complete; check the proxy in front of the server", r.State())
	}
}

func negTokenResp(in []byte) (r spnego.NegTokenResp, err error) {
	if len(in) == 0 || in[0] != 0xa1 {
		return r, errors.New("the server's token is neither ntlm nor an spnego answer; check the proxy in front of the server")
	}
	if err := kerb.Safely(func() error { return r.Unmarshal(in) }); err != nil {
		return r, errors.New("the server's spnego answer does not decode; check the proxy in front of the server")
	}
	return r, nil
}

// wrapSPNEGO answers an SPNEGO server in kind: the AUTHENTICATE as the
// responseToken of a NegTokenResp.
func wrapSPNEGO(auth []byte) ([]byte, error) {
	r := spnego.NegTokenResp{NegState: asn1.Enumerated(spnego.NegStateAcceptIncomplete), ResponseToken: auth}
	b, err := r.Marshal()
	if err != nil {
		return nil, fmt.Errorf("cannot encode the spnego answer: %w", err)
	}
	return b, nil
}
