//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal (no library: the
// Linux ioctls are three lines).
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptm.Close(); pts.Close() })
	return ptm, pts
}

// TestInterruptAtThePromptRestoresEcho: SIGINT while the no-echo
// password prompt waits ends the run as interrupted (130) with the
// terminal's echo back on, not a shell left typing blind.
func TestInterruptAtThePromptRestoresEcho(t *testing.T) {
	bin := buildBinary(t)
	ptm, pts := openPTY(t)
	cmd := exec.Command(bin, "run", "--uri", "https://mail.contoso.test/PowerShell", "--user", `CONTOSO\administrator`)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "EXDIAG_PASSWORD=")
	cmd.Stdin = pts
	var out bytes.Buffer
	errR, errW, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = &out, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errW.Close()
	// wait for the prompt, then for echo to go off, before the signal
	buf := make([]byte, 256)
	var stderr []byte
	errR.SetReadDeadline(time.Now().Add(30 * time.Second))
	for !bytes.Contains(stderr, []byte("password for")) {
		n, err := errR.Read(buf)
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("no prompt: %v (%q)", err, stderr)
		}
		stderr = append(stderr, buf[:n]...)
	}
	for i := 0; ; i++ {
		tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if i > 3000 {
			cmd.Process.Kill()
			t.Fatal("echo never went off at the prompt")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	rest := make([]byte, 4096)
	n, _ := errR.Read(rest)
	stderr = append(stderr, rest[:n]...)
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr %q", werr, stderr)
	}
	if !strings.Contains(string(stderr), "exdiag: interrupted") {
		t.Errorf("stderr %q lacks interrupted", stderr)
	}
	tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Error("the terminal's echo is still off after the interrupt")
	}
	if out.Len() != 0 {
		t.Errorf("stdout after an interrupt at the prompt: %q", out.String())
	}
	_ = ptm
}
