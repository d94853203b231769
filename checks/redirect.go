package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/netx"
)

// RedirectCheck asks whether plain http is sent to https, and whether the
// https side asks browsers to stay there (HSTS).
var RedirectCheck = Check{
	ID:       IDRedirect,
	Title:    "HTTP to HTTPS",
	Doc:      "plain http is sent to https so no credential goes in clear",
	Requires: []string{IDDNS},
	Inputs: func(c *Config) string {
		if c.URI == nil {
			return "no --uri given"
		}
		return ""
	},
	Codes: []string{"HTTP-NOT-REDIRECTED", "HTTP-BASIC-OVER-HTTP", "HTTP-REDIRECT-ELSEWHERE", "HTTP-PORT-CLOSED", "HTTP-NO-HSTS"},
	Run:   runRedirect,
}

// maxBody bounds what the redirect probe reads of any answer.
const maxBody = 64 << 10

// RedirectObserved is the redirect check's evidence.
type RedirectObserved struct {
	URL        string   `json:"url"`
	Status     int      `json:"status,omitempty"`
	Location   string   `json:"location,omitempty"`
	Challenges []string `json:"challenges,omitempty"`
	Error      string   `json:"error,omitempty"`
	HTTPSURL   string   `json:"https_url,omitempty"`
	HSTS       string   `json:"hsts"`
	HSTSError  string   `json:"hsts_error,omitempty"`
}

// plainAnswer is what the plain-http GET saw.
type plainAnswer struct {
	status     int
	location   string
	challenges []string
	connected  bool  // the TCP connection was established
	err        error // no complete answer
}

func runRedirect(ctx context.Context, env *Env) Outcome {
	cfg := env.Config
	ctx, cancel := probeContext(ctx, env)
	defer cancel()
	httpPort := cfg.HTTPPort
	if httpPort == 0 {
		httpPort = 80
	}
	want := cfg.URI
	if strings.EqualFold(cfg.URI.Scheme, "http") {
		// the user connects over http already: that host and port is the
		// plain-http endpoint in question, and https on its default port
		// is where it should send them
		httpPort = cfg.Port
		want = &url.URL{Scheme: "https", Host: cfg.URI.Hostname(), Path: cfg.URI.Path}
	}
	plainURL := &url.URL{Scheme: "http", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(httpPort)), Path: cfg.URI.Path}
	if plainURL.Path == "" {
		plainURL.Path = "/PowerShell"
	}
	obs := RedirectObserved{URL: plainURL.String()}

	var wg sync.WaitGroup
	var plain plainAnswer
	wg.Add(1)
	go func() {
		defer wg.Done()
		plain = getPlain(ctx, env, plainURL)
	}()
	hsts, hstsErr, checkedHSTS := "", error(nil), false
	if cfg.URI.Scheme == "https" {
		checkedHSTS = true
		obs.HTTPSURL = cfg.URI.String()
		hsts, hstsErr = getHSTS(ctx, env, cfg.URI)
	}
	wg.Wait()

	// Location, challenges and HSTS are server text. The auth probe runs
	// at the same time, so a server can hold this GET until it has seen
	// the Basic header there and echo the password here.
	sec := newRedactor(cfg)
	plain.location = sec.clean(plain.location)
	for i, c := range plain.challenges {
		plain.challenges[i] = sec.clean(c)
	}
	hsts = sec.clean(hsts)
	obs.Status, obs.Location, obs.Challenges = plain.status, plain.location, plain.challenges
	if plain.err != nil {
		obs.Error = sec.clean(plain.err.Error())
	}
	obs.HSTS = hsts
	if hstsErr != nil {
		obs.HSTSError = sec.clean(hstsErr.Error())
	}
	target := cfg.Host + ":" + strconv.Itoa(httpPort)
	var op *net.OpError
	if plain.err != nil && !plain.connected && !(errors.As(plain.err, &op) && op.Op == "dial") && !netx.IsTimeout(plain.err) {
		// No address to connect to (the dns check says why): nothing was
		// learnt about the plain-http port.
		return Outcome{Observed: obs, Err: fmt.Errorf("cannot check plain http on %s: %s", target, obs.Error)}
	}
	findings := classifyPlain(plain, plainURL, want, target)
	for i := range findings {
		findings[i].Summary = sec.secretsOnly(findings[i].Summary) // error texts of the wire
		findings[i].Params = map[string]string{catalog.ParamHost: plainURL.Hostname(), catalog.ParamHTTPPort: plainURL.Port(), catalog.ParamLocation: plain.location}
	}
	if want != cfg.URI && isNegotiate(cfg) {
		for i, f := range findings {
			if f.Code == "HTTP-NOT-REDIRECTED" {
				// Kerberos over http, with WinRM's message encryption, is
				// the internal default the seed describes: not broken
				findings[i].Downgrade = SevInfo
				findings[i].Summary += "; with negotiate (kerberos, message-encrypted) over http this is the supported internal path"
			}
		}
	}
	if checkedHSTS && hstsErr == nil && hsts == "" {
		findings = append(findings, Finding{Code: "HTTP-NO-HSTS", Target: cfg.URI.String(),
			Summary: "the https answer carries no Strict-Transport-Security header, so browsers may try plain http first"})
	}
	return Outcome{Observed: obs, Summary: redirectSummary(obs), Findings: findings}
}

