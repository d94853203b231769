// Package itest runs the exdiag binary against real servers nobody here
// wrote (BIND 9, nginx, MIT Kerberos, OpenLDAP), started on loopback by the
// scripts in ../servers. scripts/test.sh installs them; a test skips with a
// printed reason only outside CI when its server is not installed.
package itest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var exdiagBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exdiag-itest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exdiagBin = filepath.Join(dir, "exdiag")
	build := exec.Command("go", "build", "-o", exdiagBin, "./cmd/exdiag")
	build.Dir = RepoRoot()
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build exdiag:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// RepoRoot is the project's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Script is the path of a server script under scripts/servers.
func Script(name string) string { return filepath.Join(RepoRoot(), "scripts", "servers", name) }

// Run is one exdiag invocation's outcome.
type Run struct {
	Stdout, Stderr string
	Code           int
}

// Exdiag runs the built binary with args and extra environment (for
// EXDIAG_PASSWORD), under a hard timeout.
func Exdiag(t *testing.T, env []string, args ...string) Run {
	t.Helper()
	cmd := exec.Command(exdiagBin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("exdiag %v did not finish in 90s", args)
	}
	r := Run{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("exdiag %v -> exit %d\nstderr: %s", args, r.Code, r.Stderr)
	return r
}

// NeedBinaries skips the test when a server binary is missing, except in
// CI (CI=true), where a missing server is a failure: scripts/test.sh must
// have installed it.
func NeedBinaries(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
				if _, err2 := os.Stat(filepath.Join(dir, n)); err2 == nil {
					goto found
				}
			}
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; scripts/test.sh installs it", n)
			}
			t.Skipf("%s is not installed; run scripts/test.sh (as root) to install it", n)
		found:
		}
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitPort waits until something accepts on addr or the timeout passes.
func WaitPort(t *testing.T, network, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout(network, addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %v", addr, timeout)
}

// Server is a real server started by a scripts/servers script in its own
// process group, so stopping it stops every child (named, nginx workers).
type Server struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedBuffer
}

// StartServer runs `bash scripts/servers/SCRIPT ARGS…` with extra
// environment, stops it when the test ends, and logs what it printed
// when the test failed.
func StartServer(t *testing.T, script string, env []string, args ...string) *Server {
	t.Helper()
	cmd := exec.Command("bash", append([]string{Script(script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return startProcess(t, script, cmd)
}

// startProcess starts cmd in its own process group as a Server called name.
func startProcess(t *testing.T, name string, cmd *exec.Cmd) *Server {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &Server{name: name, cmd: cmd, done: make(chan struct{}), out: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("%s said:\n%s", name, s.out.String())
		}
	})
	return s
}

// Stop ends the server's process group: TERM, then KILL after 5 s.
func (s *Server) Stop() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Exited reports whether the server has stopped by itself.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Output is what the server printed so far.
func (s *Server) Output() string { return s.out.String() }

// WaitReady polls ready until it is true, failing the test when the
// server exits first or timeout passes.
func (s *Server) WaitReady(t *testing.T, what string, timeout time.Duration, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if s.Exited() {
			t.Fatalf("%s exited before %s:\n%s", s.name, what, s.Output())
		}
		if ready() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s after %v:\n%s", s.name, what, timeout, s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Accepts reports whether something accepts TCP connections on addr.
func Accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// lockedBuffer collects a server's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
