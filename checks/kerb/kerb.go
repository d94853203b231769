// Package kerb asks a KDC whether service principals exist: an AS exchange
// with pre-authentication for the user's TGT, then one TGS exchange per SPN.
//
// It builds and parses the messages with gokrb5 but carries them itself,
// because gokrb5's client dials with net.DialTimeout (a fixed 5 s, no
// context) and trusts the KDC's 4-byte length prefix for its allocation.
// Here every exchange goes through the injected dialer, under the caller's
// context, and every reply is bounded in size.
package kerb

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks/netx"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// maxReply bounds a KDC reply. AD tickets carry a PAC that grows with group
// membership; 1 MiB is far above any real one and far below harm.
const maxReply = 1 << 20

// DefaultPort is the Kerberos port a KDC address without one gets.
const DefaultPort = "88"

// Options says whom to ask and as whom.
type Options struct {
	Realm    string   // upper-case realm
	User     string   // principal name without the realm, e.g. "administrator"
	Password string   // sent only as key material, never in clear
	KDCs     []string // host:port, tried in order
	Dial     netx.DialFunc
	// AttemptTimeout caps one exchange with one KDC inside the caller's
	// deadline, so a silent first KDC leaves time for the next.
	AttemptTimeout time.Duration
	// AllowLegacy lets the logon derive an RC4 or DES key when the KDC
	// offers nothing stronger (--allow-legacy-kerberos). Without it the
	// password is never turned into such a key: a timestamp encrypted in
	// the RC4 key (the NT hash) is crackable offline by whoever answers,
	// and the KDC may come from an SRV record nobody named.
	AllowLegacy bool
}

// maxS2KIterations caps the PBKDF2 iteration count a KDC may ask for in
// s2kparams. AD and MIT use 4096 for the AES-SHA1 types, RFC 8009 32768
// for AES-SHA2; 2^16 leaves room for a hardened realm, while the 2^32-1 a
// hostile KDC can ask for would run for hours past any deadline (string-
// to-key does not look at the context).
const maxS2KIterations = 1 << 16

// strongETypes are the encryption types a logon derives a key for without
// --allow-legacy-kerberos: the AES families (RFC 3962, RFC 8009).
var strongETypes = map[int32]bool{
	etypeID.AES128_CTS_HMAC_SHA1_96: true, etypeID.AES256_CTS_HMAC_SHA1_96: true,
	etypeID.AES128_CTS_HMAC_SHA256_128: true, etypeID.AES256_CTS_HMAC_SHA384_192: true,
}

// WeakETypeError is a KDC that offers only legacy key types (RC4, DES,
// 3DES) for the user; no key was derived and nothing was sent with one.
type WeakETypeError struct {
	Offered []int32
}

func (e *WeakETypeError) Error() string {
	var names []string
	for _, id := range e.Offered {
		names = append(names, ETypeName(id))
	}
	return fmt.Sprintf("the kdc offers only legacy encryption types (%s) for this user; exdiag derives no rc4 or des key from the password unless --allow-legacy-kerberos is given", strings.Join(names, ", "))
}

// S2KParamsError is a KDC that asks for an iteration count out of bounds.
type S2KParamsError struct {
	EType      int32
	Iterations uint64
}

func (e *S2KParamsError) Error() string {
	return fmt.Sprintf("the kdc asks for %d string-to-key iterations for %s, more than the %d exdiag computes (a kdc asks for 4096); check that --kdc is a domain controller", e.Iterations, ETypeName(e.EType), maxS2KIterations)
}

// ETypeName is the RFC 3961 name of an encryption type.
func ETypeName(id int32) string {
	for name, v := range etypeID.ETypesByName {
		if v == id && !strings.Contains(name, "-old") && name != "rc4-hmac-exp" {
			return name
		}
	}
	return fmt.Sprintf("etype %d", id)
}

