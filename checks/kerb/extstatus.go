package kerb

import (
	"encoding/asn1"
	"encoding/binary"
	"errors"

	"github.com/jcmturner/gokrb5/v8/types"
)

// A domain controller says why it refused a logon in the KRB-ERROR's
// e-data: a KERB-EXT-ERROR ([MS-KILE] 2.2.1) whose first four bytes are
// the NTSTATUS (little-endian), carried either as the value of a PA-DATA
// of type PA-PW-SALT (3) in a METHOD-DATA, or as the data-value of a
// KERB-ERROR-DATA with data-type KERB_ERR_TYPE_EXTENDED (3). MIT's KDC
// sends neither, so a missing status is normal.

const (
	paPWSalt            = 3
	kerbErrTypeExtended = 3
	extErrorLen         = 12 // NTSTATUS, reserved, flags
)

// kerbErrorData is [MS-KILE] 2.2.2 KERB-ERROR-DATA.
type kerbErrorData struct {
	DataType  int32  `asn1:"explicit,tag:1"`
	DataValue []byte `asn1:"optional,explicit,tag:2"`
}

// NTStatus returns the NTSTATUS a domain controller attached to err, if any.
func NTStatus(err error) (uint32, bool) {
	var ke *KDCError
	if !errors.As(err, &ke) {
		return 0, false
	}
	return ntStatus(ke.edata)
}

func ntStatus(edata []byte) (uint32, bool) {
	if len(edata) == 0 || len(edata) > maxReply {
		return 0, false
	}
	var pas types.PADataSequence
	if safely(func() error { return pas.Unmarshal(edata) }) == nil {
		for _, pa := range pas {
			if pa.PADataType == paPWSalt && len(pa.PADataValue) == extErrorLen {
				return binary.LittleEndian.Uint32(pa.PADataValue), true
			}
		}
	}
	var d kerbErrorData
	if rest, err := asn1.Unmarshal(edata, &d); err == nil && len(rest) == 0 &&
		d.DataType == kerbErrTypeExtended && len(d.DataValue) == extErrorLen {
		return binary.LittleEndian.Uint32(d.DataValue), true
	}
	return 0, false
}
