package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

// What Windows tools write: Notepad UTF-8 with a BOM, Windows PowerShell
// 5.1's Out-File UTF-16LE with a BOM and CRLF, and the big-endian twin.
func TestPasswordFileEncodings(t *testing.T) {
	const pw = "Pässwörd-€1"
	cases := map[string][]byte{
		"utf-8":          []byte(pw + "\n"),
		"utf-8 crlf":     []byte(pw + "\r\nsecond line"),
		"utf-8 bom":      append([]byte{0xEF, 0xBB, 0xBF}, pw+"\r\n"...),
		"utf-16le bom":   append([]byte{0xFF, 0xFE}, utf16Bytes(pw+"\r\n", false)...),
		"utf-16be bom":   append([]byte{0xFE, 0xFF}, utf16Bytes(pw+"\n", true)...),
		"no newline":     []byte(pw),
		"utf-16le no nl": append([]byte{0xFF, 0xFE}, utf16Bytes(pw, false)...),
	}
	dir := t.TempDir()
	for name, content := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := readPasswordFile(path)
		if err != nil || s.Reveal() != pw {
			t.Errorf("%s: %q, %v", name, s.Reveal(), err)
		}
	}
}

func TestPasswordFileRefusesWhatItCannotDecode(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"empty":                 {},
		"bom only":              {0xEF, 0xBB, 0xBF, '\n'},
		"utf-16 without bom":    utf16Bytes("secret", false),
		"latin-1":               {'p', 0xE4, 's', 's'},
		"utf-16le odd trailing": append([]byte{0xFF, 0xFE}, append(utf16Bytes("pw", false), 'x')...),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(path, content, 0o600)
		s, err := readPasswordFile(path)
		if err == nil {
			t.Errorf("%s: accepted as %q", name, s.Reveal())
			continue
		}
		if msg := strings.ReplaceAll(err.Error(), path, "path"); msg != strings.ToLower(msg) || !strings.Contains(err.Error(), path) || strings.Contains(msg, "secret") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
}
