package winauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exdiag/exdiag/checks/kerb"
	"github.com/exdiag/exdiag/fixtures/kdcserver"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

const (
	labRealm    = "CONTOSO.TEST"
	labSPN      = "HTTP/cas1.contoso.test"
	labPassword = "Sentinel-Krb-Password-4411"
)

// lab is the lab KDC on a loopback port, for the tests' tickets.
type lab struct {
	kdc  *kdcserver.Server
	addr string
}

func startLab(t *testing.T) *lab {
	t.Helper()
	srv, err := kdcserver.New(labRealm, map[string]string{"administrator": labPassword}, []string{labSPN})
	if err != nil {
		t.Fatal(err)
	}
	return &lab{kdc: srv, addr: srv.Start(t)}
}

func (l *lab) options() KerberosOptions {
	return KerberosOptions{Realm: labRealm, User: "administrator", Password: labPassword, KDCs: []string{l.addr},
		AttemptTimeout: 5 * time.Second, SPN: labSPN}
}

func (l *lab) ticket(t *testing.T, o KerberosOptions) *Ticket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tkt, err := GetTicket(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return tkt
}

// acceptor is the service side of the test, built on gokrb5's acceptor
// (service.VerifyAPREQ) with the service's keytab: what IIS or
// mod_auth_gssapi does with the AP-REQ, and the AP-REP they answer.
type acceptor struct {
	kt *keytab.Keytab
	// what the last AP-REQ carried
	apreq messages.APReq
	// tamper changes the AP-REP's encrypted part before it is sealed;
	// sealWith seals it with another key than the session key.
	tamper   func(*messages.EncAPRepPart)
	sealWith *types.EncryptionKey
	// subkey is the acceptor subkey the AP-REP carried
	subkey types.EncryptionKey
}

// accept answers the client's token with a NegTokenResp: an AP-REP, or a
// KRB-ERROR token when gokrb5's verification refuses the AP-REQ.
func (a *acceptor) accept(t *testing.T, tok []byte) []byte {
	t.Helper()
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(tok); err != nil || !st.Init {
		t.Fatalf("the client's token is not a NegTokenInit: %v", err)
	}
	if m := st.NegTokenInit.MechTypes; len(m) == 0 || !m[0].Equal(gssapi.OIDKRB5.OID()) {
		t.Fatalf("mech types %v, want krb5 first", m)
	}
	var mt spnego.KRB5Token
	if err := mt.Unmarshal(st.NegTokenInit.MechTokenBytes); err != nil || !mt.IsAPReq() {
		t.Fatalf("the mech token is not a krb5 AP-REQ: %v", err)
	}
	a.apreq = mt.APReq
	ok, _, err := service.VerifyAPREQ(&a.apreq, service.NewSettings(a.kt, service.DecodePAC(false), service.MaxClockSkew(5*time.Minute)))
	if err != nil || !ok {
		// a ticket the keytab does not open is what Windows answers
		// KRB_AP_ERR_MODIFIED for; gokrb5 says it only in text
		code := int32(errorcode.KRB_AP_ERR_MODIFIED)
		var ke messages.KRBError
		if errors.As(err, &ke) {
			code = ke.ErrorCode
		}
		e := messages.NewKRBError(a.apreq.Ticket.SName, labRealm, code, "")
		b, merr := e.Marshal()
		if merr != nil {
			t.Fatal(merr)
		}
		return krbResp(t, spnego.NegStateReject, krb5Token(tokKRBError, b))
	}
	session := a.apreq.Ticket.DecryptedEncPart.Key
	sk, err := types.GenerateEncryptionKey(mustEtype(t, session.KeyType))
	if err != nil {
		t.Fatal(err)
	}
	a.subkey = sk
	enc := messages.EncAPRepPart{CTime: a.apreq.Authenticator.CTime, Cusec: a.apreq.Authenticator.Cusec, Subkey: sk, SequenceNumber: 7077}
	if a.tamper != nil {
		a.tamper(&enc)
	}
	eb, err := asn1.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	key := session
	if a.sealWith != nil {
		key = *a.sealWith
	}
	ed, err := crypto.GetEncryptedData(asn1tools.AddASNAppTag(eb, asnAppTag.EncAPRepPart), key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := asn1.Marshal(messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: ed})
	if err != nil {
		t.Fatal(err)
	}
	return krbResp(t, spnego.NegStateAcceptCompleted, krb5Token(tokAPRep, asn1tools.AddASNAppTag(rb, asnAppTag.APREP)))
}

