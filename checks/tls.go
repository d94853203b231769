package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/exdiag/exdiag/checks/catalog"
	"github.com/exdiag/exdiag/checks/tlsinspect"
)

// TLSCheck verifies the chain the client receives, and the chain each
// --backend presents to the proxy.
var TLSCheck = Check{
	ID:       IDTLS,
	Title:    "TLS certificate chain",
	Doc:      "the chain a client receives is trusted, complete, valid and for this name",
	Requires: []string{IDDNS},
	Backends: true,
	Inputs: func(c *Config) string {
		if c.URI == nil {
			return "no --uri given"
		}
		if c.URI.Scheme != "https" && len(c.Backends) == 0 {
			return "the --uri is not https; there is no certificate to check"
		}
		return ""
	},
	Codes: []string{
		tlsinspect.CodeConnectFailed, tlsinspect.CodeUntrustedRoot, tlsinspect.CodeIncompleteChain,
		tlsinspect.CodeNameMismatch, tlsinspect.CodeExpired, tlsinspect.CodeNotYetValid,
		tlsinspect.CodeExpiresSoon, tlsinspect.CodeExpiresImminent, tlsinspect.CodeWeak, tlsinspect.CodeBackendUntrusted,
	},
	Run: runTLS,
}

// TLSObserved is the tls check's evidence.
type TLSObserved struct {
	TLSEndpoint
	Backends []TLSEndpoint `json:"backends,omitempty"`
}

// TLSEndpoint is what one handshake showed.
type TLSEndpoint struct {
	URL            string            `json:"url,omitempty"`
	Address        string            `json:"address"`
	TLSVersion     string            `json:"tls_version"`
	CipherSuite    string            `json:"cipher_suite"`
	ALPN           string            `json:"alpn"`
	Chain          []tlsinspect.Cert `json:"chain"`
	VerifiedChain  []tlsinspect.Cert `json:"verified_chain"`
	LegacyAccepted string            `json:"legacy_version_accepted,omitempty"`
	Error          string            `json:"error,omitempty"`
}

func runTLS(ctx context.Context, env *Env) Outcome {
	cfg := env.Config
	roots, extra, err := env.Trust()
	if err != nil {
		return Outcome{Err: err}
	}
	ctx, cancel := probeContext(ctx, env)
	defer cancel()
	base := tlsinspect.Options{Dial: env.DialTarget, Roots: roots, Extra: extra, Now: env.Now()}
	if cfg.FetchAIA {
		// AIA URLs point at the CA's servers, not the target: plain dialling.
		base.FetchAIA = tlsinspect.AIAFetcher(env.Dial, AIAFetchBudget)
	}

	var obs TLSObserved
	var findings []Finding
	var wg sync.WaitGroup
	var mu sync.Mutex
	if cfg.URI.Scheme == "https" {
		wg.Add(1)
		// Its own handshake, not the session's first one (issue 15): it
		// offers h2 and http/1.1 to report what the server selects, which
		// the HTTP/1.1 session cannot offer, and it must complete against
		// a chain the session's verification refuses. It costs no round
		// trip on the run's critical path, which is the rbac session's.
		go func() {
			defer wg.Done()
			o := base
			o.Addr = net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
			o.ServerName, o.Legacy = cfg.Host, true
			r := tlsinspect.Inspect(ctx, o)
			fs := toFindings(o.Addr, targetParams(cfg.URI, false), tlsinspect.Classify(r, tlsinspect.Policy{Host: cfg.Host, Now: base.Now, SkipCA: cfg.SkipCACheck, SkipCN: cfg.SkipCNCheck, WarnBefore: cfg.ExpiryWarn, CritBefore: cfg.ExpiryCrit}))
			mu.Lock()
			obs.TLSEndpoint = endpoint(r)
			findings = append(fs, findings...)
			mu.Unlock()
		}()
	}
	obs.Backends = make([]TLSEndpoint, len(cfg.Backends))
	backendFindings := make([][]Finding, len(cfg.Backends))
	for i, b := range cfg.Backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			port := b.Port()
			if port == "" {
				port = "443"
			}
			o := base
			o.Addr = net.JoinHostPort(b.Hostname(), port)
			o.ServerName = b.Hostname()
			r := tlsinspect.Inspect(ctx, o)
			ep := endpoint(r)
			ep.URL = b.String()
			obs.Backends[i] = ep
			fs := toFindings(b.String(), targetParams(b, true), tlsinspect.Classify(r, tlsinspect.Policy{Host: b.Hostname(), Now: base.Now, Backend: true, WarnBefore: cfg.ExpiryWarn, CritBefore: cfg.ExpiryCrit}))
			for j := range fs {
				fs[j].Hop = b.String()
			}
			backendFindings[i] = fs
		}()
	}
	wg.Wait()
	for _, fs := range backendFindings {
		findings = append(findings, fs...)
	}
	return Outcome{Observed: obs, Summary: tlsSummary(obs.TLSEndpoint, len(obs.Backends)), Findings: findings}
}