// checkDerivation refuses a key derivation the options do not allow.
// s2kparams is the ETYPE-INFO2 entry's value: empty, or the iteration
// count as 4 big-endian bytes (RFC 3962 4; 0 means 2^32).
func checkDerivation(etype int32, s2kparams string, o Options) error {
	if !strongETypes[etype] {
		if !o.AllowLegacy {
			return &WeakETypeError{Offered: []int32{etype}}
		}
		return nil
	}
	if s2kparams == "" {
		return nil
	}
	b, err := hex.DecodeString(s2kparams)
	if err != nil || len(b) != 4 {
		return fmt.Errorf("the kdc's s2kparams for %s (%q) are not an iteration count", ETypeName(etype), s2kparams)
	}
	n := uint64(binary.BigEndian.Uint32(b))
	if n == 0 {
		n = 1 << 32
	}
	if n > maxS2KIterations {
		return &S2KParamsError{EType: etype, Iterations: n}
	}
	return nil
}

// KDCError is a KRB-ERROR the KDC sent back.
type KDCError struct {
	Code  int32
	EText string
	KDC   string
	edata []byte // pre-authentication hints of KDC_ERR_PREAUTH_REQUIRED
}

func (e *KDCError) Error() string {
	s := "the kdc answered " + CodeName(e.Code)
	if e.EText != "" {
		s += " (" + e.EText + ")"
	}
	return s
}

// CodeName is the RFC 4120 name of a KRB-ERROR code with its number.
func CodeName(code int32) string {
	if name := ErrorName(code); name != "" {
		return fmt.Sprintf("%s (%d)", name, code)
	}
	return fmt.Sprintf("error code %d", code)
}

