// Package recording reads the recorded WS-Management conversations in
// testdata/pypsrp (pypsrp's test responses, MIT licence) for tests. It is
// imported by tests only, so the YAML library never reaches the binary.
package recording

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"go.yaml.in/yaml/v3"
)

// Exchange is one recorded request and the server's answer.
type Exchange struct {
	Request, Response string
	Status            int // 200 unless a transport_error gave another code
}

// Dir is the folder of the recordings, next to this file, so tests of any
// package find it whatever their working directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "pypsrp")
}

// maxRecording bounds what Load reads: the largest recording is 135 KB.
const maxRecording = 4 << 20

// file is the shape pypsrp writes: a list of request/response scalars,
// with a transport_error when the server answered other than 200.
type file struct {
	Messages []struct {
		Request        string `yaml:"request"`
		Response       string `yaml:"response"`
		TransportError *struct {
			Protocol string `yaml:"protocol"`
			Code     int    `yaml:"code"`
		} `yaml:"transport_error"`
	} `yaml:"messages"`
}

// Load reads one recording by file name.
func Load(name string) ([]Exchange, error) {
	b, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecording {
		return nil, fmt.Errorf("%s: %d bytes, more than a recording should hold (%d)", name, len(b), maxRecording)
	}
	var f file
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	out := make([]Exchange, 0, len(f.Messages))
	for _, m := range f.Messages {
		e := Exchange{Request: m.Request, Response: m.Response, Status: 200}
		if m.TransportError != nil && m.TransportError.Code != 0 {
			e.Status = m.TransportError.Code
		}
		out = append(out, e)
	}
	return out, nil
}

var (
	actionRE  = regexp.MustCompile(`<wsa:Action[^>]*>([^<]+)</wsa:Action>`)
	b64RE     = regexp.MustCompile(`<(?:creationXml|rsp:Arguments|rsp:Stream)[^>]*>([A-Za-z0-9+/=]+)</`)
	shellRE   = regexp.MustCompile(`<wsman:Selector Name="ShellId">([^<]+)</wsman:Selector>`)
	commandRE = regexp.MustCompile(`CommandId="([^"]+)"`)
)

// Action is the WS-Addressing action of a recorded request.
func Action(req string) string {
	if m := actionRE.FindStringSubmatch(req); m != nil {
		return m[1]
	}
	return ""
}

// ShellID is the ShellId selector of a request, "" when none.
func ShellID(req string) string {
	if m := shellRE.FindStringSubmatch(req); m != nil {
		return m[1]
	}
	return ""
}

// CommandID is the first CommandId attribute of an envelope, "" when none.
func CommandID(env string) string {
	if m := commandRE.FindStringSubmatch(env); m != nil {
		return m[1]
	}
	return ""
}

// Payloads returns the decoded base64 payloads (creationXml, Arguments,
// Stream) of an envelope, in order.
func Payloads(env string) ([][]byte, error) {
	var out [][]byte
	for _, m := range b64RE.FindAllStringSubmatch(env, -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