func toFindings(target string, base map[string]string, issues []tlsinspect.Issue) []Finding {
	out := make([]Finding, 0, len(issues))
	for _, is := range issues {
		f := Finding{Code: is.Code, Target: target, Summary: is.Summary, Params: issueParams(base, is)}
		if is.Accepted {
			f.Downgrade = SevInfo
		}
		out = append(out, f)
	}
	return out
}

// issueParams adds what the issue's certificate says to the target's
// params: its subject, its names and the SHA-1 thumbprint Exchange and
// IIS know it by.
func issueParams(base map[string]string, is tlsinspect.Issue) map[string]string {
	p := make(map[string]string, len(base)+5)
	for k, v := range base {
		p[k] = v
	}
	if c := is.Cert; c != nil {
		p[catalog.ParamSubject] = c.Subject.String()
		p[catalog.ParamThumbprint] = tlsinspect.Thumbprint(c)
		if sans := tlsinspect.SANs(c); len(sans) > 0 {
			p[catalog.ParamSANs] = strings.Join(sans, ", ")
		}
	}
	if is.NameMismatch {
		p[catalog.ParamVariant] = "name-mismatch"
	}
	if is.Legacy != "" {
		p[catalog.ParamTLSVersion] = is.Legacy
	}
	return p
}

func endpoint(r *tlsinspect.Report) TLSEndpoint {
	ep := TLSEndpoint{
		Address:        r.Address,
		TLSVersion:     tlsinspect.VersionName(r.Version),
		ALPN:           r.ALPN,
		Chain:          tlsinspect.Describe(r.Chain),
		VerifiedChain:  tlsinspect.Describe(r.Verified),
		LegacyAccepted: tlsinspect.VersionName(r.Legacy),
		Error:          r.ConnReason,
	}
	if r.CipherSuite != 0 {
		ep.CipherSuite = tls.CipherSuiteName(r.CipherSuite)
	}
	return ep
}

// probeContext caps one probe's network exchanges (handshakes, plain
// GETs) at ExchangeBudget inside the run's deadline: a healthy server
// answers in well under a second even far away, and a stalled one must
// not eat the whole run's budget. When the run's deadline comes first,
// the runner reports exdiag's budget, not the server, as the cause.
func probeContext(ctx context.Context, env *Env) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, env.exchangeBudget())
}

// tlsSummary names the protocol, the leaf and its expiry, and how many
// backends were checked.
func tlsSummary(e TLSEndpoint, backends int) string {
	if len(e.Chain) == 0 {
		if backends > 0 {
			return fmt.Sprintf("%d backend(s) checked", backends)
		}
		return ""
	}
	s := fmt.Sprintf("%s, %s issued by %s, expires %s", e.TLSVersion, e.Chain[0].Subject, e.Chain[0].Issuer, e.Chain[0].NotAfter)
	if backends > 0 {
		s += fmt.Sprintf("; %d backend(s) checked", backends)
	}
	return s
}
