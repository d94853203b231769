package tlsinspect

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
)

const (
	aiaMaxBytes = 64 << 10 // a CA certificate is 1-2 KiB
	aiaMaxDepth = 3
)

// fetchIssuers follows AIA "CA Issuers" URLs upward from c, at most
// aiaMaxDepth steps, stopping at a self-issued certificate.
func fetchIssuers(ctx context.Context, c *x509.Certificate, fetch func(context.Context, string) ([]*x509.Certificate, error)) []*x509.Certificate {
	var out []*x509.Certificate
	for i := 0; i < aiaMaxDepth && !selfIssued(c) && len(c.IssuingCertificateURL) > 0; i++ {
		got, err := fetch(ctx, c.IssuingCertificateURL[0])
		if err != nil || len(got) == 0 {
			break
		}
		out = append(out, got...)
		c = got[0]
	}
	return out
}

// AIAFetcher returns a bounded HTTP fetcher of issuer certificates that
// dials through dial (AIA URLs are on the CA's own servers, so no --resolve
// applies, but tests still inject the dialer); each fetch takes at most
// timeout (the checks package passes AIAFetchBudget).
func AIAFetcher(dial netx.DialFunc, timeout time.Duration) func(ctx context.Context, url string) ([]*x509.Certificate, error) {
	aiaTimeout := timeout
	// The Transport may finish a dial after its request is cancelled; the
	// deadline on the connection keeps that bounded too.
	bounded := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil {
			c.SetDeadline(time.Now().Add(aiaTimeout))
		}
		return c, err
	}
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:            bounded,
			TLSHandshakeTimeout:    aiaTimeout,
			ResponseHeaderTimeout:  aiaTimeout,
			Proxy:                  nil,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 16 << 10,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	return func(ctx context.Context, raw string) ([]*x509.Certificate, error) {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("AIA URL %q is not http", raw)
		}
		ctx, cancel := context.WithTimeout(ctx, aiaTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("AIA URL %s answered %s", raw, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, aiaMaxBytes))
		if err != nil {
			return nil, err
		}
		if b, _ := pem.Decode(data); b != nil {
			data = b.Bytes
		}
		return x509.ParseCertificates(data)
	}
}
