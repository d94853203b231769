package spnldap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exdiag/exdiag/fixtures/hostile"
)

// elsewhere is a connection that claims a non-loopback peer and records
// what is written to it, standing in for a directory at 192.0.2.2.
type elsewhere struct {
	net.Conn
	mu    sync.Mutex
	wrote bytes.Buffer
}

func (c *elsewhere) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 389}
}

func (c *elsewhere) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.wrote.Write(p)
	c.mu.Unlock()
	return len(p), nil
}

// ldap://localhost is allowed in clear text only when the connection
// really reaches a loopback address.
func TestPlainBindJudgesTheDialledAddress(t *testing.T) {
	const pw = "Canary-Ldap-Pw-1"
	var conn *elsewhere
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		a, _ := net.Pipe()
		conn = &elsewhere{Conn: a}
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{URL: "ldap://localhost", Base: base, BindName: "u", Password: pw, Dial: dial})
	if !errors.Is(err, ErrPlainBind) || !strings.Contains(err.Error(), "192.0.2.2") {
		t.Fatalf("err %v, want a refused plain bind naming the address", err)
	}
	if conn != nil && bytes.Contains(conn.wrote.Bytes(), []byte(pw)) {
		t.Fatal("the password was sent to a non-loopback address")
	}
}

// peakHeap runs f and samples the live heap every millisecond.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// hugeEntryValues is the 3.8 MB entry: that many empty values.
const hugeEntryValues = 1_900_000

func searchHostile(tb testing.TB, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Open(ctx, Options{URL: url, Base: base, BindName: "u", Password: "p"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Owners(ctx, "HTTP/mail.contoso.test")
	return err
}

// One entry of 1.9 million empty values is refused by the BER message
// limit before asn1-ber builds a packet per value.
func TestHugeEntryIsBounded(t *testing.T) {
	url := hostile.LDAP(t, hostile.LDAPBehaviour{EmptyValues: hugeEntryValues})
	var err error
	peak := peakHeap(func() { err = searchHostile(t, url) })
	if err == nil {
		t.Fatal("a 3.8 MB entry was accepted")
	}
	t.Logf("peak live heap %.1f MiB, error %v", float64(peak)/(1<<20), err)
}

// BenchmarkHugeEntry reports the peak live heap of the hostile search
// (go test ./checks/spnldap -run XXX -bench HugeEntry -benchtime 3x).
func BenchmarkHugeEntry(b *testing.B) {
	url := hostile.LDAP(b, hostile.LDAPBehaviour{EmptyValues: hugeEntryValues})
	var worst uint64
	for i := 0; i < b.N; i++ {
		if p := peakHeap(func() { searchHostile(b, url) }); p > worst {
			worst = p
		}
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
}
