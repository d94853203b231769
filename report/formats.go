package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Options are the caller's decisions about the screen; renderers never
// look at the terminal themselves.
type Options struct {
	Colour bool // ANSI colour (table only)
	ASCII  bool // no box drawing or arrows, for ticket systems that mangle them
	Width  int  // columns available; 0 means DefaultWidth
}

// DefaultWidth is the table's width when the caller knows none (a pipe,
// a file).
const DefaultWidth = 120

// Renderer writes one document. It must be a pure function of its
// arguments: no clock, no environment, no network.
type Renderer func(w io.Writer, d Doc, o Options) error

// Format is one output format.
type Format struct {
	Name string
	// Ext is the file extension that selects this format for --output
	// FILE ("" when none does).
	Ext string
	// Doc is one line for --format's help and the README.
	Doc    string
	render Renderer
	// raw formats receive server text as it came: JSON escapes control
	// characters itself and is the faithful record. Every other format
	// gets a Doc whose strings went through Clean.
	raw bool
}

// Formats lists every format, in the order help shows them. It builds a
// fresh list on every call, so no caller can change another's.
func Formats() []Format {
	return []Format{
		{Name: "table", Ext: ".txt", Doc: "for people on a terminal (the default)", render: renderTable},
		{Name: "json", Ext: ".json", Doc: "the whole report, schema_version 1, for scripts", render: renderJSON, raw: true},
		{Name: "markdown", Ext: ".md", Doc: "verdict, path and fixes, to paste into a ticket", render: renderMarkdown},
		{Name: "junit", Ext: ".xml", Doc: "JUnit XML, one testcase per check and backend, for CI", render: renderJUnit},
		{Name: "nagios", Doc: "Nagios/Icinga plugin output with perfdata", render: renderNagios},
		{Name: "html", Ext: ".html", Doc: "one self-contained page with the path drawn", render: renderHTML},
		{Name: "prometheus", Ext: ".prom", Doc: "text exposition, for node_exporter's textfile collector", render: renderPrometheus},
	}
}

// Names are the format names, in help order.
func Names() []string {
	var out []string
	for _, f := range Formats() {
		out = append(out, f.Name)
	}
	return out
}

// Lookup finds a format by name.
func Lookup(name string) (Format, bool) {
	for _, f := range Formats() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// ForFile picks the format a file name's extension stands for.
func ForFile(path string) (Format, bool) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, f := range Formats() {
		if f.Ext != "" && f.Ext == ext {
			return f, true
		}
	}
	return Format{}, false
}

// Extensions describes the extension mapping, for help text.
func Extensions() string {
	var parts []string
	for _, f := range Formats() {
		if f.Ext != "" {
			parts = append(parts, f.Ext+" "+f.Name)
		}
	}
	return strings.Join(parts, ", ")
}

// Render writes d in this format.
func (f Format) Render(w io.Writer, d Doc, o Options) error {
	if f.render == nil {
		return fmt.Errorf("format %q has no renderer", f.Name)
	}
	if !f.raw {
		d = Clean(d)
	}
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	return f.render(w, d, o)
}
