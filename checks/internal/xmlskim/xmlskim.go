// Package xmlskim walks XML in one pass over its bytes, allocating nothing,
// for the decoders whose documents are megabytes a session (a command's
// CLIXML, a Receive's envelope) and of which they keep a few strings.
//
// It reads a strict subset of what encoding/xml's strict Decoder accepts:
// ASCII names (with at most one colon between a prefix and a local name,
// when the Scanner allows prefixes), quoted attribute values without
// entity references, character data with the five predefined entities, and
// nothing else: no comments, CDATA, processing instructions, directives,
// numeric character references or carriage returns (which encoding/xml
// rewrites). Within the subset it checks what encoding/xml checks (names,
// quoting, "=", the tag's end, UTF-8, the XML character range, "]]>" in
// text), so a document it walks to the end is one encoding/xml reads the
// same way. Anything else makes Next report false, and the caller leaves
// the document to encoding/xml, whose answer and errors stay the ones a
// user sees. Matching start and end tags is the caller's: it keeps the
// stack.
package xmlskim

import (
	"bytes"
	"unicode/utf8"
)

// Kind is what a Token is.
type Kind uint8

const (
	EOF   Kind = iota // the end of the data
	Text              // character data up to the next tag
	Start             // a start tag; Empty when it closes itself
	End               // an end tag
)

// Token is one piece of the document; its slices alias the data.
type Token struct {
	Kind     Kind
	Name     []byte // Start, End: the name as written, prefix included
	Empty    bool   // Start: <x/>
	Text     []byte // Text: as written, entity references undecoded
	Entities bool   // Text holds entity references (see Unescape)
	attrs    []byte // Start: the checked attribute part of the tag
}

// Scanner reads tokens from data.
type Scanner struct {
	data     []byte
	pos      int
	prefixes bool
}

// NewScanner reads data; prefixes allows prefixed names (p:local).
func NewScanner(data []byte, prefixes bool) Scanner {
	return Scanner{data: data, prefixes: prefixes}
}

// Next returns the next token, or false when the document leaves the
// subset or is not well-formed there.
func (s *Scanner) Next() (Token, bool) {
	d, i := s.data, s.pos
	if i >= len(d) {
		return Token{Kind: EOF}, true
	}
	if d[i] != '<' {
		end, entities, ok := scanText(d, i)
		if !ok {
			return Token{}, false
		}
		s.pos = end
		return Token{Kind: Text, Text: d[i:end], Entities: entities}, true
	}
	if i+1 < len(d) && d[i+1] == '/' {
		name, j := s.name(d, i+2)
		if name == nil {
			return Token{}, false
		}
		for j < len(d) && IsSpace(d[j]) {
			j++
		}
		if j >= len(d) || d[j] != '>' {
			return Token{}, false
		}
		s.pos = j + 1
		return Token{Kind: End, Name: name}, true
	}
	name, j := s.name(d, i+1)
	if name == nil {
		return Token{}, false // <?, <!, or a name outside the subset
	}
	attrStart := j
	for {
		for j < len(d) && IsSpace(d[j]) {
			j++
		}
		if j >= len(d) {
			return Token{}, false
		}
		switch d[j] {
		case '>':
			s.pos = j + 1
			return Token{Kind: Start, Name: name, attrs: d[attrStart:j]}, true
		case '/':
			if j+1 >= len(d) || d[j+1] != '>' {
				return Token{}, false
			}
			s.pos = j + 2
			return Token{Kind: Start, Name: name, Empty: true, attrs: d[attrStart:j]}, true
		}
		an, aj := s.name(d, j)
		if an == nil {
			return Token{}, false
		}
		j = aj
		for j < len(d) && IsSpace(d[j]) {
			j++
		}
		if j >= len(d) || d[j] != '=' {
			return Token{}, false
		}
		j++
		for j < len(d) && IsSpace(d[j]) {
			j++
		}
		if j >= len(d) || (d[j] != '"' && d[j] != '\'') {
			return Token{}, false
		}
		end, ok := scanAttrValue(d, j+1, d[j])
		if !ok {
			return Token{}, false
		}
		j = end + 1
	}
}

