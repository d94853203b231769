package wsman

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"
)

// envelope is the part of a SOAP response the client reads. encoding/xml
// matches on namespace URI, so any prefix the server picks works.
type envelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		Action string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Fault *soapFault `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
		Shell *struct {
			ShellID         string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ShellId"`
			CompressionMode string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CompressionMode"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		Created *struct {
			Selectors []struct {
				Name  string `xml:"Name,attr"`
				Value string `xml:",chardata"`
			} `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing ReferenceParameters>SelectorSet>Selector"`
		} `xml:"http://schemas.xmlsoap.org/ws/2004/09/transfer ResourceCreated"`
		Command *struct {
			CommandID string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandId"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandResponse"`
		Receive *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Data      string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
			State *struct {
				CommandID string `xml:"CommandId,attr"`
				State     string `xml:"State,attr"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandState"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell ReceiveResponse"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

func parseEnvelope(body []byte) (*envelope, error) {
	var e envelope
	if err := xml.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("the answer is not a SOAP envelope: %v", err)
	}
	return &e, nil
}

// ParseShellID reads the ShellId of a CreateResponse.
func ParseShellID(body []byte) (string, error) {
	id, _, err := parseCreated(body)
	return id, err
}

// parseCreated reads the ShellId of a CreateResponse and the shell's
// CompressionMode (MS-WSMV 2.2.4.37) when the server states it: Windows
// says NoCompression for a shell created without CompressionType.
func parseCreated(body []byte) (shellID, compressionMode string, err error) {
	e, err := parseEnvelope(body)
	if err != nil {
		return "", "", err
	}
	if sh := e.Body.Shell; sh != nil {
		compressionMode = strings.TrimSpace(sh.CompressionMode)
		if id := strings.TrimSpace(sh.ShellID); id != "" {
			return id, compressionMode, nil
		}
	}
	if e.Body.Created != nil {
		for _, s := range e.Body.Created.Selectors {
			if s.Name == "ShellId" && strings.TrimSpace(s.Value) != "" {
				return strings.TrimSpace(s.Value), compressionMode, nil
			}
		}
	}
	return "", "", fmt.Errorf("the create response carries no ShellId")
}

// ParseCommandID reads the CommandId of a CommandResponse.
func ParseCommandID(body []byte) (string, error) {
	e, err := parseEnvelope(body)
	if err != nil {
		return "", err
	}
	if e.Body.Command == nil || strings.TrimSpace(e.Body.Command.CommandID) == "" {
		return "", fmt.Errorf("the command response carries no CommandId")
	}
	return strings.TrimSpace(e.Body.Command.CommandID), nil
}

// Received is a ReceiveResponse: the base64-decoded stdout chunks and
// whether the command is done. ParseReceive leaves a compressing shell's
// chunks as its blocks; Client.Receive hands back PSRP fragments.
type Received struct {
	Chunks [][]byte
	Done   bool
}

// ParseReceive reads a ReceiveResponse.
func ParseReceive(body []byte) (Received, error) {
	var r Received
	e, err := parseReceiveEnvelope(body)
	if err != nil {
		return r, err
	}
	if e.Body.Receive == nil {
		return r, fmt.Errorf("the answer is not a ReceiveResponse")
	}
	for _, s := range e.Body.Receive.Streams {
		if s.Name != "" && s.Name != "stdout" {
			continue
		}
		data := bytes.TrimSpace([]byte(s.Data))
		if len(data) == 0 {
			continue
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
		n, err := base64.StdEncoding.Decode(raw, data)
		if err != nil {
			return r, fmt.Errorf("a stream chunk is not base64: %v", err)
		}
		r.Chunks = append(r.Chunks, raw[:n])
	}
	if st := e.Body.Receive.State; st != nil && st.State == CommandStateDone {
		r.Done = true
	}
	return r, nil
}