// krbResp is a NegTokenResp of the krb5 mechanism.
func krbResp(t *testing.T, state spnego.NegState, token []byte) []byte {
	t.Helper()
	return negResp(t, state, gssapi.OIDKRB5.OID(), token)
}

func mustEtype(t *testing.T, id int32) etype.EType {
	t.Helper()
	e, err := crypto.GetEtype(id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testBindings(t *testing.T) *ChannelBindings {
	cb, err := EndPointOf(&x509.Certificate{Raw: []byte("the proxy's certificate"), SignatureAlgorithm: x509.SHA256WithRSA})
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func TestKerberosLogonIsMutualAndBound(t *testing.T) {
	l := startLab(t)
	tkt := l.ticket(t, l.options())
	if tkt.SPN() != labSPN || tkt.KDC != l.addr {
		t.Fatalf("spn %q kdc %q", tkt.SPN(), tkt.KDC)
	}
	cb := testBindings(t)
	for name, cb := range map[string]*ChannelBindings{"bound": cb, "unbound": nil} {
		t.Run(name, func(t *testing.T) {
			c := tkt.NewContext(cb)
			if c.Scheme() != "Negotiate" || c.Mech() != Kerberos {
				t.Fatalf("scheme %q mech %q", c.Scheme(), c.Mech())
			}
			out, done, err := c.Step(nil)
			if err != nil || done || len(out) == 0 {
				t.Fatalf("first step: %d bytes, done %v, %v", len(out), done, err)
			}
			a := &acceptor{kt: l.kdc.Keytab(labSPN)}
			rep := a.accept(t, out)

			auth := a.apreq.Authenticator
			if !types.IsFlagSet(&a.apreq.APOptions, flags.APOptionMutualRequired) {
				t.Error("the AP-REQ does not ask for mutual authentication")
			}
			ck := auth.Cksum
			if ck.CksumType != chksumtype.GSSAPI || len(ck.Checksum) != 24 || binary.LittleEndian.Uint32(ck.Checksum[:4]) != 16 {
				t.Fatalf("authenticator checksum type %d, %x: want RFC 4121's 0x8003 of 24 bytes", ck.CksumType, ck.Checksum)
			}
			if want := cb.Hash(); !bytes.Equal(ck.Checksum[4:20], want[:]) {
				t.Errorf("Bnd %x, want the channel bindings' hash %x", ck.Checksum[4:20], want)
			}
			if got := binary.LittleEndian.Uint32(ck.Checksum[20:]); got != gssFlags {
				t.Errorf("context flags %#x, want mutual|sequence|conf|integ %#x", got, gssFlags)
			}
			if auth.SubKey.KeyType != etypeID.AES256_CTS_HMAC_SHA1_96 || len(auth.SubKey.KeyValue) != 32 {
				t.Errorf("subkey %d of %d bytes, want an aes256 one as the session key", auth.SubKey.KeyType, len(auth.SubKey.KeyValue))
			}

			out, done, err = c.Step(rep)
			if err != nil || !done || out != nil {
				t.Fatalf("second step: %d bytes, done %v, %v", len(out), done, err)
			}
			kc := c.(*kerberosContext)
			if !bytes.Equal(kc.acceptorSubkey.KeyValue, a.subkey.KeyValue) || kc.recvSeq != 7077 {
				t.Errorf("kept subkey %x seq %d, want the AP-REP's", kc.acceptorSubkey.KeyValue, kc.recvSeq)
			}
			if _, _, err := c.Step(rep); err == nil {
				t.Error("an established context took another token")
			}
		})
	}
}

func TestKerberosTicketErrorsAreTheSPNProbes(t *testing.T) {
	l := startLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := l.options()
	o.SPN = "HTTP/mail.contoso.test"
	_, err := GetTicket(ctx, o)
	if code, _ := kerb.Code(err); kerb.Classify(err) != kerb.ClassPrincipalUnknown || code != errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN {
		t.Errorf("unknown spn: %v, want KDC_ERR_S_PRINCIPAL_UNKNOWN", err)
	}
	o = l.options()
	o.Password = "Not-The-Password-1"
	if _, err := GetTicket(ctx, o); kerb.Classify(err) != kerb.ClassBadCredentials {
		t.Errorf("wrong password: %v, want bad credentials", err)
	}
	if strings.Contains(err.Error(), labPassword) {
		t.Error("the password appears in an error")
	}
	o = l.options()
	o.SPN = ""
	if _, err := GetTicket(ctx, o); err == nil {
		t.Error("a logon without an spn went ahead")
	}
	o = l.options()
	o.KDCs = []string{"127.0.0.1:1"}
	var ue *kerb.UnreachableError
	if _, err := GetTicket(ctx, o); !errors.As(err, &ue) {
		t.Errorf("closed kdc: %v, want *kerb.UnreachableError", err)
	}
}

func TestKerberosServerErrorsComeBackAsKerberosError(t *testing.T) {
	l := startLab(t)
	stale := keytab.New()
	if err := stale.AddEntry(labSPN, labRealm, "the key before a password reset", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		kt   *keytab.Keytab
		skew time.Duration
		code int32
		want string
	}{
		// the service's key is not the one the KDC sealed the ticket with:
		// a duplicate SPN, or a keytab older than the account's password
		{"stale keytab", stale, 0, errorcode.KRB_AP_ERR_MODIFIED, "KRB_AP_ERR_MODIFIED"},
		// the client's clock ten minutes ahead of the server's
		{"skewed clock", l.kdc.Keytab(labSPN), 10 * time.Minute, errorcode.KRB_AP_ERR_SKEW, "KRB_AP_ERR_SKEW"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := l.options()
			o.Now = func() time.Time { return time.Now().Add(c.skew) }
			ctx := l.ticket(t, o).NewContext(nil)
			out, _, err := ctx.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			a := &acceptor{kt: c.kt}
			_, done, err := ctx.Step(a.accept(t, out))
			var ke *KerberosError
			if done || !errors.As(err, &ke) {
				t.Fatalf("done %v, %v: want a *KerberosError", done, err)
			}
			if ke.Code != c.code || ke.Name != c.want || !strings.Contains(ke.By, labSPN) {
				t.Fatalf("%+v, want %s (%d) by the server for %s", ke, c.want, c.code, labSPN)
			}
			if d := time.Since(ke.ServerTime); d < -time.Minute || d > time.Minute {
				t.Errorf("server time %v is not the KRB-ERROR's stime", ke.ServerTime)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("message %q does not name %s", err, c.want)
			}
		})
	}
}

func TestKerberosRefusesAnAPRepThatProvesNothing(t *testing.T) {
	l := startLab(t)
	tkt := l.ticket(t, l.options())
	wrong, err := types.GenerateEncryptionKey(mustEtype(t, etypeID.AES256_CTS_HMAC_SHA1_96))
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*acceptor{
		// whoever answers does not hold the service key, so it cannot
		// know the session key
		"sealed with another key": {sealWith: &wrong},
		// a replayed AP-REP of an earlier logon
		"another authenticator": {tamper: func(e *messages.EncAPRepPart) { e.Cusec = (e.Cusec + 1) % 1000000 }},
		"another second":        {tamper: func(e *messages.EncAPRepPart) { e.CTime = e.CTime.Add(-time.Second) }},
	} {
		t.Run(name, func(t *testing.T) {
			a.kt = l.kdc.Keytab(labSPN)
			c := tkt.NewContext(nil)
			out, _, err := c.Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			_, done, err := c.Step(a.accept(t, out))
			var me *MutualAuthError
			if done || !errors.As(err, &me) || me.SPN != labSPN {
				t.Fatalf("done %v, %v: want a *MutualAuthError", done, err)
			}
		})
	}
}

func TestKerberosHostileServerTokens(t *testing.T) {
	l := startLab(t)
	tkt := l.ticket(t, l.options())
	c := tkt.NewContext(nil)
	out, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	good := (&acceptor{kt: l.kdc.Keytab(labSPN)}).accept(t, out)
	krbErr, _ := (&messages.KRBError{PVNO: 5, MsgType: msgtype.KRB_ERROR, STime: time.Now().UTC(), ErrorCode: errorcode.KRB_AP_ERR_TKT_EXPIRED, Realm: labRealm,
		SName: types.NewPrincipalName(1, "HTTP/x")}).Marshal()
	for _, tc := range []struct {
		name string
		in   []byte
		want func(error) bool
	}{
		{"no token", nil, func(err error) bool { return errors.Is(err, ErrNoMutualAuth) }},
		{"completed without a token", krbResp(t, spnego.NegStateAcceptCompleted, nil), func(err error) bool { return errors.Is(err, ErrNoMutualAuth) }},
		{"rejected without a token", krbResp(t, spnego.NegStateReject, nil), func(err error) bool { return strings.Contains(err.Error(), "rejected") }},
		{"bare KRB-ERROR", krbErr, func(err error) bool {
			var ke *KerberosError
			return errors.As(err, &ke) && ke.Code == errorcode.KRB_AP_ERR_TKT_EXPIRED && ke.Name == "KRB_AP_ERR_TKT_EXPIRED"
		}},
		{"KRB-ERROR in a krb5 token", krb5Token(tokKRBError, krbErr), func(err error) bool {
			var ke *KerberosError
			return errors.As(err, &ke) && ke.Code == errorcode.KRB_AP_ERR_TKT_EXPIRED
		}},
		{"oversized", append([]byte{0xa1}, make([]byte, maxServerToken)...), func(err error) bool { return strings.Contains(err.Error(), "bytes") }},
		{"garbage", []byte("\xa1\x84\xff\xff\xff\xff"), func(err error) bool { return err != nil }},
		{"truncated AP-REP", good[:len(good)-9], func(err error) bool { return err != nil }},
		{"ntlm answer", []byte("NTLMSSP\x00\x02\x00\x00\x00"), func(err error) bool { return strings.Contains(err.Error(), "not a kerberos token") }},
		{"wrong token id", krb5Token([]byte{0x04, 0x04}, []byte{1, 2, 3}), func(err error) bool { return strings.Contains(err.Error(), "0404") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tkt.NewContext(nil)
			if _, _, err := c.Step(nil); err != nil {
				t.Fatal(err)
			}
			_, done, err := c.Step(tc.in)
			if done || err == nil || !tc.want(err) {
				t.Fatalf("done %v, err %v", done, err)
			}
			if _, _, err := c.Step(good); err == nil {
				t.Error("a failed context went on")
			}
		})
	}
}

// offlineTicket is a ticket no server could open, for tests of what the
// context makes of a server's answer alone.
func offlineTicket(spn string) *Ticket {
	st := &kerb.ServiceTicket{Key: types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: make([]byte, 32)},
		CName: types.NewPrincipalName(1, "administrator"), Realm: labRealm,
		Ticket: messages.Ticket{TktVNO: 5, Realm: labRealm, SName: types.NewPrincipalName(2, spn),
			EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Cipher: make([]byte, 64)}}}
	return &Ticket{st: st, spn: spn, now: time.Now}
}

