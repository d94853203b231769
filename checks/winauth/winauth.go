// Package winauth is the client side of Windows authentication over HTTP
// as a WinRM client performs it: Kerberos and NTLM security contexts
// carried in WWW-Authenticate/Authorization tokens, bound to the TLS
// channel they travel on (Extended Protection for Authentication), and
// the message sealing WinRM requires over plain http.
//
// A Context is one security context: the HTTP layer (one connection per
// context, since NTLM and Kerberos authenticate the connection) feeds it
// the server's tokens and sends the ones it returns.
package winauth

import (
	"crypto"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	_ "crypto/sha256" // tls-server-end-point hashes
	_ "crypto/sha512"
)

// Mechanisms, as New-PSSession -Authentication names them.
const (
	Kerberos  = "kerberos"
	NTLM      = "ntlm"
	Negotiate = "negotiate" // Kerberos, falling back to NTLM as Windows does
)

// Context is the client side of one security context.
type Context interface {
	// Step takes the server's token (nil before the first request) and
	// returns the token for the next request. done reports that the
	// context is established: for Kerberos with mutual authentication,
	// only after the server's AP-REP was verified. A server token that
	// is an error (a KRB-ERROR inside SPNEGO) comes back as *KerberosError.
	Step(in []byte) (out []byte, done bool, err error)
	// Scheme is the HTTP authentication scheme the tokens travel in
	// ("Negotiate" or "NTLM").
	Scheme() string
	// Mech is the mechanism actually in use (Kerberos or NTLM), which
	// for Negotiate is known after the first Step.
	Mech() string
}

// Sealer is a context that can wrap messages for confidentiality, as
// MS-WSMV's multipart/encrypted requires over http.
type Sealer interface {
	// Wrap seals msg; the result is the encrypted part as WinRM frames
	// it (the signature header first, its length given separately).
	Wrap(msg []byte) (header, sealed []byte, err error)
	Unwrap(header, sealed []byte) ([]byte, error)
}

// ChannelBindings is what binds a logon to the TLS connection it travels
// on (RFC 5929 tls-server-end-point, as Windows computes it for Extended
// Protection): the hash of the certificate the client saw.
type ChannelBindings struct {
	// ApplicationData is "tls-server-end-point:" followed by the hash.
	ApplicationData []byte
}

// ServerEndPoint computes the tls-server-end-point binding of the
// connection's leaf certificate: its signature's hash, SHA-256 when that
// is MD5 or SHA-1 (RFC 5929 section 4.1).
func ServerEndPoint(cs *tls.ConnectionState) (*ChannelBindings, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, errors.New("no tls certificate to bind the logon to")
	}
	return EndPointOf(cs.PeerCertificates[0])
}

// EndPointOf is ServerEndPoint for one certificate.
func EndPointOf(cert *x509.Certificate) (*ChannelBindings, error) {
	var h crypto.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	case x509.PureEd25519:
		// RFC 5929 leaves it undefined; Windows uses SHA-256 for any
		// algorithm it cannot map, and so does everyone else.
		h = crypto.SHA256
	default: // MD5, SHA-1 and SHA-256 signatures alike
		h = crypto.SHA256
	}
	d := h.New()
	d.Write(cert.Raw)
	return &ChannelBindings{ApplicationData: append([]byte("tls-server-end-point:"), d.Sum(nil)...)}, nil
}

// Hash is the MD5 of the gss_channel_bindings_struct (RFC 2744 section
// 3.11, with no addresses, as SSPI sends it): what Kerberos carries in
// the authenticator checksum's Bnd field (RFC 4121 section 4.1.1.2) and
// NTLM in MsvAvChannelBindings (MS-NLMP 2.2.2.1). A nil binding is 16
// zero bytes, "no binding".
func (cb *ChannelBindings) Hash() [16]byte {
	var out [16]byte
	if cb == nil {
		return out
	}
	b := make([]byte, 0, 20+len(cb.ApplicationData))
	b = binary.LittleEndian.AppendUint32(b, 0) // initiator_addrtype
	b = binary.LittleEndian.AppendUint32(b, 0) // initiator_address length
	b = binary.LittleEndian.AppendUint32(b, 0) // acceptor_addrtype
	b = binary.LittleEndian.AppendUint32(b, 0) // acceptor_address length
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cb.ApplicationData)))
	b = append(b, cb.ApplicationData...)
	return md5.Sum(b)
}

// KerberosError is a KRB-ERROR the server (or the KDC) answered with.
type KerberosError struct {
	Code int32  // e.g. 41 KRB_AP_ERR_MODIFIED, 37 KRB_AP_ERR_SKEW
	Name string // the RFC 4120 name
	By   string // "the server at https://…" or "the kdc host:88"
	Text string // e-text, server-chosen: scrub before reporting
	// ServerTime is the KRB-ERROR's stime/susec: the answering clock, which
	// for KRB_AP_ERR_SKEW says how far it is from this machine's.
	ServerTime time.Time
}

func (e *KerberosError) Error() string {
	s := fmt.Sprintf("%s answered %s (%d)", e.By, e.Name, e.Code)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}
