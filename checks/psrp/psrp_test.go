package psrp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/exdiag/exdiag/checks/internal/recording"
)

func TestFragmentRoundTrip(t *testing.T) {
	msg := bytes.Repeat([]byte("abcdefghij"), 100)
	frags := Split(7, msg, 64)
	if len(frags) != 16 || !frags[0].Start || frags[0].End || !frags[15].End {
		t.Fatalf("split into %d fragments, flags first %v/%v last end %v", len(frags), frags[0].Start, frags[0].End, frags[15].End)
	}
	var wire []byte
	for _, f := range frags {
		wire = f.Append(wire)
	}
	got, err := ParseFragments(wire, 1024)
	if err != nil {
		t.Fatal(err)
	}
	var a Assembler
	var out []byte
	for i, f := range got {
		m, done, err := a.Add(f)
		if err != nil {
			t.Fatal(err)
		}
		if done != (i == len(got)-1) {
			t.Fatalf("fragment %d: done %v", i, done)
		}
		out = m
	}
	if !bytes.Equal(out, msg) || a.Pending() != 0 {
		t.Fatalf("reassembled %d bytes, pending %d", len(out), a.Pending())
	}
}

func TestFragmentHeaderLayout(t *testing.T) {
	b := Fragment{ObjectID: 0x0102030405060708, FragmentID: 9, Start: true, End: true, Data: []byte("xy")}.Append(nil)
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 9, 3, 0, 0, 0, 2, 'x', 'y'}
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x", b)
	}
}

