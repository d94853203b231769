package report

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IO is the one place that decides where output goes and whether it may
// carry colour, built once in main (the gh iostreams pattern).
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	InTTY  bool // a person can answer a prompt
	ErrTTY bool // stderr is a terminal: progress may be drawn there
	Colour bool // colour may be used on Out
}

// System builds IO for the process: colour only on a terminal, and never
// when NO_COLOR is set (https://no-color.org) or noColour is true.
func System(noColour bool) *IO {
	isTTY := func(f *os.File) bool { return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) }
	_, noColourEnv := os.LookupEnv("NO_COLOR")
	return &IO{
		In:     os.Stdin,
		Out:    os.Stdout,
		Err:    os.Stderr,
		InTTY:  isTTY(os.Stdin),
		ErrTTY: isTTY(os.Stderr),
		Colour: isTTY(os.Stdout) && !noColour && !noColourEnv && os.Getenv("TERM") != "dumb",
	}
}
