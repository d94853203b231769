package winauth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Wrap tokens with confidentiality (RFC 4121 section 4.2.6.2) as Windows'
// SSPI makes them for WinRM's multipart/encrypted bodies (MS-WSMV
// 2.2.9.1.1, MS-KILE 3.4.5.4.1): the token is
//
//	header(16) | rotate_right(E(confounder | msg | header') | HMAC, RRC)
//
// with EC 0 (AES-CTS needs no padding), RRC the length of the encrypted
// header copy plus the checksum (28 for the AES-SHA1 types), so that what
// WinRM calls the signature, the token header, the rotated trailer and
// the encrypted confounder, comes first with a fixed length (60 bytes for
// AES-SHA1) and the encrypted message after it is exactly as long as the
// message.
const (
	wrapTokenLen = 16

	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04
)

// cfxETypes are the encryption types RFC 4121's tokens are defined for;
// RC4 (RFC 4757) and DES use older token formats nothing here speaks.
var cfxETypes = map[int32]bool{
	etypeID.AES128_CTS_HMAC_SHA1_96: true, etypeID.AES256_CTS_HMAC_SHA1_96: true,
	etypeID.AES128_CTS_HMAC_SHA256_128: true, etypeID.AES256_CTS_HMAC_SHA384_192: true,
}

// errKrbNotEstablished is Wrap or Unwrap before the AP-REP was verified: no
// key is agreed until then.
var errKrbNotEstablished = errors.New("the kerberos context is not established; seal messages only after the logon completed")

// protectionKey is the key wrap tokens use (RFC 4121 section 2): the
// acceptor's subkey when the AP-REP carried one, else the initiator's.
func (c *kerberosContext) protectionKey() (types.EncryptionKey, byte) {
	if len(c.acceptorSubkey.KeyValue) > 0 {
		return c.acceptorSubkey, flagAcceptorSubkey
	}
	return c.initiatorKey(), 0
}

// initiatorKey is the key of a token without the AcceptorSubkey flag:
// the authenticator's subkey, else the ticket's session key.
func (c *kerberosContext) initiatorKey() types.EncryptionKey {
	if len(c.auth.SubKey.KeyValue) > 0 {
		return c.auth.SubKey
	}
	return c.t.st.Key
}

func cfxEType(key types.EncryptionKey) (etype.EType, error) {
	if !cfxETypes[key.KeyType] {
		return nil, fmt.Errorf("the kerberos key is %s, for which exdiag seals no messages; use https, or a realm with aes keys", kerb.ETypeName(key.KeyType))
	}
	return crypto.GetEtype(key.KeyType)
}

// Wrap seals msg as the initiator's next wrap token, split as WinRM frames
// it: the signature header, then the encrypted message of msg's length.
func (c *kerberosContext) Wrap(msg []byte) (header, sealed []byte, err error) {
	if c.state != stateEstablished {
		return nil, nil, errKrbNotEstablished
	}
	key, keyFlag := c.protectionKey()
	et, err := cfxEType(key)
	if err != nil {
		return nil, nil, err
	}
	rrc := wrapTokenLen + et.GetHMACBitLength()/8
	hdr := make([]byte, wrapTokenLen)
	hdr[0], hdr[1], hdr[2], hdr[3] = 0x05, 0x04, flagSealed|keyFlag, 0xff
	// EC 0 and, in the encrypted copy, RRC 0 (RFC 4121 4.2.5)
	binary.BigEndian.PutUint64(hdr[8:], uint64(c.sendSeq))
	plain := make([]byte, 0, len(msg)+wrapTokenLen)
	plain = append(append(plain, msg...), hdr...)
	_, ct, err := et.EncryptMessage(key.KeyValue, plain, keyusage.GSSAPI_INITIATOR_SEAL)
	if err != nil {
		return nil, nil, fmt.Errorf("sealing the message: %v", err)
	}
	c.sendSeq++
	binary.BigEndian.PutUint16(hdr[6:], uint16(rrc))
	rot := rotateRight(ct, rrc)
	split := rrc + et.GetConfounderByteSize()
	return append(hdr, rot[:split]...), rot[split:], nil
}