// ErrorName is the bare RFC 4120 name of a KRB-ERROR code
// ("KRB_AP_ERR_MODIFIED"), or "" for a code RFC 4120 does not name.
func ErrorName(code int32) string {
	s := errorcode.Lookup(code) // "(7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found…"
	if i := strings.Index(s, ") "); i > 0 {
		if f := strings.Fields(s[i+2:]); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

// UnreachableError says no KDC answered. Local is set when every attempt
// failed before leaving this machine (no route, network unreachable), so
// the fault is the vantage point's, not the KDC's.
type UnreachableError struct {
	Attempts []string
	Local    bool
}

func (e *UnreachableError) Error() string {
	if len(e.Attempts) == 0 {
		return "no kdc to ask"
	}
	return "no kdc answered: " + strings.Join(e.Attempts, "; ")
}

// ErrBadPassword is returned when a KDC that does not require
// pre-authentication hands out a TGT that the password cannot decrypt: the
// same verdict as KDC_ERR_PREAUTH_FAILED, found on the client side.
var ErrBadPassword = errors.New("the password does not decrypt the kdc's reply")

// Class is what an error means for the spn probe.
type Class int

const (
	ClassOther            Class = iota // some other failure: the probe could not decide
	ClassPrincipalUnknown              // KDC_ERR_S_PRINCIPAL_UNKNOWN: the SPN is not registered
	ClassBadCredentials                // KDC_ERR_PREAUTH_FAILED, KDC_ERR_C_PRINCIPAL_UNKNOWN or ErrBadPassword
	ClassUnreachable                   // no KDC answered in time
	// ClassNotUnique is KDC_ERR_PRINCIPAL_NOT_UNIQUE: AD's KDC found the
	// SPN on more than one account (what setspn -X lists).
	ClassNotUnique
)

// krbCodeRE finds the code in gokrb5's text form "KRB Error: (24) KDC_ERR_…",
// for errors that arrive wrapped in gokrb5's Krberror, which keeps only text.
var krbCodeRE = regexp.MustCompile(`KRB Error: \((\d+)\)`)

// Code finds the KRB-ERROR code in err's chain: a *KDCError, a gokrb5
// messages.KRBError value, or gokrb5's flattened text.
func Code(err error) (int32, bool) {
	var ke *KDCError
	if errors.As(err, &ke) {
		return ke.Code, true
	}
	var me messages.KRBError
	if errors.As(err, &me) {
		return me.ErrorCode, true
	}
	var mp *messages.KRBError
	if errors.As(err, &mp) && mp != nil {
		return mp.ErrorCode, true
	}
	if err != nil {
		if m := krbCodeRE.FindStringSubmatch(err.Error()); m != nil {
			if n, perr := strconv.ParseInt(m[1], 10, 32); perr == nil {
				return int32(n), true
			}
		}
	}
	return 0, false
}

// Classify maps an error from Login or Ticket to what it means.
func Classify(err error) Class {
	if err == nil {
		return ClassOther
	}
	if code, ok := Code(err); ok {
		switch code {
		case errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN:
			return ClassPrincipalUnknown
		case errorcode.KDC_ERR_PREAUTH_FAILED, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN:
			return ClassBadCredentials
		case errorcode.KDC_ERR_PRINCIPAL_NOT_UNIQUE:
			return ClassNotUnique
		}
		return ClassOther
	}
	if errors.Is(err, ErrBadPassword) {
		return ClassBadCredentials
	}
	var ue *UnreachableError
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return ClassUnreachable
	}
	return ClassOther
}

// Config is the in-memory krb5 configuration gokrb5's message builders
// read: no krb5.conf on disk is consulted.
// The AS-REQ lists only the key types the logon may use, so a KDC that
// holds only an RC4 key answers KDC_ERR_ETYPE_NOSUPP instead of asking
// for an RC4 timestamp.
func Config(realm string, kdcs []string, allowLegacy bool) (*config.Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n default_realm = %s\n udp_preference_limit = 1\n dns_lookup_kdc = false\n dns_lookup_realm = false\n noaddresses = true\n", realm)
	enctypes := "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128"
	if allowLegacy {
		enctypes += " rc4-hmac des3-cbc-sha1"
	}
	fmt.Fprintf(&b, " default_tkt_enctypes = %s\n default_tgs_enctypes = %s\n permitted_enctypes = %s\n", enctypes, enctypes, enctypes)
	fmt.Fprintf(&b, "[realms]\n %s = {\n", realm)
	for _, k := range kdcs {
		fmt.Fprintf(&b, "  kdc = %s\n", k)
	}
	b.WriteString(" }\n")
	return config.NewFromString(b.String())
}

// Session is a logged-in user: a TGT and its session key, and the KDC that
// issued it (asked first for service tickets).
type Session struct {
	opts  Options
	cfg   *config.Config
	cname types.PrincipalName
	tgt   messages.Ticket
	key   types.EncryptionKey
	KDC   string // the KDC that answered the login
}

// Login performs the AS exchange with encrypted-timestamp pre-authentication.
func Login(ctx context.Context, o Options) (*Session, error) {
	if o.Realm == "" || o.User == "" {
		return nil, errors.New("kerberos login needs a realm and a user name")
	}
	cfg, err := Config(o.Realm, o.KDCs, o.AllowLegacy)
	if err != nil {
		return nil, fmt.Errorf("building the kerberos configuration: %v", err)
	}
	s := &Session{opts: o, cfg: cfg, cname: types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, o.User)}
	req, err := messages.NewASReqForTGT(o.Realm, cfg, s.cname)
	if err != nil {
		return nil, fmt.Errorf("building the AS-REQ: %v", err)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the AS-REQ: %v", err)
	}
	reply, kdc, err := s.send(ctx, b, o.KDCs)
	var preauthKey *types.EncryptionKey
	if err != nil {
		var ke *KDCError
		if !errors.As(err, &ke) || ke.Code != errorcode.KDC_ERR_PREAUTH_REQUIRED {
			return nil, err
		}
		// The usual path (AD always, MIT with +requires_preauth): answer
		// with a timestamp encrypted in the key the KDC's hints describe.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key, err := addEncTimestamp(&req, ke.edata, o)
		if err != nil {
			return nil, err
		}
		preauthKey = &key
		if b, err = req.Marshal(); err != nil {
			return nil, fmt.Errorf("encoding the AS-REQ: %v", err)
		}
		if reply, kdc, err = s.send(ctx, b, []string{kdc}); err != nil {
			return nil, err
		}
	}
	var rep messages.ASRep
	if err := safely(func() error { return rep.Unmarshal(reply) }); err != nil {
		return nil, fmt.Errorf("the kdc %s sent an AS-REP that does not parse: %v", kdc, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := decryptASRep(&rep, preauthKey, o); err != nil {
		var we *WeakETypeError
		var se *S2KParamsError
		if errors.As(err, &we) || errors.As(err, &se) {
			return nil, err
		}
		return nil, ErrBadPassword
	}
	if rep.DecryptedEncPart.Nonce != req.ReqBody.Nonce {
		return nil, fmt.Errorf("the kdc %s answered with a nonce that does not match the request", kdc)
	}
	s.tgt, s.key, s.KDC = rep.Ticket, rep.DecryptedEncPart.Key, kdc
	return s, nil
}

// decryptASRep opens the AS-REP with the key already derived for
// pre-authentication (same salt, and string-to-key is slow), or derives
// one from the reply's own hints.
func decryptASRep(rep *messages.ASRep, key *types.EncryptionKey, o Options) error {
	if key == nil || key.KeyType != rep.EncPart.EType {
		// derive from the reply's own hint for its etype, by the same
		// rules as for pre-authentication
		var entry *types.ETypeInfo2Entry
		for _, pa := range rep.PAData {
			if pa.PADataType != patype.PA_ETYPE_INFO2 {
				continue
			}
			if info, err := pa.GetETypeInfo2(); err == nil {
				for i := range info {
					if info[i].EType == rep.EncPart.EType && entry == nil {
						entry = &info[i]
					}
				}
			}
		}
		if entry == nil {
			entry = &types.ETypeInfo2Entry{EType: rep.EncPart.EType}
		}
		k, err := deriveKey(o, *entry)
		if err != nil {
			return err
		}
		key = &k
	}
	return safely(func() error {
		b, err := crypto.DecryptEncPart(rep.EncPart, *key, keyusage.AS_REP_ENCPART)
		if err != nil {
			return err
		}
		return rep.DecryptedEncPart.Unmarshal(b)
	})
}

// deriveKey turns the password into the key entry describes, after
// checkDerivation allowed it. gokrb5's GetKeyFromPassword reads the first
// ETYPE-INFO2 entry of whatever hints it is given, whichever etype is
// asked for, so it gets a sequence holding this entry alone.
func deriveKey(o Options, entry types.ETypeInfo2Entry) (types.EncryptionKey, error) {
	var none types.EncryptionKey
	if err := checkDerivation(entry.EType, hex.EncodeToString(entry.S2KParams), o); err != nil {
		return none, err
	}
	info, err := asn1.Marshal(types.ETypeInfo2{entry})
	if err != nil {
		return none, err
	}
	pas := types.PADataSequence{{PADataType: patype.PA_ETYPE_INFO2, PADataValue: info}}
	var key types.EncryptionKey
	err = safely(func() (err error) {
		key, _, err = crypto.GetKeyFromPassword(o.Password, types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, o.User), o.Realm, entry.EType, pas)
		return err
	})
	if err != nil {
		return none, fmt.Errorf("deriving the key for %s: %v", ETypeName(entry.EType), err)
	}
	return key, nil
}

// addEncTimestamp adds PA-ENC-TIMESTAMP using the etype and salt from the
// PREAUTH_REQUIRED error's e-data (ETYPE-INFO2) and returns the key.
func addEncTimestamp(req *messages.ASReq, edata []byte, o Options) (types.EncryptionKey, error) {
	var none types.EncryptionKey
	var pas types.PADataSequence
	if err := pas.Unmarshal(edata); err != nil {
		return none, fmt.Errorf("the kdc's pre-authentication hints do not parse: %v", err)
	}
	// the KDC lists the user's keys in its order of preference; take the
	// first one this logon may derive, and say so when there is none
	var offered []int32
	var chosen *types.ETypeInfo2Entry
	for _, pa := range pas {
		switch pa.PADataType {
		case patype.PA_ETYPE_INFO2:
			if info, err := pa.GetETypeInfo2(); err == nil {
				for i := range info {
					offered = append(offered, info[i].EType)
					if chosen == nil && (strongETypes[info[i].EType] || o.AllowLegacy) {
						chosen = &info[i]
					}
				}
			}
		case patype.PA_ETYPE_INFO:
			if info, err := pa.GetETypeInfo(); err == nil {
				for i := range info {
					offered = append(offered, info[i].EType)
					if chosen == nil && (strongETypes[info[i].EType] || o.AllowLegacy) {
						chosen = &types.ETypeInfo2Entry{EType: info[i].EType, Salt: string(info[i].Salt)}
					}
				}
			}
		}
	}
	if len(offered) == 0 {
		return none, errors.New("the kdc asked for pre-authentication without naming an encryption type")
	}
	if chosen == nil {
		return none, &WeakETypeError{Offered: offered}
	}
	key, err := deriveKey(o, *chosen)
	if err != nil {
		return none, err
	}
	ts, err := types.GetPAEncTSEncAsnMarshalled()
	if err != nil {
		return none, err
	}
	enc, err := crypto.GetEncryptedData(ts, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 0)
	if err != nil {
		return none, fmt.Errorf("encrypting the pre-authentication timestamp: %v", err)
	}
	pb, err := enc.Marshal()
	if err != nil {
		return none, err
	}
	req.PAData = append(req.PAData, types.PAData{PADataType: patype.PA_ENC_TIMESTAMP, PADataValue: pb})
	return key, nil
}

// Ticket asks for a service ticket for spn ("HTTP/host"). nil means the
// KDC issued one, so the principal exists.
func (s *Session) Ticket(ctx context.Context, spn string) error {
	_, err := s.ServiceTicket(ctx, spn)
	return err
}

// ServiceTicket is a service ticket and the session key that goes with
// it: what an AP-REQ to the service is built from.
type ServiceTicket struct {
	Ticket messages.Ticket
	Key    types.EncryptionKey
	CName  types.PrincipalName
	Realm  string // the client's realm
	// EndTime is when the KDC says the ticket lapses.
	EndTime time.Time
}

// String leaves the session key out of any %v of the ticket.
func (t ServiceTicket) String() string {
	return fmt.Sprintf("service ticket of %s@%s for %s", t.CName.PrincipalNameString(), t.Realm, t.Ticket.SName.PrincipalNameString())
}

// GoString is String for %#v.
func (t ServiceTicket) GoString() string { return t.String() }

// ServiceTicket asks for a service ticket for spn ("HTTP/host"), with the
// same errors as Ticket.
func (s *Session) ServiceTicket(ctx context.Context, spn string) (*ServiceTicket, error) {
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, spn)
	req, err := messages.NewTGSReq(s.cname, s.opts.Realm, s.cfg, s.tgt, s.key, sname, false)
	if err != nil {
		return nil, fmt.Errorf("building the TGS-REQ: %v", err)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the TGS-REQ: %v", err)
	}
	kdcs := append([]string{s.KDC}, without(s.opts.KDCs, s.KDC)...)
	reply, kdc, err := s.send(ctx, b, kdcs)
	if err != nil {
		return nil, err
	}
	var rep messages.TGSRep
	if err := safely(func() error { return rep.Unmarshal(reply) }); err != nil {
		return nil, fmt.Errorf("the kdc %s sent a TGS-REP that does not parse: %v", kdc, err)
	}
	if err := safely(func() error { return rep.DecryptEncPart(s.key) }); err != nil {
		return nil, fmt.Errorf("the kdc %s sent a TGS-REP that the session key does not decrypt: %v", kdc, err)
	}
	if rep.DecryptedEncPart.Nonce != req.ReqBody.Nonce {
		return nil, fmt.Errorf("the kdc %s answered with a nonce that does not match the request", kdc)
	}
	if got := rep.Ticket.SName; len(got.NameString) > 0 && got.NameString[0] == "krbtgt" {
		// A referral: the principal lives in another realm (a forest
		// trust). Following it is beyond this probe; say so.
		return nil, fmt.Errorf("the kdc referred %s to realm %s; check it there", spn, got.NameString[len(got.NameString)-1])
	}
	enc := rep.DecryptedEncPart
	return &ServiceTicket{Ticket: rep.Ticket, Key: enc.Key, CName: s.cname, Realm: s.opts.Realm, EndTime: enc.EndTime}, nil
}

