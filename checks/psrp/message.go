package psrp

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// MessageHeaderLen is the fixed part of a PSRP message (MS-PSRP 2.2.1):
// destination (4, LE), message type (4, LE), runspace pool id and pipeline
// id (16 each, .NET GUID byte order).
const MessageHeaderLen = 40

// Destination of a message.
const (
	DestinationClient uint32 = 1
	DestinationServer uint32 = 2
)

// MessageType values (MS-PSRP 2.2.1).
type MessageType uint32

const (
	SessionCapability        MessageType = 0x00010002
	InitRunspacePool         MessageType = 0x00010004
	PublicKey                MessageType = 0x00010005
	EncryptedSessionKey      MessageType = 0x00010006
	PublicKeyRequest         MessageType = 0x00010007
	ConnectRunspacePool      MessageType = 0x00010008
	RunspacePoolInitData     MessageType = 0x0002100B
	ResetRunspaceState       MessageType = 0x0002100C
	SetMaxRunspaces          MessageType = 0x00021002
	SetMinRunspaces          MessageType = 0x00021003
	RunspaceAvailability     MessageType = 0x00021004
	RunspacePoolStateMsg     MessageType = 0x00021005
	CreatePipeline           MessageType = 0x00021006
	GetAvailableRunspaces    MessageType = 0x00021007
	UserEvent                MessageType = 0x00021008
	ApplicationPrivateData   MessageType = 0x00021009
	GetCommandMetadata       MessageType = 0x0002100A
	RunspacePoolHostCall     MessageType = 0x00021100
	RunspacePoolHostResponse MessageType = 0x00021101
	PipelineInput            MessageType = 0x00041002
	EndOfPipelineInput       MessageType = 0x00041003
	PipelineOutput           MessageType = 0x00041004
	ErrorRecord              MessageType = 0x00041005
	PipelineStateMsg         MessageType = 0x00041006
	DebugRecord              MessageType = 0x00041007
	VerboseRecord            MessageType = 0x00041008
	WarningRecord            MessageType = 0x00041009
	ProgressRecord           MessageType = 0x00041010
	InformationRecord        MessageType = 0x00041011
	PipelineHostCall         MessageType = 0x00041100
	PipelineHostResponse     MessageType = 0x00041101
)

var typeNames = map[MessageType]string{
	SessionCapability: "SESSION_CAPABILITY", InitRunspacePool: "INIT_RUNSPACEPOOL",
	PublicKey: "PUBLIC_KEY", EncryptedSessionKey: "ENCRYPTED_SESSION_KEY", PublicKeyRequest: "PUBLIC_KEY_REQUEST",
	ConnectRunspacePool: "CONNECT_RUNSPACEPOOL", RunspacePoolInitData: "RUNSPACEPOOL_INIT_DATA",
	ResetRunspaceState: "RESET_RUNSPACE_STATE", SetMaxRunspaces: "SET_MAX_RUNSPACES", SetMinRunspaces: "SET_MIN_RUNSPACES",
	RunspaceAvailability: "RUNSPACE_AVAILABILITY", RunspacePoolStateMsg: "RUNSPACEPOOL_STATE",
	CreatePipeline: "CREATE_PIPELINE", GetAvailableRunspaces: "GET_AVAILABLE_RUNSPACES", UserEvent: "USER_EVENT",
	ApplicationPrivateData: "APPLICATION_PRIVATE_DATA", GetCommandMetadata: "GET_COMMAND_METADATA",
	RunspacePoolHostCall: "RUNSPACEPOOL_HOST_CALL", RunspacePoolHostResponse: "RUNSPACEPOOL_HOST_RESPONSE",
	PipelineInput: "PIPELINE_INPUT", EndOfPipelineInput: "END_OF_PIPELINE_INPUT", PipelineOutput: "PIPELINE_OUTPUT",
	ErrorRecord: "ERROR_RECORD", PipelineStateMsg: "PIPELINE_STATE", DebugRecord: "DEBUG_RECORD",
	VerboseRecord: "VERBOSE_RECORD", WarningRecord: "WARNING_RECORD", ProgressRecord: "PROGRESS_RECORD",
	InformationRecord: "INFORMATION_RECORD", PipelineHostCall: "PIPELINE_HOST_CALL", PipelineHostResponse: "PIPELINE_HOST_RESPONSE",
}

func (t MessageType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(t))
}

// GUID is a 16-byte identifier kept in RFC 4122 (textual) byte order; the
// wire uses the .NET order, converted on encode and decode.
type GUID [16]byte

// NewGUID returns a random version 4 GUID.
func NewGUID() GUID {
	var g GUID
	_, _ = rand.Read(g[:])
	g[6] = g[6]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g
}

// ParseGUID reads the textual form, with or without braces or "uuid:".
func ParseGUID(s string) (GUID, error) {
	var g GUID
	s = strings.TrimPrefix(strings.Trim(s, "{} \t\r\n"), "uuid:")
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return g, fmt.Errorf("psrp: %q is not a guid", s)
	}
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, fmt.Errorf("psrp: %q is not a guid", s)
	}
	return g, nil
}

// String is the upper-case textual form WinRM uses for shell and command ids.
func (g GUID) String() string {
	h := strings.ToUpper(hex.EncodeToString(g[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// IsZero reports whether g is all zeroes.
func (g GUID) IsZero() bool { return g == GUID{} }

// dotnet swaps the first three groups, which .NET stores little-endian.
func (g GUID) dotnet() [16]byte {
	var b [16]byte = g
	b[0], b[1], b[2], b[3] = g[3], g[2], g[1], g[0]
	b[4], b[5] = g[5], g[4]
	b[6], b[7] = g[7], g[6]
	return b
}

func guidFromDotnet(b []byte) GUID {
	var g GUID
	copy(g[:], b)
	return GUID(GUID(g).dotnet()) // the swap is its own inverse
}

// Message is one PSRP message.
type Message struct {
	Destination  uint32
	Type         MessageType
	RunspacePool GUID
	Pipeline     GUID
	Data         []byte // CLIXML, possibly with a UTF-8 BOM
}

// Encode returns the wire form of m.
func (m Message) Encode() []byte {
	b := make([]byte, MessageHeaderLen, MessageHeaderLen+len(m.Data))
	binary.LittleEndian.PutUint32(b[0:], m.Destination)
	binary.LittleEndian.PutUint32(b[4:], uint32(m.Type))
	rp, pp := m.RunspacePool.dotnet(), m.Pipeline.dotnet()
	copy(b[8:24], rp[:])
	copy(b[24:40], pp[:])
	return append(b, m.Data...)
}

// DecodeMessage parses a reassembled message. Data aliases b.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) < MessageHeaderLen {
		return Message{}, fmt.Errorf("psrp: message of %d bytes is shorter than its %d-byte header", len(b), MessageHeaderLen)
	}
	m := Message{
		Destination:  binary.LittleEndian.Uint32(b[0:4]),
		Type:         MessageType(binary.LittleEndian.Uint32(b[4:8])),
		RunspacePool: guidFromDotnet(b[8:24]),
		Pipeline:     guidFromDotnet(b[24:40]),
		Data:         b[MessageHeaderLen:],
	}
	if m.Destination != DestinationClient && m.Destination != DestinationServer {
		return m, fmt.Errorf("psrp: message destination %d is neither client nor server", m.Destination)
	}
	return m, nil
}
