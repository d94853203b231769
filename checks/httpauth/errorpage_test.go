package httpauth

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func page(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pages", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		file    string
		status  int
		header  http.Header
		sub     string
		hr      string
		winhttp int
		module  string
		failCat string
		role    string
	}{
		{"iis-403-4.html", 403, http.Header{"Server": {"Microsoft-IIS/10.0"}}, "403.4", "0x80070005", 0, "IIS", "", RoleIIS},
		{"iis6-403-4.html", 403, nil, "403.4", "", 0, "", "", RoleUnknown},
		{"iis-403-7.html", 403, nil, "403.7", "0x80070005", 0, "IIS", "", RoleUnknown},
		{"iis-403-6.html", 403, nil, "403.6", "0x80070005", 0, "IpRestrictionModule", "", RoleUnknown},
		{"iis-404-0.html", 404, nil, "404.0", "0x80070002", 0, "IIS", "", RoleUnknown},
		{"iis-401-2.html", 401, nil, "401.2", "0x80070005", 0, "IIS", "", RoleUnknown},
		{"arr-502-3-cert.html", 502, http.Header{"Server": {"Microsoft-IIS/10.0"}}, "502.3", "0x80072f8f", 12175, "ApplicationRequestRouting", "", RoleProxy},
		{"arr-502-3-timeout.html", 502, nil, "502.3", "0x80072ee2", 12002, "ApplicationRequestRouting", "", RoleProxy},
		{"arr-502-3-connect.html", 502, http.Header{"X-Powered-By": {"ARR/3.0"}}, "502.3", "0x80072efd", 12029, "ApplicationRequestRouting", "", RoleProxy},
		{"iis-log-502.txt", 502, nil, "502.3", "", 12002, "", "", RoleUnknown},
		{"iis-custom-403.html", 403, nil, "", "", 0, "", "", RoleUnknown},
		{"httpsys-503.html", 503, http.Header{"Server": {"Microsoft-HTTPAPI/2.0"}}, "", "", 0, "", "", RoleHTTPSys},
		{"nginx-502.html", 502, nil, "", "", 0, "", "", RoleProxy},
		{"f5-asm.html", 200, nil, "", "", 0, "", "", RoleWAF},
		{"exchange-500.txt", 500, nil, "", "", 0, "", "WSMan-InitializationFailure", RoleExchange},
		{"exchange-500.txt", 500, http.Header{"X-Remoteps-Failurecategory": {"Cafe-SendFailure"}}, "", "", 0, "", "Cafe-SendFailure", RoleExchange},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			pg := ParsePage(tt.status, h, page(t, tt.file))
			if pg.SubStatus != tt.sub || pg.HResult != tt.hr || pg.WinHTTP != tt.winhttp || pg.Module != tt.module || pg.FailureCategory != tt.failCat {
				t.Fatalf("got sub %q hr %q winhttp %d module %q failcat %q; want %q %q %d %q %q",
					pg.SubStatus, pg.HResult, pg.WinHTTP, pg.Module, pg.FailureCategory, tt.sub, tt.hr, tt.winhttp, tt.module, tt.failCat)
			}
			if a := DetectAnsweredBy(h, pg); a.Role != tt.role {
				t.Fatalf("answered by %+v, want role %s", a, tt.role)
			}
		})
	}
}

func TestWinHTTPNamesAndHResult(t *testing.T) {
	pg := ParsePage(502, http.Header{}, []byte("winhttp said ERROR_WINHTTP_SECURE_INVALID_CA"))
	if pg.WinHTTP != WinHTTPCertInvalidCA {
		t.Fatalf("named error not decoded: %d", pg.WinHTTP)
	}
	pg = ParsePage(502, http.Header{}, []byte("Win32 status: 12038"))
	if pg.WinHTTP != 12038 {
		t.Fatalf("win32 status not read: %d", pg.WinHTTP)
	}
	if HResultFor(12175) != "0x80072f8f" || winhttpFromHResult("0x80070005") != 0 {
		t.Fatal("hresult round trip broken")
	}
	for _, c := range []int{12175, 12045, 12038, 12037} {
		if !CertError(c) || DownError(c) {
			t.Fatalf("%d should be a certificate error", c)
		}
	}
	for _, c := range []int{12002, 12029, 12007} {
		if !DownError(c) || CertError(c) {
			t.Fatalf("%d should be a reachability error", c)
		}
	}
}

func TestAnsweredByHeaders(t *testing.T) {
	tests := []struct {
		h       http.Header
		role    string
		product string
	}{
		{http.Header{"X-Feserver": {"CAS1"}, "Server": {"Microsoft-IIS/10.0"}}, RoleExchange, "Exchange"},
		{http.Header{"X-Powered-By": {"ARR/3.0"}, "Server": {"Microsoft-IIS/10.0"}}, RoleProxy, "IIS ARR/3.0"},
		{http.Header{"Server": {"nginx/1.22.1"}}, RoleProxy, "nginx/1.22.1"},
		{http.Header{"Server": {"BigIP"}}, RoleProxy, "BigIP"},
		{http.Header{"Server": {"Microsoft-IIS/10.0"}}, RoleIIS, "Microsoft-IIS/10.0"},
		{http.Header{"Server": {"Caddy"}}, RoleUnknown, "Caddy"},
		{http.Header{}, RoleUnknown, ""},
	}
	for _, tt := range tests {
		a := DetectAnsweredBy(tt.h, Page{})
		if a.Role != tt.role || a.Product != tt.product {
			t.Errorf("%v: got %+v, want %s %s", tt.h, a, tt.role, tt.product)
		}
	}
}

func TestAnsweredByExchangeViaARR(t *testing.T) {
	a := DetectAnsweredBy(http.Header{"X-Feserver": {"CAS2"}, "X-Powered-By": {"ARR/3.0"}}, Page{})
	if a.Role != RoleExchange || len(a.Evidence) != 2 || a.Evidence[1] != "via X-Powered-By: ARR/3.0" {
		t.Fatalf("got %+v", a)
	}
}

func FuzzParsePage(f *testing.F) {
	for _, name := range []string{"arr-502-3-cert.html", "iis-403-4.html", "exchange-500.txt", "nginx-502.html", "iis-log-502.txt"} {
		f.Add(502, page(f, name))
	}
	f.Add(403, []byte("<h3>HTTP Error 403.99999999999999999999 - x</h3> Error Code 0x8007ffff"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		h := http.Header{"X-Remoteps-Failurecategory": {string(body[:min(len(body), 200)])}}
		pg := ParsePage(status, h, body)
		_ = pg.Sub()
		if len(pg.FailureCategory) > 100 {
			t.Fatalf("failure category not bounded: %d", len(pg.FailureCategory))
		}
		if pg.WinHTTP != 0 && (pg.WinHTTP < 12000 || pg.WinHTTP > 12999) {
			t.Fatalf("winhttp code %d out of range", pg.WinHTTP)
		}
		_ = DetectAnsweredBy(h, pg)
	})
}
