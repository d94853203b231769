package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// renderJSON writes the report as indented JSON with a trailing newline.
// HTML escaping is off so URLs and remediation text read as written. The
// JSON stays the faithful record of what the server sent, so server text
// is not Cleaned; the encoder escapes C0 controls, and the C1 controls and
// bidi overrides it leaves raw are escaped here too (\u009b), so `cat
// report.json` cannot act on a terminal either.
func renderJSON(w io.Writer, d Doc, _ Options) error { return renderJSONValue(w, d) }

// renderJSONValue is renderJSON for any value made of Docs (a fleet's).
func renderJSONValue(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := b.Bytes()
	if bytes.IndexFunc(out, unsafeNonASCII) >= 0 {
		var e bytes.Buffer
		for len(out) > 0 {
			r, n := utf8.DecodeRune(out)
			if unsafeNonASCII(r) {
				// outside strings JSON has only ASCII punctuation and
				// whitespace, so any such rune is inside a string
				fmt.Fprintf(&e, `\u%04x`, r)
			} else {
				e.Write(out[:n])
			}
			out = out[n:]
		}
		out = e.Bytes()
	}
	_, err := w.Write(out)
	return err
}

// unsafeNonASCII are the controls encoding/json leaves raw; the C0 ones it
// escapes, and outside strings they are the indentation.
func unsafeNonASCII(r rune) bool { return r >= 0x7f && unsafeRune(r) }