// NextAttr takes the next attribute of a Start token (already checked by
// Next) and returns its name as written and its value; false after the last.
func (t *Token) NextAttr() (name, value []byte, ok bool) {
	a := t.attrs
	i := 0
	for i < len(a) && IsSpace(a[i]) {
		i++
	}
	if i >= len(a) {
		t.attrs = nil
		return nil, nil, false
	}
	n := i
	for i < len(a) && a[i] != '=' && !IsSpace(a[i]) {
		i++
	}
	name = a[n:i]
	for a[i] != '"' && a[i] != '\'' {
		i++
	}
	q := a[i]
	v := i + 1
	end := v + bytes.IndexByte(a[v:], q)
	t.attrs = a[end+1:]
	return name, a[v:end], true
}

// Split cuts a name as written into its prefix ("" when none) and local part.
func Split(name []byte) (prefix, local []byte) {
	if k := bytes.IndexByte(name, ':'); k >= 0 {
		return name[:k], name[k+1:]
	}
	return nil, name
}

// IsSpace is XML white space.
func IsSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func isNameStart(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' }

func isNameByte(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '.' || c == '-'
}

// name reads a name at d[i:] and returns it and the index after it; nil
// when it is missing or would go on in a way the subset leaves to
// encoding/xml (a second colon, an empty part, a non-ASCII byte).
func (s *Scanner) name(d []byte, i int) ([]byte, int) {
	start := i
	colon := false
	for {
		if i >= len(d) || !isNameStart(d[i]) {
			return nil, start
		}
		i++
		for i < len(d) && isNameByte(d[i]) {
			i++
		}
		if i < len(d) && d[i] >= utf8.RuneSelf {
			return nil, start
		}
		if i < len(d) && d[i] == ':' {
			if !s.prefixes || colon {
				return nil, start
			}
			colon = true
			i++
			continue // the local part must follow
		}
		return d[start:i], i
	}
}

// scanText checks character data from d[i] up to the next '<' (or the end)
// and returns where it ends and whether it holds entity references.
func scanText(d []byte, i int) (end int, entities, ok bool) {
	start := i
	for i < len(d) {
		if plain[d[i]] {
			i++ // most of a document: base64, names, words
			continue
		}
		c := d[i]
		switch {
		case c == '<':
			return i, entities, true
		case c == '&':
			n := entityLen(d[i:])
			if n == 0 {
				return i, entities, false
			}
			entities = true
			i += n
			continue
		case c == '>':
			if i-start >= 2 && d[i-1] == ']' && d[i-2] == ']' {
				return i, entities, false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 || !inRange(r) {
				return i, entities, false
			}
			i += size
			continue
		case c < 0x20 && c != '\t' && c != '\n':
			return i, entities, false // \r is rewritten by encoding/xml; the rest it refuses
		}
		i++
	}
	return i, entities, true
}

// plain marks the bytes text may hold with no check of their own: printable
// ASCII but for the three that start markup, an entity or a "]]>".
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7F; c++ {
		t[c] = c != '<' && c != '&' && c != '>'
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// scanAttrValue checks a quoted attribute value from d[i] to its closing
// quote and returns the quote's index.
func scanAttrValue(d []byte, i int, quote byte) (int, bool) {
	for i < len(d) {
		c := d[i]
		switch {
		case c == quote:
			return i, true
		case c == '<' || c == '&' || c < 0x20 && c != '\t' && c != '\n':
			return i, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 || !inRange(r) {
				return i, false
			}
			i += size
			continue
		}
		i++
	}
	return i, false
}

// inRange is the Char production of XML 1.0, as encoding/xml checks it.
func inRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var entities = [...]struct {
	ref string
	c   byte
}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}}

// entityLen is the length of the predefined entity reference b starts
// with, 0 when it starts with another.
func entityLen(b []byte) int {
	for _, e := range entities {
		if bytes.HasPrefix(b, []byte(e.ref)) {
			return len(e.ref)
		}
	}
	return 0
}

// Unescape appends text (a Text token's) to dst with its entity
// references replaced.
func Unescape(dst, text []byte) []byte {
	for len(text) > 0 {
		k := bytes.IndexByte(text, '&')
		if k < 0 {
			return append(dst, text...)
		}
		dst = append(dst, text[:k]...)
		text = text[k:]
		// a Text token has only the five entities; any other '&' (text
		// that did not come from the scanner) is kept as it is rather
		// than looped on
		n := entityLen(text)
		if n == 0 {
			dst, text = append(dst, '&'), text[1:]
			continue
		}
		for _, e := range entities {
			if len(e.ref) == n && string(text[:n]) == e.ref {
				dst = append(dst, e.c)
				break
			}
		}
		text = text[n:]
	}
	return dst
}