// noCredentialsClient never follows a redirect, never uses a proxy from the
// environment, and dials through dial. No request built for it ever
// carries an Authorization header. Every connection it opens is bound to
// ctx's deadline: the Transport finishes dials and handshakes in the
// background even after a request is cancelled, so without it a silent
// server would hold a goroutine forever.
func noCredentialsClient(ctx context.Context, dial netx.DialFunc) *http.Client {
	deadline, bounded := ctx.Deadline()
	bound := func(dctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil && bounded {
			c.SetDeadline(deadline)
		}
		return c, err
	}
	tr := &http.Transport{
		DialContext: bound,
		Proxy:       nil,
		// No credential is sent; trust is the tls probe's question.
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxBody,
	}
	if bounded {
		tr.TLSHandshakeTimeout = time.Until(deadline)
		tr.ResponseHeaderTimeout = time.Until(deadline)
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func getPlain(ctx context.Context, env *Env, u *url.URL) plainAnswer {
	var a plainAnswer
	var mu sync.Mutex
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := env.DialTarget(ctx, network, addr)
		if err == nil {
			mu.Lock()
			a.connected = true
			mu.Unlock()
		}
		return c, err
	}
	status, hdr, err := get(ctx, noCredentialsClient(ctx, dial), u)
	mu.Lock()
	defer mu.Unlock()
	a.status, a.err = status, err
	if hdr != nil {
		a.location = hdr.Get("Location")
		a.challenges = hdr.Values("WWW-Authenticate")
	}
	return a
}

func getHSTS(ctx context.Context, env *Env, u *url.URL) (string, error) {
	_, hdr, err := get(ctx, noCredentialsClient(ctx, env.DialTarget), u)
	if err != nil {
		return "", err
	}
	return hdr.Get("Strict-Transport-Security"), nil
}

// get sends one GET and reads at most maxBody of the answer, all under ctx.
func get(ctx context.Context, client *http.Client, u *url.URL) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", "exdiag")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	// The body is read (bounded) so a server that trickles it still ends
	// within ctx; its content is not needed, and the headers are enough
	// even when it never ends.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, resp.Header, nil
}

var basicChallenge = regexp.MustCompile(`(?i)(^|,)\s*basic(\s|,|$)`)

// classifyPlain judges the plain-http answer. want is the --uri.
func classifyPlain(a plainAnswer, asked, want *url.URL, target string) []Finding {
	if a.err != nil {
		switch {
		case !a.connected && errors.Is(a.err, syscall.ECONNREFUSED):
			return []Finding{{Code: "HTTP-PORT-CLOSED", Target: target, Summary: "nothing listens on " + target + " (connection refused)"}}
		case !a.connected:
			return []Finding{{Code: "HTTP-PORT-CLOSED", Target: target, Summary: "no connection to " + target + " (" + shortErr(a.err) + ")"}}
		default:
			return []Finding{{Code: "HTTP-NOT-REDIRECTED", Target: target, Summary: "the plain-http port accepted the connection but gave no complete answer (" + shortErr(a.err) + "); it should answer with a redirect to https"}}
		}
	}
	var out []Finding
	switch a.status {
	case 301, 302, 303, 307, 308:
		loc, err := asked.Parse(a.location)
		if a.location == "" || err != nil {
			return []Finding{{Code: "HTTP-REDIRECT-ELSEWHERE", Target: target, Summary: fmt.Sprintf("http answers %d with an unusable Location %q", a.status, a.location)}}
		}
		if why := redirectMismatch(loc, want); why != "" {
			out = append(out, Finding{Code: "HTTP-REDIRECT-ELSEWHERE", Target: target,
				Summary: fmt.Sprintf("http redirects (%d) to %s, %s", a.status, loc, why)})
		}
		return out
	}
	out = append(out, Finding{Code: "HTTP-NOT-REDIRECTED", Target: target,
		Summary: fmt.Sprintf("GET %s answers %d instead of redirecting to https", asked, a.status)})
	for _, c := range a.challenges {
		if basicChallenge.MatchString(c) {
			out = append(out, Finding{Code: "HTTP-BASIC-OVER-HTTP", Target: target,
				Summary: fmt.Sprintf("plain http offers Basic authentication (%s): a client would send the password in clear text", clip(c, 120))})
			break
		}
	}
	return out
}

// redirectMismatch says how loc differs from the https URI the client
// should land on, or "" when it is that URI.
func redirectMismatch(loc, want *url.URL) string {
	if loc.Scheme != "https" {
		return "which is not https"
	}
	if !strings.EqualFold(loc.Hostname(), want.Hostname()) {
		return "another host than " + want.Hostname()
	}
	if port(loc) != port(want) {
		return "another port than " + port(want)
	}
	// IIS paths are case-insensitive; a trailing slash is the same vdir.
	if !strings.EqualFold(strings.TrimSuffix(loc.Path, "/"), strings.TrimSuffix(want.Path, "/")) {
		return "another path than " + want.Path
	}
	return ""
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func shortErr(err error) string {
	if netx.IsTimeout(err) {
		return "no answer within the deadline"
	}
	return clip(err.Error(), 160)
}

// clip bounds server-chosen text in a summary, never cutting a character.
func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// redirectSummary says what plain http answered and whether HSTS is set.
func redirectSummary(o RedirectObserved) string {
	s := "http: nothing listens"
	switch {
	case o.Status != 0 && o.Location != "":
		s = fmt.Sprintf("http %d to %s", o.Status, o.Location)
	case o.Status != 0:
		s = fmt.Sprintf("http %d", o.Status)
	}
	if o.HSTS != "" {
		s += "; HSTS " + o.HSTS
	}
	return s
}
