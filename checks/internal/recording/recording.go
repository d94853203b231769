// Package recording reads the recorded WS-Management conversations in
// ../shared/testdata/pypsrp for tests: a minimal reader for that one YAML
// shape (a list of request/response scalars, an optional transport_error).
package recording

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// Exchange is one recorded request and the server's answer.
type Exchange struct {
	Request, Response string
	Status            int // 200 unless a transport_error gave another code
}

// Dir is the folder of the recordings: <repo root>/../shared/testdata/pypsrp.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	return filepath.Join(root, "..", "shared", "testdata", "pypsrp")
}

// Load reads one recording by file name.
func Load(name string) ([]Exchange, error) {
	f, err := os.Open(filepath.Join(Dir(), name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Exchange
	var cur *string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "messages:" || strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "- request: "):
			out = append(out, Exchange{Request: strings.TrimPrefix(line, "- request: "), Status: 200})
			cur = &out[len(out)-1].Request
		case strings.HasPrefix(line, "  response: ") && len(out) > 0:
			out[len(out)-1].Response = strings.TrimPrefix(line, "  response: ")
			cur = &out[len(out)-1].Response
		case strings.HasPrefix(line, "  transport_error:"):
			cur = nil
		case strings.HasPrefix(line, "    code: ") && len(out) > 0:
			n, err := strconv.Atoi(strings.TrimPrefix(line, "    code: "))
			if err != nil {
				return nil, fmt.Errorf("%s: bad code line %q", name, line)
			}
			out[len(out)-1].Status = n
		case strings.HasPrefix(line, "    protocol: "):
		case strings.HasPrefix(line, "    ") && cur != nil:
			// a plain scalar folded over lines: joined by one space
			*cur += " " + strings.TrimSpace(line)
		default:
			return nil, fmt.Errorf("%s: unexpected line %.60q", name, line)
		}
	}
	return out, sc.Err()
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
