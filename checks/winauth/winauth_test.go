package winauth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"testing"
)

func TestEndPointHashesTheLeafWithSHA256(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("leaf certificate bytes"), SignatureAlgorithm: x509.SHA1WithRSA}
	cb, err := EndPointOf(cert)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	want := "tls-server-end-point:" + string(sum[:])
	if string(cb.ApplicationData) != want {
		t.Fatalf("application data %x, want %x", cb.ApplicationData, want)
	}
	// the struct SSPI hashes: four zero words, the length, the data
	s := make([]byte, 16, 20+len(want))
	s = binary.LittleEndian.AppendUint32(s, uint32(len(want)))
	s = append(s, want...)
	if got := cb.Hash(); got != md5.Sum(s) {
		t.Fatalf("hash %x, want %x", got, md5.Sum(s))
	}
	var none *ChannelBindings
	if none.Hash() != [16]byte{} {
		t.Fatal("a nil binding must hash to zeros")
	}
}
