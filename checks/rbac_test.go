package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"testing"

	"github.com/exdiag/exdiag/checks/wsman"
)

func TestClassifySession(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"winrm shell quota", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrQuotaMaxShellsPPQ}, "RBAC-SHELL-QUOTA"},
		{"winrm max shells", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrQuotaMaxShells}, "RBAC-SHELL-QUOTA"},
		{"exchange max concurrency", &wsman.Fault{HTTPStatus: 500, Code: 2150858843, Message: "Fail to create a runspace because you have exceeded the maximum number of connections allowed : 18 for the policy party : MaxConcurrency."}, "RBAC-SHELL-QUOTA"},
		{"overbudget category", &wsman.Fault{HTTPStatus: 500, FailureCategory: "WSMan-OverBudgetException"}, "RBAC-SHELL-QUOTA"},
		{"plain access denied", &wsman.Fault{HTTPStatus: 400, Message: "[Server=CAS1] Access is denied."}, "RBAC-REMOTEPS-DISABLED"},
		{"authz category", &wsman.Fault{HTTPStatus: 400, FailureCategory: "AuthZ-CmdletAccessDeniedException"}, "RBAC-REMOTEPS-DISABLED"},
		{"no management role", &wsman.SessionError{Phase: "open", State: 5, Message: `The user "CONTOSO\x" isn't assigned to any management roles.`}, "RBAC-REMOTEPS-DISABLED"},
		{"e_accessdenied", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrAccessDenied}, "RBAC-REMOTEPS-DISABLED"},
		{"401 is not rbac", &wsman.Fault{HTTPStatus: 401, Message: "Access is denied due to invalid credentials."}, "RBAC-SESSION-FAILED"},
		{"resource uri", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrInvalidResourceURI}, "RBAC-SESSION-FAILED"},
		{"shell not found", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrUnexpectedSelector}, "RBAC-SESSION-FAILED"},
		{"generic quota", &wsman.Fault{HTTPStatus: 500, Code: wsman.ErrQuotaLimit}, "RBAC-SESSION-FAILED"},
		{"pool broken", &wsman.SessionError{Phase: "open", State: 5, Message: "x"}, "RBAC-SESSION-FAILED"},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), "RBAC-SESSION-FAILED"},
		{"network", &net.OpError{Op: "dial", Err: errors.New("refused")}, "RBAC-SESSION-FAILED"},
	}
	for _, c := range cases {
		if got := classifySession("t", c.err); got.Code != c.want || got.Summary == "" {
			t.Errorf("%s: %s (%s)", c.name, got.Code, got.Summary)
		}
	}
}

func TestRBACInputs(t *testing.T) {
	u, _ := url.Parse("https://mail.contoso.test/PowerShell")
	h, _ := url.Parse("http://mail.contoso.test/PowerShell")
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{URI: u}, "no credentials given (--user …)"},
		{Config{URI: u, User: "u"}, "no credentials given (--user …)"},
		{Config{URI: h, User: "u", Password: NewSecret("p")}, "the uri is not https; exdiag sends basic credentials only over https"},
		{Config{URI: u, User: "u", Password: NewSecret("p"), Authentication: "negotiate"}, ""},
		{Config{URI: h, User: "u", Password: NewSecret("p"), Authentication: "kerberos"}, ""}, // sealed
		{Config{URI: u, User: "u", Password: NewSecret("p"), Authentication: "digest"}, "the rbac probe logs on with basic, kerberos, negotiate or ntlm authentication; run it with one of those"},
		{Config{URI: u, User: "u", Password: NewSecret("p"), Authentication: "Basic"}, ""},
	}
	for i, c := range cases {
		if got := rbacInputs(&c.cfg); got != c.want {
			t.Errorf("#%d: %q", i, got)
		}
	}
}

func TestMissingAndImportCount(t *testing.T) {
	have := []string{"Get-Command", "Get-Mailbox", "Out-Default", "set-mailbox"}
	if got := missing(have, []string{"Set-Mailbox", "get-MAILBOX", "New-Mailbox", "new-mailbox", " "}); !slices.Equal(got, []string{"New-Mailbox"}) {
		t.Errorf("missing %v", got)
	}
	if n := importCount(have); n != 2 {
		t.Errorf("import count %d", n)
	}
}
