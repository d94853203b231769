package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// --uri https://IP/PowerShell with a certificate for that IP (httptest's
// carries 127.0.0.1): the session probes verify the IP as the tls probe
// does, rather than failing with "not valid for any names".
func TestSessionProbesVerifyAnIPHost(t *testing.T) {
	fx := newAuthFixture(t, &fakeVdir{})
	u, _ := url.Parse(fmt.Sprintf("https://127.0.0.1:%d/PowerShell", fx.cfg.Port))
	fx.cfg.URI, fx.cfg.Host, fx.cfg.Resolve = u, "127.0.0.1", nil
	fx.cfg.User, fx.cfg.Password = "u", NewSecret("p")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, run := range map[string]func(context.Context, *Env) Outcome{"auth": runAuth, "rbac": runRBAC} {
		o := run(ctx, fx.env)
		b, _ := json.Marshal(o.Observed)
		text := fmt.Sprint(o.Err, o.Findings, string(b))
		if strings.Contains(text, "x509") || strings.Contains(text, "certificate") {
			t.Errorf("%s: a certificate error for a valid IP-SAN certificate: %s", name, text)
		}
	}
}
