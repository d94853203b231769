package winauth

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/checks/netx"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The byte budgets of what a server sends the Kerberos context, checked
// before any decoder or decryption sees it.
const (
	// maxServerToken bounds a token a server answers a logon with: an
	// AP-REP is about 150 bytes, a KRB-ERROR with e-data a few hundred,
	// and SPNEGO adds a few dozen. 64 KiB is far above any real answer and
	// keeps a hostile server from making the ASN.1 decoders allocate more.
	maxServerToken = 64 << 10
	// maxWrapped bounds a sealed message to unwrap: far above a
	// WS-Management envelope (Exchange's MaxEnvelopeSize is 0.5-10 MB) and
	// far below harm, before decryption allocates its copies.
	maxWrapped = 32 << 20
)

// gssFlags are the context flags Windows' SSPI asks for when WinRM logs
// on with Kerberos: mutual authentication (the AP-REP proves the server
// holds the service key), and sequencing, confidentiality and integrity
// for the wrap tokens of an encrypted session.
const gssFlags = gssapi.ContextFlagMutual | gssapi.ContextFlagSequence | gssapi.ContextFlagConf | gssapi.ContextFlagInteg

// GSS-API krb5 token identifiers (RFC 4121 section 4.1).
var (
	tokAPReq    = []byte{0x01, 0x00}
	tokAPRep    = []byte{0x02, 0x00}
	tokKRBError = []byte{0x03, 0x00}
)

// ErrNoMutualAuth is a server that answered the AP-REQ with no token of
// its own: on a 200, nothing proved it holds the service's key (the logon
// is not known to have reached the service the ticket is for); on a 401,
// it refused without saying why, as Windows does for a bad channel
// binding. The caller knows which.
var ErrNoMutualAuth = errors.New("the server sent back no kerberos token (neither an ap-rep proving mutual authentication nor a krb-error); check the server's log for how it took the logon")

// KerberosOptions says whom to log on as and for which service.
type KerberosOptions struct {
	Realm, User, Password string // user without realm; password only as key material
	KDCs                  []string
	Dial                  netx.DialFunc
	AttemptTimeout        time.Duration
	AllowLegacy           bool
	SPN                   string // "HTTP/host" (caller decides; --spn overrides)
	// Now stamps the authenticators the server checks for skew (nil:
	// time.Now); the AS exchange's pre-authentication uses the machine's
	// clock, as the KDC's own skew check should see it.
	Now func() time.Time
}

// String leaves the password out of any %v of the options.
func (o KerberosOptions) String() string {
	return fmt.Sprintf("kerberos logon of %q in realm %q for %s", o.User, o.Realm, o.SPN)
}

// GoString is String for %#v.
func (o KerberosOptions) GoString() string { return o.String() }

// Ticket is a service ticket for one SPN, from which each connection
// builds its own context.
type Ticket struct {
	st  *kerb.ServiceTicket
	spn string
	now func() time.Time
	// KDC is the KDC that answered the logon.
	KDC string
}

// GetTicket logs on (AS) and asks for the SPN's service ticket (TGS),
// through checks/kerb's bounded exchanges, so its errors are checks/kerb's
// and kerb.Classify reads them as the spn probe does.
func GetTicket(ctx context.Context, o KerberosOptions) (*Ticket, error) {
	if o.SPN == "" {
		return nil, errors.New("a kerberos logon needs the service's spn; give --spn or a --uri host name")
	}
	s, err := kerb.Login(ctx, kerb.Options{
		Realm: o.Realm, User: o.User, Password: o.Password, KDCs: o.KDCs,
		Dial: o.Dial, AttemptTimeout: o.AttemptTimeout, AllowLegacy: o.AllowLegacy,
	})
	if err != nil {
		return nil, err
	}
	st, err := s.ServiceTicket(ctx, o.SPN)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Ticket{st: st, spn: o.SPN, now: now, KDC: s.KDC}, nil
}

// SPN is the service principal the ticket is for.
func (t *Ticket) SPN() string { return t.spn }

// String leaves the session key out of any %v of the ticket.
func (t Ticket) String() string { return "kerberos ticket for " + t.spn }

// GoString is String for %#v.
func (t Ticket) GoString() string { return t.String() }

// NewContext is one connection's Kerberos context, bound to cb (nil: no
// channel binding, the Bnd field all zeros). Once established it is also
// a Sealer, for WinRM's encrypted bodies over http.
func (t *Ticket) NewContext(cb *ChannelBindings) Context {
	return &kerberosContext{t: t, cb: cb}
}

type ctxState int

const (
	stateInitial     ctxState = iota // nothing sent yet
	stateSent                        // AP-REQ sent, AP-REP awaited
	stateEstablished                 // AP-REP verified
	stateFailed
)

