package tlsinspect

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// maxCAFile bounds a --ca-file read: a bundle of every public root is
// about 250 KiB.
const maxCAFile = 4 << 20 // as checks.Spec validates it

// LoadTrust builds the trust anchors (system roots plus the self-issued
// certificates of every file) and the extra intermediates (the other
// certificates of the files). Files may be PEM or a single DER
// certificate, as Windows exports a .cer.
func LoadTrust(files []string) (roots *x509.CertPool, extra []*x509.Certificate, err error) {
	roots, err = x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for _, f := range files {
		certs, err := readCerts(f)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range certs {
			if selfIssued(c) {
				roots.AddCert(c)
			} else {
				extra = append(extra, c)
			}
		}
	}
	return roots, extra, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer forever; only a regular file is read at all, so /dev/zero
	// or a pipe cannot block the run or feed it without end.
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read --ca-file %s: %v; give a readable PEM file", path, unwrapPath(err))
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--ca-file %s is not a regular file; give the PEM file itself", path)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read --ca-file %s: %v", path, err)
	}
	if len(data) > maxCAFile {
		return nil, fmt.Errorf("--ca-file %s is larger than %d MiB; give the CA certificates only", path, maxCAFile>>20)
	}
	var certs []*x509.Certificate
	rest := data
	sawPEM := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type != "CERTIFICATE" {
			continue // a key or CRL next to the certificates is not our business
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--ca-file %s holds a CERTIFICATE block that does not parse (%v); re-export the CA certificate", path, err)
		}
		certs = append(certs, c)
	}
	if !sawPEM {
		if c, err := x509.ParseCertificate(data); err == nil {
			return []*x509.Certificate{c}, nil
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("--ca-file %s holds no certificate; give the CA certificate as PEM (Base-64 encoded X.509 .cer) or DER", path)
	}
	return certs, nil
}

// unwrapPath drops the *PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