func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// send carries one request to the first KDC that answers, TCP first (the
// replies carry tickets that outgrow a datagram), then UDP. A KRB-ERROR is
// an answer: it comes back as *KDCError without trying further KDCs.
func (s *Session) send(ctx context.Context, req []byte, kdcs []string) ([]byte, string, error) {
	var attempts []string
	local := true
	for _, kdc := range kdcs {
		for _, network := range []string{"tcp", "udp"} {
			if ctx.Err() != nil {
				attempts = append(attempts, "deadline reached")
				return nil, "", &UnreachableError{Attempts: attempts}
			}
			reply, err := exchange(ctx, s.opts, network, kdc, req)
			if err != nil {
				attempts = append(attempts, fmt.Sprintf("%s %s: %v", network, kdc, err))
				local = local && netx.VantageUnreachable(err)
				continue
			}
			local = false
			ke, err := decodeReply(reply)
			if err != nil {
				return nil, kdc, fmt.Errorf("the kdc %s sent an answer that does not decode: %v", kdc, err)
			}
			if ke != nil {
				if ke.ErrorCode == errorcode.KRB_ERR_RESPONSE_TOO_BIG && network == "udp" {
					attempts = append(attempts, fmt.Sprintf("udp %s: reply too big", kdc))
					continue
				}
				return nil, kdc, &KDCError{Code: ke.ErrorCode, EText: ke.EText, KDC: kdc, edata: ke.EData}
			}
			return reply, kdc, nil
		}
	}
	return nil, "", &UnreachableError{Attempts: attempts, Local: local && len(attempts) > 0}
}