// kerberosContext is the initiator's side of one RFC 4121 context in
// SPNEGO, as Windows' Negotiate package sends it for Kerberos.
type kerberosContext struct {
	t     *Ticket
	cb    *ChannelBindings
	state ctxState
	// auth is the authenticator sent: its ctime/cusec are what the AP-REP
	// must echo, its subkey and sequence number the initiator's for wrap
	// tokens.
	auth types.Authenticator
	// the acceptor's subkey from the AP-REP (RFC 4121 2: when present, it
	// protects the wrap tokens)
	acceptorSubkey types.EncryptionKey
	// the next wrap tokens' sequence numbers, each side's counting from
	// the one its authenticator or AP-REP announced
	sendSeq, recvSeq uint64
}

var _ Sealer = (*kerberosContext)(nil)

// String leaves the keys (session, subkeys) out of any %v of a context.
func (c kerberosContext) String() string { return "kerberos context for " + c.t.spn }

// GoString is String for %#v.
func (c kerberosContext) GoString() string { return c.String() }

func (c *kerberosContext) Scheme() string { return "Negotiate" }
func (c *kerberosContext) Mech() string   { return Kerberos }

func (c *kerberosContext) Step(in []byte) ([]byte, bool, error) {
	switch c.state {
	case stateInitial:
		if len(in) > 0 {
			c.state = stateFailed
			return nil, false, errors.New("the server sent a negotiate token before the client's first one; check that it is a windows-authentication endpoint")
		}
		out, err := c.initToken()
		if err != nil {
			c.state = stateFailed
			return nil, false, err
		}
		c.state = stateSent
		return out, false, nil
	case stateSent:
		err := c.accept(in)
		if err != nil {
			c.state = stateFailed
			return nil, false, err
		}
		c.state = stateEstablished
		return nil, true, nil
	case stateEstablished:
		return nil, true, errors.New("the kerberos context is already established; a new logon needs a new context")
	}
	return nil, false, errors.New("the kerberos context failed before; a new logon needs a new context")
}

// initToken is the SPNEGO NegTokenInit carrying the AP-REQ.
func (c *kerberosContext) initToken() ([]byte, error) {
	st := c.t.st
	auth, err := types.NewAuthenticator(st.Realm, st.CName)
	if err != nil {
		return nil, fmt.Errorf("building the kerberos authenticator: %v", err)
	}
	// KerberosTime has whole seconds; the microseconds travel in cusec,
	// and the AP-REP must echo both.
	now := c.t.now().UTC()
	auth.CTime = now.Truncate(time.Second)
	auth.Cusec = now.Nanosecond() / 1000
	et, err := crypto.GetEtype(st.Key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("the session key's type %s: %v", kerb.ETypeName(st.Key.KeyType), err)
	}
	// Windows always sends a subkey; the acceptor's wrap tokens for an
	// encrypted session are keyed from it or from the one it answers with.
	if err := auth.GenerateSeqNumberAndSubKey(st.Key.KeyType, et.GetKeyByteSize()); err != nil {
		return nil, fmt.Errorf("generating the kerberos subkey: %v", err)
	}
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: gssChecksum(c.cb.Hash(), gssFlags)}
	apreq, err := messages.NewAPReq(st.Ticket, st.Key, auth)
	if err != nil {
		return nil, fmt.Errorf("building the AP-REQ: %v", err)
	}
	types.SetFlag(&apreq.APOptions, flags.APOptionMutualRequired)
	b, err := apreq.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the AP-REQ: %v", err)
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{
		MechTypes:      []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()},
		MechTokenBytes: krb5Token(tokAPReq, b),
	}}
	out, err := tok.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the spnego token: %v", err)
	}
	c.auth, c.sendSeq = auth, uint64(auth.SeqNumber)
	return out, nil
}

// gssChecksum is the authenticator checksum of RFC 4121 section 4.1.1
// (type 0x8003): Lgth 16, the channel bindings' MD5, the context flags.
// gokrb5's own helper leaves Bnd zero, which a server enforcing Extended
// Protection refuses.
func gssChecksum(bnd [16]byte, fl uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b[0:4], 16)
	copy(b[4:20], bnd[:])
	binary.LittleEndian.PutUint32(b[20:24], fl)
	return b
}

// krb5Token frames a Kerberos message as a GSS-API krb5 context token:
// [APPLICATION 0] { the krb5 mechanism OID, the token id, the message }.
func krb5Token(id, msg []byte) []byte {
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	b := append(append(oid, id...), msg...)
	return asn1tools.AddASNAppTag(b, 0)
}

// accept reads the server's answer: an AP-REP to verify or a KRB-ERROR to
// report, inside SPNEGO's NegTokenResp or bare as some acceptors send it.
func (c *kerberosContext) accept(in []byte) error {
	if len(in) == 0 {
		return ErrNoMutualAuth
	}
	if len(in) > maxServerToken {
		return fmt.Errorf("the server's negotiate token is %d bytes, more than the %d a kerberos answer needs; check what answers for %s", len(in), maxServerToken, c.t.spn)
	}
	msg, err := c.unwrapServerToken(in)
	if err != nil {
		return err
	}
	switch {
	case len(msg) > 0 && msg[0] == 0x7e: // [APPLICATION 30] KRB-ERROR
		return c.krbError(msg)
	case len(msg) > 0 && msg[0] == 0x6f: // [APPLICATION 15] AP-REP
		return c.verifyAPRep(msg)
	}
	return fmt.Errorf("the server's kerberos answer is neither an AP-REP nor a KRB-ERROR; check what answers for %s", c.t.spn)
}

