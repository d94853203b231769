package wsman

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/checks/tlsinspect"
)

// Client sends WS-Management requests for one remote PowerShell endpoint,
// one at a time.
type Client struct {
	HTTP        *http.Client
	URL         string // endpoint with ?PSVersion=5.1
	ResourceURI string
	User        string
	password    func() string // a closure, so no %v of the client can print it
	// MaxBody caps every answer read (default 4 MiB).
	MaxBody int64
	// Budgets are the session's time limits.
	Budgets Budgets
	// RoundTrips counts the HTTP requests sent.
	RoundTrips int
	// FirstAnswer, when set, hears the answer to the client's first
	// request (a session's Create) before the session goes on, so another
	// probe can classify that logon instead of sending one of its own. It
	// is called once, must not block, and must not keep Answer.Body
	// beyond what it reads.
	FirstAnswer func(Answer)

	sessionID string
	sleep     func(ctx context.Context, d time.Duration) error // tests see the back-off without waiting
	streams   streams                                          // the stream data of the shell Create made
}

// Budgets are the time limits of one session. The checks package passes
// its budget block (checks/budgets.go), so every budget is set in one
// place; a zero Request leaves a request to the caller's deadline only.
type Budgets struct {
	Request     time.Duration // one WS-Management request, answer read included
	ReceiveWait time.Duration // what a Receive asks the server to hold for output (OperationTimeout)
	Delete      time.Duration // Signal and Delete of the shell while the caller has time
	LateDelete  time.Duration // Signal and Delete after the caller's deadline or cancellation
}

// Answer is what an HTTP request got, for FirstAnswer: the status, the
// headers and the body as read (at most MaxBody+1 bytes), or the
// transport's error (Status 0). Err with a Status is a body cut short.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
}

// NewClient returns a client for endpoint (https only: Basic credentials
// never travel in clear) that logs on as user.
func NewClient(hc *http.Client, endpoint *url.URL, resourceURI, user, password string, b Budgets) (*Client, error) {
	if endpoint == nil || endpoint.Scheme != "https" {
		return nil, errors.New("the remote powershell uri must be https; basic credentials are never sent over plain http")
	}
	c := newClient(hc, endpoint, resourceURI, user, b)
	c.password = func() string { return password }
	return c, nil
}

// NewWindowsClient returns a client whose transport authenticates the
// connection (winauth.Transport: Kerberos or NTLM), so its requests carry
// no credentials of their own. Over http the transport must seal every
// body (sealed), since a session never travels in clear.
func NewWindowsClient(hc *http.Client, endpoint *url.URL, resourceURI, user string, sealed bool, b Budgets) (*Client, error) {
	switch {
	case endpoint == nil:
		return nil, errors.New("no remote powershell uri")
	case endpoint.Scheme == "http" && !sealed:
		return nil, errors.New("a remote powershell session over plain http must be sealed; use an https uri")
	case endpoint.Scheme != "https" && endpoint.Scheme != "http":
		return nil, fmt.Errorf("the remote powershell uri must be https or http, not %q", endpoint.Scheme)
	}
	return newClient(hc, endpoint, resourceURI, user, b), nil
}

func newClient(hc *http.Client, endpoint *url.URL, resourceURI, user string, b Budgets) *Client {
	u := *endpoint
	q := u.Query()
	q.Set("PSVersion", "5.1")
	u.RawQuery = q.Encode()
	return &Client{HTTP: hc, URL: u.String(), ResourceURI: resourceURI, User: user,
		MaxBody: 4 << 20, Budgets: b, sessionID: psrp.NewGUID().String()}
}

// NewHTTPClient builds the one HTTP client of a session: TLS as tc says
// (tlsinspect.ClientConfig), connections through dial, a cookie jar so a
// load balancer keeps the shell on one server.
func NewHTTPClient(dial netx.DialFunc, tc *tls.Config) *http.Client {
	return NewSessionClient(&http.Transport{
		DialContext:            dial,
		DialTLSContext:         tlsinspect.DialTLS(dial, tc, 0), // verifies an IP host too
		TLSClientConfig:        tc,
		ForceAttemptHTTP2:      false,
		MaxIdleConnsPerHost:    1,
		Proxy:                  nil,
		MaxResponseHeaderBytes: maxHeaderBytes,
	})
}

// NewSessionClient is the HTTP client of a session over tr (a transport
// shared with other requests to the same endpoint): its own bounded cookie
// jar, so a load balancer keeps the shell on one server, and no redirects.
func NewSessionClient(tr http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport: tr,
		Jar:       &boundedJar{jar: jar},
		// a redirect would carry the credentials elsewhere; report it instead
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (c *Client) header(action, shellID string, maxEnv int) header {
	return header{To: c.URL, ResourceURI: c.ResourceURI, Action: action, MessageID: psrp.NewGUID().String(),
		SessionID: c.sessionID, MaxEnvelope: maxEnv, Timeout: fmt.Sprintf("PT%dS", int(c.Budgets.ReceiveWait/time.Second)), ShellID: shellID}
}

// post sends one envelope and returns the 200 answer's body, or a *Fault.
func (c *Client) post(ctx context.Context, action, body string) ([]byte, error) {
	if c.Budgets.Request > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Budgets.Request)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("User-Agent", "Microsoft WinRM Client")
	if c.password != nil { // nil: the transport authenticates the connection
		req.SetBasicAuth(c.User, c.password())
	}
	c.RoundTrips++
	hear := c.FirstAnswer
	c.FirstAnswer = nil
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if hear != nil {
			hear(Answer{Err: err})
		}
		return nil, err
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = 4 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if hear != nil {
		hear(Answer{Status: resp.StatusCode, Header: resp.Header, Body: data, Err: err})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %v", action, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: the answer exceeds %d bytes", action, limit)
	}
	if resp.StatusCode != http.StatusOK {
		f := ParseFault(resp.StatusCode, resp.Header.Get("X-RemotePS-FailureCategory"), data)
		f.Action = action
		return nil, f
	}
	return data, nil
}

