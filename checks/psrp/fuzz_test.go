package psrp

import (
	"testing"

	"github.com/exdiag/exdiag/checks/internal/recording"
)

// seeds adds every recorded payload to f, split as the decoders see it.
func seeds(f *testing.F, each func(p []byte)) {
	for _, name := range []string{"test_psrp_get_command_metadata.yml", "test_psrp_with_jea_configuration.yml", "test_psrp_open_runspace.yml"} {
		ex, err := recording.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range ex {
			for _, env := range []string{e.Request, e.Response} {
				ps, _ := recording.Payloads(env)
				for _, p := range ps {
					each(p)
				}
			}
		}
	}
}

func FuzzParseFragments(f *testing.F) {
	seeds(f, func(p []byte) { f.Add(p) })
	f.Fuzz(func(t *testing.T, b []byte) {
		frags, err := ParseFragments(b, 4096)
		if err != nil {
			return
		}
		a := Assembler{MaxMessage: 8192, MaxPending: 4}
		total := 0
		for _, fr := range frags {
			if len(fr.Data) > 4096 {
				t.Fatalf("fragment of %d bytes passed a 4096 cap", len(fr.Data))
			}
			m, _, err := a.Add(fr)
			if err != nil {
				continue
			}
			if len(m) > 8192 {
				t.Fatalf("message of %d bytes passed an 8192 cap", len(m))
			}
			total += len(m)
		}
		if a.Pending() > 4 {
			t.Fatalf("%d pending messages passed a cap of 4", a.Pending())
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	seeds(f, func(p []byte) {
		if frags, err := ParseFragments(p, 0); err == nil && len(frags) > 0 {
			f.Add(frags[0].Data)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if len(m.Data) != len(b)-MessageHeaderLen {
			t.Fatal("data length mismatch")
		}
		if string(m.Encode()) != string(b) {
			t.Fatal("decode/encode is not the identity")
		}
	})
}

func FuzzParseCLIXML(f *testing.F) {
	seeds(f, func(p []byte) {
		if frags, err := ParseFragments(p, 0); err == nil && len(frags) > 0 && len(frags[0].Data) > MessageHeaderLen {
			f.Add(frags[0].Data[MessageHeaderLen:])
		}
	})
	f.Add([]byte(`<Obj RefId="0"><MS><Ref N="x" RefId="0"/><S>_xD83D_</S></MS></Obj>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseCLIXML(b)
		if err != nil {
			return
		}
		_ = v.Prop("Name").Str()
		_, _ = ParsePipelineState(b)
		_, _ = ParseSessionCapability(b)
		_, _ = ParseApplicationPrivateData(b)
		_, _, _, _ = ParseCommandMetadataOutput(b)
		_, _ = ParseErrorRecord(b)
	})
}

// FuzzCommandMetadataSkim holds the skim to the tree: whenever it answers,
// the tree parses the same input without error and gives the same answer.
func FuzzCommandMetadataSkim(f *testing.F) {
	seeds(f, func(p []byte) {
		if frags, err := ParseFragments(p, 0); err == nil && len(frags) > 0 && len(frags[0].Data) > MessageHeaderLen {
			f.Add(frags[0].Data[MessageHeaderLen:])
		}
	})
	f.Add([]byte(`<Obj RefId="0"><TN><Obj RefId="5"><ToString>a&amp;b</ToString></Obj></TN><MS><Ref N="Name" RefId="5"/><I32 N="Count">1</I32><S N="_x004E_amespace">x_x000A_</S></MS></Obj>`))
	f.Add([]byte(`<Obj><DCT><En><Obj N="Value" RefId="3"><I32>8</I32></Obj></En></DCT><MS><Ref N="CommandType" RefId="3"/><S N="Name">a<b/>c</S></MS></Obj>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, n, isCount, ok := skimCommandMetadata(b)
		if !ok {
			return
		}
		tinfo, tn, tisCount, err := parseCommandMetadataTree(b)
		if err != nil {
			t.Fatalf("the skim answered where the tree fails: %v", err)
		}
		if info != tinfo || n != tn || isCount != tisCount {
			t.Fatalf("skim %+v %d %v, tree %+v %d %v", info, n, isCount, tinfo, tn, tisCount)
		}
	})
}
