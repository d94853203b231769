package kerb

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/kdcserver"
)

// The lab's KDC and this client agree end to end: the same classes come
// out as from MIT krb5kdc in scripts/itest.
func TestAgainstLabKDC(t *testing.T) {
	srv, err := kdcserver.New("CONTOSO.TEST", map[string]string{"administrator": secretPassword},
		[]string{"HTTP/cas1.contoso.test", "HTTP/dup.contoso.test", "HTTP/dup.contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	defer func() { cancel(); <-done }()

	o := opts(ln.Addr().String())
	s, err := Login(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for spn, want := range map[string]Class{
		"HTTP/cas1.contoso.test": -1,
		"http/CAS1.contoso.test": -1,
		"HTTP/mail.contoso.test": ClassPrincipalUnknown,
		"HTTP/dup.contoso.test":  ClassNotUnique,
	} {
		err := s.Ticket(ctx, spn)
		if want == -1 {
			if err != nil {
				t.Errorf("%s: %v", spn, err)
			}
			continue
		}
		if got := Classify(err); got != want {
			t.Errorf("%s: class %d (%v), want %d", spn, got, err, want)
		}
	}
	bad := o
	bad.Password = "wrong"
	if _, err := Login(ctx, bad); Classify(err) != ClassBadCredentials {
		t.Errorf("wrong password: %v", err)
	}
	bad = o
	bad.User = "nobody"
	if _, err := Login(ctx, bad); Classify(err) != ClassBadCredentials {
		t.Errorf("unknown user: %v", err)
	}
}
