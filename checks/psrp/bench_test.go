package psrp

import "testing"

// recordedOutputs are the PIPELINE_OUTPUT messages of the recorded
// GET_COMMAND_METADATA answer: real PowerShell's Count object, then three
// CmdletInfo objects of 12 to 18 KB with every parameter's metadata.
func recordedOutputs(tb testing.TB) [][]byte {
	var out [][]byte
	for _, m := range messagesOf(tb, load(tb, "test_psrp_get_command_metadata.yml")[4].Response) {
		if m.Type == PipelineOutput {
			out = append(out, m.Data)
		}
	}
	if len(out) != 4 {
		tb.Fatalf("%d outputs recorded, want the count and 3 commands", len(out))
	}
	return out
}

// BenchmarkParseCommandMetadataOutput decodes one recorded command object
// (what a session does once per command the server lists) and the Count.
func BenchmarkParseCommandMetadataOutput(b *testing.B) {
	outs := recordedOutputs(b)
	for _, c := range []struct {
		name string
		data []byte
	}{{"count", outs[0]}, {"cmdlet", outs[2]}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := ParseCommandMetadataOutput(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
