package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/exdiag/exdiag/checks"
	"github.com/exdiag/exdiag/report"
	"golang.org/x/term"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// maxPasswordFile bounds what is read of --password-file.
const maxPasswordFile = 64 << 10

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

// readPasswordFile reads the first line of file. Windows tools write text
// with a byte-order mark: Notepad a UTF-8 one, Windows PowerShell 5.1's
// Out-File (and `>`) UTF-16LE. x/text's BOMOverride strips a UTF-8 mark
// and decodes UTF-16 of either byte order, so the password is the one the
// user typed, not one with "\ufeff" or NUL bytes in it.
func readPasswordFile(file string) (checks.Secret, error) {
	fh, err := os.Open(file)
	if err != nil {
		return checks.Secret{}, usagef("cannot read --password-file %s: %v; give a readable file", file, unwrapPathErr(err))
	}
	defer fh.Close()
	// the first line only; a password is short, so read a bounded prefix
	head, err := io.ReadAll(io.LimitReader(fh, maxPasswordFile))
	if err != nil {
		return checks.Secret{}, usagef("cannot read --password-file %s: %v; give a readable file", file, err)
	}
	text, _, err := transform.Bytes(unicode.BOMOverride(unicode.UTF8.NewDecoder()), head)
	if err != nil {
		return checks.Secret{}, usagef("cannot decode --password-file %s: %v; save it as utf-8", file, err)
	}
	line, _, _ := strings.Cut(string(text), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return checks.Secret{}, usagef("--password-file %s is empty; put the password on its first line", file)
	}
	if strings.ContainsRune(line, utf8.RuneError) || strings.ContainsRune(line, 0) {
		return checks.Secret{}, usagef("--password-file %s is neither utf-8 nor utf-16 with a byte-order mark; save it as utf-8", file)
	}
	return checks.NewSecret(line), nil
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
