package report

import (
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"
)

// IO is the one place that decides where output goes, whether it may carry
// colour and how wide the screen is, built once in main (the gh iostreams
// pattern). Renderers get its decisions as Options, never the IO.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	InTTY  bool // a person can answer a prompt
	OutTTY bool
	ErrTTY bool // a live status line may be drawn on Err
	// Width is the terminal's columns: COLUMNS when set, else the size of
	// the terminal on Out (or Err); 0 when there is none.
	Width int
	// NoColour is NO_COLOR set to a non-empty value (no-color.org) or
	// TERM=dumb: auto colour stays off.
	NoColour bool
}

// System builds IO for the process.
func System() *IO {
	isTTY := func(f *os.File) bool { return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) }
	s := &IO{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		InTTY: isTTY(os.Stdin), OutTTY: isTTY(os.Stdout), ErrTTY: isTTY(os.Stderr),
		NoColour: os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	s.Width = columns(os.Getenv("COLUMNS"))
	if s.Width == 0 {
		for _, f := range []*os.File{os.Stdout, os.Stderr} {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
				s.Width = w
				break
			}
		}
	}
	return s
}

func columns(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 || n > 10000 {
		return 0
	}
	return n
}

// Colour modes of --color.
const (
	ColourAuto   = "auto"
	ColourAlways = "always"
	ColourNever  = "never"
)

// Colour says whether Out may carry colour under mode.
func (s *IO) Colour(mode string) bool {
	switch mode {
	case ColourAlways:
		return true
	case ColourNever:
		return false
	}
	return s.OutTTY && !s.NoColour
}

// Options are the renderer options for the screen.
func (s *IO) Options(colourMode string, ascii bool) Options {
	return Options{Colour: s.Colour(colourMode), ASCII: ascii, Width: s.Width}
}
