package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/checks/profile"
	"github.com/exdiag/exdiag/report"
	"golang.org/x/term"
)

// readPassword takes the password from EXDIAG_PASSWORD, --password-file or
// a no-echo prompt, never from a flag value.
func readPassword(user, file string, streams *report.IO, getenv func(string) string) (checks.Secret, error) {
	if p := getenv("EXDIAG_PASSWORD"); p != "" {
		return checks.NewSecret(p), nil
	}
	if file != "" {
		return readPasswordFile(file)
	}
	if !streams.InTTY {
		return checks.Secret{}, usagef("no password for %s: set EXDIAG_PASSWORD or use --password-file (there is no terminal to prompt on)", user)
	}
	fmt.Fprintf(streams.Err, "password for %s: ", user)
	b, err := promptPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(streams.Err)
	if errors.Is(err, errInterrupted) {
		return checks.Secret{}, err
	}
	if err != nil || len(b) == 0 {
		return checks.Secret{}, usagef("no password read for %s; set EXDIAG_PASSWORD or use --password-file", user)
	}
	return checks.NewSecret(string(b)), nil
}

// readPasswordFile reads the first line of file, decoding what Windows
// tools write (see profile.ReadPasswordFile, which a profile's
// password_file goes through too).
func readPasswordFile(file string) (checks.Secret, error) {
	s, err := profile.ReadPasswordFile(file, "--password-file")
	if err != nil {
		return checks.Secret{}, usageError{err.Error()}
	}
	return s, nil
}

// promptPassword reads a line without echo. ReadPassword restores the
// terminal when it returns, but a SIGINT or SIGTERM would kill the process
// before that with echo still off; so the signal is caught here, the
// terminal restored, and the run ends as interrupted.
func promptPassword(fd int) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	type read struct {
		b   []byte
		err error
	}
	done := make(chan read, 1)
	// the read cannot be cancelled; on a signal the process is about to
	// exit, so the blocked goroutine goes with it
	go func() {
		b, err := term.ReadPassword(fd)
		done <- read{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-sigs:
		_ = term.Restore(fd, state)
		return nil, errInterrupted
	}
}
