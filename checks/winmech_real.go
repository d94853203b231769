package checks

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// realWindowsMech builds the contexts from checks/winauth's Kerberos and
// NTLM clients.
func (e *Env) realWindowsMech(ctx context.Context, u *url.URL) *winMech {
	return &winMech{Requested: strings.ToLower(e.Config.Authentication), SPN: windowsSPN(e.Config, u),
		TicketErr: errors.New("this build of exdiag has no kerberos or ntlm client; use --authentication basic")}
}
