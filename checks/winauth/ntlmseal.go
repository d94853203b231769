package winauth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"sync"
)

// ntlmSession is the session security of an established NTLM context
// with extended session security (MS-NLMP 3.4.4.2, 3.4.5): one RC4 key
// stream and one sequence number per direction, both running for the
// whole connection, as connection-oriented NTLM (what WinRM uses) has it.
type ntlmSession struct {
	mu                     sync.Mutex
	flags                  uint32
	clientSign, serverSign []byte
	clientSeal, serverSeal *rc4.Cipher
	sendSeq, recvSeq       uint32
}

// String leaves the signing and sealing keys out of any %v.
func (s *ntlmSession) String() string { return "ntlm session security" }

// GoString is String for %#v.
func (s *ntlmSession) GoString() string { return s.String() }

const ntlmSignatureLen = 16 // NTLMSSP_MESSAGE_SIGNATURE: version, checksum, sequence

func newNTLMSession(exported []byte, flags uint32) *ntlmSession {
	sealKey := exported // 3.4.5.3 SEALKEY: weaker keys only for weaker flags
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		sealKey = exported[:7]
	default:
		sealKey = exported[:5]
	}
	derive := func(k []byte, magic string) []byte {
		h := md5.New()
		h.Write(k)
		h.Write([]byte(magic))
		h.Write([]byte{0})
		return h.Sum(nil)
	}
	cs, _ := rc4.NewCipher(derive(sealKey, "session key to client-to-server sealing key magic constant"))
	ss, _ := rc4.NewCipher(derive(sealKey, "session key to server-to-client sealing key magic constant"))
	return &ntlmSession{
		flags:      flags,
		clientSign: derive(exported, "session key to client-to-server signing key magic constant"),
		serverSign: derive(exported, "session key to server-to-client signing key magic constant"),
		clientSeal: cs,
		serverSeal: ss,
	}
}

// checksum is the MAC of 3.4.4.2 for msg at seq; with key exchange its
// checksum goes through the direction's RC4 stream after the message.
func (s *ntlmSession) checksum(signKey []byte, seal *rc4.Cipher, seq uint32, msg []byte) []byte {
	sig := make([]byte, ntlmSignatureLen)
	binary.LittleEndian.PutUint32(sig, 1)
	var seqb [4]byte
	binary.LittleEndian.PutUint32(seqb[:], seq)
	copy(sig[4:12], hmacMD5(signKey, seqb[:], msg))
	if s.flags&flagKeyExch != 0 {
		seal.XORKeyStream(sig[4:12], sig[4:12])
	}
	copy(sig[12:], seqb[:])
	return sig
}

var (
	errNTLMNotEstablished = errors.New("the ntlm logon has not finished, so there is no key to seal with; log on first")
	errNoSealing          = errors.New("the server did not agree to ntlm sealing with extended session security, so messages cannot be encrypted; use https")
	errBadSeal            = errors.New("the server's sealed message does not verify (wrong key or sequence); check that nothing between exdiag and the server rewrites the body")
)

func (c *ntlmContext) session() (*ntlmSession, error) {
	if c.sess == nil {
		return nil, errNTLMNotEstablished
	}
	if c.flags&(flagESS|flagSeal) != flagESS|flagSeal {
		return nil, errNoSealing
	}
	return c.sess, nil
}

// Wrap is GSS_WrapEx with confidentiality (3.4.3): the 16-byte signature
// as the header, the message sealed under the client's key stream.
func (c *ntlmContext) Wrap(msg []byte) (header, sealed []byte, err error) {
	s, err := c.session()
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sealed = make([]byte, len(msg))
	s.clientSeal.XORKeyStream(sealed, msg)
	header = s.checksum(s.clientSign, s.clientSeal, s.sendSeq, msg)
	s.sendSeq++
	return header, sealed, nil
}

// Unwrap is GSS_UnwrapEx: it unseals the server's message and checks its
// signature and sequence number.
func (c *ntlmContext) Unwrap(header, sealed []byte) ([]byte, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	if len(header) != ntlmSignatureLen {
		return nil, errors.New("the server's ntlm signature is not 16 bytes; check that nothing between exdiag and the server rewrites the body")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := make([]byte, len(sealed))
	s.serverSeal.XORKeyStream(msg, sealed)
	want := s.checksum(s.serverSign, s.serverSeal, s.recvSeq, msg)
	if !hmac.Equal(want, header) {
		return nil, errBadSeal
	}
	s.recvSeq++
	return msg, nil
}
