package report

import "strings"

// Format is one renderer: a pure function of the report.
type Format struct {
	Name string
	// Render writes d; colour says whether ANSI colour may be used (a
	// format without colour ignores it).
	Render func(d Doc, colour bool) ([]byte, error)
}

// Formats is the one registry of renderers, in the order --format lists
// them. Everything that writes reports (the CLI, tests that check no
// secret reaches any output) iterates over it.
func Formats() []Format {
	return []Format{
		{Name: "table", Render: func(d Doc, colour bool) ([]byte, error) { return []byte(Table(d, colour)), nil }},
		{Name: "json", Render: func(d Doc, _ bool) ([]byte, error) { return JSON(d) }},
	}
}

// LookupFormat finds a renderer by name.
func LookupFormat(name string) (Format, bool) {
	for _, f := range Formats() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// FormatNames lists the registry's names, for messages and help.
func FormatNames() string {
	var names []string
	for _, f := range Formats() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
}
