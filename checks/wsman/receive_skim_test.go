package wsman

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/exdiag/exdiag/checks/internal/recording"
	"github.com/exdiag/exdiag/checks/psrp"
	"github.com/exdiag/exdiag/fixtures/hostile"
	"github.com/exdiag/exdiag/fixtures/psrpserver"
)

// sameEnvelope fails t when the skim fills the envelope other than
// xml.Unmarshal does, and returns whether the skim answered.
func sameEnvelope(t *testing.T, body []byte) bool {
	t.Helper()
	got, ok := skimReceiveEnvelope(body)
	if !ok {
		return false
	}
	want, err := parseEnvelope(body)
	if err != nil {
		t.Fatalf("the skim read what xml.Unmarshal refuses (%v): %.300q", err, body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("skim %+v\nxml.Unmarshal %+v\n%.300q", got, want, body)
	}
	return true
}

const recv = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">`

// The skim must read what WinRM and the lab send, or every Receive pays
// for encoding/xml again.
func TestReceiveSkimReadsRecorded(t *testing.T) {
	n := 0
	for _, name := range []string{"test_psrp_get_command_metadata.yml", "test_psrp_open_runspace.yml", "test_psrp_with_jea_configuration.yml"} {
		ex, err := recording.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			if !strings.Contains(e.Response, "ReceiveResponse") {
				continue
			}
			n++
			if !sameEnvelope(t, []byte(e.Response)) {
				t.Fatalf("%s: the skim left a recorded ReceiveResponse to xml.Unmarshal: %.300q", name, e.Response)
			}
		}
	}
	if n == 0 {
		t.Fatal("no recorded ReceiveResponse")
	}
	lab := hostile.ReceiveStream(hostile.Message(1, psrp.PipelineOutput, hostile.CommandObject("Get-Mailbox")))
	if !sameEnvelope(t, []byte(lab)) {
		t.Fatalf("the skim left the lab's answer: %.300q", lab)
	}
}

func TestReceiveSkimMatchesUnmarshal(t *testing.T) {
	end := `</s:Envelope>`
	for _, c := range []struct {
		body   string
		answer bool
	}{
		{recv + `<s:Header><a:Action>act&amp;</a:Action><a:Action>last</a:Action></s:Header><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C" End="true">QUJD</rsp:Stream><rsp:CommandState CommandId="C" State="done"/></rsp:ReceiveResponse></s:Body>` + end, true},
		// prefixes resolve as encoding/xml resolves them: any prefix, a default, a rebinding
		{`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><r:ReceiveResponse xmlns:r="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><r:Stream x:Name="n" xmlns:x="u">  QU&amp;JD <child>ignored</child>RA==</r:Stream></r:ReceiveResponse></Body></Envelope>`, true},
		{recv + `<s:Body><rsp:ReceiveResponse xmlns:rsp="other"><rsp:Stream>QUJD</rsp:Stream></rsp:ReceiveResponse><ReceiveResponse/><rsp:ReceiveResponse><rsp:Stream/></rsp:ReceiveResponse></s:Body>` + end, true},
		// two answers merge, as they do in xml.Unmarshal
		{recv + `<s:Body><rsp:ReceiveResponse><rsp:Stream>QQ==</rsp:Stream><rsp:CommandState State="a" CommandId="1"/></rsp:ReceiveResponse></s:Body><s:Body><rsp:ReceiveResponse><rsp:Stream>Qg==</rsp:Stream><rsp:CommandState State="b"/></rsp:ReceiveResponse></s:Body>` + end, true},
		{recv + `<s:Body><rsp:ReceiveResponse><rsp:Stream Name="a" Name="b">QQ==</rsp:Stream></rsp:ReceiveResponse></s:Body>` + end + `trailing<`, true},
		{recv + `<s:Body/>` + end, true},
		{`<Envelope/>`, false},
		{recv + `<s:Body><s:Fault><s:Reason><s:Text>x</s:Text></s:Reason></s:Fault></s:Body>` + end, false},
		{recv + `<s:Body><rsp:CommandResponse><rsp:CommandId>x</rsp:CommandId></rsp:CommandResponse></s:Body>` + end, false},
		{recv + `<s:Body><rsp:ReceiveResponse><rsp:Stream>QQ==</rsp:Stream>` + end, false},
		{recv + `<s:Body><rsp:ReceiveResponse><rsp:Stream>QQ==</rsp:Strea></rsp:ReceiveResponse></s:Body>` + end, false},
		{recv + `<s:Body><rsp:ReceiveResponse><rsp:Stream><![CDATA[QQ==]]></rsp:Stream></rsp:ReceiveResponse></s:Body>` + end, false},
		{`<?xml version="1.0"?>` + recv + end, false},
		{"x" + recv + end, false},
	} {
		if got := sameEnvelope(t, []byte(c.body)); got != c.answer {
			t.Errorf("skim answered %v, want %v: %q", got, c.answer, c.body)
		}
	}
}

// FuzzReceiveSkim holds the envelope skim to xml.Unmarshal: whenever it
// answers, xml.Unmarshal reads the same input without error into the
// same envelope.
func FuzzReceiveSkim(f *testing.F) {
	for _, name := range []string{"test_psrp_get_command_metadata.yml", "test_psrp_open_runspace.yml"} {
		ex, err := recording.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range ex {
			f.Add([]byte(e.Response))
		}
	}
	f.Add([]byte(hostile.ReceiveStream(hostile.Message(1, psrp.PipelineOutput, hostile.CommandObject("Get-Mailbox")))))
	f.Add([]byte(`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><Action xmlns="http://schemas.xmlsoap.org/ws/2004/08/addressing">a</Action></Header><Body><r:ReceiveResponse xmlns:r="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><r:Stream r:Name="n">QQ==</r:Stream><r:CommandState State="s"/></r:ReceiveResponse></Body></Envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := skimReceiveEnvelope(body)
		if !ok {
			return
		}
		want, err := parseEnvelope(body)
		if err != nil {
			t.Fatalf("the skim read what xml.Unmarshal refuses: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("skim %+v, xml.Unmarshal %+v", got, want)
		}
	})
}

// teeWriter keeps a copy of what a handler writes.
type teeWriter struct {
	http.ResponseWriter
	body *bytes.Buffer
}

func (w teeWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Every Receive answer of a lab session is one the skim reads.
func TestReceiveSkimReadsLabSession(t *testing.T) {
	var mu sync.Mutex
	var bodies []*bytes.Buffer
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := &bytes.Buffer{}
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
			h.ServeHTTP(teeWriter{w, b}, r)
		})
	}
	c, _ := labClient(t, psrpserver.Config{Commands: map[string][]string{"u": names(200)}}, "u", wrap)
	if _, err := ListCommands(context.Background(), c, []string{"*"}, psrp.ImportTypes); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range bodies {
		if bytes.Contains(b.Bytes(), []byte("ReceiveResponse")) {
			n++
			if !sameEnvelope(t, b.Bytes()) {
				t.Fatalf("the skim left a lab Receive answer to xml.Unmarshal: %.300q", b.Bytes())
			}
		}
	}
	if n < 2 {
		t.Fatalf("%d Receive answers", n)
	}
}