// Create opens a shell whose creationXml carries the given fragments,
// asking for its output compressed, as PowerShell does by default.
func (c *Client) Create(ctx context.Context, shellID psrp.GUID, creation [][]byte) (string, error) {
	h := c.header(ActionCreate, "", 153600)
	h.Options = []option{{Name: "protocolversion", Value: "2.3", MustComply: true}}
	h.OptionsMustUnderstand = true
	h.Compression = CompressionXpress
	body, err := c.post(ctx, "Create", createEnvelope(h, shellID, creation))
	if err != nil {
		return "", err
	}
	id, mode, err := parseCreated(body)
	c.streams.reset(mode)
	return id, err
}

// Receive asks for output of the shell (commandID "") or of a command.
func (c *Client) Receive(ctx context.Context, shellID, commandID string) (Received, error) {
	h := c.header(ActionReceive, shellID, 512000)
	// ask the server to answer "no data yet" well before our own deadline,
	// so a slow server costs a retry, not a cut connection
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) / 2; left < c.Budgets.ReceiveWait {
			h.Timeout = fmt.Sprintf("PT%.3fS", max(left, time.Second).Seconds())
		}
	}
	h.Options = []option{{Name: "WSMAN_CMDSHELL_OPTION_KEEPALIVE", Value: "True"}}
	h.OptionsMustUnderstand = true
	body, err := c.post(ctx, "Receive", receiveEnvelope(h, commandID))
	if err != nil {
		return Received{}, err
	}
	r, err := ParseReceive(body)
	if err != nil {
		return r, err
	}
	// the shell's compression is the client's to undo, so every caller
	// of Receive gets PSRP fragments
	budget := maxExpanded
	for i, chunk := range r.Chunks {
		data, err := c.streams.data(chunk, min(budget, maxChunk))
		if err != nil {
			return Received{}, err
		}
		budget -= len(data)
		r.Chunks[i] = data
	}
	return r, nil
}

// Command starts a pipeline whose first fragments travel in rsp:Arguments.
func (c *Client) Command(ctx context.Context, shellID string, commandID psrp.GUID, args [][]byte) (string, error) {
	h := c.header(ActionCommand, shellID, 512000)
	h.Options = []option{{Name: "WINRS_SKIP_CMD_SHELL", Value: "False"}}
	h.OptionsMustUnderstand = true
	body, err := c.post(ctx, "Command", commandEnvelope(h, commandID, args))
	if err != nil {
		return "", err
	}
	return ParseCommandID(body)
}

// Signal sends a signal (SignalTerminate) to a command.
func (c *Client) Signal(ctx context.Context, shellID, commandID, code string) error {
	_, err := c.post(ctx, "Signal", signalEnvelope(c.header(ActionSignal, shellID, 512000), commandID, code))
	return err
}

// Delete closes the shell and everything in it.
func (c *Client) Delete(ctx context.Context, shellID string) error {
	_, err := c.post(ctx, "Delete", deleteEnvelope(c.header(ActionDelete, shellID, 512000)))
	return err
}

// Cookie budgets. A load balancer's affinity cookie is one or two small
// cookies; RFC 6265 section 6.1 asks a client to hold at least 50 per
// domain of 4096 bytes each, so that is what is kept. Without a bound, a
// server sending thousands of cookies per answer made net/http build the
// Cookie header quadratically, past the probe's deadline. IIS answers
// with a few KB of headers; 64 KiB leaves room for any proxy.
const (
	maxCookiesPerHost = 50
	maxCookieBytes    = 4096
	maxHeaderBytes    = 64 << 10
)

// boundedJar is a cookie jar that keeps at most maxCookiesPerHost cookies
// of at most maxCookieBytes for each URL; cookies beyond are dropped, as a
// browser drops them.
type boundedJar struct {
	mu  sync.Mutex
	jar http.CookieJar
}

func (j *boundedJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	have := map[string]bool{}
	for _, c := range j.jar.Cookies(u) {
		have[c.Name] = true
	}
	var keep []*http.Cookie
	for _, c := range cookies {
		if len(c.Name)+len(c.Value) > maxCookieBytes {
			continue
		}
		if !have[c.Name] {
			if len(have) >= maxCookiesPerHost {
				continue
			}
			have[c.Name] = true
		}
		keep = append(keep, c)
	}
	if len(keep) > 0 {
		j.jar.SetCookies(u, keep)
	}
}

func (j *boundedJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.jar.Cookies(u)
}
