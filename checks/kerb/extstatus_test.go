package kerb

import (
	"encoding/asn1"
	"encoding/binary"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
)

func extError(status uint32) []byte {
	b := make([]byte, extErrorLen)
	binary.LittleEndian.PutUint32(b, status)
	return b
}

func TestNTStatus(t *testing.T) {
	padata, _ := asn1.Marshal(types.PADataSequence{{PADataType: paPWSalt, PADataValue: extError(0xC0000234)}})
	typed, _ := asn1.Marshal(kerbErrorData{DataType: kerbErrTypeExtended, DataValue: extError(0xC0000072)})
	salt, _ := asn1.Marshal(types.PADataSequence{{PADataType: paPWSalt, PADataValue: []byte("CONTOSO.TESTadministrator")}})
	for _, tc := range []struct {
		name  string
		edata []byte
		want  uint32
		ok    bool
	}{
		{"method-data with pa-pw-salt (what AD sends)", padata, 0xC0000234, true},
		{"kerb-error-data, extended", typed, 0xC0000072, true},
		{"a real salt is no status", salt, 0, false},
		{"none (MIT)", nil, 0, false},
		{"garbage", []byte{0x30, 0x84, 0xff, 0xff}, 0, false},
	} {
		got, ok := NTStatus(&KDCError{Code: 18, edata: tc.edata})
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: got %#x %v, want %#x %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzNTStatus(f *testing.F) {
	padata, _ := asn1.Marshal(types.PADataSequence{{PADataType: paPWSalt, PADataValue: extError(0xC0000234)}})
	f.Add(padata)
	f.Fuzz(func(t *testing.T, b []byte) { ntStatus(b) })
}
