// Package wsman is the WS-Management (MS-WSMV) side of a remote PowerShell
// session: SOAP envelopes for the shell operations, their responses and
// faults, and an HTTPS client that sends them in sequence.
package wsman

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/exdiag/exdiag/checks/psrp"
)

// XML namespaces and action URIs (MS-WSMV 2.2.4).
const (
	NsSOAP      = "http://www.w3.org/2003/05/soap-envelope"
	NsAddress   = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NsWSMan     = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	NsWSMV      = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	NsShell     = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	NsFault     = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	NsPowerShel = "http://schemas.microsoft.com/powershell"

	ActionCreate   = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionDelete   = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionReceive  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	ActionCommand  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	ActionSignal   = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
	AnonymousReply = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

	// SignalTerminate ends a command (MS-WSMV 2.2.4.38).
	SignalTerminate = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	// CommandStateDone marks a command the server has finished.
	CommandStateDone = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"

	// ExchangeResourceURI is the Microsoft.Exchange session configuration.
	ExchangeResourceURI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
)

// ResourceURI maps a configuration name (New-PSSession -ConfigurationName)
// to its resource URI; a full URI is kept as given.
func ResourceURI(configName string) string {
	switch {
	case configName == "":
		return ExchangeResourceURI
	case strings.Contains(configName, "://"):
		return configName
	}
	return "http://schemas.microsoft.com/powershell/" + configName
}

// header holds what every request's SOAP header carries.
type header struct {
	To, ResourceURI, Action, MessageID, SessionID string
	MaxEnvelope                                   int
	Timeout                                       string // xs:duration, e.g. PT20S
	ShellID                                       string
	Options                                       []option
	OptionsMustUnderstand                         bool
	// Compression asks for remote shell compression (MS-WSMV
	// 3.2.4.1.19): set on a Create, the server compresses every
	// ReceiveResponse stream of the shell.
	Compression string
}

type option struct {
	Name, Value string
	MustComply  bool
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

func (h header) write(b *strings.Builder) {
	b.WriteString(`<s:Envelope xmlns:s="` + NsSOAP + `" xmlns:wsa="` + NsAddress + `" xmlns:wsman="` + NsWSMan + `" xmlns:wsmv="` + NsWSMV + `" xmlns:rsp="` + NsShell + `"><s:Header>`)
	b.WriteString(`<wsa:Action s:mustUnderstand="true">` + h.Action + `</wsa:Action>`)
	b.WriteString(`<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US" /><wsman:Locale s:mustUnderstand="false" xml:lang="en-US" />`)
	fmt.Fprintf(b, `<wsman:MaxEnvelopeSize s:mustUnderstand="true">%d</wsman:MaxEnvelopeSize>`, h.MaxEnvelope)
	b.WriteString(`<wsa:MessageID>uuid:` + h.MessageID + `</wsa:MessageID>`)
	b.WriteString(`<wsman:OperationTimeout>` + h.Timeout + `</wsman:OperationTimeout>`)
	b.WriteString(`<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">` + AnonymousReply + `</wsa:Address></wsa:ReplyTo>`)
	b.WriteString(`<wsman:ResourceURI s:mustUnderstand="true">` + xmlEscape(h.ResourceURI) + `</wsman:ResourceURI>`)
	b.WriteString(`<wsmv:SessionId s:mustUnderstand="false">uuid:` + h.SessionID + `</wsmv:SessionId>`)
	b.WriteString(`<wsa:To>` + xmlEscape(h.To) + `</wsa:To>`)
	if len(h.Options) > 0 {
		fmt.Fprintf(b, `<wsman:OptionSet s:mustUnderstand="%t">`, h.OptionsMustUnderstand)
		for _, o := range h.Options {
			if o.MustComply {
				b.WriteString(`<wsman:Option MustComply="true" Name="` + o.Name + `">` + xmlEscape(o.Value) + `</wsman:Option>`)
			} else {
				b.WriteString(`<wsman:Option Name="` + o.Name + `">` + xmlEscape(o.Value) + `</wsman:Option>`)
			}
		}
		b.WriteString(`</wsman:OptionSet>`)
	}
	if h.Compression != "" {
		// mustUnderstand: a server that cannot compress refuses the
		// Create instead of leaving the client to guess
		b.WriteString(`<rsp:CompressionType s:mustUnderstand="true">` + xmlEscape(h.Compression) + `</rsp:CompressionType>`)
	}
	if h.ShellID != "" {
		b.WriteString(`<wsman:SelectorSet><wsman:Selector Name="ShellId">` + xmlEscape(h.ShellID) + `</wsman:Selector></wsman:SelectorSet>`)
	}
	b.WriteString(`</s:Header>`)
}

func fragmentsBase64(frags [][]byte) string {
	var raw []byte
	for _, f := range frags {
		raw = append(raw, f...)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// CreateBody is the Create request's body: a shell whose creationXml
// carries the first PSRP fragments (SESSION_CAPABILITY, INIT_RUNSPACEPOOL).
func createEnvelope(h header, shellID psrp.GUID, creation [][]byte) string {
	var b strings.Builder
	h.write(&b)
	b.WriteString(`<s:Body><rsp:Shell ShellId="` + shellID.String() + `"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>`)
	b.WriteString(`<creationXml xmlns="` + NsPowerShel + `">` + fragmentsBase64(creation) + `</creationXml></rsp:Shell></s:Body></s:Envelope>`)
	return b.String()
}

func receiveEnvelope(h header, commandID string) string {
	var b strings.Builder
	h.write(&b)
	if commandID == "" {
		b.WriteString(`<s:Body><rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>`)
	} else {
		b.WriteString(`<s:Body><rsp:Receive><rsp:DesiredStream CommandId="` + xmlEscape(commandID) + `">stdout</rsp:DesiredStream></rsp:Receive></s:Body></s:Envelope>`)
	}
	return b.String()
}

func commandEnvelope(h header, commandID psrp.GUID, args [][]byte) string {
	var b strings.Builder
	h.write(&b)
	b.WriteString(`<s:Body><rsp:CommandLine CommandId="` + commandID.String() + `"><rsp:Command /><rsp:Arguments>` + fragmentsBase64(args) + `</rsp:Arguments></rsp:CommandLine></s:Body></s:Envelope>`)
	return b.String()
}

func signalEnvelope(h header, commandID, code string) string {
	var b strings.Builder
	h.write(&b)
	b.WriteString(`<s:Body><rsp:Signal CommandId="` + xmlEscape(commandID) + `"><rsp:Code>` + code + `</rsp:Code></rsp:Signal></s:Body></s:Envelope>`)
	return b.String()
}

func deleteEnvelope(h header) string {
	var b strings.Builder
	h.write(&b)
	b.WriteString(`<s:Body /></s:Envelope>`)
	return b.String()
}
