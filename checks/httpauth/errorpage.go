package httpauth

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// MaxPageBytes is how much of a body the page parser looks at; the probe
// reads no more than this anyway.
const MaxPageBytes = 64 << 10

// Page is what an error body and its headers reveal: the IIS sub-status
// of a detailed error page, the WinHTTP error ARR ran into, Exchange's
// failure category.
type Page struct {
	Status    int    `json:"-"`
	SubStatus string `json:"substatus,omitempty"` // "403.4", "502.3"
	HResult   string `json:"hresult,omitempty"`   // "0x80072f8f"
	WinHTTP   int    `json:"winhttp_code,omitempty"`
	Module    string `json:"module,omitempty"` // IIS module that failed the request
	// FailureCategory is Exchange's [FailureCategory=…] or the
	// X-RemotePS-FailureCategory header.
	FailureCategory string `json:"failure_category,omitempty"`
	// Text is the page's visible text (tags removed, spaces folded), for
	// signature matching; it is not reported.
	Text string `json:"-"`
}

// Sub returns the sub-status number (4 for 403.4), or -1.
func (p Page) Sub() int {
	_, s, ok := strings.Cut(p.SubStatus, ".")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// WinHTTP error codes ARR reports (winhttp.h).
const (
	WinHTTPTimeout        = 12002
	WinHTTPNameNotResolve = 12007
	WinHTTPCannotConnect  = 12029
	WinHTTPConnError      = 12030
	WinHTTPConnReset      = 12031
	WinHTTPInvalidServer  = 12152
	WinHTTPCertDateInval  = 12037
	WinHTTPCertCNInvalid  = 12038
	WinHTTPCertInvalidCA  = 12045
	WinHTTPSecureFailure  = 12175
	WinHTTPCertRevoked    = 12170
	WinHTTPClientCertNeed = 12044
)

var winhttpNames = map[string]int{
	"ERROR_WINHTTP_TIMEOUT":                    WinHTTPTimeout,
	"ERROR_WINHTTP_NAME_NOT_RESOLVED":          WinHTTPNameNotResolve,
	"ERROR_WINHTTP_CANNOT_CONNECT":             WinHTTPCannotConnect,
	"ERROR_WINHTTP_CONNECTION_ERROR":           WinHTTPConnError,
	"ERROR_INTERNET_CONNECTION_RESET":          WinHTTPConnReset,
	"ERROR_WINHTTP_INVALID_SERVER_RESPONSE":    WinHTTPInvalidServer,
	"ERROR_WINHTTP_SECURE_CERT_DATE_INVALID":   WinHTTPCertDateInval,
	"ERROR_WINHTTP_SECURE_CERT_CN_INVALID":     WinHTTPCertCNInvalid,
	"ERROR_WINHTTP_SECURE_INVALID_CA":          WinHTTPCertInvalidCA,
	"ERROR_WINHTTP_SECURE_FAILURE":             WinHTTPSecureFailure,
	"ERROR_WINHTTP_SECURE_CERT_REVOKED":        WinHTTPCertRevoked,
	"ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED":    WinHTTPClientCertNeed,
	"ERROR_WINHTTP_SECURE_CHANNEL_ERROR":       12157,
	"ERROR_WINHTTP_SECURE_INVALID_CERT":        12169,
	"ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE":    12179,
	"ERROR_WINHTTP_CLIENT_CERT_NO_PRIVATE_KEY": 12185,
}

// CertError reports whether a WinHTTP code is a TLS certificate failure
// between the proxy and its backend.
func CertError(code int) bool {
	switch code {
	case WinHTTPSecureFailure, WinHTTPCertInvalidCA, WinHTTPCertCNInvalid, WinHTTPCertDateInval,
		WinHTTPCertRevoked, 12157, 12169, 12179:
		return true
	}
	return false
}

// DownError reports whether a WinHTTP code means the backend could not be
// reached or did not answer in time. A connection the backend aborted
// (12030, 12031) and an answer that is not HTTP (12152) are causes of
// their own: see ResetError and BadResponseError.
func DownError(code int) bool {
	switch code {
	case WinHTTPTimeout, WinHTTPNameNotResolve, WinHTTPCannotConnect:
		return true
	}
	return false
}

// ResetError reports whether a WinHTTP code means the connection to the
// backend was aborted or reset after it was made.
func ResetError(code int) bool { return code == WinHTTPConnError || code == WinHTTPConnReset }

// BadResponseError reports whether a WinHTTP code means the backend's
// answer was not valid HTTP.
func BadResponseError(code int) bool { return code == WinHTTPInvalidServer }

// downCause says in words what a reachability code means.
func downCause(code int) string {
	switch code {
	case WinHTTPTimeout:
		return "the backend accepted the connection but did not answer before the proxy's timeout"
	case WinHTTPNameNotResolve:
		return "the proxy could not resolve the backend's name"
	case WinHTTPCannotConnect:
		return "the proxy could not connect to the backend"
	}
	return "the proxy could not reach a backend in time"
}

var (
	tagRE     = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)
	spaceRE   = regexp.MustCompile(`\s+`)
	subRE     = regexp.MustCompile(`(?i)(?:HTTP Error|Error|^|\s)\s*([1-5]\d\d)\.(\d{1,3})\b(?:\s*-\s*|\s+\(|\s*[.:])`)
	hrLineRE  = regexp.MustCompile(`(?i)Error Code\s*:?\s*(0x[0-9a-f]{8})\b`)
	hrAnyRE   = regexp.MustCompile(`(?i)\b0x(8007[0-9a-f]{4})\b`)
	whLineRE  = regexp.MustCompile(`(?i)(?:winhttp|win32[ -]status|win32 error|error code)\D{0,24}\b(12\d{3})\b`)
	iisLogRE  = regexp.MustCompile(`\b([45]\d\d) (\d{1,3}) (12\d{3})\b`)
	whNameRE  = regexp.MustCompile(`ERROR_WINHTTP_[A-Z_]+`)
	moduleRE  = regexp.MustCompile(`(?i)\bModule\s+([A-Za-z][A-Za-z0-9_.]{2,63})`)
	failCatRE = regexp.MustCompile(`\[FailureCategory=([A-Za-z0-9_.\-]{1,100})\]`)
)