// What Apache with mod_auth_gssapi (MIT krb5 1.20's acceptor) really
// answered in scripts/itest/gssapi_test.go's refusals (refreshed with
// EXDIAG_GSS_CAPTURE=checks/winauth/testdata there): a NegTokenResp,
// negState reject, whose responseToken is a krb5 KRB-ERROR token.
func TestKerberosReplaysMITRefusals(t *testing.T) {
	for file, want := range map[string]int32{
		"mit-stale_keytab.neg":                    errorcode.KRB_AP_ERR_BADKEYVER,
		"mit-keytab_of_another_account.neg":       errorcode.KRB_AP_ERR_BAD_INTEGRITY,
		"mit-server_clock_ten_minutes_ahead.neg":  errorcode.KRB_AP_ERR_SKEW,
		"mit-client_clock_ten_minutes_behind.neg": errorcode.KRB_AP_ERR_SKEW,
	} {
		t.Run(file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			c := offlineTicket("HTTP/gss.contoso.test").NewContext(nil)
			if _, _, err := c.Step(nil); err != nil {
				t.Fatal(err)
			}
			_, done, err := c.Step(in)
			var ke *KerberosError
			if done || !errors.As(err, &ke) || ke.Code != want || ke.Name != kerb.ErrorName(want) || ke.ServerTime.IsZero() {
				t.Fatalf("done %v, %#v: want %s", done, err, kerb.CodeName(want))
			}
		})
	}
}