func TestAssemblerRules(t *testing.T) {
	cases := []struct {
		name  string
		frags []Fragment
		max   int
		want  string
	}{
		{"continuation without start", []Fragment{{ObjectID: 1, FragmentID: 1, End: true}}, 0, "without a start"},
		{"start not zero", []Fragment{{ObjectID: 1, FragmentID: 2, Start: true}}, 0, "starts with fragment id 2"},
		{"out of order", []Fragment{{ObjectID: 1, Start: true, Data: []byte("a")}, {ObjectID: 1, FragmentID: 2, End: true}}, 0, "out of order"},
		{"started twice", []Fragment{{ObjectID: 1, Start: true}, {ObjectID: 1, Start: true}}, 0, "started twice"},
		{"message cap", []Fragment{{ObjectID: 1, Start: true, Data: []byte("aaaa")}, {ObjectID: 1, FragmentID: 1, Data: []byte("bbbb")}}, 6, "larger than allowed"},
	}
	for _, c := range cases {
		a := Assembler{MaxMessage: c.max}
		var err error
		for _, f := range c.frags {
			if _, _, err = a.Add(f); err != nil {
				break
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	a := Assembler{MaxPending: 2}
	for i := range 3 {
		_, _, err := a.Add(Fragment{ObjectID: uint64(i), Start: true})
		if (err != nil) != (i == 2) {
			t.Fatalf("pending %d: err %v", i, err)
		}
	}
}

func TestParseFragmentsCaps(t *testing.T) {
	wire := Fragment{ObjectID: 1, Start: true, End: true, Data: make([]byte, 100)}.Append(nil)
	if _, err := ParseFragments(wire, 50); !errors.Is(err, ErrTooLarge) {
		t.Errorf("cap: %v", err)
	}
	if _, err := ParseFragments(wire[:60], 0); err == nil {
		t.Error("truncated data accepted")
	}
	if _, err := ParseFragments(wire[:10], 0); err == nil {
		t.Error("truncated header accepted")
	}
}

func TestGUIDDotnetOrder(t *testing.T) {
	// Guid("00112233-4455-6677-8899-AABBCCDDEEFF").ToByteArray() in .NET
	g, err := ParseGUID("00112233-4455-6677-8899-AABBCCDDEEFF")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{Destination: DestinationServer, Type: GetCommandMetadata, RunspacePool: g}.Encode()
	want := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}
	if !bytes.Equal(m[8:24], want) {
		t.Fatalf("pool id on the wire % x", m[8:24])
	}
	if !bytes.Equal(m[0:8], []byte{2, 0, 0, 0, 0x0A, 0x10, 0x02, 0x00}) {
		t.Fatalf("destination/type % x", m[0:8])
	}
	back, err := DecodeMessage(m)
	if err != nil || back.RunspacePool != g || back.Type != GetCommandMetadata {
		t.Fatalf("decode: %v %v %v", err, back.RunspacePool, back.Type)
	}
	if g.String() != "00112233-4455-6677-8899-AABBCCDDEEFF" {
		t.Fatal(g.String())
	}
}

// messagesOf decodes every message of every payload of one recorded envelope.
func messagesOf(t testing.TB, env string) []Message {
	t.Helper()
	payloads, err := recording.Payloads(env)
	if err != nil {
		t.Fatal(err)
	}
	var a Assembler
	var out []Message
	for _, p := range payloads {
		frags, err := ParseFragments(p, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frags {
			data, done, err := a.Add(f)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				m, err := DecodeMessage(data)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m.Encode(), data) {
					t.Fatalf("%v does not re-encode to its bytes", m.Type)
				}
				out = append(out, m)
			}
		}
	}
	return out
}

func load(t testing.TB, name string) []recording.Exchange {
	t.Helper()
	ex, err := recording.Load(name)
	if err != nil {
		t.Fatalf("the recordings must be at %s: %v", recording.Dir(), err)
	}
	return ex
}

func TestRecordedOpenRunspace(t *testing.T) {
	ex := load(t, "test_psrp_open_runspace.yml")
	sent := messagesOf(t, ex[0].Request)
	if len(sent) != 2 || sent[0].Type != SessionCapability || sent[1].Type != InitRunspacePool {
		t.Fatalf("creationXml holds %v", sent)
	}
	v, err := ParseCLIXML(sent[1].Data)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Prop("MaxRunspaces").Int(); n != 1 || v.Prop("ApartmentState").Str() != "UNKNOWN" {
		t.Errorf("init runspace pool: max %d apartment %q", n, v.Prop("ApartmentState").Str())
	}
	var got []MessageType
	var capa Capability
	var psv string
	var state State
	for _, e := range ex[1:] {
		for _, m := range messagesOf(t, e.Response) {
			got = append(got, m.Type)
			switch m.Type {
			case SessionCapability:
				capa, err = ParseSessionCapability(m.Data)
			case ApplicationPrivateData:
				psv, err = ParseApplicationPrivateData(m.Data)
			case RunspacePoolStateMsg:
				state, err = ParseRunspacePoolState(m.Data)
			}
			if err != nil {
				t.Fatalf("%v: %v", m.Type, err)
			}
			if m.Destination != DestinationClient {
				t.Errorf("%v to destination %d", m.Type, m.Destination)
			}
		}
	}
	if len(got) != 3 || capa.ProtocolVersion != "2.3" || capa.SerializationVersion != "1.1.0.1" || psv == "" || state.State != PoolOpened {
		t.Fatalf("messages %v, capability %+v, ps %q, state %+v", got, capa, psv, state)
	}
	if !strings.HasPrefix(psv, "5.1.") {
		t.Errorf("PSVersion %q", psv)
	}
}

func TestRecordedCommandMetadata(t *testing.T) {
	ex := load(t, "test_psrp_get_command_metadata.yml")
	// the client's GET_COMMAND_METADATA, as the writer would produce it
	req := messagesOf(t, ex[3].Request)
	if len(req) != 1 || req[0].Type != GetCommandMetadata {
		t.Fatalf("command carries %v", req)
	}
	v, err := ParseCLIXML(req[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := v.Prop("Name"); n == nil || len(n.Items) != 1 || n.Items[0].Text != "new-pssession*" || n.Types[0] != "System.String[]" {
		t.Fatalf("Name %+v", n)
	}
	var names []string
	count := -1
	var final State
	for _, m := range messagesOf(t, ex[4].Response) {
		if m.Pipeline != req[0].Pipeline || m.RunspacePool != req[0].RunspacePool {
			t.Errorf("%v for pipeline %v pool %v", m.Type, m.Pipeline, m.RunspacePool)
		}
		switch m.Type {
		case PipelineOutput:
			info, n, isCount, err := ParseCommandMetadataOutput(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if isCount {
				count = n
			} else {
				names = append(names, info.Name)
				if info.CommandType != "Cmdlet" || info.Namespace != "Microsoft.PowerShell.Core" {
					t.Errorf("%s: type %q namespace %q", info.Name, info.CommandType, info.Namespace)
				}
			}
		case PipelineStateMsg:
			final, err = ParsePipelineState(m.Data)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	want := "New-PSSession New-PSSessionConfigurationFile New-PSSessionOption"
	if count != 3 || strings.Join(names, " ") != want || final.State != PipelineCompleted {
		t.Fatalf("count %d names %v state %+v", count, names, final)
	}
}

func TestRecordedJEAErrors(t *testing.T) {
	ex := load(t, "test_psrp_with_jea_configuration.yml")
	var errs []string
	var failed State
	for _, e := range ex {
		for _, m := range messagesOf(t, e.Response) {
			switch m.Type {
			case ErrorRecord:
				msg, err := ParseErrorRecord(m.Data)
				if err != nil {
					t.Fatal(err)
				}
				errs = append(errs, msg)
			case PipelineStateMsg:
				st, err := ParsePipelineState(m.Data)
				if err != nil {
					t.Fatal(err)
				}
				if st.State == PipelineFailed {
					failed = st
				}
			}
		}
	}
	if len(errs) != 1 || errs[0] != "Cannot find a provider with the name 'FileSystem'." {
		t.Errorf("error records %q", errs)
	}
	if !strings.Contains(failed.Error, "no-language mode") {
		t.Errorf("failed pipeline %+v", failed)
	}
}

func TestWriterMessagesParse(t *testing.T) {
	v, err := ParseCLIXML(GetCommandMetadataXML([]string{"*", "a<b&_x"}, ImportTypes))
	if err != nil {
		t.Fatal(err)
	}
	if n := v.Prop("Name"); len(n.Items) != 2 || n.Items[0].Text != "*" || n.Items[1].Text != "a<b&_x" {
		t.Fatalf("names %+v", n.Items)
	}
	if n, _ := v.Prop("CommandType").Int(); n != 399 {
		t.Fatalf("command type %d (%q)", n, v.Prop("CommandType").Str())
	}
	if ns := v.Prop("Namespace"); ns == nil || len(ns.Items) != 0 || ns.Kind != "Obj" {
		t.Fatalf("namespace %+v", ns)
	}
	if al := v.Prop("ArgumentList"); al == nil || al.Kind != "Obj" || al.Types[0] != "System.Object[]" {
		t.Fatalf("argument list %+v", al)
	}
	if _, err := ParseSessionCapability(SessionCapabilityXML()); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCLIXML(InitRunspacePoolXML()); err != nil {
		t.Fatal(err)
	}
}

func TestCLIXMLTolerance(t *testing.T) {
	doc := "\xEF\xBB\xBF" + `<Obj RefId="0"><TN RefId="0"><T>Deserialized.X</T><T>System.Object</T></TN><ToString>x</ToString>` +
		`<Props><S N="Name">Get_x005F_x_x000A_Mailbox</S><Unknown N="Odd"><Deep/></Unknown></Props>` +
		`<MS><Obj N="Inner" RefId="1"><TNRef RefId="0" /><MS><I32 N="Count">5</I32></MS></Obj><Ref N="Again" RefId="1" />` +
		`<S N="Emoji">_xD83D__xDE00_</S></MS></Obj>`
	v, err := ParseCLIXML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Prop("name").Str(); got != "Get_x\nMailbox" {
		t.Errorf("escapes: %q", got)
	}
	if n, _ := v.Prop("Again").Prop("Count").Int(); n != 5 || v.Prop("Again").Types[0] != "Deserialized.X" {
		t.Errorf("ref reuse: %+v", v.Prop("Again"))
	}
	if v.Prop("Emoji").Str() != "😀" {
		t.Errorf("surrogates: %q", v.Prop("Emoji").Str())
	}
	deep := strings.Repeat("<Obj><MS>", 100) + strings.Repeat("</MS></Obj>", 100)
	if _, err := ParseCLIXML([]byte(deep)); err == nil {
		t.Error("unbounded depth accepted")
	}
	for _, bad := range []string{"", "<Obj>", "not xml", "<Obj><MS><S>x</MS></Obj>"} {
		if _, err := ParseCLIXML([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