// ParsePage reads an error response. It never fails: what it cannot find
// stays empty.
func ParsePage(status int, h http.Header, body []byte) Page {
	if len(body) > MaxPageBytes {
		body = body[:MaxPageBytes]
	}
	pg := Page{Status: status}
	raw := string(body)
	text := html.UnescapeString(tagRE.ReplaceAllString(raw, " "))
	text = strings.ReplaceAll(text, "\u00a0", " ")
	text = strings.TrimSpace(spaceRE.ReplaceAllString(text, " "))
	pg.Text = text

	for _, m := range subRE.FindAllStringSubmatch(text, 8) {
		if code, _ := strconv.Atoi(m[1]); code == status || status == 0 {
			pg.SubStatus = m[1] + "." + m[2]
			break
		}
	}
	if m := iisLogRE.FindStringSubmatch(text); m != nil {
		if pg.SubStatus == "" {
			pg.SubStatus = m[1] + "." + m[2]
		}
		pg.WinHTTP, _ = strconv.Atoi(m[3])
	}
	if m := hrLineRE.FindStringSubmatch(text); m != nil {
		pg.HResult = strings.ToLower(m[1])
	} else if m := hrAnyRE.FindStringSubmatch(text); m != nil {
		pg.HResult = "0x" + strings.ToLower(m[1])
	}
	if pg.WinHTTP == 0 {
		pg.WinHTTP = winhttpFromHResult(pg.HResult)
	}
	if pg.WinHTTP == 0 {
		if m := whLineRE.FindStringSubmatch(text); m != nil {
			pg.WinHTTP, _ = strconv.Atoi(m[1])
		}
	}
	if pg.WinHTTP == 0 {
		if n, ok := winhttpNames[whNameRE.FindString(text)]; ok {
			pg.WinHTTP = n
		}
	}
	if m := moduleRE.FindStringSubmatch(text); m != nil {
		pg.Module = m[1]
	}
	if v := strings.TrimSpace(h.Get("X-RemotePS-FailureCategory")); v != "" {
		pg.FailureCategory = clip(v, 100)
	} else if m := failCatRE.FindStringSubmatch(raw); m != nil {
		pg.FailureCategory = m[1]
	}
	return pg
}

// winhttpFromHResult decodes HRESULT_FROM_WIN32 of a WinHTTP error:
// 0x80072F8F is 0x8007 (facility win32) + 0x2F8F (12175).
func winhttpFromHResult(hr string) int {
	if len(hr) != 10 || !strings.HasPrefix(hr, "0x8007") {
		return 0
	}
	n, err := strconv.ParseUint(hr[6:], 16, 16)
	if err != nil || n < 12000 || n > 12199 {
		return 0
	}
	return int(n)
}

// HResultFor formats the HRESULT ARR shows for a WinHTTP error.
func HResultFor(winhttp int) string { return fmt.Sprintf("0x8007%04x", winhttp) }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