// FuzzKerberosStep: whatever a server answers, Step returns; it never
// panics and never calls garbage an established context.
func FuzzKerberosStep(f *testing.F) {
	tkt := offlineTicket(labSPN)
	for _, name := range []string{"mit-stale_keytab.neg", "mit-server_clock_ten_minutes_ahead.neg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x03, 0x30, 0x01, 0x00})
	f.Add(krb5Token(tokAPRep, []byte{0x6f, 0x80}))
	f.Add(krb5Token(tokKRBError, []byte{0x7e, 0x03, 0x30, 0x01, 0x00}))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := tkt.NewContext(nil)
		if _, _, err := c.Step(nil); err != nil {
			t.Fatal(err)
		}
		if _, done, err := c.Step(in); done && err == nil {
			t.Fatalf("established from %x", in)
		}
	})
}

// IIS answers with the mechanism the client listed first; a client that
// listed Microsoft's legacy krb5 OID gets it back, and that is Kerberos.
func TestKerberosAcceptsMicrosoftsLegacyMechOID(t *testing.T) {
	l := startLab(t)
	c := l.ticket(t, l.options()).NewContext(nil)
	out, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal((&acceptor{kt: l.kdc.Keytab(labSPN)}).accept(t, out)); err != nil {
		t.Fatal(err)
	}
	resp.SupportedMech = gssapi.OIDMSLegacyKRB5.OID()
	b, err := resp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := c.Step(b); !done || err != nil {
		t.Fatalf("done %v, %v", done, err)
	}
}

// No %v of the options, the ticket or an established context prints the
// password or a key.
func TestKerberosValuesPrintNoSecret(t *testing.T) {
	l := startLab(t)
	o := l.options()
	tkt := l.ticket(t, o)
	c, a := established(t)
	secrets := [][]byte{[]byte(labPassword), tkt.st.Key.KeyValue, c.auth.SubKey.KeyValue, a.subkey.KeyValue}
	for _, v := range []any{o, &o, tkt, *tkt, tkt.st, *tkt.st, c, *c, tkt.NewContext(nil)} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if bytes.Contains([]byte(out), s) || strings.Contains(out, fmt.Sprint(s)) || strings.Contains(out, fmt.Sprintf("%x", s)) {
					t.Fatalf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
		}
	}
}
