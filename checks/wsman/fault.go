package wsman

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

type soapFault struct {
	Code struct {
		Value   string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
		Subcode struct {
			Value string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Subcode"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Code"`
	Reason struct {
		Text []string `xml:"http://www.w3.org/2003/05/soap-envelope Text"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Reason"`
	Detail struct {
		WSMan *wsmanFault `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault WSManFault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
}

type wsmanFault struct {
	Code    string `xml:"Code,attr"`
	Machine string `xml:"Machine,attr"`
	Message struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault Message"`
}

// Fault is a failed WS-Management request: a SOAP fault with its
// WSManFault detail, or a non-SOAP error answer (Exchange's plain-text
// bodies), with the HTTP status and Exchange's failure category header.
type Fault struct {
	HTTPStatus      int
	Code            uint32 // WSManFault Code (0 when none)
	Machine         string
	Message         string // WSManFault message, or the plain-text body
	Subcode         string // SOAP subcode, e.g. w:TimedOut
	Reason          string
	FailureCategory string // X-RemotePS-FailureCategory, or [FailureCategory=…] in the text
	Action          string // which request failed: Create, Receive, …
}

func (f *Fault) Error() string {
	var b strings.Builder
	if f.Action != "" {
		b.WriteString(strings.ToLower(f.Action) + ": ")
	}
	switch {
	case f.Code != 0:
		fmt.Fprintf(&b, "wsman fault %d (0x%08X)", f.Code, f.Code)
		if m := Meaning(f.Code); m != "" {
			b.WriteString(" " + m)
		}
	case f.HTTPStatus != 0:
		fmt.Fprintf(&b, "http %d", f.HTTPStatus)
	default:
		b.WriteString("fault")
	}
	if f.Machine != "" {
		b.WriteString(" from " + f.Machine)
	}
	if msg := f.Text(); msg != "" {
		b.WriteString(": " + msg)
	}
	return b.String()
}

// Text is the server's message (or SOAP reason), one line, bounded.
func (f *Fault) Text() string {
	m := f.Message
	if m == "" {
		m = f.Reason
	}
	m = strings.Join(strings.Fields(m), " ")
	if len(m) > 400 {
		cut := 400
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut] + "…"
	}
	return m
}

// WinRM error codes the probe tells apart (wsmerror.h).
const (
	ErrOperationTimedOut  uint32 = 0x80338029 // 2150858793: no output yet within OperationTimeout; poll again
	ErrInvalidResourceURI uint32 = 0x8033803B // 2150858811
	ErrQuotaLimit         uint32 = 0x8033803F // 2150858815
	ErrUnexpectedSelector uint32 = 0x8033805B // 2150858843: shell (or command) not found
	ErrQuotaMaxShells     uint32 = 0x803381A5
	ErrQuotaMaxOperations uint32 = 0x803381A6
	ErrQuotaUser          uint32 = 0x803381A7
	ErrQuotaMaxShellUsers uint32 = 0x803381AB
	ErrQuotaMaxShellsPPQ  uint32 = 0x803381E4
	ErrQuotaMaxUsersPPQ   uint32 = 0x803381E5
	ErrInvalidXML         uint32 = 0x80338043 // 2150858819: the request was not valid XML for the operation
	ErrAccessDenied       uint32 = 0x80070005 // E_ACCESSDENIED
)

var meanings = map[uint32]string{
	ErrOperationTimedOut:  "(no data yet: the operation timeout passed without output)",
	ErrInvalidResourceURI: "(resource URI not found: wrong path or configuration name)",
	ErrQuotaLimit:         "(a WinRM quota was exceeded)",
	ErrUnexpectedSelector: "(shell not found: a load balancer without affinity, or the session cookie was dropped)",
	ErrQuotaMaxShells:     "(too many concurrent shells for this user)",
	ErrQuotaMaxOperations: "(too many concurrent operations)",
	ErrQuotaUser:          "(user quota exceeded)",
	ErrQuotaMaxShellUsers: "(too many users with open shells)",
	ErrQuotaMaxShellsPPQ:  "(too many concurrent shells for this user on this plugin)",
	ErrQuotaMaxUsersPPQ:   "(too many concurrent users on this plugin)",
	ErrInvalidXML:         "(the server rejected the request's XML)",
	ErrAccessDenied:       "(access is denied)",
}

// Meaning is the WinRM meaning of a fault code, "" when unknown.
func Meaning(code uint32) string { return meanings[code] }

// IsNoDataYet reports whether err is the "no data yet" fault a Receive
// gets when the operation timeout passes without output: poll again.
func IsNoDataYet(err error) bool {
	f, ok := err.(*Fault)
	return ok && (f.Code == ErrOperationTimedOut || (f.Code == 0 && strings.HasSuffix(f.Subcode, ":TimedOut")))
}

var categoryRE = regexp.MustCompile(`\[FailureCategory=([^\]\s]+)\]`)

// ParseFault reads an error answer: a SOAP fault (WSManFault inside
// s:Fault/s:Detail) or a plain-text body. It never fails: what it cannot
// parse becomes the message text.
func ParseFault(status int, category string, body []byte) *Fault {
	f := &Fault{HTTPStatus: status, FailureCategory: strings.TrimSpace(category)}
	var e envelope
	if err := xml.Unmarshal(body, &e); err == nil && e.Body.Fault != nil {
		sf := e.Body.Fault
		f.Subcode = strings.TrimSpace(sf.Code.Subcode.Value)
		f.Reason = strings.TrimSpace(strings.Join(sf.Reason.Text, " "))
		if w := sf.Detail.WSMan; w != nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(w.Code), 0, 32); err == nil {
				f.Code = uint32(n)
			}
			f.Machine = strings.TrimSpace(w.Machine)
			f.Message = strings.TrimSpace(innerText(w.Message.Inner))
		}
	} else {
		f.Message = strings.TrimSpace(plainText(body))
	}
	if f.FailureCategory == "" {
		if m := categoryRE.FindStringSubmatch(f.Message); m != nil {
			f.FailureCategory = m[1]
		}
	}
	return f
}

// innerText collects the character data of an XML fragment, so a nested
// ProviderFault's message reads as text.
func innerText(inner []byte) string {
	d := xml.NewDecoder(strings.NewReader("<x>" + string(inner) + "</x>"))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
			b.WriteByte(' ')
		}
	}
	if b.Len() == 0 {
		return string(inner)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plainText turns an HTML or text error page into one line of text.
func plainText(body []byte) string {
	s := string(body)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if i := strings.Index(strings.ToLower(s), "<body"); i >= 0 {
		s = s[i:]
	}
	s = tagRE.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(s), " ")
}
