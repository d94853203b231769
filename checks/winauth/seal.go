package winauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// MS-WSMV 2.2.9.1 "Encrypted Message Types": over plain http a WinRM
// message travels sealed by the logon's security context, framed as a
// two-part multipart/encrypted body. The framing below is byte for byte
// what Windows' WinRM client and pywinrm/pypsrp send and accept.
const (
	sealBoundary = "Encrypted Boundary"
	// ProtocolKerberos and ProtocolSPNEGO name the sealing in the
	// Content-Type's protocol parameter: Kerberos wrap tokens (RFC 4121)
	// or the NTLM sealing of a Negotiate logon (MS-NLMP 3.4).
	ProtocolKerberos = "application/HTTP-Kerberos-session-encrypted"
	ProtocolSPNEGO   = "application/HTTP-SPNEGO-session-encrypted"
	soapType         = "application/soap+xml;charset=UTF-8"

	// maxSealHeader bounds the signature header a server may claim: an
	// RFC 4121 wrap header with its checksum is 60 bytes with AES, an
	// NTLM signature 16.
	maxSealHeader = 4 << 10
)

// SealProtocol is the protocol string of a logon's HTTP scheme: MS-WSMV
// names the sealing by how the context was negotiated, not by the
// mechanism inside. Kerberos in a Negotiate token (what Windows' WinRM
// client, pywinrm and pypsrp send) is SPNEGO's; only the "Kerberos"
// scheme's bare krb5 tokens seal as HTTP-Kerberos-session-encrypted.
func SealProtocol(scheme string) string {
	if strings.EqualFold(scheme, "Kerberos") {
		return ProtocolKerberos
	}
	return ProtocolSPNEGO
}

// SealedContentType is the Content-Type of a sealed body.
func SealedContentType(protocol string) string {
	return `multipart/encrypted;protocol="` + protocol + `";boundary="` + sealBoundary + `"`
}

// SealBody seals msg (a SOAP envelope) with s and frames it; the
// server side (the lab's CAS) uses it as the client does.
func SealBody(s Sealer, protocol string, msg []byte) ([]byte, error) {
	header, sealed, err := s.Wrap(msg)
	if err != nil {
		return nil, fmt.Errorf("sealing the message: %w", err)
	}
	var b bytes.Buffer
	b.Grow(len(header) + len(sealed) + 256)
	b.WriteString("--" + sealBoundary + "\r\n")
	b.WriteString("\tContent-Type: " + protocol + "\r\n")
	b.WriteString("\tOriginalContent: type=" + soapType + ";Length=" + strconv.Itoa(len(msg)) + "\r\n")
	b.WriteString("--" + sealBoundary + "\r\n")
	b.WriteString("\tContent-Type: application/octet-stream\r\n")
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(header))))
	b.Write(header)
	b.Write(sealed)
	b.WriteString("--" + sealBoundary + "--\r\n")
	return b.Bytes(), nil
}

// ErrNotSealed is UnsealBody's answer to a body that is not
// multipart/encrypted at all.
var ErrNotSealed = errors.New("the answer is not sealed")

// UnsealBody undoes SealBody for an answer whose Content-Type is ct. It
// returns the plaintext and its original content type. The sealed
// payload is binary and may contain the boundary's bytes, so it is
// located by the fixed part headers before it and the closing boundary
// at the very end, never by searching for the boundary inside it.
func UnsealBody(s Sealer, protocol, ct string, body []byte) ([]byte, string, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/encrypted" {
		return nil, "", ErrNotSealed
	}
	if !strings.EqualFold(params["protocol"], protocol) {
		return nil, "", fmt.Errorf("the answer is sealed with %q, not %q as the logon was", params["protocol"], protocol)
	}
	delim := "--" + params["boundary"]
	if params["boundary"] == "" {
		return nil, "", errors.New("the sealed answer names no boundary")
	}
	rest, ok := bytes.CutPrefix(body, []byte(delim+"\r\n"))
	if !ok {
		return nil, "", errors.New("the sealed answer does not start with its boundary")
	}
	// first part: its headers only
	meta, rest, ok := bytes.Cut(rest, []byte(delim+"\r\n"))
	if !ok {
		return nil, "", errors.New("the sealed answer has no second part")
	}
	origType, length, err := originalContent(meta)
	if err != nil {
		return nil, "", err
	}
	// second part: one header line, then the length-prefixed payload
	_, rest, ok = bytes.Cut(rest, []byte("\r\n"))
	if !ok {
		return nil, "", errors.New("the sealed answer's second part has no header")
	}
	// Windows ends with "--boundary--\r\n"; older pywinrm servers and
	// clients with "--boundary\r\n"
	switch {
	case bytes.HasSuffix(rest, []byte(delim+"--\r\n")):
		rest = rest[:len(rest)-len(delim)-4]
	case bytes.HasSuffix(rest, []byte(delim+"\r\n")):
		rest = rest[:len(rest)-len(delim)-2]
	default:
		return nil, "", errors.New("the sealed answer does not end with its boundary")
	}
	if len(rest) < 4 {
		return nil, "", errors.New("the sealed answer's payload is truncated")
	}
	hl := binary.LittleEndian.Uint32(rest)
	if hl > maxSealHeader || int(hl) > len(rest)-4 {
		return nil, "", fmt.Errorf("the sealed answer claims a %d-byte signature header", hl)
	}
	header, sealed := rest[4:4+hl], rest[4+hl:]
	msg, err := s.Unwrap(header, sealed)
	if err != nil {
		return nil, "", fmt.Errorf("unsealing the answer: %w", err)
	}
	if len(msg) != length {
		return nil, "", fmt.Errorf("the unsealed answer is %d bytes, its header says %d: it was altered", len(msg), length)
	}
	return msg, origType, nil
}

// originalContent reads "OriginalContent: type=…;Length=N" from the
// first part's headers.
func originalContent(meta []byte) (string, int, error) {
	for _, line := range strings.Split(string(meta), "\r\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "OriginalContent") {
			continue
		}
		v = strings.TrimSpace(v)
		i := strings.LastIndex(strings.ToLower(v), ";length=")
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(strings.TrimSpace(v[i+len(";length="):]))
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("the sealed answer's length %q is not a number", v[i+len(";length="):])
		}
		t := v[:i]
		if len(t) >= 5 && strings.EqualFold(t[:5], "type=") {
			t = t[5:]
		}
		return t, n, nil
	}
	return "", 0, errors.New("the sealed answer has no OriginalContent length")
}