// unwrapServerToken peels SPNEGO and the GSS-API framing off the server's
// token and returns the Kerberos message inside.
func (c *kerberosContext) unwrapServerToken(in []byte) ([]byte, error) {
	tok := in
	if in[0] == 0xa1 { // SPNEGO NegTokenResp
		var resp spnego.NegTokenResp
		if err := kerb.Safely(func() error { return resp.Unmarshal(in) }); err != nil {
			return nil, fmt.Errorf("the server's negotiate answer does not parse as spnego: %v; check what answers for %s", err, c.t.spn)
		}
		if len(resp.SupportedMech) > 0 && !resp.SupportedMech.Equal(gssapi.OIDKRB5.OID()) && !resp.SupportedMech.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
			return nil, fmt.Errorf("the server chose mechanism %s instead of kerberos; check that it accepts kerberos for %s", resp.SupportedMech, c.t.spn)
		}
		if len(resp.ResponseToken) == 0 {
			if resp.State() == spnego.NegStateReject {
				return nil, fmt.Errorf("the server rejected the kerberos logon without saying why; check its log and the keytab for %s", c.t.spn)
			}
			return nil, ErrNoMutualAuth
		}
		tok = resp.ResponseToken
	}
	switch tok[0] {
	case 0x7e, 0x6f: // a bare KRB-ERROR or AP-REP
		return tok, nil
	case 0x60:
	default:
		return nil, fmt.Errorf("the server's negotiate answer is not a kerberos token; check what answers for %s", c.t.spn)
	}
	var oid asn1.ObjectIdentifier
	var rest []byte
	err := kerb.Safely(func() (err error) {
		rest, err = asn1.UnmarshalWithParams(tok, &oid, "application,explicit,tag:0")
		return err
	})
	if err != nil || len(rest) < 2 {
		return nil, fmt.Errorf("the server's kerberos token does not parse; check what answers for %s", c.t.spn)
	}
	if !oid.Equal(gssapi.OIDKRB5.OID()) && !oid.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
		return nil, fmt.Errorf("the server's token is for mechanism %s, not kerberos; check what answers for %s", oid, c.t.spn)
	}
	switch id := rest[:2]; {
	case string(id) == string(tokAPRep), string(id) == string(tokKRBError):
		return rest[2:], nil
	}
	return nil, fmt.Errorf("the server's kerberos token has id %x, neither an AP-REP nor a KRB-ERROR; check what answers for %s", rest[:2], c.t.spn)
}

// krbError turns the server's KRB-ERROR into a *KerberosError.
func (c *kerberosContext) krbError(msg []byte) error {
	var ke messages.KRBError
	if err := kerb.Safely(func() error { return ke.Unmarshal(msg) }); err != nil {
		return fmt.Errorf("the server's KRB-ERROR does not parse: %v; check what answers for %s", err, c.t.spn)
	}
	name := kerb.ErrorName(ke.ErrorCode)
	if name == "" {
		name = "KRB-ERROR"
	}
	e := &KerberosError{Code: ke.ErrorCode, Name: name, By: "the server for " + c.t.spn, Text: ke.EText}
	if !ke.STime.IsZero() {
		e.ServerTime = ke.STime.Add(time.Duration(ke.Susec) * time.Microsecond)
	}
	return e
}

// verifyAPRep checks that the AP-REP answers this context's authenticator
// and was sealed with the ticket's session key (RFC 4120 3.2.5), which
// only the holder of the service's key could read from the ticket.
func (c *kerberosContext) verifyAPRep(msg []byte) error {
	var rep messages.APRep
	if err := kerb.Safely(func() error { return rep.Unmarshal(msg) }); err != nil {
		return fmt.Errorf("the server's AP-REP does not parse: %v; check what answers for %s", err, c.t.spn)
	}
	var enc messages.EncAPRepPart
	err := kerb.Safely(func() error {
		b, err := crypto.DecryptEncPart(rep.EncPart, c.t.st.Key, keyusage.AP_REP_ENCPART)
		if err != nil {
			return err
		}
		return enc.Unmarshal(b)
	})
	if err != nil {
		return &MutualAuthError{SPN: c.t.spn, Reason: "does not decrypt with the ticket's session key"}
	}
	if enc.CTime.Unix() != c.auth.CTime.Unix() || enc.Cusec != c.auth.Cusec {
		return &MutualAuthError{SPN: c.t.spn, Reason: "answers another authenticator (its ctime and cusec are not the ones sent)"}
	}
	c.acceptorSubkey, c.recvSeq = enc.Subkey, uint64(enc.SequenceNumber)
	return nil
}

// MutualAuthError is an AP-REP that does not prove the server holds the
// service key: the answer is forged, replayed or for another logon.
type MutualAuthError struct {
	SPN    string
	Reason string
}

func (e *MutualAuthError) Error() string {
	return fmt.Sprintf("the server's AP-REP %s, so it did not prove to be %s; check that nothing between exdiag and the server answers the logon", e.Reason, e.SPN)
}
