package spnldap

import (
	"context"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// ldapMessage is one LDAPMessage with op as its protocol operation.
func ldapMessage(id int64, op *ber.Packet) []byte {
	m := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	m.AppendChild(op)
	return m.Bytes()
}

func ldapResultOp(tag ber.Tag, code int64) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	return op
}

func entryOp(dn string, vals ...string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "servicePrincipalName", ""))
	set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
	for _, v := range vals {
		set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
	}
	pa.AppendChild(set)
	attrs.AppendChild(pa)
	op.AppendChild(attrs)
	return op
}

// loopbackConn is an in-memory connection that says it is to 127.0.0.1,
// as a directory on this machine would be.
type loopbackConn struct{ net.Conn }

func (loopbackConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 389} }

// FuzzLDAPReply is the client's whole reply path: a directory accepts
// the bind, then answers the SPN search with the fuzzer's bytes and
// hangs up. Any input must end in an error or a result, within the
// deadline and the read budget, never a panic.
//
//	go test ./checks/spnldap -run XXX -fuzz FuzzLDAPReply -fuzztime 30s
func FuzzLDAPReply(f *testing.F) {
	f.Add(append(ldapMessage(2, entryOp("CN=EXCH,DC=contoso,DC=test", "HTTP/mail.contoso.test")), ldapMessage(2, ldapResultOp(5, 0))...))
	f.Add(ldapMessage(2, ldapResultOp(5, 32)))
	f.Add(ldapMessage(2, ldapResultOp(5, 4)))
	f.Add([]byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, reply []byte) {
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go func() {
				defer server.Close()
				server.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := ber.ReadPacket(server); err != nil { // the bind
					return
				}
				server.Write(ldapMessage(1, ldapResultOp(1, 0)))
				if _, err := ber.ReadPacket(server); err != nil { // the search
					return
				}
				server.Write(reply) // and hang up
			}()
			return loopbackConn{client}, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := Open(ctx, Options{URL: "ldap://127.0.0.1", Base: base, BindName: "u", Password: "p", Dial: dial})
		if err != nil {
			t.Fatalf("the bind failed: %v", err)
		}
		defer c.Close()
		owners, err := c.Owners(ctx, "HTTP/mail.contoso.test")
		if err == nil && len(owners) > maxOwners+1 {
			t.Fatalf("%d owners", len(owners))
		}
	})
}