// Unwrap opens the acceptor's wrap token given as WinRM frames it (the
// signature header and the encrypted message), checking its integrity,
// its direction and its sequence number.
func (c *kerberosContext) Unwrap(header, sealed []byte) ([]byte, error) {
	if c.state != stateEstablished {
		return nil, errKrbNotEstablished
	}
	if len(header) < wrapTokenLen || len(header)+len(sealed) > maxWrapped {
		return nil, fmt.Errorf("the server's sealed message has a %d-byte header and %d bytes, outside what a wrap token holds; check what answers for %s", len(header), len(sealed), c.t.spn)
	}
	hdr := header[:wrapTokenLen]
	fl := hdr[2]
	switch {
	case hdr[0] != 0x05 || hdr[1] != 0x04 || hdr[3] != 0xff:
		return nil, fmt.Errorf("the server's sealed message is not an RFC 4121 wrap token (it starts %x); check what answers for %s", hdr[:4], c.t.spn)
	case fl&flagSentByAcceptor == 0:
		return nil, errors.New("the server's sealed message says the client sent it: a reflected message, refused; check what sits between exdiag and the server")
	case fl&flagSealed == 0:
		return nil, errors.New("the server's message is signed but not encrypted; winrm over http must encrypt, check the server's AllowUnencrypted setting")
	}
	var key types.EncryptionKey
	if fl&flagAcceptorSubkey != 0 {
		if len(c.acceptorSubkey.KeyValue) == 0 {
			return nil, errors.New("the server's sealed message uses an acceptor subkey its AP-REP never sent; check what answers for " + c.t.spn)
		}
		key = c.acceptorSubkey
	} else {
		key = c.initiatorKey()
	}
	et, err := cfxEType(key)
	if err != nil {
		return nil, err
	}
	ec := int(binary.BigEndian.Uint16(hdr[4:6]))
	rrc := int(binary.BigEndian.Uint16(hdr[6:8]))
	seq := binary.BigEndian.Uint64(hdr[8:16])
	blob := make([]byte, 0, len(header)-wrapTokenLen+len(sealed))
	blob = append(append(blob, header[wrapTokenLen:]...), sealed...)
	if len(blob) < et.GetConfounderByteSize()+wrapTokenLen+ec+et.GetHMACBitLength()/8 {
		return nil, fmt.Errorf("the server's sealed message is %d bytes, shorter than an empty one; check what answers for %s", len(blob), c.t.spn)
	}
	// RFC 4121 rotates by RRC; Windows rotates by RRC+EC (MS-KILE
	// 3.4.5.4.1). With EC 0 they agree; otherwise the checksum says which.
	var plain []byte
	for _, r := range []int{rrc + ec, rrc} {
		err = kerb.Safely(func() (err error) {
			plain, err = et.DecryptMessage(key.KeyValue, rotateLeft(blob, r), keyusage.GSSAPI_ACCEPTOR_SEAL)
			return err
		})
		if err == nil || ec == 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the server's sealed message does not decrypt with the logon's key (%v); check what sits between exdiag and the server", err)
	}
	if len(plain) < wrapTokenLen+ec {
		return nil, fmt.Errorf("the server's sealed message is too short to hold its header; check what answers for %s", c.t.spn)
	}
	inner := plain[len(plain)-wrapTokenLen:]
	want := append([]byte(nil), hdr...)
	want[6], want[7] = 0, 0 // the encrypted copy carries RRC 0
	if !bytes.Equal(inner, want) {
		return nil, errors.New("the server's sealed message has a header that is not the one it encrypted: tampered with, refused; check what sits between exdiag and the server")
	}
	if seq != c.recvSeq {
		return nil, fmt.Errorf("the server's sealed message has sequence number %d where %d was due: replayed or reordered, refused; check what sits between exdiag and the server", seq, c.recvSeq)
	}
	c.recvSeq++
	return plain[:len(plain)-wrapTokenLen-ec], nil
}

// rotateRight moves the last n bytes of b to its front (RFC 4121 4.2.5).
func rotateRight(b []byte, n int) []byte {
	if len(b) == 0 {
		return nil
	}
	n %= len(b)
	out := make([]byte, 0, len(b))
	return append(append(out, b[len(b)-n:]...), b[:len(b)-n]...)
}

// rotateLeft undoes rotateRight.
func rotateLeft(b []byte, n int) []byte {
	if len(b) == 0 {
		return nil
	}
	n %= len(b)
	out := make([]byte, 0, len(b))
	return append(append(out, b[n:]...), b[:n]...)
}
