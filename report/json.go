package report

import (
	"bytes"
	"encoding/json"
)

// JSON renders the report as indented JSON with a trailing newline.
// HTML escaping is off so URLs and remediation text read as written.
func JSON(d Doc) ([]byte, error) { return encodeJSON(d) }

func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