// decodeReply tells a KRB-ERROR from anything else. gokrb5's ASN.1
// decoder was written for well-formed KDCs; a panic on hostile bytes
// becomes an error here rather than a crashed probe.
func decodeReply(b []byte) (ke *messages.KRBError, err error) {
	defer func() {
		if p := recover(); p != nil {
			ke, err = nil, fmt.Errorf("malformed kerberos message: %v", p)
		}
	}()
	var e messages.KRBError
	if e.Unmarshal(b) == nil {
		return &e, nil
	}
	return nil, nil
}

// Safely runs a gokrb5 decoder on bytes from the network (a KDC's, a
// server's), turning a panic into an error: gokrb5's ASN.1 decoders were
// written for well-formed peers.
func Safely(f func() error) error { return safely(f) }

// safely runs a gokrb5 decoder on KDC bytes, turning a panic into an error.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed kerberos message: %v", p)
		}
	}()
	return f()
}

// exchange sends one framed request and reads one bounded reply.
func exchange(ctx context.Context, o Options, network, kdc string, req []byte) ([]byte, error) {
	ctx, cancel := netx.Attempt(ctx, o.AttemptTimeout)
	defer cancel()
	conn, release, err := netx.DialBound(ctx, o.Dial, network, kdc)
	if err != nil {
		return nil, err
	}
	defer release()

	if network == "udp" {
		if _, err := conn.Write(req); err != nil {
			return nil, netx.CtxErr(ctx, err)
		}
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			return nil, netx.CtxErr(ctx, err)
		}
		return buf[:n], nil
	}
	// RFC 4120 7.2.2: a 4-byte big-endian length, then the message.
	framed := make([]byte, 4+len(req))
	binary.BigEndian.PutUint32(framed, uint32(len(req)))
	copy(framed[4:], req)
	if _, err := conn.Write(framed); err != nil {
		return nil, netx.CtxErr(ctx, err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, netx.CtxErr(ctx, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxReply {
		return nil, fmt.Errorf("reply length %d is outside 1..%d bytes", n, maxReply)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, netx.CtxErr(ctx, err)
	}
	return body, nil
}
