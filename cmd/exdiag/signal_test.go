package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptExits130: SIGINT while the probes wait on a silent server
// ends the run at once: "interrupted" on stderr, exit 130, a partial
// report marked interrupted, and no finding blamed on the server.
func TestInterruptExits130(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	defer func() {
		ln.Close()
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case accepted <- c: // held open, never answered
			default:
				c.Close()
			}
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := exec.Command(bin, "run", "--uri", "https://mail.contoso.test:"+port+"/PowerShell",
		"--resolve", "mail.contoso.test:"+port+":127.0.0.1", "--checks", "tls,auth", "--format", "json", "--timeout", "1m")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted: // the tls probe is connected and waiting
		defer c.Close()
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("exdiag never connected to the silent server")
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("exdiag did not exit after SIGINT")
	}
	took := time.Since(sent)
	t.Logf("exit %v after SIGINT", took)
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want 130; stderr: %s", werr, errb.String())
	}
	if strings.TrimSpace(errb.String()) != "exdiag: interrupted" {
		t.Errorf("stderr %q, want one line: exdiag: interrupted", errb.String())
	}
	// the contract with the user (not a speed measurement): ^C is obeyed
	// within a second
	if took > time.Second {
		t.Errorf("exit took %v after SIGINT, want under a second", took)
	}
	var doc struct {
		Interrupted bool `json:"interrupted"`
		ExitCode    int  `json:"exit_code"`
		Checks      []struct {
			ID       string            `json:"id"`
			Status   string            `json:"status"`
			Findings []json.RawMessage `json:"findings"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("partial report: %v\n%s", err, out.String())
	}
	if !doc.Interrupted || doc.ExitCode != 130 {
		t.Errorf("report: interrupted=%v exit_code=%d", doc.Interrupted, doc.ExitCode)
	}
	for _, c := range doc.Checks {
		if len(c.Findings) != 0 || c.Status == "fail" || c.Status == "warn" {
			t.Errorf("%s blames the server after an interrupt: %s %d findings", c.ID, c.Status, len(c.Findings))
		}
	}
}

// TestExdiagsOwnLimitsExit3: a check named without its inputs, and a
// --timeout too short for the run, are exdiag's side (exit 3), never a
// verdict on the deployment (2) nor a silent pass (0).
func TestExdiagsOwnLimitsExit3(t *testing.T) {
	code, out, _ := run(t, nil, "run", "--uri", "https://mail.contoso.test/PowerShell", "--checks", "rbac", "--format", "json")
	if code != 3 || !strings.Contains(out, "named in --checks but cannot run") {
		t.Errorf("--checks rbac without --user: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, nil, "run", "--lab", "healthy", "--timeout", "50ms", "--format", "json")
	if code != 3 || !strings.Contains(out, "raise --timeout") || strings.Contains(out, `"status": "fail"`) {
		t.Errorf("--timeout 50ms: exit %d\n%s", code, out)
	}
}
