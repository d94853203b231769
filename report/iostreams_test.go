package report

import "testing"

func TestNoColorCountsOnlyWhenNonEmpty(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	if System().NoColour {
		t.Error("NO_COLOR= (empty) must not turn colour off (no-color.org)")
	}
	t.Setenv("NO_COLOR", "1")
	if !System().NoColour {
		t.Error("NO_COLOR=1 must turn auto colour off")
	}
	s := &IO{OutTTY: true, NoColour: true}
	if s.Colour(ColourAuto) || !s.Colour(ColourAlways) || (&IO{OutTTY: true}).Colour(ColourNever) {
		t.Error("--color always wins over NO_COLOR, never wins over a terminal")
	}
	if (&IO{OutTTY: false}).Colour(ColourAuto) {
		t.Error("no colour into a pipe")
	}
}

func TestColumnsFromEnvironment(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	if w := System().Width; w != 80 {
		t.Errorf("COLUMNS=80 gave width %d", w)
	}
	for _, bad := range []string{"", "x", "-3", "0"} {
		if columns(bad) != 0 {
			t.Errorf("COLUMNS=%q must be ignored", bad)
		}
	}
}
