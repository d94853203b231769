package psrp

import (
	"fmt"
	"strings"
)

// escapeText escapes s for XML character data and _xHHHH_-encodes the
// control characters CLIXML cannot carry literally.
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r < 0x20 && r != '\t':
			fmt.Fprintf(&b, "_x%04X_", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SessionCapabilityXML is the client's SESSION_CAPABILITY (MS-PSRP 2.2.2.1).
func SessionCapabilityXML() []byte {
	return []byte(`<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>`)
}

// InitRunspacePoolXML is INIT_RUNSPACEPOOL (MS-PSRP 2.2.2.2) for a pool of
// one runspace without a host, which is what a non-interactive client is.
func InitRunspacePoolXML() []byte {
	return []byte(`<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32>` +
		`<Obj N="PSThreadOptions" RefId="1"><TN RefId="0"><T>System.Management.Automation.Runspaces.PSThreadOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Default</ToString><I32>0</I32></Obj>` +
		`<Obj N="ApartmentState" RefId="2"><TN RefId="1"><T>System.Management.Automation.Runspaces.ApartmentState</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>UNKNOWN</ToString><I32>2</I32></Obj>` +
		`<Obj N="HostInfo" RefId="3"><MS><B N="_isHostNull">true</B><B N="_isHostUINull">true</B><B N="_isHostRawUINull">true</B><B N="_useRunspaceHost">true</B></MS></Obj>` +
		`<Nil N="ApplicationArguments" /></MS></Obj>`)
}

// CommandTypes bits (System.Management.Automation.CommandTypes).
const (
	CmdAlias          = 1
	CmdFunction       = 2
	CmdFilter         = 4
	CmdCmdlet         = 8
	CmdExternalScript = 16
	CmdApplication    = 32
	CmdScript         = 64
	CmdWorkflow       = 128
	CmdConfiguration  = 256
	CmdAll            = 511
)

// ImportTypes is what Import-PSSession asks for: every command type except
// the ones that cannot be proxied (applications and scripts); Exchange's
// no-language runspace would refuse scripts anyway.
const ImportTypes = CmdAll &^ (CmdApplication | CmdScript | CmdExternalScript)

// GetCommandMetadataXML is GET_COMMAND_METADATA (MS-PSRP 2.2.2.14).
func GetCommandMetadataXML(names []string, commandType int) []byte {
	var b strings.Builder
	b.WriteString(`<Obj RefId="0"><MS><Obj N="Name" RefId="1"><TN RefId="0"><T>System.String[]</T><T>System.Array</T><T>System.Object</T></TN><LST>`)
	for _, n := range names {
		b.WriteString("<S>" + escapeText(n) + "</S>")
	}
	b.WriteString(`</LST></Obj>`)
	fmt.Fprintf(&b, `<Obj N="CommandType" RefId="2"><TN RefId="1"><T>System.Management.Automation.CommandTypes</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>%s</ToString><I32>%d</I32></Obj>`, commandTypeString(commandType), commandType)
	b.WriteString(`<Obj N="Namespace" RefId="3"><TNRef RefId="0" /><LST /></Obj>`)
	b.WriteString(`<Obj N="ArgumentList" RefId="4"><TN RefId="2"><T>System.Object[]</T><T>System.Array</T><T>System.Object</T></TN><LST /></Obj>`)
	b.WriteString(`</MS></Obj>`)
	return []byte(b.String())
}

func commandTypeString(t int) string {
	names := []string{"Alias", "Function", "Filter", "Cmdlet", "ExternalScript", "Application", "Script", "Workflow", "Configuration"}
	if t == CmdAll {
		return "All"
	}
	var out []string
	for i, n := range names {
		if t&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// RunspacePoolState values (MS-PSRP 2.2.3.4).
const (
	PoolBeforeOpen = 0
	PoolOpening    = 1
	PoolOpened     = 2
	PoolClosed     = 3
	PoolClosing    = 4
	PoolBroken     = 5
)

// PipelineState values (MS-PSRP 2.2.3.5).
const (
	PipelineNotStarted = 0
	PipelineRunning    = 1
	PipelineStopping   = 2
	PipelineStopped    = 3
	PipelineCompleted  = 4
	PipelineFailed     = 5
)

// State is a RUNSPACEPOOL_STATE or PIPELINE_STATE: the state number and,
// when the server attached one, the error that caused it.
type State struct {
	State int
	Error string
}

// ParseRunspacePoolState decodes RUNSPACEPOOL_STATE.
func ParseRunspacePoolState(data []byte) (State, error) {
	return parseState(data, "RunspaceState")
}

// ParsePipelineState decodes PIPELINE_STATE.
func ParsePipelineState(data []byte) (State, error) {
	return parseState(data, "PipelineState")
}

func parseState(data []byte, prop string) (State, error) {
	v, err := ParseCLIXML(data)
	if err != nil {
		return State{}, err
	}
	n, ok := v.Prop(prop).Int()
	if !ok {
		return State{}, fmt.Errorf("psrp: state message without %s", prop)
	}
	st := State{State: int(n)}
	if er := v.Prop("ExceptionAsErrorRecord"); er != nil {
		st.Error = ErrorRecordMessage(er)
	}
	return st, nil
}

// ErrorRecordMessage is the human message of an ErrorRecord object.
func ErrorRecordMessage(v *Value) string {
	if v == nil {
		return ""
	}
	if ex := v.Prop("Exception"); ex != nil {
		if m := ex.Prop("Message").Str(); m != "" {
			return m
		}
	}
	if m := v.Prop("ErrorDetails_Message").Str(); m != "" {
		return m
	}
	if m := v.Prop("Message").Str(); m != "" {
		return m
	}
	return v.ToString
}

// ParseErrorRecord decodes an ERROR_RECORD message to its message text.
func ParseErrorRecord(data []byte) (string, error) {
	v, err := ParseCLIXML(data)
	if err != nil {
		return "", err
	}
	return ErrorRecordMessage(v), nil
}

// Capability is the server's SESSION_CAPABILITY.
type Capability struct{ ProtocolVersion, PSVersion, SerializationVersion string }

// ParseSessionCapability decodes SESSION_CAPABILITY.
func ParseSessionCapability(data []byte) (Capability, error) {
	v, err := ParseCLIXML(data)
	if err != nil {
		return Capability{}, err
	}
	c := Capability{
		ProtocolVersion:      v.Prop("protocolversion").Str(),
		PSVersion:            v.Prop("PSVersion").Str(),
		SerializationVersion: v.Prop("SerializationVersion").Str(),
	}
	if c.ProtocolVersion == "" {
		return c, fmt.Errorf("psrp: session capability without protocolversion")
	}
	return c, nil
}

// ParseApplicationPrivateData returns PSVersionTable.PSVersion from
// APPLICATION_PRIVATE_DATA, when the server sent it.
func ParseApplicationPrivateData(data []byte) (psVersion string, err error) {
	v, err := ParseCLIXML(data)
	if err != nil {
		return "", err
	}
	t := v.Prop("ApplicationPrivateData").Lookup("PSVersionTable")
	return t.Lookup("PSVersion").Str(), nil
}

// CommandInfo is one object of the GET_COMMAND_METADATA reply.
type CommandInfo struct {
	Name        string
	CommandType string
	Namespace   string
}

// ParseCommandMetadataOutput decodes a PIPELINE_OUTPUT of a
// GET_COMMAND_METADATA pipeline: the first object carries Count (isCount
// true), every later one a command. The skim answers for the objects
// servers send; what it leaves (skim.go says what) gets the tree parser.
func ParseCommandMetadataOutput(data []byte) (info CommandInfo, count int, isCount bool, err error) {
	if info, count, isCount, ok := skimCommandMetadata(data); ok {
		return info, count, isCount, nil
	}
	return parseCommandMetadataTree(data)
}

// parseCommandMetadataTree is ParseCommandMetadataOutput over the whole
// CLIXML tree: the definition the skim is held to.
func parseCommandMetadataTree(data []byte) (info CommandInfo, count int, isCount bool, err error) {
	v, err := ParseCLIXML(data)
	if err != nil {
		return info, 0, false, err
	}
	if c := v.Prop("Count"); c != nil && v.Prop("Name") == nil {
		n, ok := c.Int()
		if !ok || n < 0 {
			return info, 0, false, fmt.Errorf("psrp: command count %q is not a number", c.Text)
		}
		return info, int(n), true, nil
	}
	// an object without a name (another cmdlet's output) is not a command;
	// the caller skips it rather than failing the session
	info.Name = v.Prop("Name").Str()
	info.CommandType = v.Prop("CommandType").Str()
	info.Namespace = v.Prop("Namespace").Str()
	return info, 0, false, nil
}
